"""``jupyter mm server --workers N``: N team server processes on one port, and their supervisor.

Each worker is a fresh interpreter (``python -c ...worker_main()``) that builds its own
:class:`~.standalone.TeamServerApp` and binds the port with ``SO_REUSEPORT``; the kernel then
spreads incoming connections over the workers' sockets. Why not tornado's pre-bind and fork
(``fork_processes``): a ``ServerApp`` creates its event loop, event logger, identity provider and
the store's connection pool while it initializes, and none of those survive a fork (a pooled
PostgreSQL connection shared by two processes corrupts both sessions); forking before that would
leave the supervisor forking a replacement from a process that must stay bare. A fresh process
per worker has no such state to share, and with one listening socket each the kernel balances
connections evenly instead of letting the busiest process accept most of them.

The supervisor opens (and migrates) the store once before starting any worker, then:

* waits for each worker to report its pid on a pipe once it listens; a worker that exits before
  that is a start-up failure (the port is taken, the store is unreachable): all stop and the
  supervisor exits with the worker's status;
* restarts a worker that exits later, after a delay that grows while replacements keep failing;
* on SIGTERM or SIGINT, sends SIGTERM to every worker, waits for them and exits 0;
* holds one end of a pipe per worker: if the supervisor is killed outright, the workers read EOF
  and stop, rather than serving on as orphans.

Everything a worker knows lives in the database and the artifact store, so workers share
nothing else (see ``docs/team-server.md``): a client's requests may land on any of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import MMError
from .standalone import TeamServerOptions

#: Environment variable through which a worker receives its options and pipes.
WORKER_SPEC_ENV = "MM_SERVER_WORKER_SPEC"
#: Restart delays (seconds): doubled after each replacement that exits before it listens.
RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 10.0
#: How long workers get to stop after SIGTERM before they are killed.
STOP_TIMEOUT = 30.0

_WORKER_CODE = (
    "import sys; from jupyter_mm.server.workers import worker_main; sys.exit(worker_main())"
)


@dataclass
class _Worker:
    slot: int
    proc: subprocess.Popen[bytes]
    ready_r: int  # the supervisor reads the worker's pid here once it listens
    parent_w: int  # the worker reads EOF on the other end when the supervisor is gone
    ready: bool = False
    buffer: bytes = b""
    started: float = field(default_factory=time.monotonic)

    def close_pipes(self) -> None:
        for fd in (self.ready_r, self.parent_w):
            try:
                os.close(fd)
            except OSError:
                pass


def _say(message: str) -> None:
    print(f"jupyter-mm supervisor: {message}", file=sys.stderr, flush=True)


def _spawn(slot: int, options: TeamServerOptions) -> _Worker:
    ready_r, ready_w = os.pipe()
    parent_r, parent_w = os.pipe()
    spec = {
        "options": dataclasses.asdict(options),
        "ready_fd": ready_w,
        "parent_fd": parent_r,
    }
    env = {**os.environ, WORKER_SPEC_ENV: json.dumps(spec)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER_CODE], env=env, pass_fds=(ready_w, parent_r)
    )
    os.close(ready_w)
    os.close(parent_r)
    os.set_blocking(ready_r, False)
    return _Worker(slot, proc, ready_r, parent_w)


def supervise(options: TeamServerOptions, workers: int) -> int:
    """Run ``workers`` worker processes until SIGTERM/SIGINT (see the module docstring)."""
    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # workers never inherit the supervisor's worker-spec (a worker spawns nothing)
    options = dataclasses.replace(options, workers=1)
    running: dict[int, _Worker] = {slot: _spawn(slot, options) for slot in range(workers)}
    pending: dict[int, float] = {}  # slot -> monotonic time of its restart
    delay: dict[int, float] = dict.fromkeys(range(workers), RESTART_DELAY)
    all_ready = False
    _say(f"starting {workers} workers")
    try:
        while not stopping:
            fds = {w.ready_r: w for w in running.values() if not w.ready}
            timeout = 0.2
            if pending:
                timeout = max(0.0, min(timeout, min(pending.values()) - time.monotonic()))
            readable, _, _ = select.select(list(fds), [], [], timeout)
            for fd in readable:
                _read_ready(fds[fd])
            if stopping:
                break
            if not all_ready and all(w.ready for w in running.values()) and not pending:
                all_ready = True
                pids = ", ".join(str(w.proc.pid) for w in running.values())
                _say(f"{workers} workers listening (pids {pids})")
            for slot, worker in list(running.items()):
                code = worker.proc.poll()
                if code is None:
                    continue
                worker.close_pipes()
                del running[slot]
                if not all_ready:
                    _say(f"worker {worker.proc.pid} exited with status {code} while starting")
                    return code or 2
                if worker.ready:
                    delay[slot] = RESTART_DELAY
                else:
                    delay[slot] = min(delay[slot] * 2, MAX_RESTART_DELAY)
                _say(
                    f"worker {worker.proc.pid} exited with status {code}; "
                    f"restarting it in {delay[slot]:g}s"
                )
                pending[slot] = time.monotonic() + delay[slot]
            now = time.monotonic()
            for slot, when in list(pending.items()):
                if when <= now:
                    del pending[slot]
                    running[slot] = _spawn(slot, options)
    finally:
        _stop_all(list(running.values()))
    _say("stopped")
    return 0


def _read_ready(worker: _Worker) -> None:
    try:
        chunk = os.read(worker.ready_r, 64)
    except BlockingIOError:
        return
    worker.buffer += chunk
    if b"\n" in worker.buffer:
        worker.ready = True
        _say(f"worker {worker.proc.pid} listening")


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for worker in workers:
        try:
            worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"worker {worker.proc.pid} did not stop in {STOP_TIMEOUT:g}s: killing it")
            worker.proc.kill()
            worker.proc.wait()
        worker.close_pipes()


def worker_main() -> int:
    """Entry point of one worker process (started by :func:`supervise`)."""
    from .standalone import build_app

    spec = json.loads(os.environ.pop(WORKER_SPEC_ENV))
    try:
        app = build_app(
            TeamServerOptions(**spec["options"]),
            reuse_port=True,
            ready_fd=int(spec["ready_fd"]),
            parent_fd=int(spec["parent_fd"]),
        )
    except MMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    app.start()
    return 0
