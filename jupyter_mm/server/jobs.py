"""The job runner in the server: re-runs and reproducibility checks, and their ``rerun.finished``.

Every server process over a store (the Jupyter server extension, each ``--workers`` process of
``jupyter mm server``) starts a :class:`~jupyter_mm.loop.jobs.JobRunner` (``JupyterMM.jobs``): it
runs the jobs started through that process's REST routes and, at start, marks ``lost`` the jobs
of processes that are gone. When a job it ran ends, the process emits one event with the schema
:data:`JOB_EVENT_SCHEMA_ID` (the webhooks pick it up)::

    {"action": "rerun.finished", "job_id": "...", "kind": "rerun" | "reproducibility" | "retraining",
     "state": "finished" | "failed" | "cancelled" | "lost", "run_id": "<the original>",
     "result_run_id": "<the new run>", "error": "...", "passed": true,   # passed: checks only
     "model": "...", "retraining_id": "..."}                              # retraining jobs
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .background import emit_event, register_event_schemas
from .event_schemas import load_schema

if TYPE_CHECKING:
    from ..core.store.jobs import Job
    from ..loop.jobs import JobRunner

JOB_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mm/jobs/v1"
#: Key of the running JobRunner in the tornado settings.
JOBS_SETTING = "jupyter_mm_jobs"

#: The schema, with every field's description: ``event_schemas/jobs/v1.yaml``.
JOB_EVENT_SCHEMA = load_schema(JOB_EVENT_SCHEMA_ID)


def job_event(job: Job) -> dict[str, Any]:
    data: dict[str, Any] = {"action": "rerun.finished", "job_id": job.id, "kind": job.kind,
                            "state": job.state}  # fmt: skip
    for key, value in (("run_id", job.run_id), ("result_run_id", job.result_run_id),
                       ("error", job.error)):  # fmt: skip
        if value:
            data[key] = value[:2000] if key == "error" else value
    if job.kind == "reproducibility":
        data["model"], data["version"] = job.spec.get("model"), int(job.spec.get("version", 0))
        summary = (job.result or {}).get("summary")
        if isinstance(summary, dict) and isinstance(summary.get("passed"), bool):
            data["passed"] = summary["passed"]
    elif job.kind == "retraining":
        data["model"], data["retraining_id"] = job.spec.get("model"), job.spec.get("retraining_id")
    return data


def start_jobs(app: Any, max_concurrent: int, timeout: float) -> JobRunner:
    """Register the event schema and start the runner (from ``JupyterMM.initialize_settings``)."""
    from ..core import locations
    from ..loop.jobs import JobRunner

    event_logger = register_event_schemas(app, JOB_EVENT_SCHEMA)
    loop = app.serverapp.io_loop
    # resolved, not opened: the extension loads even while a team database is down
    location = locations.resolve(app.store_provider.uri, app.store_provider.artifact_uri)

    def finished(job: Job) -> None:  # in the runner's thread: emit on the event loop's
        data, what = job_event(job), f"rerun.finished for {job.id}"
        loop.add_callback(emit_event, event_logger, app.log, JOB_EVENT_SCHEMA_ID, data, what)

    override = os.environ.get("MM_JOB_TIMEOUT")
    runner = JobRunner(
        location.db_url, location.artifact_url, max_concurrent=max_concurrent,
        timeout=float(override) if override else timeout, on_finished=finished,
    ).start()  # fmt: skip
    app.settings[JOBS_SETTING] = runner
    return runner


def stop_jobs(app: Any) -> None:
    runner = app.settings.pop(JOBS_SETTING, None)
    if runner is not None:
        runner.stop()
