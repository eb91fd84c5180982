"""The official MLflow client over HTTP: jupyter-mm's MLflow routes vs ``mlflow server``.

Both servers run as subprocesses on free 127.0.0.1 ports, each on SQLite in its own temp dir:

    jupyter-mm:    jupyter server --IdentityProvider.token=T ... (MM_TRACKING_URI=TMP/store);
                   client: MLFLOW_TRACKING_URI=http://127.0.0.1:P/jupyter-mm/mlflow, MLFLOW_TRACKING_TOKEN=T
    MLflow:        mlflow server --backend-store-uri sqlite:///TMP/mlflow.db --artifacts-destination TMP/art
                   (default workers); client: http://127.0.0.1:P, no token

Measured through ``MlflowClient`` (same client code for both):

1. ``log_batch`` of 10,000 metric points into one run (10 requests x 1,000 metrics): points/s;
2. runs: ``create_run`` + ``log_batch`` (5 params, 5 metrics) + ``set_terminated``: runs/s
   (ours on up to ``--runs``, MLflow on up to ``--mlflow-runs``, each stopping after ``--budget``
   seconds; per-run rate either way);
3. ``search_runs`` filter + order, first page of 100, over 10,000 runs: the runs of step 2 plus the
   rest written straight into each server's store with bench/search.py's bulk populate helpers
   (validated there against each tool's own API). Both servers hold the same 10,000 runs and must
   return the same, expected 100 runs.

    python bench/mlflow_server.py [--runs 1000] [--mlflow-runs 200] [--budget 20] [--search-runs 10000]
                                  [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import _common as c
from search import FILTER, ORDER, make_runs, populate_mlflow_sql, populate_ours_sql

BENCH = "mlflow_server"
N_POINTS = 10_000
BATCH = 1_000
BIN = Path(sys.executable).parent  # this interpreter's `jupyter` and `mlflow` scripts

# Bounded client behaviour: a rejected request must fail the script, not retry for minutes.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._fh = log.open("wb")
        # own process group: mlflow server starts uvicorn workers as children
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, url: str, headers: dict[str, str], deadline_s: float) -> float:
        t0 = time.perf_counter()
        end = t0 + deadline_s
        last = None
        while time.perf_counter() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                req = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, OSError) as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {deadline_s} s ({last}):\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        else:  # leader gone: make sure no worker of its group is left behind
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._fh.close()


def start_ours(tmp: Path, token: str) -> tuple[Server, str, float]:
    port = free_port()
    env = {**os.environ, "MM_TRACKING_URI": str(tmp / "store")}
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [
        str(BIN / "jupyter"),
        "server",
        "--no-browser",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.allow_root=True",  # containers / CI run as root
    ]
    srv = Server("jupyter server", cmd, env, tmp / "server.log")
    base = f"http://127.0.0.1:{port}/jupyter-mm/mlflow"
    ready = srv.wait_ready(f"{base}/health", {"Authorization": f"token {token}"}, 60)
    return srv, base, ready


def start_mlflow(tmp: Path) -> tuple[Server, str, float]:
    port = free_port()
    cmd = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp / 'mlflow.db'}",
        "--artifacts-destination",
        str(tmp / "art"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    srv = Server("mlflow server", cmd, dict(os.environ), tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    ready = srv.wait_ready(f"{base}/health", {}, 90)
    return srv, base, ready


@dataclass
class ServerPair:
    """Our server and ``mlflow server``, running (see :func:`both_servers`)."""

    ours: Server
    ours_uri: str  # its MLflow-compatible API
    ours_ready: float
    mlflow: Server
    mlflow_uri: str
    mlflow_ready: float

    @property
    def ours_root(self) -> str:
        """Our Jupyter server's root URL (what ``MM_TRACKING_URI`` names)."""
        return self.ours_uri.rsplit("jupyter-mm/mlflow", 1)[0]


@contextlib.contextmanager
def both_servers(tmp_mm: Path, tmp_ml: Path, token: str) -> Iterator[ServerPair]:
    """Start our server (in ``tmp_mm``) and ``mlflow server`` (in ``tmp_ml``); stop whichever
    started, in reverse order, when the block ends."""
    started: list[Server] = []
    try:
        ours, ours_uri, ours_ready = start_ours(tmp_mm, token)
        started.append(ours)
        ml, ml_uri, ml_ready = start_mlflow(tmp_ml)
        started.append(ml)
        yield ServerPair(ours, ours_uri, ours_ready, ml, ml_uri, ml_ready)
    finally:
        for s in reversed(started):
            s.stop()


def client_for(uri: str, token: str | None):
    from mlflow import MlflowClient

    os.environ["MLFLOW_TRACKING_URI"] = uri
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    else:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    return MlflowClient(tracking_uri=uri)


def measure(client, runs: list[dict], n_api: int, budget_s: float, repeat: int, populate) -> dict:
    """Steps 1-3 through ``client``; ``populate(exp_id, runs)`` writes the rest straight to the store."""
    from mlflow.entities import Metric, Param

    out: dict = {}
    # 1. log_batch of 10k points into one run
    batch_exp = client.create_experiment("batch")
    warm = client.create_run(batch_exp)
    client.log_batch(warm.info.run_id, metrics=[Metric("w", 1.0, 0, i) for i in range(100)])
    run = client.create_run(batch_exp, run_name="batch")
    rid = run.info.run_id
    values = c.noisy_loss(N_POINTS)
    now = int(time.time() * 1000)
    batches = [
        [Metric(f"m{i % 10}", values[i], now + i, i // 10) for i in range(j, j + BATCH)]
        for j in range(0, N_POINTS, BATCH)
    ]
    t = time.perf_counter()
    for b in batches:
        client.log_batch(rid, metrics=b)
    out["points_s"] = N_POINTS / (time.perf_counter() - t)
    client.set_terminated(rid)
    hist = client.get_metric_history(rid, "m3")
    assert len(hist) == N_POINTS // 10, f"m3 has {len(hist)} points"

    # 2. runs through the API (3 warm-up runs in the batch experiment)
    def one(exp_id: str, r: dict) -> None:
        new = client.create_run(exp_id, start_time=r["start"], run_name=r["name"])
        client.log_batch(
            new.info.run_id,
            params=[Param(k, v) for k, v in r["params"].items()],
            metrics=[Metric(k, v, r["start"] + 400, 0) for k, v in r["metrics"].items()],
        )
        client.set_terminated(new.info.run_id, end_time=r["start"] + 500)

    for r in make_runs(3, seed=7):
        one(batch_exp, r)
    exp_id = client.create_experiment("search")
    t = time.perf_counter()
    done = 0
    for r in runs[:n_api]:
        one(exp_id, r)
        done += 1
        if time.perf_counter() - t > budget_s:  # keep the script short on a slow/loaded host
            break
    out["api_s"] = time.perf_counter() - t
    out["api_n"] = done
    out["runs_s"] = done / out["api_s"]

    # 3. the other runs straight into the store, then search through the server
    t = time.perf_counter()
    populate(exp_id, runs[done:])
    out["populate_s"] = time.perf_counter() - t

    def search():
        return client.search_runs([exp_id], filter_string=FILTER, order_by=ORDER, max_results=100)

    out["names"] = [r.info.run_name for r in search()]
    med, times = c.median_time(search, repeat, warmup=0)
    out["search_ms"] = 1000 * med
    out["search_min_ms"] = 1000 * min(times)
    total = client.search_runs([exp_id], max_results=1)
    out["has_more"] = bool(total.token)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000, help="runs created through our server")
    ap.add_argument("--mlflow-runs", type=int, default=200, help="... through mlflow server")
    ap.add_argument(
        "--budget", type=float, default=20.0, help="stop creating runs after this many seconds"
    )
    ap.add_argument("--search-runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    c.quiet_mlflow()

    runs = make_runs(args.search_runs)
    expected = sorted(
        (r for r in runs if r["metrics"]["acc"] > 0.5 and r["params"]["model"] == "rf"),
        key=lambda r: r["metrics"]["loss"],
    )
    expected_names = [r["name"] for r in expected[:100]]
    token = secrets.token_hex(16)

    with c.tempdir("srv-mm") as tmp_mm, c.tempdir("srv-mlflow") as tmp_ml:
        try:
            with both_servers(tmp_mm, tmp_ml, token) as pair:
                ours_srv, ours_uri, ours_ready = pair.ours, pair.ours_uri, pair.ours_ready
                ml_srv, ml_uri, ml_ready = pair.mlflow, pair.mlflow_uri, pair.mlflow_ready

                from jupyter_mm.core.store import Store

                def populate_ours(exp_id: str, rest: list[dict]) -> None:
                    st = Store.open(str(tmp_mm / "store"))
                    try:
                        populate_ours_sql(st, exp_id, rest)
                    finally:
                        st.close()

                try:
                    ours = measure(
                        client_for(ours_uri, token),
                        runs,
                        args.runs,
                        args.budget,
                        args.repeat,
                        populate_ours,
                    )
                except Exception:
                    print(f"--- jupyter server log (tail):\n{ours_srv.tail()}", file=sys.stderr)
                    raise

                ml_client = client_for(ml_uri, None)

                def populate_ml(exp_id: str, rest: list[dict]) -> None:
                    art = ml_client.get_experiment(exp_id).artifact_location
                    populate_mlflow_sql(tmp_ml / "mlflow.db", exp_id, art, rest)

                try:
                    ml = measure(
                        ml_client, runs, args.mlflow_runs, args.budget, args.repeat, populate_ml
                    )
                except Exception:
                    print(f"--- mlflow server log (tail):\n{ml_srv.tail()}", file=sys.stderr)
                    raise
        finally:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
            os.environ.pop("MLFLOW_TRACKING_URI", None)

    assert ours["names"] == expected_names, "jupyter-mm server returned the wrong page"
    assert ml["names"] == expected_names, "mlflow server returned a different page"
    assert ours["has_more"] and ml["has_more"]

    how = (
        "official mlflow client (MlflowClient) over loopback HTTP; ours: jupyter server + "
        "jupyter-mm MLflow routes (token auth), MLflow: `mlflow server` (default workers), "
        f"both SQLite; servers answered after {ours_ready:.1f} s / {ml_ready:.1f} s"
    )
    c.record(
        BENCH,
        "(extra) MLflow client over HTTP: log_batch 10k points into one run",
        "points/s",
        ours["points_s"],
        ml["points_s"],
        higher_is_better=True,
        note=f"{how}; 10 log_batch calls x 1,000 metrics (10 keys x 1,000 steps) after one "
        "warm-up batch; every point read back with get_metric_history",
    )
    c.record(
        BENCH,
        "(extra) MLflow client over HTTP: create_run + log_batch(5 params, 5 metrics) + set_terminated",
        "runs/s",
        ours["runs_s"],
        ml["runs_s"],
        higher_is_better=True,
        note=f"ours {ours['api_n']:,} runs in {ours['api_s']:.1f} s, MLflow {ml['api_n']:,} runs "
        f"in {ml['api_s']:.1f} s (per-run rate, extrapolated from these counts: at most "
        f"{args.runs:,} / {args.mlflow_runs:,} runs or {args.budget:.0f} s each, to keep the "
        f"script short; 3 warm-up runs each); per run: ours {1000 / ours['runs_s']:.1f} ms, MLflow "
        f"{1000 / ml['runs_s']:.1f} ms (3 requests each)",
    )
    c.record(
        BENCH,
        f"(extra) MLflow client over HTTP: search_runs filter+order, page of 100, "
        f"{args.search_runs // 1000}k runs",
        "ms",
        ours["search_ms"],
        ml["search_ms"],
        higher_is_better=False,
        note=f'filter "{FILTER}", order_by {ORDER}; {len(expected):,} of {args.search_runs:,} runs '
        f"match; median of {args.repeat} calls after one warm-up (fastest: ours "
        f"{ours['search_min_ms']:.0f} ms, MLflow {ml['search_min_ms']:.0f} ms); the runs of the previous figure "
        f"plus the rest bulk-written into each server's store (bench/search.py helpers; ours "
        f"{ours['populate_s']:.1f} s, MLflow {ml['populate_s']:.1f} s); both return the same "
        "expected 100 runs",
    )
    c.emit()


if __name__ == "__main__":
    main()
