"""One job, executed in its own process: ``python -m jupyter_mm.loop.worker JOB_ID``.

The job runner (:mod:`.jobs`) starts it with ``MM_TRACKING_URI`` (and ``MM_ARTIFACT_URI``) naming
the store. A process of its own means a cancel or a timeout is one signal (nbclient then shuts
the kernel down), and a worker outlives a crashing server: it finishes the job and records it, and
a restarted server adopts it meanwhile (cancel and timeout reach it) and finds it finished; if both
went, the job is marked ``lost``.

The worker takes the job over (its owner becomes this process), streams the kernel's output into
the job's log, beats a heartbeat while a silent cell runs, and records the verdict. Every write is
conditional on the job still running, so a job already cancelled, timed out or lost keeps that
verdict.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import traceback
from typing import Any

from ..core.store import Store
from ..core.store.jobs import FAILED, FINISHED, Job
from ..errors import MMError
from .jobs import HEARTBEAT_SECONDS, owner_id


class LogWriter:
    """Buffers output and appends it to the job's log at most every half second (and on flush);
    a thread beats the heartbeat meanwhile, so a silent cell never looks lost."""

    def __init__(self, store: Store, job_id: str) -> None:
        self.store, self.job_id = store, job_id
        self._buf: list[str] = []
        self._last = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="mm-job-beat")
        self._beat.start()

    def __call__(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._buf.append(text)
        if time.monotonic() - self._last >= 0.5:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            text, self._buf = "".join(self._buf), []
        self._last = time.monotonic()
        try:
            self.store.append_job_log(self.job_id, text)
        except MMError:  # the store is busy: keep the text for the next flush
            with self._lock:
                self._buf.insert(0, text)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()


def run_job(store: Store, job: Job, tracking_uri: str, artifact_uri: str | None) -> None:
    """Execute ``job`` and record its verdict (never raises for the job's own failures)."""
    me = owner_id()
    store.set_job_owner(job.id, me)
    log = LogWriter(store, job.id)
    try:
        if job.kind == "reproducibility":
            from .reproducibility import run_check

            result, run_id = run_check(store, job, tracking_uri, artifact_uri, log)
        elif job.kind == "retraining":
            from .retraining import run_retraining

            result, run_id = run_retraining(store, job, tracking_uri, artifact_uri, log)
        else:
            result, run_id = run_rerun(store, job, tracking_uri, artifact_uri, log)
        log.close()
        failed = result.get("error")
        store.finish_job(
            job.id, FAILED if failed else FINISHED, result=result, error=failed,
            result_run_id=run_id, owner=me,
        )  # fmt: skip
    except BaseException as e:  # the verdict must be written whatever happened
        log("\n" + "".join(traceback.format_exception(type(e), e, e.__traceback__))[-4000:])
        log.close()
        message = e.message if isinstance(e, MMError) else f"{type(e).__name__}: {e}"
        store.finish_job(job.id, FAILED, error=message, owner=me)
        if not isinstance(e, Exception):
            raise


def run_rerun(
    store: Store, job: Job, tracking_uri: str, artifact_uri: str | None, log: Any,
    params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str | None]:  # fmt: skip
    """The re-run of ``job.spec["run_id"]``: ``(result, new run id)``. A failing cell makes a
    result with ``error`` (and the new run, if the tracked cell got to start it)."""
    from . import rerun as rr

    spec = job.spec
    plan = rr.build_plan(
        store, spec["run_id"], spec.get("params") if params is None else params,
        tags={rr.TAG_RERUN_JOB: job.id},
    )  # fmt: skip
    for w in plan.warnings:
        log(f"warning: {w}\n")
    executed, error = None, None
    with tempfile.TemporaryDirectory(prefix="mm-rerun-") as tmp:
        cwd = rr.working_dir(store, plan.run_id, tmp)
        try:
            executed = rr.execute(
                plan, env=rr.rerun_env(tracking_uri, artifact_uri), cwd=cwd, on_output=log,
                cell_timeout=spec.get("cell_timeout"),
            )  # fmt: skip
        except rr.CellFailed as e:
            executed, error = e.details.get("notebook"), e.message
    new = rr.find_new_run(store, job.id)
    result: dict[str, Any] = {"rerun_of": plan.run_id, "run_id": new.id if new else None,
                              "plan": plan.facts()}  # fmt: skip
    if new is not None:
        result["status"] = new.status
        result["comparison"] = rr.finalize(store, plan, new.id, job.id, executed)
        if error is None and new.status != "FINISHED":
            error = new.tags.get("mm.error") or f"the re-run's run ended {new.status}"
    elif error is None:
        error = "the re-run made no tracked run (did the %%track cell run?)"
    if error:
        result["error"] = error
    return result, new.id if new else None


def main(argv: list[str] | None = None) -> int:
    import os

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):  # the runner's pid, second, only tells a later runner an orphan
        print("usage: python -m jupyter_mm.loop.worker JOB_ID [RUNNER_PID]", file=sys.stderr)
        return 2
    uri = os.environ.get("MM_TRACKING_URI")
    if not uri:
        print("MM_TRACKING_URI is not set", file=sys.stderr)
        return 2
    artifact_uri = os.environ.get("MM_ARTIFACT_URI") or None
    with Store.open(uri, artifact_uri) as store:
        job = store.get_job(args[0], log_limit=0)
        if job.done:
            return 0
        run_job(store, job, uri, artifact_uri)
    return 0


if __name__ == "__main__":
    sys.exit(main())
