"""``mm.log_predictions`` / ``mm.log_labels`` against a remote tracking server (a real ``jupyter
server`` process, reached through a TCP proxy that can take it away or fail): the batches land in
the same prediction log and labels store as a local store's, a batch the server could not take is
spooled and sent by ``jupyter mm sync``, and bad bodies are clear 4xx answers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

import jupyter_mm as mm
from jupyter_mm.cli import main as cli_main
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.errors import InvalidInput, NotFound

from .test_remote import client_env, server_store, tracking_to
from .test_remote_support import TOKEN, Proxy, Server, jupyter_server, wait_for

linear = pytest.importorskip("sklearn.linear_model")

DAY0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("remote-predictions")
    with jupyter_server(root / "server", str(root / "store")) as srv:
        yield srv


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    p = Proxy(int(server.url.rsplit(":", 1)[1].split("/")[0]))
    yield p
    p.close()


@pytest.fixture
def remote(proxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RemoteStore]:
    client_env(monkeypatch, tmp_path / "spool")
    monkeypatch.setenv("MM_USER", "ana")
    with tracking_to(proxy.url()) as store:
        assert isinstance(store, RemoteStore)
        yield store


def _data(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"income": rng.normal(50 + shift * 10, 10, n),
                         "age": rng.integers(18, 80, n).astype(float),
                         "region": pd.Categorical(rng.choice(["n", "s"], n))})  # fmt: skip


def _register(name: str) -> Any:
    X = _data(2000, 0)[["income", "age"]]
    y = np.random.default_rng(1).random(len(X)) < 1 / (1 + np.exp(-(X["income"] - 50) / 5))
    with mm.start_run():
        clf = linear.LogisticRegression().fit(X, y.astype(int))
        info = mm.log_model(clf, "scorer")
    mm.register_model(info, name, reference=X, reference_scores=clf.predict_proba(X)[:, 1])
    return clf


def _scenario(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Batches with and without ids, scores as one column and as two, labels late, duplicate
    and unknown; what the store gives back."""
    clf = _register(name)
    a, b = _data(600, 2), _data(400, 3, shift=1.0)
    ids = [f"loan-{i}" for i in range(len(a))]
    out = mm.log_predictions(name, 1, a, clf.predict_proba(a[["income", "age"]]), ids=ids,
                             at=DAY0)  # fmt: skip
    assert out == {"request_id": None, "rows": 600, "version": 1}
    out = mm.log_predictions(name, 1, b, clf.predict_proba(b[["income", "age"]])[:, 1],
                             at=DAY0 + dt.timedelta(days=1))  # fmt: skip
    assert out["rows"] == 400 and out["request_id"].startswith("batch-")
    y = (np.random.default_rng(4).random(len(a)) < 0.3).astype(int)
    assert mm.log_labels(name, ids, y, at=DAY0 + dt.timedelta(days=20)) == 600
    later = DAY0 + dt.timedelta(days=21)
    assert mm.log_labels(name, ids[:50], 1 - y[:50], at=later) == 50  # the later label wins
    assert mm.log_labels(name, ["nobody"], [1], at=later) == 1  # kept, never joined
    preds = mm.predictions(name).drop(columns="request_id")
    labels = mm.labels(name).drop(columns="recorded_at").sort_values(["request_id"])
    perf = mm.performance(name, window="30d", end=DAY0 + dt.timedelta(days=2))
    drift = mm.drift(name, window="30d", end=DAY0 + dt.timedelta(days=2), min_rows=10)
    return preds, labels.reset_index(drop=True), perf, drift


def test_round_trip_equals_the_local_store(
    remote: RemoteStore, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = _scenario("credit")
    assert not remote.spool.pending()
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "local-blobs"))
    with tracking_to(str(tmp_path / "local")):
        want = _scenario("credit")
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w)
    preds, labels, perf, _ = got
    assert len(preds) == 1000 and perf["n"].sum() == 600
    assert labels.set_index("request_id").loc["loan-0", "duplicates"] == 1
    with server_store(server) as st:  # in the server's own log, as its own files
        assert len(st.predictions("credit")) == 1000
        assert st.labels("credit")["request_id"].nunique() == 601


def test_round_trip_through_the_team_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on ``jupyter mm server`` (its own artifact root, a shared token)."""
    from tests.server.live import team_server

    client_env(monkeypatch, tmp_path / "spool")
    (tmp_path / "team").mkdir()
    with team_server(tmp_path / "team", str(tmp_path / "team-store"), TOKEN) as team:
        with tracking_to(team.url):
            got = _scenario("credit")
        with server_store(Server(team.url, str(tmp_path / "team-store"),
                                 str(tmp_path / "team" / "artifacts"), team.log)) as st:  # fmt: skip
            assert len(st.predictions("credit")) == 1000 and len(st.labels("credit")) == 601
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "local-blobs"))
    with tracking_to(str(tmp_path / "local")):
        want = _scenario("credit")
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w)


def test_a_failing_or_unreachable_server_spools_and_sync_sends(
    remote: RemoteStore, proxy: Proxy, server: Server
) -> None:
    clf = _register("spooled")
    X = _data(300, 5)
    scores = clf.predict_proba(X[["income", "age"]])[:, 1]
    ids = [f"s-{i}" for i in range(len(X))]
    # a 5xx on every attempt: the batch is spooled, the user told, and sent once it passes
    proxy.fail(b"POST /jupyter-mm/api/predictions", 500, n=3)
    with pytest.warns(RuntimeWarning, match="jupyter mm sync"):
        assert mm.log_predictions("spooled", 1, X, scores, ids=ids, at=DAY0)["rows"] == 300
    assert proxy.failed == 3
    wait_for(lambda: not remote.spool.pending() and not remote.offline, what="the replay")
    with server_store(server) as st:
        assert st.predictions("spooled")["request_id"].tolist() == ids
    # unreachable: kept on disk across the process's end, sent by `jupyter mm sync`
    proxy.down()  # (told once a minute: the warning above covers this outage too)
    mm.log_predictions("spooled", "1", X, scores, ids=[f"t-{i}" for i in range(300)], at=DAY0)
    assert mm.log_labels("spooled", ids, np.ones(300, int)) == 300
    assert remote.spool.pending_records() == 2
    remote.close()  # the process is gone: only the spool on disk is left
    with server_store(server) as st:
        assert len(st.predictions("spooled")) == 300 and len(st.labels("spooled")) == 0
    proxy.up()
    assert cli_main(["sync", "--uri", proxy.url()]) == 0
    with server_store(server) as st:
        assert len(st.predictions("spooled")) == 600
        assert sorted(st.labels("spooled")["request_id"]) == sorted(ids)
    assert not remote.spool.pending()


def test_a_lost_answer_is_sent_again_and_written_once(
    remote: RemoteStore, proxy: Proxy, server: Server
) -> None:
    clf = _register("lossy")
    X = _data(200, 6)
    proxy.drop_response(b"POST /jupyter-mm/api/predictions")
    proxy.drop_response(b"POST /jupyter-mm/api/labels")
    mm.log_predictions("lossy", 1, X, clf.predict_proba(X[["income", "age"]]), at=DAY0)
    mm.log_labels("lossy", [("r", 0)], [1])
    assert proxy.dropped == 2
    with server_store(server) as st:
        assert len(st.predictions("lossy")) == 200
        assert st.labels("lossy")["duplicates"].tolist() == [0]


def test_bad_calls_are_clear_and_write_nothing(remote: RemoteStore, server: Server) -> None:
    _register("strict")
    X = _data(5, 7)
    with pytest.raises(NotFound):  # the server checks the version before writing
        mm.log_predictions("strict", 9, X, np.zeros(5))
    with pytest.raises(NotFound):
        mm.log_labels("nobody-registered", ["a"], [1])
    with pytest.raises(InvalidInput, match="one output per input row"):
        mm.log_predictions("strict", 1, X, np.zeros(4))
    assert not remote.spool.pending()
    with server_store(server) as st:
        assert len(st.predictions("strict")) == 0 and len(st.labels("nobody-registered")) == 0


def _post(server: Server, route: str, body: bytes, **params: str) -> requests.Response:
    return requests.post(f"{server.url}jupyter-mm/api/{route}", params=params, data=body,
                         headers={"Authorization": f"token {TOKEN}", "Content-Type": PARQUET},
                         timeout=60)  # fmt: skip


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_oversized_and_malformed_bodies_are_clear_4xx(remote: RemoteStore, server: Server) -> None:
    from jupyter_mm.server.handlers.predictions import MAX_PARQUET_BYTES

    _register("bodies")
    r = _post(server, "predictions", b"\0" * (MAX_PARQUET_BYTES + 1), name="bodies", version="1")
    assert r.status_code == 413 and r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "smaller batches" in r.json()["message"]
    r = _post(server, "labels", b"not parquet at all", name="bodies")
    assert r.status_code == 400 and "not a readable Parquet file" in r.json()["message"]
    r = _post(server, "predictions", _parquet(pa.table({"x": [1]})), name="bodies", version="1")
    assert r.status_code == 400 and "lacks the log's column" in r.json()["message"]
    r = _post(server, "predictions", b"", name="bodies", version="1")
    assert r.status_code == 400 and "empty" in r.json()["message"]
    good = _batch_table("bodies", "1")
    r = _post(server, "predictions", _parquet(good), name="bodies", version="2")
    assert r.status_code == 404  # no version 2
    r = _post(server, "predictions", _parquet(good), name="bodies", version="1", batch="../x")
    assert r.status_code == 400 and "batch id" in r.json()["message"]
    other = good.set_column(3, "model_name", pa.array(["else"] * good.num_rows))
    r = _post(server, "predictions", _parquet(other), name="bodies", version="1")
    assert r.status_code == 400 and "another model" in r.json()["message"]
    labels = pa.table({"request_id": ["a"], "row": [0], "label": [None], "at": [DAY0],
                       "recorded_at": [DAY0], "seq": [0]})  # fmt: skip
    r = _post(server, "labels", _parquet(labels), name="bodies")
    assert r.status_code == 400 and "missing values" in r.json()["message"]
    r = requests.post(f"{server.url}jupyter-mm/api/labels", params={"name": "bodies"},
                      data=_parquet(labels), headers={"Authorization": f"token {TOKEN}",
                                                      "Content-Type": "text/csv"}, timeout=60)  # fmt: skip
    assert r.status_code == 415
    with server_store(server) as st:  # nothing of any of them was written
        assert len(st.predictions("bodies")) == 0 and len(st.labels("bodies")) == 0
    r = _post(server, "predictions", _parquet(good), name="bodies", version="1", batch="b-1")
    assert r.status_code == 201 and r.json() == {"rows": 3}
    with server_store(server) as st:
        assert len(st.predictions("bodies")) == 3


def _batch_table(name: str, version: str) -> pa.Table:
    from jupyter_mm.serving.prediction_log import batch_table

    return batch_table(request_id="batch-x", model_name=name, model_version=version,
                       inputs=pd.DataFrame({"income": [1.0, 2.0, 3.0]}), outputs=[0.1, 0.2, 0.3],
                       ts=DAY0.timestamp())  # fmt: skip


def test_a_batch_over_the_body_limit_goes_in_parts(
    remote: RemoteStore, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_mm.client.remote import store as remote_store

    clf = _register("big")
    X = _data(4000, 8)
    monkeypatch.setattr(remote_store, "MAX_PARQUET_BYTES", 40_000)  # ~100 KB of Parquet here
    ids = [f"b-{i}" for i in range(len(X))]
    out = mm.log_predictions("big", 1, X, clf.predict_proba(X[["income", "age"]]), ids=ids)
    assert out["rows"] == 4000 and not remote.spool.pending()
    with server_store(server) as st:
        assert sorted(st.predictions("big")["request_id"]) == sorted(ids)  # every row once
        parts = list((Path(st.predictions_url) / "model=big").rglob("part-*.parquet"))
    assert len(parts) > 1 and all(p.stat().st_size <= 40_000 for p in parts)
