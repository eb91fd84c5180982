"""Adaptive batching stacks concurrent requests into one ``predict`` and splits the answers back;
``/metrics`` counts requests, errors, latency, rows, predict calls and loads per model version."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import requests

from .support import COLUMNS, Models, ServerThread, credit_frame, credit_store, expected, serving

pytest.importorskip("sklearn")
N = 8
ROWS = credit_frame(N, seed=11)[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("batching")) as m:
        yield m


def metrics(server: ServerThread) -> dict[str, float]:
    out = {}
    for line in requests.get(f"{server.url}/metrics").text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def send_together(server: ServerThread, bodies: list[Any]) -> list[requests.Response]:
    """Send every body at once, each from its own thread."""
    results: list[Any] = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(i: int) -> None:
        barrier.wait()
        results[i] = requests.post(f"{server.url}/invocations", json=bodies[i], timeout=120)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def one_row(i: int) -> dict[str, Any]:
    return {"dataframe_records": [ROWS.iloc[i].to_dict() | {"age": int(ROWS.iloc[i]["age"])}]}


def test_concurrent_requests_are_scored_in_one_predict(models: Models) -> None:
    # a window far longer than the test: the batch is flushed because N rows are waiting
    with serving(models=["models:/credit/1"], store_uri=models.store_uri,
                 batch_window_ms=60_000, max_batch_rows=N) as s:  # fmt: skip
        answers = send_together(s, [one_row(i) for i in range(N)])
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        want = expected(models.directory, ROWS)
        assert [r.json()["predictions"] for r in answers] == [[w] for w in want]
        m = metrics(s)
        assert m['mm_serve_predict_calls_total{model="credit",version="1"}'] == 1
        assert m['mm_serve_batch_rows_sum{model="credit",version="1"}'] == N
        assert m['mm_serve_rows_scored_total{model="credit",version="1"}'] == N


def test_a_bad_request_never_spoils_a_batch(models: Models) -> None:
    with serving(models=["models:/credit/1"], store_uri=models.store_uri,
                 batch_window_ms=60_000, max_batch_rows=N - 1) as s:  # fmt: skip
        bodies = [one_row(i) for i in range(N - 1)]
        bodies.append({"dataframe_records": [{"income": 1.0}]})  # missing columns
        answers = send_together(s, bodies)
        assert [r.status_code for r in answers] == [200] * (N - 1) + [400]
        assert "utilisation" in answers[-1].json()["message"]
        assert metrics(s)['mm_serve_predict_calls_total{model="credit",version="1"}'] == 1


def test_without_a_window_each_request_is_scored_alone(models: Models) -> None:
    with serving(models=["models:/credit/1"], store_uri=models.store_uri) as s:
        answers = send_together(s, [one_row(i) for i in range(4)])
        assert all(r.status_code == 200 for r in answers)
        assert metrics(s)['mm_serve_predict_calls_total{model="credit",version="1"}'] == 4


def test_metrics_count_requests_errors_latency_rows_and_loads(models: Models) -> None:
    with serving(models=["models:/credit/1"], store_uri=models.store_uri) as s:
        frame = pd.DataFrame(ROWS[COLUMNS])
        ok = requests.post(f"{s.url}/invocations",
                           json={"dataframe_split": frame.to_dict(orient="split")})  # fmt: skip
        assert ok.status_code == 200
        assert requests.post(f"{s.url}/invocations", json={}).status_code == 400
        assert (
            requests.post(f"{s.url}/v2/models/credit/infer", json={"inputs": []}).status_code == 400
        )
        text = requests.get(f"{s.url}/metrics")
        assert text.headers["Content-Type"].startswith("text/plain; version=")
        m = metrics(s)
    label = 'model="credit",protocol="mlflow",version="1"'
    assert m[f'mm_serve_requests_total{{code="200",{label}}}'] == 1
    assert m[f'mm_serve_requests_total{{code="400",{label}}}'] == 1
    assert m[f'mm_serve_request_errors_total{{code="400",{label}}}'] == 1
    assert (
        m['mm_serve_request_errors_total{code="400",model="credit",protocol="oip",version="1"}']
        == 1
    )
    assert m['mm_serve_request_latency_seconds_count{model="credit",version="1"}'] == 3
    assert m['mm_serve_rows_scored_total{model="credit",version="1"}'] == N
    assert m['mm_serve_model_loads_total{model="credit",result="ok",version="1"}'] == 1
    assert m['mm_serve_model_ready{model="credit"}'] == 1
    digest = ok.headers["X-MM-Model-Digest"]
    assert m[f'mm_serve_model_version_info{{digest="{digest}",model="credit",version="1"}}'] == 1


def _has_prediction_log() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyter_mm.serving.prediction_log") is not None


@pytest.mark.skipif(_has_prediction_log(), reason="the prediction log is installed")
def test_log_predictions_without_the_prediction_log_is_a_clear_error(models: Models) -> None:
    from jupyter_mm.errors import InvalidInput

    with pytest.raises(InvalidInput, match="prediction_log"):
        with serving(models=[models.directory], log_predictions=1.0, prediction_log_uri="x"):
            pass


@pytest.mark.skipif(not _has_prediction_log(), reason="serving/prediction_log.py not here yet")
def test_scored_rows_reach_the_prediction_log(models: Models, tmp_path: Any) -> None:
    root = tmp_path / "predictions"
    with serving(models=["models:/credit/1"], store_uri=models.store_uri, log_predictions=1.0,
                 prediction_log_uri=str(root)) as s:  # fmt: skip
        r = requests.post(f"{s.url}/invocations", headers={"X-Request-Id": "logged-1"},
                          json={"dataframe_split": ROWS[COLUMNS].head(3).to_dict(orient="split")})  # fmt: skip
        assert r.status_code == 200
    # stopping the server closed (flushed) the log
    files = sorted(root.rglob("*.parquet"))
    assert files and all("model=credit" in str(f) and "version=1" in str(f) for f in files)
    logged = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert sorted(logged["row"]) == [0, 1, 2]
    assert set(logged["request_id"]) == {"logged-1"}
    assert set(logged["model_digest"]) == {r.headers["X-MM-Model-Digest"]}
