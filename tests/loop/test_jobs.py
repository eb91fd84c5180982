"""The job runner across a restart: a job whose process died is visibly lost, never gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from jupyter_mm.core.store import Store
from jupyter_mm.core.store.jobs import Job
from jupyter_mm.loop.jobs import JobRunner, _gone
from tests.loop.conftest import only_run, track_notebook
from tests.loop.test_rerun import _until

RUNNER = textwrap.dedent(
    """
    import sys
    from jupyter_mm.core.store import Store
    from jupyter_mm.loop.jobs import JobRunner
    runner = JobRunner(sys.argv[1]).start()
    job = runner.submit("rerun", {"run_id": sys.argv[2]}, created_by="alice", run_id=sys.argv[2])
    print(job.id, flush=True)
    sys.stdin.read()  # until killed
    """
)


def test_a_restart_mid_job_leaves_it_lost(tmp_path: Path, store_dir: Path) -> None:
    gate = tmp_path / "gate"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        f"%%track slow\nimport os, time\nprint('waiting', flush=True)\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.05)",
    ])  # fmt: skip
    original = only_run(store_dir, "slow")
    gate.touch()
    server = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(store_dir), original.id],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        job_id = server.stdout.readline().decode().strip()
        with Store.open(str(store_dir)) as st:
            _until(lambda: "waiting" in st.get_job(job_id).log)
            assert st.get_job(job_id).state == "running"
            worker = st.get_job(job_id).owner
        os.killpg(server.pid, signal.SIGKILL)  # the server and its worker die at once
        server.wait()
        _until(lambda: _gone(worker))  # SIGKILL is delivered, not waited for
    finally:
        gate.unlink(missing_ok=True)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    restarted = JobRunner(str(store_dir)).start()  # the restart's first tick sweeps
    try:
        _until(lambda: restarted.store.get_job(job_id).state != "running")
        job = restarted.store.get_job(job_id)
        assert job.state == "lost" and "stopped before it ended" in (job.error or "")
        assert "waiting" in job.log  # what it logged before is kept
    finally:
        restarted.stop()


def test_a_runner_adopts_only_a_worker_whose_runner_is_gone_and_reports_its_end(
    tmp_path: Path, store_dir: Path
) -> None:
    """A worker its runner still watches is left alone by another runner; once its runner dies,
    the next runner's sweep adopts it and reports the job's end (``on_finished``: the server's
    ``rerun.finished``), which nobody else would."""
    gate = tmp_path / "gate"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        f"%%track slow\nimport os, time\nprint('waiting', flush=True)\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.05)",
    ])  # fmt: skip
    original = only_run(store_dir, "slow")
    gate.touch()
    ended: list[Job] = []
    other = JobRunner(str(store_dir), on_finished=ended.append)  # not started: swept by hand
    server = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(store_dir), original.id],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        job_id = server.stdout.readline().decode().strip()
        _until(lambda: "waiting" in other.store.get_job(job_id).log)
        other.sweep()
        assert job_id not in other._running  # its runner watches it
        server.kill()  # the runner alone: its worker runs on
        server.wait()
        other.sweep()
        assert job_id in other._running  # adopted
        assert other.store.get_job(job_id).state == "running"
        gate.unlink()
        _until(lambda: bool(other._tick() or ended))
        assert [(j.id, j.state) for j in ended] == [(job_id, "finished")]
        assert job_id not in other._running
    finally:
        gate.unlink(missing_ok=True)
        other.stop(cancel_running=True)
        if server.poll() is None:
            server.kill()
