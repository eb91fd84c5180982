"""Which monitors are due, and who evaluates them: one process per monitor and period.

Every server process (the Jupyter server extension, each ``--workers`` process of the team
server, each replica) runs the same scheduler over one store. A monitor is evaluated by the
process that *claims* it: the claim is a conditional update of the monitor's "last evaluated"
marker, a row of ``registry_settings`` (``monitor.<digest of model and id>`` = epoch ms), made
in one write transaction (``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL the update's
``WHERE value = <the value read>`` re-checks after waiting for a concurrent claimer's row lock,
and the first insert is ``ON CONFLICT DO NOTHING``). The loser sees no row changed and skips the
monitor until its next period. Needs the local store (the servers always have one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING

from ..errors import MMError
from .monitors import Evaluation, Monitor, evaluate, list_monitors

if TYPE_CHECKING:
    from ..core.store import Store

log = logging.getLogger(__name__)


def marker_key(monitor: Monitor) -> str:
    """The ``registry_settings`` key of the monitor's "last evaluated" marker (64 characters at
    most, whatever the model's name)."""
    digest = hashlib.sha256(json.dumps([monitor.model, monitor.id]).encode()).hexdigest()
    return f"monitor.{digest[:48]}"


def last_evaluated(store: Store, monitor: Monitor) -> float | None:
    """Epoch seconds of the monitor's last claimed evaluation (None: never)."""
    from sqlalchemy import select

    from ..core import schema as s

    c = s.registry_settings.c
    with store.engine.connect() as conn:
        value = conn.execute(select(c.value).where(c.key == marker_key(monitor))).scalar()
    return None if value is None else int(value) / 1000


def claim(store: Store, monitor: Monitor, now: float | None = None) -> bool:
    """Claim the monitor's evaluation due at ``now`` (epoch seconds): True for exactly one
    caller per period, however many processes try at once; False when it is not due or another
    process claimed it."""
    from sqlalchemy import select, update

    from ..core import database
    from ..core import schema as s

    now_ms = int((time.time() if now is None else now) * 1000)
    every_ms = int(monitor.every_seconds * 1000)
    key = marker_key(monitor)
    c = s.registry_settings.c
    with database.write_conn(store.engine) as conn:
        value = conn.execute(select(c.value).where(c.key == key)).scalar()
        if value is None:
            inserted = conn.execute(
                store._upsert(conn, s.registry_settings)
                .values(key=key, value=str(now_ms))
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(c.key)
            )
            return inserted.first() is not None  # (rowcount is not reliable for upserts)
        if now_ms - int(value) < every_ms:
            return False
        updated = conn.execute(
            update(s.registry_settings)
            .where(c.key == key, c.value == value)
            .values(value=str(now_ms))
        )
        return bool(updated.rowcount == 1)


def forget(store: Store, monitor: Monitor) -> None:
    """Drop the monitor's marker (after it is deleted)."""
    from sqlalchemy import delete

    from ..core import database
    from ..core import schema as s

    with database.write_conn(store.engine) as conn:
        conn.execute(
            delete(s.registry_settings).where(s.registry_settings.c.key == marker_key(monitor))
        )


def run_due(store: Store, now: float | None = None) -> list[Evaluation]:
    """Evaluate every monitor of the store that is due and that this process claims. A monitor
    that cannot be evaluated (no alias, no reference profile, unreadable log) is logged and
    skipped until its next period; the others go on."""
    done = []
    now = time.time() if now is None else now
    for monitor in list_monitors(store):
        try:
            if not claim(store, monitor, now):
                continue
            done.append(evaluate(store, monitor, now))
        except MMError as e:
            log.warning("jupyter-mm monitor %s of %r: %s", monitor.id, monitor.model, e.message)
        except Exception:
            log.exception("jupyter-mm monitor %s of %r failed", monitor.id, monitor.model)
    return done
