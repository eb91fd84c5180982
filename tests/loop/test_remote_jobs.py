"""``mm.rerun``, ``mm.job`` and ``mm.check_reproducible`` from a client whose store is a tracking
server: the server's runner runs the job; the client starts, follows, lists and cancels it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.core.store import Store
from jupyter_mm.loop.jobs import JobHandle
from jupyter_mm.loop.reruns import RerunResult
from tests.client.test_remote import client_env, tracking_to
from tests.client.test_remote_support import Server, jupyter_server
from tests.loop.conftest import only_run, track_notebook
from tests.loop.test_rerun import _until


@pytest.fixture
def server(tmp_path: Path, store_dir: Path) -> Iterator[Server]:
    with jupyter_server(tmp_path / "server", str(store_dir)) as srv:
        yield srv


def test_a_rerun_started_from_a_remote_client_runs_on_the_server(
    tmp_path: Path, store_dir: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    track_notebook(tmp_path, store_dir, ["%load_ext jupyter_mm", "%%track t\nlr = 1\nmm.log_metric('m', lr * 2)"])  # fmt: skip
    original = only_run(store_dir, "t")
    client_env(monkeypatch, tmp_path / "spool")
    with tracking_to(server.url) as remote:
        assert isinstance(remote, RemoteStore)
        with pytest.raises(mm.InvalidInput, match="cannot override 'depth'"):
            mm.rerun(original.id, {"depth": 3})  # refused by the server, before any job
        assert remote.list_jobs() == []

        result = mm.rerun(original.id, {"lr": 5}, timeout=600)
        assert isinstance(result, RerunResult)
        assert result.rerun_of == original.id and result.overrides == {"lr": 5}
        assert result.run.metrics["m"] == 10.0  # read back through the server

        job = mm.job(result.job_id)
        assert job.state == "finished"
        assert job.log(0) == remote.get_job(result.job_id).log  # the log, read from an offset
        listed = remote.list_jobs(kind="rerun")
        assert [j.id for j in listed] == [result.job_id]
        assert listed[0].result_run_id == result.run.id
        with pytest.raises(mm.InvalidInput, match="already finished"):
            job.cancel()  # an ended job cannot be cancelled (a Conflict, 400, on the wire)
    with Store.open(str(store_dir)) as st:  # the server's store holds the job and the new run
        assert st.get_job(result.job_id).state == "finished"
        assert st.get_run(result.run.id).tags["mm.rerun_of"] == original.id


def test_a_remote_client_cancels_a_running_job(
    tmp_path: Path, store_dir: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        f"%%track slow\nimport os, time\nprint('waiting', flush=True)\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.05)",
    ])  # fmt: skip
    original = only_run(store_dir, "slow")
    gate.touch()  # the re-run waits until the gate goes
    client_env(monkeypatch, tmp_path / "spool")
    try:
        with tracking_to(server.url) as remote:
            assert isinstance(remote, RemoteStore)
            handle = mm.rerun(original.id, wait=False)
            assert isinstance(handle, JobHandle)
            assert remote.get_job(handle.id).spec["run_id"] == original.id
            _until(lambda: "waiting" in handle.log())  # the live log, through the server
            handle.cancel()
            job = handle.wait(120)
            assert job.state == "cancelled" and job.cancel_requested
    finally:
        gate.unlink(missing_ok=True)


def test_the_server_times_jobs_out_and_runs_at_most_max_concurrent_jobs(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        f"%%track slow\nimport os, time\nprint('waiting', flush=True)\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.05)",
    ])  # fmt: skip
    original = only_run(store_dir, "slow")
    gate.touch()  # a re-run waits until the gate goes
    client_env(monkeypatch, tmp_path / "spool")
    settings = {"job_timeout": 30.0, "max_concurrent_jobs": 1}
    try:
        with (
            jupyter_server(tmp_path / "server", str(store_dir), mm_config=settings) as srv,
            tracking_to(srv.url) as remote,
        ):
            first = mm.rerun(original.id, wait=False)  # the server's job_timeout applies
            second = mm.rerun(original.id, wait=False, timeout=600)  # its own limit
            assert isinstance(first, JobHandle) and isinstance(second, JobHandle)
            _until(lambda: "waiting" in first.log())
            assert remote.get_job(second.id).state == "queued"  # one at a time
            ended = first.wait(120)
            assert ended.state == "failed" and ended.error == "timed out after 30 seconds"
            assert "waiting" in first.log()  # what it logged before is kept
            gate.unlink()  # now the second job, started after the first ended, finishes
            done = second.wait(300)
            assert done.state == "finished", done.error
            assert done.started_time is not None and ended.ended_time is not None
            assert done.started_time >= ended.ended_time
    finally:
        gate.unlink(missing_ok=True)
