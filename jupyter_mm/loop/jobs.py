"""The job runner: background re-runs with bounded concurrency, a timeout, cancel and a live log.

Jupyter-free, so the Jupyter server extension, the team server (each ``--workers`` process) and a
notebook's own ``mm.rerun(..., wait=False)`` start the same runner. Jobs live in the store
(``core/store/jobs.py``): a job is recorded ``queued`` before anything runs, so it is never silently
gone. Each runner executes the jobs it accepted, at most ``max_concurrent`` at a time, each in a
worker process (:mod:`.worker`) that executes the notebook with nbclient and writes the log and
the verdict. The runner watches its workers: a cancel asked through the store (from any process)
or the timeout records the verdict first, then stops the worker (SIGTERM: nbclient shuts the
kernel down), so the verdict stands whatever the worker writes afterwards.

A restart never leaves a job silently gone: at start and then every minute, a runner marks
``lost`` the unfinished jobs whose owner process is gone from this host, and those whose heartbeat
(the worker writes one at least every :data:`HEARTBEAT_SECONDS`) is older than
:data:`LOST_AFTER_SECONDS`, wherever they ran. A worker that outlives its server finishes and
records its job; the runners of this host adopt it at their sweep, so a cancel and the timeout
still reach it and its end is still reported (``on_finished``), instead of a job that runs on,
unstoppable, with nobody to say it ended.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.store import Store
from ..core.store.jobs import CANCELLED, FAILED, QUEUED, RUNNING, Job
from ..errors import InvalidInput, MMError

_log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
LOST_AFTER_SECONDS = 300.0
DEFAULT_TIMEOUT = 3600.0
SWEEP_SECONDS = 60.0  # also the heartbeat of a runner's queued jobs
RETRY_SECONDS = 5.0  # after the store failed


def owner_id(pid: int | None = None) -> str:
    """``host:pid`` of a process, as jobs record their owner."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def _gone(owner: str) -> bool:
    """Whether ``owner`` (``host:pid``) is a process of this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(int(pid))


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _orphan_worker(owner: str) -> int | None:
    """The pid of ``owner`` (``host:pid``) if it is a worker of this host whose runner is gone:
    its command line names its runner's pid (see :meth:`JobRunner._spawn`), which is no longer
    its parent. ``None`` for anything else (a runner, a worker its runner still watches)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
    if WORKER_MODULE.encode() not in argv:
        return None
    rest = argv[argv.index(WORKER_MODULE.encode()) + 1 :]
    if len(rest) > 1 and rest[1].isdigit() and int(rest[1]) == ppid:
        return None  # its runner still watches it
    return int(pid)


WORKER_MODULE = "jupyter_mm.loop.worker"


@dataclass
class _Running:
    """A worker this runner watches: one it started (``proc``), or an orphan it adopted
    (``pid``, with ``started`` on the wall clock of the job's start)."""

    job_id: str
    proc: subprocess.Popen[bytes] | None
    started: float
    timeout: float
    pid: int = 0
    owner: str = ""

    def elapsed(self) -> float:
        return (time.monotonic() if self.proc else time.time()) - self.started


class JobRunner:
    """Runs the jobs it accepts (see the module docstring). ``on_finished(job)`` is called, in the
    runner's thread, for each job that ended here (the server emits ``rerun.finished`` from it)."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_uri: str | None = None,
        *,
        max_concurrent: int = 2,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = 0.5,
        on_finished: Callable[[Job], None] | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise InvalidInput(f"max_concurrent must be at least 1, got {max_concurrent}")
        self.tracking_uri = tracking_uri
        self.artifact_uri = artifact_uri
        self.max_concurrent = max_concurrent
        self.timeout = float(timeout)
        self.poll = poll
        self.on_finished = on_finished
        self.owner = owner_id()
        self._store: Store | None = None
        self._running: dict[str, _Running] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sweep = 0.0
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        """The runner's store, opened on first use: a server whose database is down at start-up
        still starts, and its runner picks the database up once it is back."""
        with self._lock:
            if self._store is None:
                self._store = Store.open(self.tracking_uri, self.artifact_uri)
            return self._store

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> JobRunner:
        """Start the runner's thread; its first act is a sweep for lost jobs."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="mm-jobs")
                self._thread.start()
        return self

    def stop(self, cancel_running: bool = False) -> None:
        """Stop the runner. Running workers go on (and record their jobs) unless
        ``cancel_running``; this runner's queued jobs are later marked ``lost`` by the next
        runner's sweep, never left looking alive."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if cancel_running:
            for r in list(self._running.values()):
                self._stop_worker(r, CANCELLED, "the runner stopped")
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()

    # -- requests --------------------------------------------------------------------------

    def submit(
        self, kind: str, spec: dict[str, Any], *, created_by: str, run_id: str | None = None
    ) -> Job:
        timeout = spec.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise InvalidInput(f"timeout must be a positive number of seconds, got {timeout!r}")
        job = self.store.create_job(kind, spec, created_by=created_by, run_id=run_id,
                                    owner=self.owner)  # fmt: skip
        self._wake.set()
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.store.cancel_job(job_id)
        self._wake.set()
        return job

    # -- the loop --------------------------------------------------------------------------

    def sweep(self) -> list[str]:
        """Mark lost the unfinished jobs of processes that are gone (see the module docstring)."""
        self._last_sweep = time.monotonic()
        try:
            self.store.touch_queued_jobs(self.owner)
            gone = [o for o in self.store.unfinished_job_owners() if o != self.owner and _gone(o)]
            stale = int((time.time() - LOST_AFTER_SECONDS) * 1000)
            lost = self.store.mark_lost_jobs(gone, stale_before=stale)
        except MMError as e:
            _log.warning("jupyter-mm jobs: sweeping for lost jobs failed: %s", e.message)
            return []
        for job_id in lost:
            _log.warning("jupyter-mm jobs: job %s was lost (its process is gone)", job_id)
            self._finished(job_id)
        try:
            self._adopt()
        except MMError as e:
            _log.warning("jupyter-mm jobs: adopting orphaned workers failed: %s", e.message)
        return lost

    def _adopt(self) -> None:
        """Watch the running jobs whose worker outlived its runner (a server restarted)."""
        for owner in self.store.unfinished_job_owners():
            pid = _orphan_worker(owner)
            if pid is None:
                continue
            for job in self.store.list_jobs(state=RUNNING, owner=owner):
                if job.id in self._running:
                    continue
                _log.info("jupyter-mm jobs: watching job %s, whose worker outlived its server",
                          job.id)  # fmt: skip
                started = (job.started_time or job.created_time) / 1000
                timeout = float(job.spec.get("timeout") or self.timeout)
                self._running[job.id] = _Running(job.id, None, started, timeout, pid, owner)

    def _loop(self) -> None:
        self._last_sweep = -SWEEP_SECONDS  # the first tick sweeps
        while not self._stop.is_set():
            try:
                self._tick()
            except MMError as e:  # the database is down, say: retry, without flooding the log
                _log.warning("jupyter-mm jobs: %s", e.message)
                self._stop.wait(RETRY_SECONDS)
            except Exception:
                _log.exception("jupyter-mm jobs: the runner's tick failed")
            self._wake.wait(self.poll)
            self._wake.clear()

    def _tick(self) -> None:
        if time.monotonic() - self._last_sweep > SWEEP_SECONDS:
            self.sweep()
        for r in list(self._running.values()):
            self._watch(r)
        free = self.max_concurrent - len(self._running)
        if free > 0:
            queued = self.store.list_jobs(state=QUEUED, owner=self.owner, max_results=100)
            for job in sorted(queued, key=lambda j: (j.created_time, j.id))[:free]:
                self._spawn(job)

    def _spawn(self, job: Job) -> None:
        if not self.store.start_job(job.id, self.owner):
            return  # cancelled meanwhile
        env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
        env["MM_TRACKING_URI"] = self.tracking_uri
        if self.artifact_uri:
            env["MM_ARTIFACT_URI"] = self.artifact_uri
        try:
            proc = subprocess.Popen(  # this runner's pid: a later runner tells an orphan by it
                [sys.executable, "-m", WORKER_MODULE, job.id, str(os.getpid())],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError as e:
            self.store.finish_job(job.id, FAILED, error=f"cannot start a worker: {e}")
            self._finished(job.id)
            return
        timeout = float(job.spec.get("timeout") or self.timeout)
        self._running[job.id] = _Running(job.id, proc, time.monotonic(), timeout)

    def _watch(self, r: _Running) -> None:
        if r.proc is None:
            if _gone(r.owner):  # an adopted worker ended: its verdict, or lost without one
                del self._running[r.job_id]
                self.store.mark_lost_jobs([r.owner])
                self._finished(r.job_id)
                return
        elif (code := r.proc.poll()) is not None:
            del self._running[r.job_id]
            err = (r.proc.stderr.read() if r.proc.stderr else b"").decode("utf-8", "replace")
            job = self.store.get_job(r.job_id, log_limit=0)
            if job.state == RUNNING:  # the worker died without a verdict
                self.store.finish_job(
                    r.job_id, FAILED,
                    error=f"the worker process exited with code {code}" + (
                        f": {err[-2000:]}" if err.strip() else ""
                    ),
                )  # fmt: skip
            self._finished(r.job_id)
            return
        job = self.store.get_job(r.job_id, log_limit=0)
        if job.cancel_requested:
            self._stop_worker(r, CANCELLED, None)
        elif r.elapsed() > r.timeout:
            self._stop_worker(r, FAILED, f"timed out after {r.timeout:g} seconds")
        elif job.done:  # marked lost or ended elsewhere: nothing more to run
            self._stop_worker(r, job.state, None)

    def _stop_worker(self, r: _Running, state: str, error: str | None) -> None:
        if state in (CANCELLED, FAILED):
            self.store.finish_job(r.job_id, state, error=error)  # the verdict first
        if r.proc is not None:
            r.proc.terminate()
            try:
                r.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait()
        else:
            _signal_and_wait(r.pid, r.owner)
        self._running.pop(r.job_id, None)
        self._finished(r.job_id)

    def _finished(self, job_id: str) -> None:
        if self.on_finished is None:
            return
        try:
            self.on_finished(self.store.get_job(job_id, log_limit=0))
        except Exception:
            _log.exception("jupyter-mm jobs: the finished-job callback failed for %s", job_id)


def _signal_and_wait(pid: int, owner: str) -> None:
    """Stop an adopted worker (not our child: no ``wait``), SIGKILL after 30 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _gone(owner):
                return
            time.sleep(0.1)


# --------------------------------------------------------------------------- a client's handle


class JobHandle:
    """What ``mm.rerun(..., wait=False)`` returns: the job's id, state, log and result."""

    def __init__(self, store: Any, job_id: str) -> None:
        self._store = store
        self.id = job_id

    def job(self) -> Job:
        return self._store.get_job(self.id, log_limit=0)

    @property
    def state(self) -> str:
        return self.job().state

    def log(self, offset: int = 0) -> str:
        """The job's log from ``offset`` (characters)."""
        return self._store.get_job(self.id, log_offset=offset).log

    def cancel(self) -> Job:
        return self._store.cancel_job(self.id)

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> Job:
        """Block until the job ends (or ``timeout`` seconds: TimeoutError)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job()
            if job.done:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} is still {job.state} after {timeout} s")
            time.sleep(poll)

    def __repr__(self) -> str:
        return f"<JobHandle {self.id} {self.state}>"
