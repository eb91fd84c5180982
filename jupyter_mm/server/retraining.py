"""Retraining in the server: started by the monitors' alarms and by schedules.

Every server process over a store listens for ``monitor.drift_detected`` and
``monitor.performance_degraded`` on its event bus (:data:`.monitor_events.MONITOR_EVENT_SCHEMA_ID`)
and asks :func:`jupyter_mm.loop.retraining.on_event` to start the retraining the model's policy
wants; and every ``tick`` seconds it starts the scheduled retrainings whose period began
(:func:`jupyter_mm.loop.retraining.run_schedules`). The retraining's record is unique per (model,
event) in the database, so one alarm or one period starts at most one retraining, however many
processes hear it. The job runs in this process's job runner (:mod:`.jobs`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .background import TickLoop, register_event_schemas
from .jobs import JOBS_SETTING

#: Key of the running schedule loop in the tornado settings.
RETRAINING_SETTING = "jupyter_mm_retraining"


def job_submitter(app: Any, created_by: str) -> Any:
    """``submit(spec, run_id)`` queuing a retraining job in this process's runner (None: no runner)."""
    runner = app.settings.get(JOBS_SETTING)
    if runner is None:
        return None

    def submit(spec: dict[str, Any], run_id: str) -> Any:
        return runner.submit("retraining", spec, created_by=created_by, run_id=run_id)

    return submit


class RetrainingSchedules(TickLoop):
    """Starts the scheduled retrainings whose period began, every ``tick`` seconds."""

    failure = "jupyter-mm retraining: the scheduled retrainings failed"

    def __init__(self, app: Any, tick: float, log: logging.Logger) -> None:
        self.app, self.tick, self.log = app, tick, log

    def run_once(self) -> list[Any]:
        from ..loop.retraining import SYSTEM_ACTOR, run_schedules

        return run_schedules(self.app.store_provider.get(), job_submitter(self.app, SYSTEM_ACTOR))


def start_retraining(app: Any, tick: float) -> None:
    """Listen for monitor alarms and start the schedule loop (``JupyterMM.initialize_settings``)."""
    from ..loop.retraining import SYSTEM_ACTOR, on_event
    from .monitor_events import MONITOR_EVENT_SCHEMA, MONITOR_EVENT_SCHEMA_ID

    serverapp = app.serverapp
    event_logger = register_event_schemas(app, MONITOR_EVENT_SCHEMA)

    async def on_monitor(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(
                on_event, app.store_provider.get(), data, job_submitter(app, SYSTEM_ACTOR)
            )
        except Exception:
            app.log.exception(
                "jupyter-mm retraining: starting the retraining of %s for %s failed",
                data.get("model"),
                data.get("evaluation_id"),
            )

    event_logger.add_listener(schema_id=MONITOR_EVENT_SCHEMA_ID, listener=on_monitor)
    loop = RetrainingSchedules(app, tick, app.log)
    app.settings[RETRAINING_SETTING] = loop
    serverapp.io_loop.add_callback(loop.start)


async def stop_retraining(app: Any) -> None:
    loop = app.settings.pop(RETRAINING_SETTING, None)
    if isinstance(loop, RetrainingSchedules):
        await loop.stop()
