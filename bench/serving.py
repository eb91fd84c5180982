"""Model serving: ``python -m jupyter_mm.serving`` vs ``mlflow models serve --env-manager local``.

Both serve the **same model files** (one directory per model, written by ``mm.log_model`` with
skops and copied out with ``mm.download_model``; MLflow loads them with its own sklearn flavor),
each as a subprocess on a free 127.0.0.1 port with the same number of workers (``--workers``):

    jupyter-mm:  python -m jupyter_mm.serving --model-dir DIR --open --port P --workers W
    MLflow:      mlflow models serve -m DIR --env-manager local -h 127.0.0.1 -p P -w W

Models: scikit-learn LogisticRegression and a 100-tree RandomForest on a credit-style table of 20
numeric columns. Requests: one row as MLflow's ``dataframe_split`` JSON to ``/invocations``
(the same bytes to both), over keep-alive connections. Figures:

1. single-row latency p50 and p99 with one client (bar: our p50 at most half of MLflow's);
2. throughput with 1, 8 and 64 concurrent clients (bar at 64: at least 5x MLflow's), ours with
   its default adaptive batching (``--batch-window-ms 2``), plus ours at 64 clients with batching
   off (``--batch-window-ms 0``), to show what batching brings;
3. with ``serving/prediction_log.py`` installed: our throughput at 64 clients with
   ``--log-predictions 1.0`` against without (bar: under 10% lower).

Clients are processes (``--client-procs``), each running threads on ``http.client``
connections, so the load generator is not one GIL. Every answer is checked (200 and one
prediction). On a 2-core machine the clients share the cores with the servers: compare the two
columns of one run, not figures across machines.

    python bench/serving.py [--duration 8] [--workers 1] [--clients 1,8,64]
                            [--models lr,rf] [--client-procs 4] [--rounds 4]

Every server of one model runs at once and each figure is measured in ``--rounds`` turns that
go round the servers, so a shared machine's changing load weighs on all of them alike.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import _common as c

BENCH = "serving"
N_COLUMNS = 20
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- models --------------------------------------------------------------------------------------


def credit_table(n: int = 5000, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {
        "income": rng.normal(52_000, 15_000, n), "age": rng.integers(18, 80, n),
        "utilisation": rng.random(n), "debt": rng.normal(8_000, 4_000, n),
        "months_employed": rng.integers(0, 480, n), "open_accounts": rng.integers(0, 20, n),
        "late_payments": rng.poisson(0.5, n), "inquiries": rng.poisson(1.0, n),
    }  # fmt: skip
    for i in range(N_COLUMNS - len(cols)):
        cols[f"feature_{i}"] = rng.normal(0, 1, n)
    X = pd.DataFrame(cols)
    score = (X["income"] / 52_000 - X["utilisation"] - 0.2 * X["late_payments"]
             + 0.1 * X["feature_0"] + rng.normal(0, 0.3, n))  # fmt: skip
    return X, (score < 0.2).astype(int).to_numpy()


def write_models(tmp: Path, names: list[str]) -> dict[str, Path]:
    """Each model logged with mm.log_model (skops) and copied to its own directory."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    import jupyter_mm as mm

    X, y = credit_table()
    makers = {
        "lr": lambda: LogisticRegression(max_iter=1000).fit(X, y),
        "rf": lambda: RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X, y),
    }
    mm.set_tracking_uri(str(tmp / "store"))
    out = {}
    with mm.start_run():
        for name in names:
            info = mm.log_model(makers[name](), f"credit-{name}", input_example=X.head(5))
            out[name] = Path(mm.download_model(info.model_uri, tmp / f"model-{name}"))
    mm.set_tracking_uri(None)
    return out


def request_body() -> bytes:
    X, _ = credit_table(10, seed=1)
    row = X.head(1)
    return json.dumps(
        {"dataframe_split": json.loads(row.to_json(orient="split", index=False))}
    ).encode()


# ---- servers -------------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        self.name, self.log = name, log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._fh, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)  # fmt: skip

    def wait_ready(self, url: str, body: bytes, deadline_s: float = 180) -> None:
        end = time.perf_counter() + deadline_s
        while time.perf_counter() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(url + "/invocations", data=body,
                                             headers={"Content-Type": "application/json"})  # fmt: skip
                with urllib.request.urlopen(req, timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # no worker left behind
        except (ProcessLookupError, PermissionError):
            pass
        self._fh.close()


@contextmanager
def server(kind: str, model_dir: Path, workers: int, tmp: Path, body: bytes,
           extra: tuple[str, ...] = ()) -> Iterator[str]:  # fmt: skip
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(c.REPO)}
    env.pop("MM_SERVE_TOKEN", None)
    if kind == "ours":
        cmd = [sys.executable, "-m", "jupyter_mm.serving", "--model-dir", str(model_dir), "--open",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *extra]  # fmt: skip
    else:
        cmd = [str(BIN / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager",
               "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)]  # fmt: skip
    s = Server(kind, cmd, tmp / f"{kind}-{port}.log", env)
    url = f"http://127.0.0.1:{port}"
    try:
        s.wait_ready(url, body)
        yield url
    finally:
        s.stop()


# ---- load ----------------------------------------------------------------------------------------


def _client_proc(port: int, body: bytes, threads: int, duration: float, warmup: float,
                 out: Any) -> None:  # fmt: skip
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + warmup
    stop_at = start + duration

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        bad = 0
        headers = {"Content-Type": "application/json"}
        while True:
            t = time.perf_counter()
            if t >= stop_at:
                break
            try:
                conn.request("POST", "/invocations", body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                ok = r.status == 200 and len(json.loads(data)["predictions"]) == 1
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            done = time.perf_counter()
            if t >= start:
                if ok:
                    mine.append(done - t)
                else:
                    bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((latencies, errors[0]))


def _measure(url: str, body: bytes, clients: int, duration: float, procs: int
             ) -> tuple[list[float], int]:  # fmt: skip
    """Latencies of ``clients`` concurrent keep-alive clients for ``duration`` s (after a warm-up)."""
    port = int(url.rsplit(":", 1)[1])
    procs = max(1, min(procs, clients))
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    ps = [ctx.Process(target=_client_proc, args=(port, body, n, duration, 1.0, q)) for n in per]
    for p in ps:
        p.start()
    lat: list[float] = []
    errors = 0
    for _ in ps:
        part, bad = q.get()
        lat.extend(part)
        errors += bad
    for p in ps:
        p.join()
    return lat, errors


def _summary(lat: list[float], errors: int, duration: float) -> dict[str, float]:
    lat = sorted(lat)
    n = len(lat)
    return {
        "rps": n / duration,
        "p50_ms": lat[n // 2] * 1000 if n else float("nan"),
        "p99_ms": lat[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "errors": errors,
        "n": n,
    }


def load(url: str, body: bytes, clients: int, duration: float, procs: int) -> dict[str, float]:
    """``clients`` concurrent keep-alive clients for ``duration`` seconds (after a warm-up)."""
    return _summary(*_measure(url, body, clients, duration, procs), duration)


def interleaved(urls: dict[str, str], body: bytes, clients: int, duration: float, procs: int,
                rounds: int) -> dict[str, dict[str, float]]:  # fmt: skip
    """Each server in turn, ``rounds`` times, ``duration / rounds`` s a turn, so that a machine
    whose load drifts during the run (a shared one) weighs on every server alike."""
    lat: dict[str, list[float]] = {k: [] for k in urls}
    errors = dict.fromkeys(urls, 0)
    for _ in range(rounds):
        for k, url in urls.items():
            part, bad = _measure(url, body, clients, duration / rounds, procs)
            lat[k].extend(part)
            errors[k] += bad
    return {k: _summary(lat[k], errors[k], duration) for k in urls}


# ---- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--clients", default="1,8,64")
    ap.add_argument("--models", default="lr,rf")
    ap.add_argument("--client-procs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=4, help="interleaved turns per figure")
    ap.add_argument("--json")
    args = ap.parse_args()
    c.quiet_mlflow()
    clients = [int(x) for x in args.clients.split(",")]
    body = request_body()
    has_log = importlib.util.find_spec("jupyter_mm.serving.prediction_log") is not None
    with c.tempdir("serving") as tmp:
        dirs = write_models(tmp, args.models.split(","))
        for name, model_dir in dirs.items():
            label = {"lr": "LogisticRegression", "rf": "RandomForest (100 trees)"}[name]
            top = max(clients)
            with ExitStack() as stack:
                # every server up at once; idle ones cost nothing while another is measured
                urls = {"ours": stack.enter_context(server("ours", model_dir, args.workers, tmp,
                                                           body)),
                        "mlflow": stack.enter_context(server("mlflow", model_dir, args.workers,
                                                             tmp, body)),
                        "unbatched": stack.enter_context(server("ours", model_dir, args.workers,
                                                                tmp, body,
                                                                ("--batch-window-ms", "0")))}  # fmt: skip
                if has_log:
                    urls["logged"] = stack.enter_context(server(
                        "ours", model_dir, args.workers, tmp, body,
                        ("--log-predictions", "1.0", "--prediction-log-uri",
                         str(tmp / f"predictions-{name}"))))  # fmt: skip
                res: dict[int, dict[str, dict[str, float]]] = {}
                for n in clients:
                    pick = urls if n == top else {k: urls[k] for k in ("ours", "mlflow")}
                    res[n] = interleaved(pick, body, n, args.duration, args.client_procs,
                                         args.rounds)  # fmt: skip
            errors = sum(r["errors"] for by in res.values() for r in by.values())
            note = (f"{args.workers} worker(s), {args.duration:.0f} s per figure in "
                    f"{args.rounds} interleaved turns, one row of {N_COLUMNS} columns as "
                    f"dataframe_split; failed requests: {errors}")  # fmt: skip
            if 1 in clients:
                o, m = res[1]["ours"], res[1]["mlflow"]
                c.record(BENCH, f"{label}: single-row latency p50, 1 client", "ms",
                         o["p50_ms"], m["p50_ms"], higher_is_better=False,
                         bar="ours <= 1/2 MLflow's", met=o["p50_ms"] <= m["p50_ms"] / 2,
                         note=note)  # fmt: skip
                c.record(BENCH, f"{label}: single-row latency p99, 1 client", "ms",
                         o["p99_ms"], m["p99_ms"], higher_is_better=False)  # fmt: skip
            for n in clients:
                o, m = res[n]["ours"], res[n]["mlflow"]
                bar = "ours >= 5x MLflow's" if n == 64 else ""
                c.record(BENCH, f"{label}: throughput, {n} concurrent single-row clients",
                         "req/s", o["rps"], m["rps"], higher_is_better=True, bar=bar,
                         met=(o["rps"] >= 5 * m["rps"]) if n == 64 else None)  # fmt: skip
            c.record(BENCH, f"{label}: throughput, {top} clients, ours without batching",
                     "req/s", res[top]["unbatched"]["rps"], res[top]["mlflow"]["rps"],
                     higher_is_better=True)  # fmt: skip
            if has_log:
                plain, logged = res[top]["ours"]["rps"], res[top]["logged"]["rps"]
                cost = 1 - logged / plain if plain else float("nan")
                c.record(BENCH, f"{label}: throughput cost of --log-predictions 1.0, {top} "
                         "clients", "%", cost * 100, None, higher_is_better=False,
                         bar="< 10%", met=cost < 0.10,
                         note=f"{logged:.0f} req/s logged vs {plain:.0f} without")  # fmt: skip
    c.emit()


if __name__ == "__main__":
    main()
