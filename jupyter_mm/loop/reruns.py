"""``mm.rerun``: re-execute a tracked run's notebook in a fresh kernel, as a background job.

Against a local store the job runs in this process's own :class:`~.jobs.JobRunner` (one per
store, started on first use); against a tracking server (``MM_TRACKING_URI=http(s)://``) the
server runs it (``POST jobs/reruns``). Either way the job is recorded in the store, so its state,
log and result can be read from anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MMError

if TYPE_CHECKING:
    from ..core.entities import Run
    from ..core.store.jobs import Job
    from .jobs import JobHandle, JobRunner

_runners: dict[tuple[str, str | None], JobRunner] = {}
_lock = threading.Lock()


class RerunFailed(MMError):
    """A re-run (or reproducibility check) job ended failed, cancelled or lost.
    ``details``: ``job_id``, ``state`` and, when the tracked cell started one, ``run_id``."""

    code = "RERUN_FAILED"
    http_status = 422


@dataclass(frozen=True)
class RerunResult:
    """A finished re-run: the new run, the original, and what differs between them."""

    job_id: str
    run: Run
    rerun_of: str
    comparison: dict[str, Any]
    overrides: dict[str, Any]

    def __repr__(self) -> str:
        changed = ", ".join(f"{r['key']}: {r['a']} → {r['b']}" for r in self.comparison["metrics"])
        return (
            f"<RerunResult run {self.run.id} (re-run of {self.rerun_of}); "
            f"metrics {'differ: ' + changed if changed else 'identical'}>"
        )


def local_runner(store: Any) -> JobRunner:
    """This process's runner for the local ``store`` (started on first use)."""
    from .jobs import JobRunner

    key = (store.location.db_url, store.location.artifact_url)
    with _lock:
        runner = _runners.get(key)
        if runner is None:
            runner = _runners[key] = JobRunner(key[0], key[1]).start()
    return runner


def submit(kind: str, spec: dict[str, Any], run_id: str | None) -> JobHandle:
    from ..client.backend import get_store
    from ..client.registry import current_user
    from .jobs import JobHandle

    store = get_store()
    if getattr(store, "kind", None) == "remote":  # the server's runner runs it
        from ..client.remote.store import RemoteStore

        assert isinstance(store, RemoteStore)
        return JobHandle(store, store.start_job(kind, spec).id)
    job = local_runner(store).submit(kind, spec, created_by=current_user(), run_id=run_id)
    return JobHandle(store, job.id)


def rerun(
    run_id: Any,
    params: Mapping[str, Any] | None = None,
    *,
    wait: bool = True,
    timeout: float | None = None,
) -> RerunResult | JobHandle:
    """Re-execute the tracked run ``run_id``'s notebook in a fresh kernel, cells in the order
    they really ran up to the tracked cell, with ``params`` overridden (a ``-p`` value of the
    ``%%track`` line, a literal assignment of the tracked cell, of a ``parameters``-tagged cell
    or of an earlier cell). The new run is tagged ``mm.rerun_of`` and holds its own snapshot,
    environment and a comparison with the original (``.mm/rerun.json``).

    ``wait=False`` returns a :class:`~.jobs.JobHandle` at once; else waits (up to ``timeout``
    seconds, which is also the job's own time limit) and returns a :class:`RerunResult`, or
    raises :class:`RerunFailed` with the job's error."""
    from ..client.backend import get_store
    from .rerun import build_plan

    rid = getattr(run_id, "id", run_id)
    if not isinstance(rid, str) or not rid:
        raise InvalidInput(f"run_id must be a run or its id, got {run_id!r}")
    spec: dict[str, Any] = {"run_id": rid, "params": dict(params or {})}
    if timeout is not None:
        spec["timeout"] = timeout
    store = get_store()
    if getattr(store, "kind", None) != "remote":
        build_plan(store, rid, spec["params"])  # refuse bad overrides here, not in the job
    handle = submit("rerun", spec, rid)
    if not wait:
        return handle
    return result_of(handle.wait(None if timeout is None else timeout + 60))


def result_of(job: Job) -> RerunResult:
    from ..client.backend import get_store

    result = job.result or {}
    if job.state != "finished":
        raise RerunFailed(
            f"re-run job {job.id} {job.state}: {job.error or 'no error recorded'}",
            {"job_id": job.id, "state": job.state, "run_id": result.get("run_id")},
        )
    return RerunResult(
        job_id=job.id,
        run=get_store().get_run(result["run_id"]),
        rerun_of=result["rerun_of"],
        comparison=result.get("comparison") or {},
        overrides={
            k: v["value"] for k, v in (result.get("plan") or {}).get("overrides", {}).items()
        },
    )


def job(job_id: str) -> JobHandle:
    """A handle on a job (``mm.job(id).log()``, ``.cancel()``, ``.wait()``)."""
    from ..client.backend import get_store
    from .jobs import JobHandle

    store = get_store()
    store.get_job(job_id, log_limit=0)
    return JobHandle(store, job_id)
