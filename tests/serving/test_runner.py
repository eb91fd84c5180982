"""The entry points as processes: ``jupyter mm serve`` on a store (a ``runs:/`` URI too),
``python -m jupyter_mm.serving --model-dir`` importing no store, Jupyter or IPython code,
``--workers 2`` sharing one port, and the prediction log of a served model: dropped, hashed and
expired by the command's options, at its default place, and what a SIGKILL leaves of it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from jupyter_mm.serving.prediction_log import PredictionLog, read_predictions

from .support import PROBE, Models, credit_store

pytest.importorskip("sklearn")
REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
for _var in ("MM_SERVE_TOKEN", "MM_PREDICTION_LOG_URI", "MM_PREDICTION_LOG_SALT",
             "MM_LOG_PREDICTIONS", "MM_PREDICTION_LOG_DROP", "MM_PREDICTION_LOG_HASH",
             "MM_PREDICTION_LOG_RETENTION_DAYS"):  # fmt: skip
    ENV.pop(_var, None)
DEADLINE = 60.0


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("runner")) as m:
        yield m


class Process:
    """A server process; its first stdout line says where it listens."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**ENV, **(env or {})}, cwd=REPO,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the server announces itself
        match = re.search(r"http://127\.0\.0\.1:(\d+)/ \(pid (\d+)\)", line)
        if match is None:
            self.proc.kill()
            raise AssertionError(f"no announce line: {line!r} {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{match.group(1)}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def test_jupyter_mm_serve_on_a_store(models: Models) -> None:
    p = Process("-m", "jupyter_mm.cli", "--store", models.store_uri, "serve",
                "models:/credit@champion", "--open", "--port", "0")  # fmt: skip
    try:
        r = requests.post(f"{p.url}/invocations", json={"dataframe_records": [PROBE]})
        assert r.status_code == 200
        assert r.headers["X-MM-Model-Version"] == "1"
        assert r.headers["X-MM-Model-Alias"] == "champion"
    finally:
        assert p.stop() == 0


def test_model_dir_imports_no_store_jupyter_or_ipython(models: Models) -> None:
    script = textwrap.dedent(
        f"""
        import json, os, signal, sys, threading, urllib.request
        from jupyter_mm.serving.config import ModelSpec, ServeConfig
        from jupyter_mm.serving.runner import serve

        def ready(port):
            def check():
                req = urllib.request.Request(
                    f"http://127.0.0.1:{{port}}/invocations",
                    data=json.dumps({{"dataframe_records": [{PROBE!r}]}}).encode(),
                    headers={{"Content-Type": "application/json"}},
                )
                answer = json.load(urllib.request.urlopen(req))
                found = [m for m in ("sqlalchemy", "jupyter_server", "jupyterlab", "IPython",
                                     "alembic") if m in sys.modules]
                ours = sorted(m for m in sys.modules if m.startswith("jupyter_mm"))
                print("RESULT", json.dumps({{"answer": answer, "found": found, "ours": ours}}),
                      flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
            threading.Thread(target=check).start()

        sys.exit(serve(ServeConfig(models=[ModelSpec({models.directory!r})], open=True,
                                   port=0), on_ready=ready))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=ENV, cwd=REPO, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result["answer"] == {"predictions": [1]}
    assert result["found"] == []
    # the contract's list: what a deploy bundle vendors
    allowed = ("jupyter_mm", "jupyter_mm._version", "jupyter_mm.errors", "jupyter_mm.core",
               "jupyter_mm.core.artifacts", "jupyter_mm.core.limits", "jupyter_mm.core.validation",
                   "jupyter_mm.core.json_body",
                   "jupyter_mm.core.models")  # fmt: skip
    extra = [m for m in result["ours"] if m not in allowed
             and not m.startswith(("jupyter_mm.core.models.", "jupyter_mm.serving"))]  # fmt: skip
    assert extra == []


def test_python_m_serving_with_two_workers(models: Models) -> None:
    p = Process("-m", "jupyter_mm.serving", "--model-dir", models.directory, "--name", "credit",
                "--version", "7", "--open", "--port", "0", "--workers", "2")  # fmt: skip
    try:
        parent = p.proc.pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        assert len(children) == 2
        for _ in range(6):  # a new connection each time
            r = requests.post(f"{p.url}/invocations", json={"dataframe_records": [PROBE]},
                              headers={"Connection": "close"})  # fmt: skip
            assert r.status_code == 200
            assert r.headers["X-MM-Model-Name"] == "credit"
            assert r.headers["X-MM-Model-Version"] == "7"
        os.kill(int(children[0]), signal.SIGKILL)  # a worker dies: the parent starts another

        def replaced() -> list[str]:
            now = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            return now if len(now) == 2 and children[0] not in now else []

        end = time.monotonic() + 60
        while not replaced():
            assert time.monotonic() < end, "the dead worker was not replaced"
            time.sleep(0.05)  # pacing the poll; the condition decides
        for _ in range(4):
            r = requests.post(f"{p.url}/invocations", json={"dataframe_records": [PROBE]},
                              headers={"Connection": "close"})  # fmt: skip
            assert r.status_code == 200
        children = replaced()
    finally:
        assert p.stop() == 0
    for pid in children:  # SIGTERM to the parent stopped every worker
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)  # pacing the poll; the condition decides
    pytest.fail(f"timed out waiting for {what}")


def serve_store(models: Models, *args: str, env: dict[str, str] | None = None) -> Process:
    return Process("-m", "jupyter_mm.cli", "--store", models.store_uri, "serve", *args,
                   "--open", "--port", "0", env=env)  # fmt: skip


def score(p: Process, rows: list[dict[str, Any]], request_id: str) -> requests.Response:
    r = requests.post(f"{p.url}/invocations", json={"dataframe_records": rows},
                      headers={"X-Request-Id": request_id})  # fmt: skip
    assert r.status_code == 200, r.text
    return r


def test_a_runs_uri_is_served(models: Models) -> None:
    uri = models.uris[2]  # runs:/<run id>/credit-v2, not through the registry
    assert uri.startswith("runs:/")
    run_id = uri.split("/")[1]
    p = serve_store(models, uri)
    try:
        r = score(p, [PROBE], "by-run")
        expected = mm.load_model(uri).predict(pd.DataFrame([PROBE])).tolist()
        assert r.json() == {"predictions": expected}
        assert expected != mm.load_model(models.uris[1]).predict(pd.DataFrame([PROBE])).tolist()
        assert r.headers["X-MM-Model-Name"] == "credit-v2"
        assert r.headers["X-MM-Model-Version"] == run_id
        assert "X-MM-Model-Alias" not in r.headers
        meta = requests.get(f"{p.url}/v2/models/credit-v2").json()
        assert meta["name"] == "credit-v2"
    finally:
        assert p.stop() == 0


def test_log_options_drop_hash_and_expire_columns(models: Models, tmp_path: Path) -> None:
    salt = "runner-salt-5c1"
    root = tmp_path / "log"
    with PredictionLog(str(root), 1.0) as old:  # partitions 40 and 10 days old, of version 0
        for rid, days in (("old", 40), ("recent", 10)):
            old.record(request_id=rid, model_name="credit", model_version="0",
                       model_digest="sha256:x", alias=None, inputs=pd.DataFrame([PROBE]),
                       outputs=[1], latency_ms=1.0, ts=time.time() - days * 86400)  # fmt: skip
    old_dir = min(root.glob("model=credit/version=0/date=*"))
    p = serve_store(models, "models:/credit/1", "--log-predictions", "1.0",
                    "--prediction-log-uri", str(root), "--log-drop", "age,latency_ms",
                    "--log-hash", "income", "--log-retention-days", "30",
                    env={"MM_PREDICTION_LOG_SALT": salt})  # fmt: skip
    try:
        wait_for("the 40-day-old partition to go", lambda: not old_dir.exists())
        sent = {"a": [PROBE, {**PROBE, "income": 20.0}], "b": [{**PROBE, "income": 75.0}]}
        for rid, rows in sent.items():
            score(p, rows, rid)
    finally:
        assert p.stop() == 0  # SIGTERM: the log is flushed as the server stops
    assert list(read_predictions(str(root), "credit", version=0).request_id) == ["recent"]
    logged = read_predictions(str(root), "credit", version=1).sort_values(["request_id", "row"])
    assert list(logged.request_id) == ["a", "a", "b"]
    assert "input.age" not in logged.columns and "latency_ms" not in logged.columns
    assert list(logged["input.utilisation"]) == [0.2, 0.2, 0.2]  # kept as it was

    def hashed(value: float) -> str:
        return hashlib.sha256(f"{salt}\0{value!r}".encode()).hexdigest()

    assert list(logged["input.income"]) == [hashed(75.0), hashed(20.0), hashed(75.0)]
    for part in root.rglob("*.parquet"):
        assert salt.encode() not in part.read_bytes()


def test_log_options_are_refused_clearly(models: Models, tmp_path: Path) -> None:
    def refused(*args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_mm.cli", "--store", models.store_uri, "serve",
             "models:/credit/1", "--open", "--port", "0", *args],
            capture_output=True, text=True, env={**ENV, **(env or {})}, cwd=REPO, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        return done.stderr

    uri = ["--prediction-log-uri", str(tmp_path / "log")]
    assert "give --log-predictions RATE too" in refused("--log-drop", "age")
    assert "needs a salt: set MM_PREDICTION_LOG_SALT" in refused(
        "--log-predictions", "1", *uri, "--log-hash", "income"
    )
    assert "both dropped and hashed: ['age']" in refused(
        "--log-predictions", "1", *uri, "--log-drop", "age", "--log-hash", "age"
    )
    assert "--log-retention-days must be" in refused(
        "--log-predictions", "1", *uri, "--log-retention-days", "0"
    )
    assert "MM_PREDICTION_LOG_RETENTION_DAYS='a year' is not a whole number" in refused(
        "--log-predictions", "1", *uri, env={"MM_PREDICTION_LOG_RETENTION_DAYS": "a year"}
    )
    assert not (tmp_path / "log").exists()


def test_a_killed_server_loses_at_most_its_unflushed_rows(models: Models) -> None:
    """SIGKILL after rows were flushed: every flushed row reads back whole, nothing half-written
    trips the reader, and only rows of the last flush interval may be missing. The log is at
    its default place, ``<artifact root>/predictions/``, as no URI is given."""
    with Store.open(models.store_uri) as st:
        root = Path(st.predictions_url)
    assert not root.exists()
    p = serve_store(models, "models:/credit@champion", "--log-predictions", "1.0",
                    "--log-flush-seconds", "0.5")  # fmt: skip
    sent: dict[str, float] = {}
    try:
        for i in range(30):
            sent[f"flushed-{i}"] = float(i)
            score(p, [{**PROBE, "income": float(i)}], f"flushed-{i}")
        wait_for("30 rows written", lambda: len(logged(root)) == 30)
        for i in range(30, 230):  # some of these are in the buffer when the server dies
            sent[f"late-{i}"] = float(i)
            score(p, [{**PROBE, "income": float(i)}], f"late-{i}")
    finally:
        p.proc.kill()  # SIGKILL: no shutdown, no flush
        p.proc.wait(60)
    df = mm.predictions("credit")  # the store's reader, at the default place
    assert len(df) == len(set(df.request_id))  # no row twice
    ids = set(df.request_id)
    assert {f"flushed-{i}" for i in range(30)} <= ids <= set(sent)
    for rid, income in zip(df.request_id, df["input.income"], strict=True):
        assert income == sent[rid]  # each row whole and right
    assert set(df.model_version) == {"1"} and set(df.alias) == {"champion"}
    # every visible part reads on its own: none is half-written
    import pyarrow.parquet as pq

    for part in root.rglob("*.parquet"):
        assert pq.read_table(part).num_rows > 0


def logged(root: Path) -> set[str]:
    if not root.exists():
        return set()
    return set(read_predictions(str(root), "credit").request_id)
