"""The Python API against a remote tracking server (``MM_TRACKING_URI=http://...``): a real
``jupyter server`` process with the extension, reached directly or through a TCP proxy that can
take the server away or lose its answers. What reached the server is checked in its store,
opened directly."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.cli import main as cli_main
from jupyter_mm.client import backend, fallback, tracking
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.core.limits import MAX_STEP
from jupyter_mm.core.store import Store
from jupyter_mm.errors import AlreadyExists, InvalidInput, PermissionDenied, Unavailable
from tests.support.postgres import create_database

from .test_remote_support import REPO, TOKEN, Proxy, Server, jupyter_server, wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("remote")
    with jupyter_server(root / "server", str(root / "store")) as srv:
        yield srv


@pytest.fixture(scope="module")
def pg_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("remote-pg")
    url = create_database(postgres_admin_url, "mm_remote_client")
    with jupyter_server(root / "server", url, artifact_uri=str(root / "artifacts")) as srv:
        yield srv


def server_store(server: Server) -> Store:
    """The server's own store, opened beside it."""
    return Store.open(server.store_uri, artifact_uri=server.artifact_uri)


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    p = Proxy(_port(server.url))
    yield p
    p.close()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def client_env(monkeypatch: pytest.MonkeyPatch, spool: Path) -> None:
    """The client as a user configures it, with short retries so that tests stay quick."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_TRACKING_TOKEN", TOKEN)
    monkeypatch.setenv("MM_SPOOL_DIR", str(spool))
    monkeypatch.setenv("MM_HTTP_RETRIES", "2")
    monkeypatch.setenv("MM_HTTP_BACKOFF", "0.05")
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    monkeypatch.setattr(tracking, "_experiment_ids", {})


@contextlib.contextmanager
def tracking_to(uri: str) -> Iterator[Any]:
    """``mm`` pointed at ``uri``; afterwards runs still active are ended and the client reset."""
    mm.set_tracking_uri(uri)
    try:
        yield backend.get_store()
    finally:
        try:
            while mm.active_run() is not None:
                mm.end_run()
        finally:
            mm.set_tracking_uri(None)


@pytest.fixture
def remote(proxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RemoteStore]:
    """``mm`` tracking to the server through the proxy."""
    client_env(monkeypatch, tmp_path / "spool")
    with tracking_to(proxy.url()) as store:
        assert isinstance(store, RemoteStore)
        yield store


# --- the same records as a local store -------------------------------------------------------


def scenario(tmp_path: Path) -> tuple[str, str]:
    """Everything the API writes: params, metrics with steps, NaN/Inf, tags, artifacts (bytes,
    files, a folder), a dataset, a nested run that fails, and the end status."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True, exist_ok=True)
    (data / "a.txt").write_text("A")
    (data / "sub" / "b.csv").write_text("x\n1\n")
    with mm.start_run(
        name="trip", experiment="trip-exp", params={"lr": 0.1}, tags={"team": "risk"}
    ) as run:
        mm.log_param("epochs", 3)
        mm.set_tags({"stage": "dev", "note": "ünïcode"})
        for i in range(30):
            mm.log_metric("loss", 1 / (i + 1))
        mm.log_metric("acc", 0.5, step=10)
        mm.log_metric("acc", 0.7, step=20)
        mm.log_metric("weird", math.nan)
        mm.log_metric("weird", -math.inf)
        mm.log_metrics({"a": 1, "b": 2}, step=5)
        mm.log_artifact(b"bytes!", name="raw/x.bin")
        mm.log_artifact(data / "a.txt")
        mm.log_artifacts(data, prefix="data")
        mm.log_text("hello", "notes.txt")
        mm.log_dataset(pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}), "frame")
        child = mm.start_run(name="child", nested=True)
        mm.log_metric("c", 1.0)
        mm.end_run("FAILED")
    return run.id, child.id


def record(store: Any, run_id: str) -> dict[str, Any]:
    """What a run holds, without what differs between two executions (ids, times)."""
    r = store.get_run(run_id)
    histories = {}
    for key in store.metric_keys(run_id):
        h = store.get_metric_history(run_id, key)
        histories[key] = (h["step"].tolist(), [repr(v) for v in h["value"].tolist()])
    parent = store.get_run(r.parent_run_id).name if r.parent_run_id else None
    return {
        "name": r.name,
        "status": r.status,
        "ended": r.end_time is not None,
        "experiment": r.experiment,
        "user": r.user,
        "parent": parent,
        "params": r.params,
        "tags": r.tags,
        "metrics": {k: repr(v) for k, v in r.metrics.items()},
        "latest": {k: (repr(m.value), m.step) for k, m in r.latest_metrics.items()},
        "histories": histories,
        "datasets": [(d.name, d.digest, d.context, d.schema, d.row_count) for d in r.datasets],
        "artifacts": [
            (a.path, a.size, a.digest, a.media_type)
            for a in store.list_artifacts(run_id, recursive=True)
        ],
        "folders": [a.path for a in store.list_artifacts(run_id) if a.is_dir],
        "bytes": store.read_artifact(run_id, "raw/x.bin") if r.name == "trip" else None,
    }


@pytest.mark.parametrize(
    "backend_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_round_trip_gives_the_records_of_a_local_store(
    backend_name: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    srv: Server = request.getfixturevalue("server" if backend_name == "sqlite" else "pg_server")
    client_env(monkeypatch, tmp_path / "spool")
    with tracking_to(str(tmp_path / "local")) as local:
        local_ids = scenario(tmp_path)
        expected = [record(local, i) for i in local_ids]
    with tracking_to(srv.url) as remote:
        remote_ids = scenario(tmp_path)
        # read back through the server (what mm.get_run & co. use) ...
        through_api = [record(remote, i) for i in remote_ids]
        got = mm.get_run(remote_ids[0])
        frame = mm.runs(experiment="trip-exp")
        assert not remote.spool.pending() and not remote.offline
    # ... and in the server's store itself
    with server_store(srv) as st:
        stored = [record(st, i) for i in remote_ids]
    assert expected[0]["status"] == "FINISHED" and expected[1]["status"] == "FAILED"
    assert expected[0]["histories"]["loss"][0] == list(range(30))
    assert stored == expected
    assert through_api == expected
    assert got.params == {"lr": "0.1", "epochs": "3"} and got.datasets[0].row_count == 3
    assert list(frame["run_id"]) == [remote_ids[0]]  # the child went to Default, as locally


# --- a server that goes away ------------------------------------------------------------------


def test_server_down_spools_and_replays_every_write_once(
    remote: RemoteStore, proxy: Proxy, server: Server
) -> None:
    run = mm.start_run(name="flaky", experiment="flaky")
    for i in range(100):
        mm.log_metric("loss", float(i))
    run.flush()
    proxy.down()
    with pytest.warns(RuntimeWarning, match="unreachable"):
        mm.log_param("p", "1")  # through the retries, then to the spool; no exception
    assert remote.offline
    for i in range(100, 250):
        mm.log_metric("loss", float(i))
    run.flush()
    mm.set_tag("t", "v")
    mm.log_artifact(b"while down", name="down.txt")
    with pytest.raises(Unavailable) as e:
        mm.get_run(run.id)  # a read needs the server
    assert e.value.code == "SERVER_UNAVAILABLE" and "unreachable" in e.value.message
    child = mm.start_run(name="offline-child", experiment="made-offline", nested=True)
    mm.log_metric("c", 2.0)
    mm.end_run()
    for i in range(250, 300):
        mm.log_metric("loss", float(i))
    mm.end_run()
    assert remote.spool.pending_records() >= 6
    with server_store(server) as st:  # nothing reached the server meanwhile
        assert st.get_run(run.id).status == "RUNNING"
        assert len(st.get_metric_history(run.id, "loss")["step"]) == 100

    proxy.up()
    wait_for(lambda: not remote.offline and not remote.spool.pending(), what="the replay")
    with server_store(server) as st:
        r = st.get_run(run.id)
        h = st.get_metric_history(run.id, "loss")
        assert r.status == "FINISHED" and r.params == {"p": "1"} and r.tags["t"] == "v"
        assert h["step"].tolist() == list(range(300))  # every point, exactly once, in order
        assert h["value"].tolist() == [float(i) for i in range(300)]
        assert st.read_artifact(run.id, "down.txt") == b"while down"
        c = st.get_run(child.id)
        assert (c.name, c.experiment, c.status, c.parent_run_id) == (
            "offline-child",
            "made-offline",
            "FINISHED",
            run.id,
        )
        assert st.get_metric_history(child.id, "c")["value"].tolist() == [2.0]
    assert mm.get_run(run.id).status == "FINISHED"  # reads work again


def test_a_lost_answer_is_retried_without_duplicates(
    remote: RemoteStore, proxy: Proxy, server: Server
) -> None:
    proxy.drop_response(b"POST /jupyter-mm/api/runs HTTP")  # the create reaches the server
    run = mm.start_run(name="lossy")
    assert proxy.dropped == 1 and run.name == "lossy"
    proxy.drop_response(b"/log-batch")
    for i in range(50):
        mm.log_metric("m", float(i))
    run.flush()
    proxy.drop_response(b"/end")
    mm.log_metric("m", 50.0)
    mm.end_run()
    assert proxy.dropped == 3 and not remote.offline
    with server_store(server) as st:
        assert st.get_metric_history(run.id, "m")["step"].tolist() == list(range(51))
        assert st.get_run(run.id).status == "FINISHED"
        assert [r.id for r in st.search_runs(filter="attributes.run_name = 'lossy'")[0]] == [run.id]


def test_bad_credentials_and_urls_are_clear_errors(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_env(monkeypatch, tmp_path / "spool")
    for token in ("wrong", None):
        if token is None:
            monkeypatch.delenv("MM_TRACKING_TOKEN")
        else:
            monkeypatch.setenv("MM_TRACKING_TOKEN", token)
        with tracking_to(server.url):
            with pytest.raises(PermissionDenied) as e:
                mm.start_run()
            assert e.value.code == "PERMISSION_DENIED" and "MM_TRACKING_TOKEN" in str(e.value)
            with pytest.raises(PermissionDenied):
                mm.runs()
    assert not (tmp_path / "spool").exists()  # refused, not spooled
    with RemoteStore(server.url + "elsewhere/", token=TOKEN) as store:
        with pytest.raises(InvalidInput, match="does not serve the jupyter-mm API"):
            store.get_run("0" * 32)


# --- processes that end while the server is down ----------------------------------------------


def run_child(code: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def child_env(url: str, spool: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        MM_TRACKING_URI=url,
        MM_TRACKING_TOKEN=TOKEN,
        MM_SPOOL_DIR=str(spool),
        MM_HTTP_RETRIES="1",
        MM_HTTP_BACKOFF="0.05",
    )
    return env


OFFLINE_SCRIPT = """
    import jupyter_mm as mm

    run = mm.start_run(name={name!r}, experiment="exits")
    mm.log_param("p", 1)
    for i in range(1000):
        mm.log_metric("loss", i / 1000)
    print(run.id)
    # no end_run: ended at exit, and spooled, the server being down
"""


@pytest.mark.parametrize("how", ["next-process", "cli"])
def test_a_spool_left_at_exit_is_sent_later(
    how: str, proxy: Proxy, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = child_env(proxy.url(), tmp_path / "spool")
    proxy.down()
    out = run_child(OFFLINE_SCRIPT.format(name=f"exit-{how}"), tmp_path, env)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip()
    assert "jupyter mm sync" in out.stderr and "write(s)" in out.stderr
    with server_store(server) as st:
        assert st.search_runs(filter=f"attributes.run_name = 'exit-{how}'")[0] == []
    proxy.up()
    if how == "next-process":  # any later process of this user sends it, in the background
        later = run_child("import jupyter_mm as mm\nmm.experiments()\n", tmp_path, env)
        assert later.returncode == 0, later.stderr
    else:
        saved = {k: os.environ.get(k) for k in env if k.startswith("MM_")}
        os.environ.update({k: v for k, v in env.items() if k.startswith("MM_")})
        try:
            assert cli_main(["sync"]) == 0
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        assert "write(s) sent" in capsys.readouterr().out
    with server_store(server) as st:
        r = st.get_run(run_id)
        h = st.get_metric_history(run_id, "loss")
        assert (r.name, r.status, r.params, r.experiment) == (
            f"exit-{how}",
            "FINISHED",
            {"p": "1"},
            "exits",
        )
        assert h["step"].tolist() == list(range(1000))


STALLED_SCRIPT = """
    import sys
    import jupyter_mm as mm

    run = mm.start_run(name="exit-midway", experiment="exits")
    for i in range(100):
        mm.log_metric("loss", float(i))
    run.flush()
    print(run.id, flush=True)
    sys.stdin.readline()  # the server goes away here
    for i in range(100, 1000):
        mm.log_metric("loss", float(i))
    # no end_run: the run is ended at exit, into the spool
"""


@pytest.mark.parametrize("how", ["down", "500"])
def test_a_run_whose_server_goes_away_stays_running_until_sync(
    proxy: Proxy, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], how: str,
) -> None:  # fmt: skip
    """``down``: the server vanishes. ``500``: it answers every write to the run with an
    unexplained 500, which the client before issue 14 took as a refusal and dropped."""
    env = child_env(proxy.url(), tmp_path / "spool")
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(STALLED_SCRIPT))
    child = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert run_id, child.stderr.read() if child.stderr else ""
        if how == "down":
            proxy.down()
        else:
            proxy.fail(f"/runs/{run_id}".encode(), 500, n=100_000)
        _, err = child.communicate("go\n", timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "jupyter mm sync" in err
    with server_store(server) as st:  # not FINISHED with 900 points missing
        r = st.get_run(run_id)
        assert r.status == "RUNNING" and r.end_time is None
        assert st.get_metric_history(run_id, "loss")["step"].tolist() == list(range(100))
    for k, v in env.items():
        if k.startswith("MM_"):
            monkeypatch.setenv(k, v)
    assert cli_main(["sync"]) == 1  # still down: nothing lost, and said so
    assert "still spooled" in capsys.readouterr().out
    proxy.up()
    assert cli_main(["sync"]) == 0
    assert "write(s) sent" in capsys.readouterr().out
    with server_store(server) as st:
        r = st.get_run(run_id)
        h = st.get_metric_history(run_id, "loss")
        assert r.status == "FINISHED" and r.end_time is not None
        assert h["step"].tolist() == list(range(1000))  # every point, exactly once
        assert h["value"].tolist() == [float(i) for i in range(1000)]


# --- %%track in a real kernel -------------------------------------------------------------------


def test_track_magic_logs_to_a_remote_server(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.notebook.support import client_for, notebook, outputs_text

    client_env(monkeypatch, tmp_path / "spool")
    monkeypatch.setenv("MM_TRACKING_URI", server.url)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    nb = notebook(
        [
            "import jupyter_mm as mm",
            "%%track remote-cell -p model=rf\nfor i in range(5):\n    mm.log_metric('loss', 1 / (i + 1))\nprint('done')",
        ]
    )
    client = client_for(nb, tmp_path)
    with client.running():
        client.run(0)
        cell = client.run(1)
    assert "done" in outputs_text(cell)
    with server_store(server) as st:
        runs = st.search_runs(filter="attributes.run_name = 'remote-cell'")[0]
        assert len(runs) == 1
        r = st.get_run(runs[0].id)
        assert r.status == "FINISHED" and r.params.get("model") == "rf"
        assert st.get_metric_history(r.id, "loss")["step"].tolist() == [0, 1, 2, 3, 4]
        cell_record = st.read_artifact(r.id, ".mm/cell.json")
    assert b"remote-cell" in cell_record


def test_a_run_id_taken_by_another_run_is_refused(remote: RemoteStore, server: Server) -> None:
    with server_store(server) as st:
        taken = st.create_run(name="someone-else").id
    with pytest.raises(AlreadyExists):
        remote.create_run(run_id=taken, name="mine")
    with server_store(server) as st:
        assert st.get_run(taken).name == "someone-else"


def test_nowhere_to_spool_keeps_the_points_in_memory(
    proxy: Proxy, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    client_env(monkeypatch, blocker)  # the spool cannot be created under a file
    with tracking_to(proxy.url()):
        run = mm.start_run(name="no-spool")
        proxy.down()
        mm.log_metric("m", 1.0)
        with pytest.raises(Unavailable, match="cannot be written"):
            run.flush()  # a StoreError: the buffer keeps the point for the next try
        assert len(run._buffer) == 1 and not backend.get_store().offline
        proxy.up()
        mm.end_run()  # the kept point goes with the end
    with server_store(server) as st:
        assert st.get_metric_history(run.id, "m")["value"].tolist() == [1.0]
        assert st.get_run(run.id).status == "FINISHED"


# --- points refused for good: counted in the run's record --------------------------------------


def test_points_the_server_refuses_are_counted_in_the_run(
    remote: RemoteStore, server: Server
) -> None:
    run = mm.start_run(name="refused-remote")
    for i in range(5):
        mm.log_metric("loss", float(i))
    run.flush()
    # a point past the call's checks (as an older client let a 64-bit overflowing timestamp
    # through): the server answers 400 and its batch is dropped, counted at once
    mm.log_metric("loss", 5.0)
    run._buffer.queue.append(("loss", 6.0, 6, MAX_STEP + 1))
    with pytest.warns(RuntimeWarning, match="refused 2 metric points"):
        with pytest.raises(InvalidInput, match="timestamp"):
            run.flush()
    with server_store(server) as st:
        assert st.get_run(run.id).tags[fallback.REFUSED_TAG] == "2"
        st.delete_run(run.id)  # someone else, meanwhile: the tag cannot be written now
    for i in range(7, 10):
        mm.log_metric("loss", float(i))
    with pytest.warns(RuntimeWarning, match="refused 3 metric points"):
        with pytest.raises(InvalidInput, match="deleted"):
            run.flush()
    assert not remote.offline and not remote.spool.pending()  # refused, not spooled
    with server_store(server) as st:
        st.restore_run(run.id)
    mm.log_metric("loss", 10.0)
    mm.end_run()
    with server_store(server) as st:
        r = st.get_run(run.id)
        assert r.status == "FINISHED" and r.tags[fallback.REFUSED_TAG] == "5"
    last = mm.start_run(name="refused-at-the-end")  # the end's own batch refused: still ends
    mm.log_metric("loss", 0.0)
    last._buffer.queue.append(("", 1.0, 1, 0))  # a key the server refuses
    with pytest.warns(RuntimeWarning, match="refused 2 metric points"):
        mm.end_run()
    assert mm.active_run() is None
    with server_store(server) as st:
        r = st.get_run(last.id)
        assert r.status == "FINISHED" and r.tags[fallback.REFUSED_TAG] == "2"
        values = st.get_metric_history(run.id, "loss")["value"].tolist()
        assert values == [0.0, 1.0, 2.0, 3.0, 4.0, 10.0]


def test_a_spooled_write_refused_at_replay_is_counted_in_the_run(
    remote: RemoteStore, proxy: Proxy, server: Server
) -> None:
    run = mm.start_run(name="refused-at-replay")
    mm.log_metric("loss", 0.0)
    run.flush()
    with server_store(server) as st:
        st.set_tag(run.id, fallback.REFUSED_TAG, "1")  # counted earlier
    proxy.down()
    mm.log_metric("loss", 1.0)
    with pytest.warns(RuntimeWarning, match="unreachable"):
        run.flush()
    # a batch the server will refuse, as an older client could have spooled it
    bad = [{"key": "loss", "value": 9.0, "step": 9, "timestamp": MAX_STEP + 1}] * 4
    remote.spool.append(
        {
            "op": "log_batch",
            "method": "POST",
            "path": f"runs/{run.id}/log-batch",
            "body": {"batch_id": "b" * 32, "metrics": bad},
        }
    )
    mm.log_metric("loss", 2.0)
    mm.end_run()
    proxy.up()
    with pytest.warns(RuntimeWarning, match="refused a spooled write"):
        wait_for(lambda: not remote.offline and not remote.spool.pending(), what="the replay")
    rejected = (remote.spool.dir / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 1 and "timestamp" in rejected[0]
    with server_store(server) as st:
        r = st.get_run(run.id)
        assert r.status == "FINISHED" and r.tags[fallback.REFUSED_TAG] == "5"
        assert st.get_metric_history(run.id, "loss")["step"].tolist() == [0, 1, 2]


# --- artifacts: content uploaded once, paths named all or none -----------------------------------


def test_log_artifacts_is_all_or_none(remote: RemoteStore, server: Server) -> None:
    run = remote.create_run(name="artifacts")
    remote.log_artifact(run.id, "model", b"a file named model")
    with pytest.raises(InvalidInput, match="clashes with the existing artifact 'model'"):
        remote.log_artifacts(
            run.id, [("metrics.json", b"{}", None), ("model/weights.bin", b"w", None)]
        )
    with server_store(server) as st:
        assert [a.path for a in st.list_artifacts(run.id, recursive=True)] == ["model"]


def test_content_the_server_holds_is_not_sent_again(
    remote: RemoteStore, server: Server, proxy: Proxy
) -> None:
    run = remote.create_run(name="dedupe")
    content = os.urandom(4096)
    remote.log_artifact(run.id, "first.bin", content)
    # a blob upload would now lose its answer (and be retried): none must happen
    proxy.drop_response(b"PUT /jupyter-mm/api/blobs/")
    infos = remote.log_artifacts(run.id, [("again/same.bin", content, None)])
    assert proxy.dropped == 0
    # the index request loses its answer once; the retry names the same path, once
    proxy.drop_response(f"POST /jupyter-mm/api/runs/{run.id}/artifacts".encode())
    remote.log_artifacts(run.id, [("third.bin", content, "application/x-weights")])
    assert proxy.dropped == 1
    with server_store(server) as st:
        listed = {
            a.path: (a.digest, a.media_type) for a in st.list_artifacts(run.id, recursive=True)
        }
        assert st.read_artifact(run.id, "again/same.bin") == content
    digest = hashlib.sha256(content).hexdigest()
    assert infos[0].digest == digest and infos[0].size == len(content)
    assert listed == {
        "first.bin": (digest, "application/octet-stream"),
        "again/same.bin": (digest, "application/octet-stream"),
        "third.bin": (digest, "application/x-weights"),
    }


def test_a_model_larger_than_the_server_buffers_is_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that buffers at most 2 MiB of a request still takes a 12 MiB model file, online
    and from the spool: the content is streamed from disk to disk."""
    limit = 2 * 1024 * 1024
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(6 * limit))
    with jupyter_server(
        tmp_path / "small", str(tmp_path / "small-store"), server_config={"max_body_size": limit}
    ) as srv:
        client_env(monkeypatch, tmp_path / "spool")
        store = Store.open(srv.store_uri, artifact_uri=srv.artifact_uri)
        # the limit is real: the buffered upload route refuses the file
        with tracking_to(srv.url) as remote:
            assert isinstance(remote, RemoteStore)
            run = remote.create_run(name="big")
            with pytest.raises(mm.MMError):
                remote.http.request(
                    "PUT", f"runs/{run.id}/artifacts/direct.bin", body=weights.read_bytes()
                )
            remote.log_artifacts(run.id, [("model/weights.bin", weights, None)])
            assert store.read_artifact(run.id, "model/weights.bin") == weights.read_bytes()
        # offline, the file is copied into the spool, then streamed when the server is back
        proxy = Proxy(_port(srv.url))
        try:
            with tracking_to(proxy.url()) as remote:
                assert isinstance(remote, RemoteStore)
                proxy.down()
                weights.write_bytes(os.urandom(6 * limit))
                with pytest.warns(RuntimeWarning, match="unreachable"):
                    remote.log_artifacts(run.id, [("model/v2.bin", weights, None)])
                assert remote.spool.pending()
                proxy.up()
                assert remote.replay(wait=True).drained
            assert store.read_artifact(run.id, "model/v2.bin") == weights.read_bytes()
        finally:
            proxy.close()
            store.close()
