"""Which monitors are due, and who evaluates them: one process per monitor and period.

Every server process (the Jupyter server extension, each ``--workers`` process of the team
server, each replica) runs the same scheduler over one store. A monitor is evaluated by the
process that *claims* it: the claim is a conditional update of the monitor's "last evaluated"
marker, a row of ``registry_settings`` (``monitor.<digest of model and id>`` = epoch ms), made
in one write transaction (``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL the update's
``WHERE value = <the value read>`` re-checks after waiting for a concurrent claimer's row lock,
and the first insert is ``ON CONFLICT DO NOTHING``). The loser sees no row changed and skips the
monitor until its next period. The marker (JSON: the claimed instant ``at`` and the lease's end
``busy``) also keeps two evaluations of one monitor from overlapping when one takes longer than
the period. Needs the local store (the servers always have one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from ..errors import MMError
from .monitors import Evaluation, Monitor, evaluate, list_monitors

if TYPE_CHECKING:
    from ..core.store import Store

log = logging.getLogger(__name__)
#: Seconds an evaluation may run before another process may claim the monitor again (a process
#: that died mid-evaluation holds it no longer than this).
LEASE = 600


def marker_key(monitor: Monitor) -> str:
    """The ``registry_settings`` key of the monitor's "last evaluated" marker (64 characters at
    most, whatever the model's name)."""
    digest = hashlib.sha256(json.dumps([monitor.model, monitor.id]).encode()).hexdigest()
    return f"monitor.{digest[:48]}"


def _read(conn: Any, key: str) -> tuple[str | None, int, int]:
    """(raw value, last claimed instant, lease end), both in epoch ms."""
    from sqlalchemy import select

    from ..core import schema as s

    c = s.registry_settings.c
    value = conn.execute(select(c.value).where(c.key == key)).scalar()
    if value is None:
        return None, 0, 0
    doc = json.loads(value)
    return value, int(doc["at"]), int(doc.get("busy", 0))


def last_evaluated(store: Store, monitor: Monitor) -> float | None:
    """Epoch seconds of the monitor's last claimed evaluation (None: never)."""
    with store.engine.connect() as conn:
        value, at, _busy = _read(conn, marker_key(monitor))
    return None if value is None else at / 1000


def claim(store: Store, monitor: Monitor, now: float | None = None) -> bool:
    """Claim the monitor's evaluation due at ``now`` (epoch seconds): True for exactly one
    caller per period, however many processes try at once; False when it is not due, when
    another process claimed it, or while the previous evaluation still runs (its lease, up to
    :data:`LEASE` seconds, ends when :func:`release` is called). So evaluations of one monitor
    never overlap, and each reads the state the previous one left."""
    from sqlalchemy import update

    from ..core import database
    from ..core import schema as s

    now_ms = round((time.time() if now is None else now) * 1000)
    every_ms = round(monitor.every_seconds * 1000)
    key = marker_key(monitor)
    c = s.registry_settings.c
    mine = json.dumps({"at": now_ms, "busy": now_ms + LEASE * 1000})
    with database.write_conn(store.engine) as conn:
        value, at, busy = _read(conn, key)
        if value is None:
            inserted = conn.execute(
                store._upsert(conn, s.registry_settings)
                .values(key=key, value=mine)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(c.key)
            )
            return inserted.first() is not None  # (rowcount is not reliable for upserts)
        if now_ms - at < every_ms or now_ms < busy:
            return False
        updated = conn.execute(
            update(s.registry_settings).where(c.key == key, c.value == value).values(value=mine)
        )
        return bool(updated.rowcount == 1)


def release(store: Store, monitor: Monitor, now: float) -> None:
    """End the lease of the evaluation claimed at ``now`` (a later claim is left alone)."""
    from sqlalchemy import update

    from ..core import database
    from ..core import schema as s

    now_ms = round(now * 1000)
    key = marker_key(monitor)
    c = s.registry_settings.c
    with database.write_conn(store.engine) as conn:
        value, at, _busy = _read(conn, key)
        if value is not None and at == now_ms:
            done = json.dumps({"at": at, "busy": 0})
            conn.execute(
                update(s.registry_settings).where(c.key == key, c.value == value).values(value=done)
            )


def run_due(store: Store, now: float | None = None) -> list[Evaluation]:
    """Evaluate every monitor of the store that is due and that this process claims. A monitor
    that cannot be evaluated (no alias, no reference profile, unreadable log) is logged and
    skipped until its next period; the others go on."""
    done = []
    # whole milliseconds, so the claimed marker and the evaluation's timestamp are the same
    now = round((time.time() if now is None else now) * 1000) / 1000
    for monitor in list_monitors(store):
        try:
            if not claim(store, monitor, now):
                continue
            try:
                done.append(evaluate(store, monitor, now))
            finally:
                release(store, monitor, now)
        except MMError as e:
            log.warning("jupyter-mm monitor %s of %r: %s", monitor.id, monitor.model, e.message)
        except Exception:
            log.exception("jupyter-mm monitor %s of %r failed", monitor.id, monitor.model)
    return done
