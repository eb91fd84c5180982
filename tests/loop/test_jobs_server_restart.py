"""Re-run jobs across a real Jupyter server's restart (docs/reruns.md, "Restarts"): a worker
outlives its server and records its job; a job whose processes all died is shown ``lost`` with a
reason by the next server; none is left ``running`` or ``queued`` for ever."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from jupyter_mm.loop.jobs import JobHandle, _gone, owner_id
from tests.client.test_remote import client_env, tracking_to
from tests.client.test_remote_support import TOKEN, Server, jupyter_server
from tests.loop.conftest import only_run, track_notebook
from tests.loop.test_rerun import _until


def _slow_run(tmp_path: Path, store_dir: Path) -> tuple[Any, Path]:
    """A tracked run whose re-run waits while ``gate`` exists, then logs ``m = lr * 2``."""
    gate = tmp_path / "gate"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        f"%%track slow\nimport os, time\nlr = 1\nprint('waiting', flush=True)\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.05)\nmm.log_metric('m', lr * 2)",
    ])  # fmt: skip
    return only_run(store_dir, "slow"), gate


def _rest_job(server: Server, job_id: str) -> dict[str, Any]:
    """``GET jobs/{id}`` on the server, as the sidebar reads it."""
    req = urllib.request.Request(
        f"{server.url}jupyter-mm/api/jobs/{job_id}", headers={"Authorization": f"token {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _start(original_id: str) -> JobHandle:
    handle = mm.rerun(original_id, {"lr": 5}, wait=False, timeout=600)
    assert isinstance(handle, JobHandle)
    return handle


def _descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (a worker's kernel runs in a session of its own)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(server: Server, sig: signal.Signals) -> None:
    assert server.pid is not None
    os.kill(server.pid, sig)
    _until(lambda: _gone(owner_id(server.pid)))  # exited (a zombie until the fixture reaps it)


def _assert_rerun_finished(store_dir: Path, server: Server, job_id: str, original_id: str) -> None:
    job = mm.job(job_id).wait(300)
    assert job.state == "finished", job.error
    rest = _rest_job(server, job_id)
    assert rest["state"] == "finished" and rest["result_run_id"] == job.result_run_id
    assert "waiting" in rest["log"]["text"]  # the log written before and after the restart
    with Store.open(str(store_dir)) as st:
        new = st.get_run(job.result_run_id)
    assert new.tags["mm.rerun_of"] == original_id and new.tags["mm.rerun.job"] == job_id
    assert new.metrics["m"] == 10.0  # the override reached the re-run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "crashed"])
def test_a_worker_outlives_its_server_and_records_its_job(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    """The server stopped (SIGTERM, a user restarting it) or crashed (SIGKILL) mid-job: its worker
    finishes the re-run and records it; the restarted server shows it; the job it had only queued
    is shown lost with a reason."""
    original, gate = _slow_run(tmp_path, store_dir)
    gate.touch()
    client_env(monkeypatch, tmp_path / "spool")
    root, settings = tmp_path / "server", {"max_concurrent_jobs": 1}
    try:
        with jupyter_server(root, str(store_dir), mm_config=settings) as srv, tracking_to(srv.url):
            running, queued = _start(original.id), _start(original.id)
            _until(lambda: "waiting" in running.log())
            assert queued.state == "queued"
            _stop(srv, sig)
        with Store.open(str(store_dir)) as st:  # no server: the worker goes on
            job = st.get_job(running.id, log_limit=0)
            assert job.state == "running" and not _gone(job.owner or "")
            worker = job.owner
        with jupyter_server(root, str(store_dir), mm_config=settings) as srv, tracking_to(srv.url):
            _until(lambda: _rest_job(srv, queued.id)["state"] != "queued")  # its first sweep
            rest = _rest_job(srv, queued.id)
            assert rest["state"] == "lost" and "stopped before starting it" in rest["error"]
            assert mm.job(queued.id).state == "lost"
            rest = _rest_job(srv, running.id)  # swept too, yet alive: not lost
            assert rest["state"] == "running" and rest["owner"] == worker
            gate.unlink()
            _assert_rerun_finished(store_dir, srv, running.id, original.id)
    finally:
        gate.unlink(missing_ok=True)


def test_a_crash_that_takes_a_worker_leaves_its_job_lost_and_the_others_finish(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL of the server and of one worker (with its kernel): the restarted server shows that
    job lost with a reason, never running; the surviving worker still records its job."""
    original, gate = _slow_run(tmp_path, store_dir)
    gate.touch()
    client_env(monkeypatch, tmp_path / "spool")
    root, killed = tmp_path / "server", []
    try:
        with jupyter_server(root, str(store_dir)) as srv, tracking_to(srv.url):
            doomed, survivor = _start(original.id), _start(original.id)  # two at once (default)
            _until(lambda: "waiting" in doomed.log() and "waiting" in survivor.log())
            owner = doomed.job().owner or ""
            worker = int(owner.rpartition(":")[2])
            killed = [worker, *_descendants(worker)]
            _stop(srv, signal.SIGKILL)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            _until(lambda: _gone(owner))
        with jupyter_server(root, str(store_dir)) as srv, tracking_to(srv.url):
            _until(lambda: _rest_job(srv, doomed.id)["state"] != "running")
            rest = _rest_job(srv, doomed.id)
            assert rest["state"] == "lost", rest
            assert "stopped before it ended" in rest["error"]
            assert "waiting" in rest["log"]["text"]  # what it logged before is kept
            job = mm.job(doomed.id).job()
            assert job.state == "lost" and job.ended_time is not None
            assert job.result_run_id is None
            assert _rest_job(srv, survivor.id)["state"] == "running"
            gate.unlink()
            _assert_rerun_finished(store_dir, srv, survivor.id, original.id)
            assert mm.job(doomed.id).state == "lost"  # the verdict stands
    finally:
        gate.unlink(missing_ok=True)
        for pid in killed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_restarted_server_still_cancels_and_times_out_a_job_whose_worker_outlived_it(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a runner watching it, an orphaned worker would run on, unstoppable (its heartbeat
    keeps it from looking lost): the restarted server adopts it, so a cancel and the timeout (the
    job's own, or the server's ``job_timeout``) still stop it."""
    original, gate = _slow_run(tmp_path, store_dir)
    gate.touch()
    client_env(monkeypatch, tmp_path / "spool")
    root = tmp_path / "server"
    try:
        with jupyter_server(root, str(store_dir)) as srv, tracking_to(srv.url):
            to_cancel = _start(original.id)  # its own timeout: 600 s
            to_time_out = mm.rerun(original.id, wait=False)  # the server's job_timeout
            assert isinstance(to_time_out, JobHandle)
            _until(lambda: "waiting" in to_cancel.log() and "waiting" in to_time_out.log())
            _stop(srv, signal.SIGKILL)
        with Store.open(str(store_dir)) as st:
            owners = [st.get_job(j.id, log_limit=0).owner or "" for j in (to_cancel, to_time_out)]
        assert not any(_gone(o) for o in owners)  # both workers run on, with no server
        settings = {"job_timeout": 5.0}
        with (
            jupyter_server(root, str(store_dir), mm_config=settings) as srv,
            tracking_to(srv.url),
        ):
            ended = mm.job(to_time_out.id).wait(120)
            assert ended.state == "failed" and ended.error == "timed out after 5 seconds"
            assert _rest_job(srv, to_cancel.id)["state"] == "running"  # 600 s: not yet
            mm.job(to_cancel.id).cancel()
            ended = mm.job(to_cancel.id).wait(120)
            assert ended.state == "cancelled" and ended.cancel_requested
            assert _rest_job(srv, to_cancel.id)["state"] == "cancelled"
            _until(lambda: all(_gone(o) for o in owners))  # the workers were stopped
    finally:
        gate.unlink(missing_ok=True)
