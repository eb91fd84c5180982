"""Adaptive batching stacks concurrent requests into one ``predict`` and splits the answers back;
``/metrics`` counts requests, errors, latency, rows, predict calls and loads per model version."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest
import requests

from .support import (
    BATCHES,
    COLUMNS,
    ENTERED,
    GATE,
    Gated,
    Models,
    ServerThread,
    credit_frame,
    credit_store,
    serving,
)
from .test_alias import wait_for

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


@pytest.fixture(scope="module")
def gated_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from jupyter_mm.core.models import save_model

    GATE.set()  # saving scores the input example
    path = tmp_path_factory.mktemp("gated") / "gated"
    save_model(Gated(), path, input_example=ROWS[COLUMNS].head(3))
    return str(path)


@contextmanager
def gate_closed() -> Iterator[None]:
    BATCHES.clear()
    ENTERED.clear()
    GATE.clear()
    try:
        yield
    finally:
        GATE.set()


def start(server: ServerThread, bodies: list[Any]) -> tuple[list[threading.Thread], list[Any]]:
    results: list[Any] = [None] * len(bodies)

    def send(i: int) -> None:
        results[i] = requests.post(f"{server.url}/invocations", json=bodies[i], timeout=120)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    return threads, results


def test_requests_arriving_while_predict_runs_are_scored_together(gated_dir: str) -> None:
    # a window far longer than the test: only the running predict's return starts the batch
    with serving(models=[gated_dir], trust=True, batch_window_ms=60_000) as s, gate_closed():
        first, first_result = start(s, [one_row(0)])
        # a lone request to an idle model is scored at once, not after the window
        assert ENTERED.wait(30), "the first request was not scored at once"
        threads, results = start(s, [one_row(i) for i in range(1, N)])
        model = s.state.default.current
        wait_for("requests waiting", lambda: s.state.batcher.waiting_rows(model) == N - 1)
        GATE.set()
        for t in [*first, *threads]:
            t.join(120)
    answers = first_result + results
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    want = (ROWS["income"] > 50).astype(int).tolist()
    assert [r.json()["predictions"] for r in answers] == [[w] for w in want]  # split back right
    assert BATCHES == [1, N - 1]


def test_a_waiting_request_is_held_no_longer_than_the_window(gated_dir: str) -> None:
    with serving(models=[gated_dir], trust=True, batch_window_ms=50) as s, gate_closed():
        first, _ = start(s, [one_row(0)])
        assert ENTERED.wait(30)
        threads, results = start(s, [one_row(i) for i in range(1, 4)])
        # the first predict still holds: only the window can start the second batch
        wait_for("a second batch", lambda: len(BATCHES) == 2)
        GATE.set()
        for t in [*first, *threads]:
            t.join(120)
    assert all(r.status_code == 200 for r in results)
    assert BATCHES[0] == 1 and sum(BATCHES) == 4


def test_a_bad_request_never_spoils_a_batch(gated_dir: str) -> None:
    with serving(models=[gated_dir], trust=True, batch_window_ms=60_000) as s, gate_closed():
        first, _ = start(s, [one_row(0)])
        assert ENTERED.wait(30)
        bodies = [one_row(i) for i in range(1, N - 1)] + [{"dataframe_records": [{"income": 1.0}]}]
        threads, results = start(s, bodies)
        model = s.state.default.current
        wait_for("good requests waiting", lambda: s.state.batcher.waiting_rows(model) == N - 2)
        for t in threads[-1:]:
            t.join(120)  # the bad one was refused alone, before it could wait
        GATE.set()
        for t in [*first, *threads]:
            t.join(120)
    assert [r.status_code for r in results] == [200] * (N - 2) + [400]
    assert "utilisation" in results[-1].json()["message"]
    assert BATCHES == [1, N - 2]


def test_without_a_window_each_request_is_scored_alone(models: Models) -> None:
    with serving(models=["models:/credit/1"], store_uri=models.store_uri,
                 batch_window_ms=0) as s:  # fmt: skip
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
