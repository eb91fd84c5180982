"""Live store events on jupyter_server's event bus: runs created, updated, finished; metrics
appended; registry changes.

Events come from the store itself, so a kernel writing straight into SQLite (or another server
writing to the same PostgreSQL database) is seen too. A background task polls every
``interval`` seconds (0.5 by default):

1. a cheap change check: on SQLite ``PRAGMA data_version`` on one dedicated connection (it
   changes only when another connection commits); on other databases a fingerprint of the
   runs and latest-metrics tables (counts, maximum times, sum of latest steps) and the newest
   registry audit sequence number, plus a full check every few seconds, since a run rename
   changes none of those;
2. only when something changed, the light columns of every run (id, experiment, name, status,
   end time, lifecycle stage) are compared with the previous poll, and the latest
   ``(step, timestamp)`` of each metric of the runs that are running or just changed;
3. in the same pass, the registry audit entries appended since the previous poll, one event each
   with the schema :data:`~.registry_events.REGISTRY_EVENT_SCHEMA_ID` (fields in
   :mod:`.registry_events`): the audit trail already records every registry change, in order.

Each run change is emitted with the schema :data:`EVENT_SCHEMA_ID`; frontends receive it through
jupyter_server's ``/api/events/subscribe`` WebSocket, server-side code through
``serverapp.event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=...)``::

    {"action": "run-created" | "run-updated" | "run-finished" | "metrics-appended",
     "run_id": "...", "experiment_id": "...", "name": "...", "status": "...",
     "lifecycle_stage": "active" | "deleted", "keys": [...],   # keys: metrics-appended only
     "stream": "<id>", "seq": 17}

``seq`` counts the run events of one ``stream`` (one server process): a subscriber that sees a
gap, or a new stream, missed events (its WebSocket dropped, the server restarted) and reloads.

Several processes over one store (the workers of ``jupyter mm server --workers N``, replicas
behind a load balancer, a Jupyter server beside kernels) each run their own watcher, and each sees
every change, whoever made it, because it reads the store, not its own requests. Each has its own
stream: the same change is seq 17 on one and seq 40 on another, so a subscriber that reconnects
and lands on another process sees a new stream and reloads, exactly as after a restart. Registry
events carry the audit trail's own sequence number, the same on every process.

Not seen: run param and tag changes (a run-updated is emitted only for the columns above), and
metrics appended to a run that ended more than a poll interval earlier. Registry changes are
never missed: they are read from the audit trail by sequence number, not diffed.

The extension starts it with :func:`start_store_events` (at once, or on demand: the team server
starts polling only when the first client subscribes to ``{base_url}jupyter-mm/events``, see
:mod:`.event_socket`) and stops it with :func:`stop_store_events`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from ..errors import MMError
from .background import BackgroundLoop, register_event_schemas
from .event_schemas import load_schema
from .registry_events import REGISTRY_EVENT_SCHEMA, REGISTRY_EVENT_SCHEMA_ID, AuditFollower

if TYPE_CHECKING:
    from jupyter_events import EventLogger
    from sqlalchemy import Connection

    from ..core.store import Store
    from .store_provider import StoreProvider

EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mm/store/v1"
#: Key of the running StoreWatcher in the tornado settings.
EVENTS_SETTING = "jupyter_mm_events"

#: The schema, with every field's description: ``event_schemas/store/v1.yaml``.
EVENT_SCHEMA = load_schema(EVENT_SCHEMA_ID)

_TERMINAL = ("FINISHED", "FAILED", "KILLED")
#: On databases without a change counter, compare everything at least this often (seconds).
_FULL_CHECK_EVERY = 5.0

RunState = tuple[str, str, str, "int | None", str]  # experiment_id, name, status, end_time, stage
#: One event to emit: (schema id, data).
Emission = tuple[str, dict[str, Any]]


class StoreWatcher(BackgroundLoop):
    """Polls the store and emits an event for each change (see the module docstring)."""

    def __init__(
        self,
        provider: StoreProvider,
        event_logger: EventLogger,
        interval: float = 0.5,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__(provider, event_logger, log or logging.getLogger(__name__))
        self.interval = interval
        self._runs: dict[str, RunState] | None = None
        self._metrics: dict[tuple[str, str], tuple[int, int]] = {}
        self._version: Any = None
        self._conn: Connection | None = None
        self._last_full = 0.0
        #: When the first RUNNING run's heartbeat goes stale (epoch ms), None if none can.
        self._stale_at: int | None = None
        self._registry = AuditFollower()
        self._stream = uuid.uuid4().hex[:12]
        self._seq = 0
        self._baseline = asyncio.Event()

    @property
    def stream(self) -> str:
        """This process's event stream id (see the module docstring)."""
        return self._stream

    @property
    def seq(self) -> int:
        """The ``seq`` of the last run event emitted on :attr:`stream` (0: none yet)."""
        return self._seq

    @property
    def registry_seq(self) -> int | None:
        """The audit sequence number the registry events continue from (None before the baseline)."""
        return self._registry.seq

    async def wait_baseline(self, timeout: float) -> bool:
        """Wait until the first poll has read the store: every change committed after that is
        emitted. False if the store did not answer within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._baseline.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # --- lifecycle ------------------------------------------------------------------------

    async def stop(self) -> None:
        await super().stop()
        await asyncio.to_thread(self._close_conn)

    async def _loop(self) -> None:
        failing = False
        while not self._stopping:
            try:
                events = await self.in_thread(self.poll)
                failing = False
                self._baseline.set()
            except asyncio.CancelledError:
                raise
            except MMError as e:  # store unreachable or shutting down: try again later
                if not failing:
                    self.log.warning("jupyter-mm events: %s", e.message)
                failing = True
                events = []
                await self.in_thread(self._close_conn)
            except Exception:
                if not failing:
                    self.log.exception("jupyter-mm events: polling the store failed")
                failing = True
                events = []
                await self.in_thread(self._close_conn)
            for schema_id, data in events:
                if schema_id == EVENT_SCHEMA_ID:
                    self._seq += 1
                    data = {**data, "stream": self._stream, "seq": self._seq}
                self.emit(schema_id, data, data)
            await asyncio.sleep(self.interval)

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # pragma: no cover - closing a broken connection
                self.log.debug("jupyter-mm events: closing the connection failed", exc_info=True)

    # --- polling (in a worker thread) -----------------------------------------------------

    def poll(self) -> list[Emission]:
        """One poll: the events since the previous one (none on the first)."""
        import time

        store = self.provider.get()
        version = self._change_marker(store)
        now = time.monotonic()
        full_due = store.kind != "sqlite" and now - self._last_full >= _FULL_CHECK_EVERY
        unchanged = version == self._version and not self._registry.behind
        # a dead writer changes nothing in the database: its run turns KILLED with time alone
        stale_due = self._stale_at is not None and time.time() * 1000 > self._stale_at
        if self._runs is not None and unchanged and not full_due and not stale_due:
            return []
        self._version = version
        self._last_full = now
        return self._diff(store)

    def _change_marker(self, store: Store) -> Any:
        from sqlalchemy import func, select

        from ..core import schema as s

        if store.kind == "sqlite":
            if self._conn is None:
                self._conn = store.engine.connect()
            try:
                return ("sqlite", self._conn.exec_driver_sql("PRAGMA data_version").scalar())
            finally:
                self._conn.rollback()
        r, m = s.runs.c, s.latest_metrics.c
        with store.engine.connect() as conn:
            runs = conn.execute(
                select(func.count(), func.max(r.start_time), func.max(r.end_time))
            ).one()
            metrics = conn.execute(
                select(func.count(), func.sum(m.step), func.max(m.timestamp))
            ).one()
            audit = AuditFollower.head(conn)
        return (tuple(runs), tuple(metrics), audit)

    def _diff(self, store: Store) -> list[Emission]:
        from sqlalchemy import select

        from ..core import schema as s
        from ..core.entities import STALE_HEARTBEAT_MS
        from ..core.search.compiler import SHOWN_END_TIME, SHOWN_STATUS

        r, m = s.runs.c, s.latest_metrics.c
        with store.engine.connect() as conn:
            # the shown status: a run whose heartbeat stops is announced as finished (KILLED)
            rows = conn.execute(
                select(
                    r.run_uuid,
                    r.experiment_id,
                    r.name,
                    SHOWN_STATUS,
                    SHOWN_END_TIME,
                    r.lifecycle_stage,
                    r.heartbeat_time,
                )  # fmt: skip
            ).all()
            runs: dict[str, RunState] = {
                row[0]: (str(row[1]), row[2], row[3], row[4], row[5]) for row in rows
            }
            beats = [row[6] for row in rows if row[3] == "RUNNING" and row[6] is not None]
            self._stale_at = min(beats) + STALE_HEARTBEAT_MS if beats else None
            first = self._runs is None
            old_runs = self._runs or {}
            changed = {rid for rid, state in runs.items() if old_runs.get(rid) != state}
            watch = sorted({rid for rid, state in runs.items() if state[2] == "RUNNING"} | changed)
            metrics: dict[tuple[str, str], tuple[int, int]] = {}
            for i in range(0, len(watch), 900):
                for rid, key, step, ts in conn.execute(
                    select(m.run_uuid, m.key, m.step, m.timestamp).where(
                        m.run_uuid.in_(watch[i : i + 900])
                    )
                ):
                    metrics[(rid, key)] = (step, ts)
            registry = self._registry.new_events(conn)
        events: list[dict[str, Any]] = []
        if not first:
            for rid in changed:
                state = runs[rid]
                before = old_runs.get(rid)
                if before is None:
                    action = "run-created"
                elif state[2] in _TERMINAL and before[2] not in _TERMINAL:
                    action = "run-finished"
                else:
                    action = "run-updated"
                events.append(_run_event(action, rid, state))
            appended: dict[str, list[str]] = {}
            for (rid, key), latest in sorted(metrics.items()):
                if self._metrics.get((rid, key)) != latest:
                    appended.setdefault(rid, []).append(key)
            for rid, keys in appended.items():
                events.append({**_run_event("metrics-appended", rid, runs[rid]), "keys": keys})
        self._runs = runs
        # keep what we know of runs we stopped watching, so a late append is still a change
        self._metrics = {
            k: v for k, v in self._metrics.items() if k[0] in runs and k[0] not in watch
        } | metrics
        return [(EVENT_SCHEMA_ID, e) for e in events] + [
            (REGISTRY_EVENT_SCHEMA_ID, e) for e in registry
        ]


def _run_event(action: str, rid: str, state: RunState) -> dict[str, Any]:
    exp, name, status, _end, stage = state
    return {
        "action": action,
        "run_id": rid,
        "experiment_id": exp,
        "name": name,
        "status": status,
        "lifecycle_stage": stage,
    }


def start_store_events(app: Any, interval: float = 0.5, on_demand: bool = False) -> StoreWatcher:
    """Register the event schemas and start a :class:`StoreWatcher` for the extension ``app``.

    Call it from ``JupyterMM.initialize_settings`` (after ``store_provider`` is set): polling
    starts once the server's event loop runs, or, ``on_demand``, when the first client subscribes
    to :mod:`.event_socket` (a server nobody follows then never polls its database).
    """
    event_logger = register_event_schemas(app, EVENT_SCHEMA, REGISTRY_EVENT_SCHEMA)
    watcher = StoreWatcher(app.store_provider, event_logger, interval=interval, log=app.log)
    app.settings[EVENTS_SETTING] = watcher
    if not on_demand:
        app.serverapp.io_loop.add_callback(watcher.start)
    return watcher


async def stop_store_events(app: Any) -> None:
    """Stop the watcher :func:`start_store_events` started (from ``stop_extension``)."""
    watcher = app.settings.get(EVENTS_SETTING)
    if isinstance(watcher, StoreWatcher):
        await watcher.stop()
