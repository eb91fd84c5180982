"""Scheduled monitors in the server: evaluate the due ones, announce their alarms on the event bus.

Every server process over a store (the Jupyter server extension, each ``--workers`` process of
``jupyter mm server``, each replica) runs a :class:`MonitorScheduler`: every ``tick`` seconds,
in a worker thread, :func:`jupyter_mm.monitoring.schedule.run_due` evaluates the monitors that
are due *and* that this process claims (one conditional update of the monitor's "last
evaluated" marker: one process per monitor and period, see :mod:`jupyter_mm.monitoring.schedule`).
An evaluation whose verdict crosses into drift (its previous conclusive verdict was not drift)
is emitted once, by the process that made it, with the schema :data:`MONITOR_EVENT_SCHEMA_ID`::

    {"action": "monitor.drift_detected", "evaluation_id": "...", "model": "credit",
     "monitor": "champion", "alias": "champion", "version": 3, "run_id": "...",
     "status": "drift", "previous": "ok", "rows": 10412, "share": 0.25,
     "features": ["income", ...], "evaluated_at": "2026-01-01T01:00:00+00:00"}

An evaluation whose performance crosses into degraded (a monitor with a performance rule; its
previous conclusive performance was ok) is emitted once the same way, with the same fields plus
the metric, its value and whether it was estimated rather than measured; ``status`` is then
``degraded`` and ``previous`` the previous performance (``ok``)::

    {"action": "monitor.performance_degraded", ..., "status": "degraded", "previous": "ok",
     "metric": "auc", "value": 0.64, "estimated": true, "threshold": 0.7, ...}

Server-side listeners use ``serverapp.event_logger.add_listener(schema_id=...)``; clients of the
team server receive it on ``{base_url}jupyter-mm/events``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from .background import TickLoop, register_event_schemas
from .event_schemas import load_schema

if TYPE_CHECKING:
    from jupyter_events import EventLogger

    from ..monitoring.monitors import Evaluation
    from .store_provider import StoreProvider

MONITOR_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mm/monitor/v1"
#: Key of the running MonitorScheduler in the tornado settings.
MONITORS_SETTING = "jupyter_mm_monitors"
#: Test-only override of the scheduler's tick in seconds (the team server reads no config file).
TICK_ENV = "MM_MONITOR_TICK"

#: The schema, with every field's description: ``event_schemas/monitor/v1.yaml``.
MONITOR_EVENT_SCHEMA = load_schema(MONITOR_EVENT_SCHEMA_ID)


def drift_event(ev: Evaluation) -> dict[str, Any]:
    """The event data of an evaluation that crossed into drift."""
    result = ev.result
    return {
        "action": "monitor.drift_detected",
        "evaluation_id": ev.id,
        "model": ev.monitor.model,
        "monitor": ev.monitor.id,
        "alias": ev.monitor.alias,
        "version": ev.version,
        "run_id": ev.run_id,
        "status": ev.status,
        "previous": ev.previous,
        "rows": ev.rows,
        "share": float(result.share) if result is not None else 0.0,
        "features": [str(v.feature) for v in result.verdicts if v.drifted] if result else [],
        "evaluated_at": ev.at.isoformat(),
    }


def performance_event(ev: Evaluation) -> dict[str, Any]:
    """The event data of an evaluation whose performance crossed into degraded."""
    perf = ev.performance or {}
    return {
        **drift_event(ev),
        "action": "monitor.performance_degraded",
        "status": "degraded",
        "previous": ev.performance_previous,
        "metric": str(perf.get("metric", "")),
        "value": float(perf.get("value") or 0.0),
        "estimated": bool(perf.get("estimated")),
        "threshold": perf.get("threshold"),
    }


def alarms(ev: Evaluation) -> list[dict[str, Any]]:
    """The events an evaluation raises: one per kind of crossing it made."""
    out = [drift_event(ev)] if ev.crossed else []
    return [*out, performance_event(ev)] if ev.performance_crossed else out


class MonitorScheduler(TickLoop):
    """Evaluates due monitors every ``tick`` seconds and emits their crossings."""

    failure = "jupyter-mm monitors: listing the due monitors failed"

    def __init__(
        self,
        provider: StoreProvider,
        event_logger: EventLogger,
        tick: float = 30.0,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__(provider, event_logger, log or logging.getLogger(__name__))
        self.tick = tick

    def run_once(self) -> list[Evaluation]:
        """One tick (in a worker thread): the evaluations this process made."""
        from ..monitoring.schedule import run_due

        return run_due(self.provider.get())

    def handle(self, result: list[Evaluation]) -> None:
        for ev in result:
            for data in alarms(ev):
                self.emit(MONITOR_EVENT_SCHEMA_ID, data, f"evaluation {ev.id}")


def start_monitors(app: Any, tick: float = 30.0) -> MonitorScheduler:
    """Register the monitor event schema and start the scheduler once the event loop runs
    (from ``JupyterMM.initialize_settings``). ``$MM_MONITOR_TICK`` overrides ``tick``."""
    event_logger = register_event_schemas(app, MONITOR_EVENT_SCHEMA)
    override = os.environ.get(TICK_ENV)
    if override:
        tick = float(override)
    scheduler = MonitorScheduler(app.store_provider, event_logger, tick=tick, log=app.log)
    app.settings[MONITORS_SETTING] = scheduler
    app.serverapp.io_loop.add_callback(scheduler.start)
    return scheduler


async def stop_monitors(app: Any) -> None:
    scheduler = app.settings.get(MONITORS_SETTING)
    if isinstance(scheduler, MonitorScheduler):
        await scheduler.stop()
