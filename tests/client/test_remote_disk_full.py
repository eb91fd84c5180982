"""A tracking server whose store's disk fills up (a real ``jupyter server`` process, its store on
a small tmpfs): the remote client retries and spools what the server could not take, replays it
once there is room, every point exactly once; the server answers 507 naming the full location,
on the REST API, the MLflow routes and a streamed blob upload, and leaves no partial file."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

import jupyter_mm as mm
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.core.store import Store
from tests.support.tmpfs import SmallDisk, small_disk

from .test_remote import client_env, tracking_to
from .test_remote_support import TOKEN, Server, jupyter_server

AUTH = {"Authorization": f"token {TOKEN}"}


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallDisk]:
    with small_disk(tmp_path_factory.mktemp("full") / "disk", megabytes=8) as d:
        yield d


@pytest.fixture(scope="module")
def full_server(disk: SmallDisk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("full-server")
    with jupyter_server(root / "server", str(disk.path / "store")) as srv:
        yield srv


@pytest.fixture
def filled(disk: SmallDisk) -> Iterator[SmallDisk]:
    """The disk filled for the test (and emptied afterwards, whatever happened)."""
    disk.fill()
    try:
        yield disk
    finally:
        if disk.ballast.exists():
            disk.free()


def server_store(srv: Server) -> Store:
    return Store.open(srv.store_uri)


def call(
    srv: Server, method: str, path: str, body: object = None, **kw: object
) -> tuple[int, dict]:
    data = kw.pop("data", None)
    if body is not None:
        data = json.dumps(body).encode()
    r = urllib3.request(
        method, srv.url + path, body=data, headers={**AUTH, **kw.pop("headers", {})}, retries=False
    )
    return r.status, (json.loads(r.data) if r.data else {})


def test_the_server_full_for_a_while_loses_no_point(
    full_server: Server, disk: SmallDisk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_env(monkeypatch, tmp_path / "spool")
    with tracking_to(full_server.url) as remote, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert isinstance(remote, RemoteStore)
        run = mm.start_run(name="server-full")
        for i in range(2000):
            mm.log_metric("loss", float(i))
        run.flush()
        disk.fill()
        try:
            for i in range(2000, 40_000):
                mm.log_metric("loss", float(i) + os.urandom(1)[0] / 256)
            run.flush()  # the server answers 507: retried, then spooled; no exception
            assert remote.offline and remote.spool.pending()
            mm.end_run()  # spooled after the points: the server's run is not FINISHED
            with server_store(full_server) as st:
                r = st.get_run(run.id)
                assert r.status == "RUNNING"
                assert len(st.get_metric_history(run.id, "loss")["step"]) < 40_000
        finally:
            disk.free()
        result = remote.replay(wait=True)
        assert result.rejected == 0 and not remote.spool.pending() and not remote.offline
    told = [str(w.message) for w in caught]
    stopped = [m for m in told if "Writes are kept in" in m]
    resumed = [m for m in told if "takes writes again" in m]
    assert len(stopped) == 1 and "full" in stopped[0]
    assert len(resumed) == 1 and "metric points) that were waiting" in resumed[0]
    assert not any("rejected" in m or "refused" in m for m in told)
    with server_store(full_server) as st:
        h = st.get_metric_history(run.id, "loss")
        assert h["step"].tolist() == list(range(40_000))  # every point, exactly once
        assert st.get_run(run.id).status == "FINISHED"


def test_a_full_store_answers_507_on_every_route_and_keeps_no_partial_file(
    full_server: Server, filled: SmallDisk
) -> None:
    run_id = os.urandom(16).hex()
    filled.free()
    status, _ = call(full_server, "POST", "jupyter-mm/api/runs", {"run_id": run_id})
    assert status in (200, 201)
    filled.fill()
    big = "x" * 6000
    status, body = call(
        full_server,
        "POST",
        f"jupyter-mm/api/runs/{run_id}/log-batch",
        {"params": {f"p{i}": big for i in range(50)}, "tags": {"t": big}},
    )
    assert status == 507, body
    assert body["error_code"] == "INSUFFICIENT_STORAGE" and "full" in body["message"]
    assert body["details"]["location"] == "database"
    status, body = call(
        full_server,
        "POST",
        "jupyter-mm/mlflow/api/2.0/mlflow/runs/log-batch",
        {"run_id": run_id, "params": [{"key": f"q{i}", "value": big} for i in range(50)]},
    )
    assert status == 507 and set(body) == {"error_code", "message"}, body  # MLflow's shape
    assert body["error_code"] == "INSUFFICIENT_STORAGE"
    data = os.urandom(3 * 1024 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    status, body = call(
        full_server,
        "PUT",
        f"jupyter-mm/api/blobs/{digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 507, body  # answered, not a reset connection
    assert body["details"]["location"] == "artifacts"
    assert filled.files("*.part") == [] and filled.files("*.tmp-*") == []
    status, body = call(
        full_server,
        "PUT",
        f"jupyter-mm/api/runs/{run_id}/artifacts/model.bin",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 507 and body["details"]["location"] == "artifacts", body
    assert filled.files("*.part") == [] and filled.files("*.tmp-*") == []
    filled.free()  # the same requests succeed once there is room: nothing was half-written
    status, _ = call(
        full_server,
        "PUT",
        f"jupyter-mm/api/blobs/{digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 201
