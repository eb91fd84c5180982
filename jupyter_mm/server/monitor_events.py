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

from .background import TickLoop, event_schema, register_event_schemas

if TYPE_CHECKING:
    from jupyter_events import EventLogger

    from ..monitoring.monitors import Evaluation
    from .store_provider import StoreProvider

MONITOR_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mm/monitor/v1"
#: Key of the running MonitorScheduler in the tornado settings.
MONITORS_SETTING = "jupyter_mm_monitors"
#: Test-only override of the scheduler's tick in seconds (the team server reads no config file).
TICK_ENV = "MM_MONITOR_TICK"

MONITOR_EVENT_SCHEMA = event_schema(
    MONITOR_EVENT_SCHEMA_ID,
    "jupyter-mm monitor alarms",
    "A scheduled monitor's evaluation crossed a threshold: its verdict became drift (or the "
    "model's performance degraded); emitted once per crossing by the evaluating process.",
    required=["action", "evaluation_id", "model", "monitor", "version"],
    properties={
        "action": {
            "enum": ["monitor.drift_detected", "monitor.performance_degraded"],
            "description": "what crossed",
        },
        "evaluation_id": {"type": "string", "description": "the evaluation (run tag)"},
        "model": {"type": "string", "description": "the registered model"},
        "monitor": {"type": "string", "description": "the monitor's id"},
        "alias": {"type": "string", "description": "the alias it watches"},
        "version": {"type": "integer", "description": "the version the alias resolved to"},
        "run_id": {"type": "string", "description": "the monitoring run holding the figures"},
        "status": {
            "type": "string",
            "description": "the verdict: drift (drift_detected) or degraded (performance_degraded)",
        },
        "previous": {
            "type": "string",
            "description": "the previous conclusive verdict (of drift, or of performance)",
        },
        "rows": {"type": "integer", "description": "rows in the window"},
        "share": {"type": "number", "description": "share of drifted features"},
        "features": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the drifted features",
        },
        "evaluated_at": {"type": "string", "description": "the evaluation's time (ISO 8601)"},
        "metric": {
            "type": "string",
            "description": "performance_degraded: the watched metric (auc, gini, accuracy...)",
        },
        "value": {"type": "number", "description": "performance_degraded: the metric's value"},
        "estimated": {
            "type": "boolean",
            "description": "performance_degraded: true when the value is estimated from the "
            "scores (CBPE) because too few labels arrived, false when measured from labels",
        },
        "threshold": {
            "type": ["number", "null"],
            "description": "performance_degraded: the bar the value fell under",
        },
    },
)


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
