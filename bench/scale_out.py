"""Throughput with 8 concurrent clients at 1 and 2 server processes: the team server
(``jupyter mm server --workers N``) on PostgreSQL vs ``mlflow server --workers N``.

    jupyter-mm:  jupyter mm server --store postgresql://… --artifacts TMP/art --workers N
                 (a throwaway PostgreSQL server, as the tests start it: tests/support/postgres.py)
    MLflow:      mlflow server --backend-store-uri sqlite:///TMP/mlflow.db --workers N
                 (bench/mlflow_server.py's set-up; MLflow on PostgreSQL would need psycopg2)

Both hold the same ~5,000 runs (bench/search.py's rows, written straight into each store).
Eight client threads, each with its own keep-alive connection, send requests back to back for
``--seconds`` after one warm-up request each, and every latency is kept:

1. REST search: filter + order, first page of 100 (``POST jupyter-mm/api/runs/search``; MLflow's
   ``POST api/2.0/mlflow/runs/search``), the query of bench/search.py;
2. MLflow ``runs/log-batch`` of 10 metric points, each client into its own run (the same MLflow
   route on both servers).

Figures: requests/s, p50 and p99 (ms) per server and process count, and the speed-up of 2
processes over 1. The client threads share the machine's CPUs with the servers (2 cores here), so
the speed-up is a lower bound of what a separate client fleet would see.

    python bench/scale_out.py [--runs 5000] [--seconds 8] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as c
from mlflow_server import BIN, Server, free_port
from search import FILTER, ORDER, make_runs, populate_mlflow_sql, populate_ours_sql

BENCH = "scale_out"
POINTS_PER_BATCH = 10


def start_ours(tmp: Path, store: str, token: str, workers: int) -> tuple[Server, str]:
    port = free_port()
    env = {**os.environ, "MM_SERVER_TOKEN": token, "PYTHONPATH": str(c.REPO)}
    cmd = [str(BIN / "jupyter"), "mm", "server", "--store", store, "--artifacts", str(tmp / "art")]
    cmd += ["--port", str(port), "--workers", str(workers)]
    srv = Server(f"jupyter mm server x{workers}", cmd, env, tmp / f"ours-{workers}.log")
    srv.wait_ready(
        f"http://127.0.0.1:{port}/jupyter-mm/mlflow/health",
        {"Authorization": f"token {token}"},
        120,
    )
    deadline = time.monotonic() + 120
    while workers > 1 and f"{workers} workers listening" not in srv.tail(100_000):
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers did not start:\n{srv.tail()}")
        time.sleep(0.1)
    return srv, f"127.0.0.1:{port}"


def start_mlflow(tmp: Path, workers: int) -> tuple[Server, str]:
    port = free_port()
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}"]
    cmd += ["--artifacts-destination", str(tmp / "art"), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    srv = Server(f"mlflow server x{workers}", cmd, dict(os.environ), tmp / f"mlflow-{workers}.log")
    srv.wait_ready(f"http://127.0.0.1:{port}/health", {}, 120)
    return srv, f"127.0.0.1:{port}"


def load(
    host: str,
    headers: dict[str, str],
    request: Callable[[int, int], tuple[str, str, dict[str, Any]]],
    clients: int,
    seconds: float,
) -> dict[str, float]:
    """``clients`` threads send ``request(client, i)`` back to back: after one warm-up request
    each, for ``seconds`` (and at least one request, however slow). Requests/s, p50, p99."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * clients
    errors: list[str] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(host, timeout=600)
        i = 0
        t0 = 0.0
        while True:
            now = time.perf_counter()
            if i == 1:
                t0 = now
            if i > 1 and now - t0 >= seconds:
                break
            method, path, body = request(k, i)
            conn.request(
                method, path, json.dumps(body), {**headers, "Content-Type": "application/json"}
            )
            reply = conn.getresponse()
            data = reply.read()
            if reply.status != 200:
                errors.append(f"{reply.status} {data[:300]!r}")
                return
            if i >= 1:
                latencies[k].append(time.perf_counter() - now)
            i += 1
        spans[k] = (t0, time.perf_counter())
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    every = sorted(x for per in latencies for x in per)
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return {
        "rps": len(every) / elapsed,
        "p50": statistics.median(every) * 1000,
        "p99": every[min(len(every) - 1, int(len(every) * 0.99))] * 1000,
    }


def log_batch_request(run_ids: list[str]) -> Callable[[int, int], tuple[str, str, dict[str, Any]]]:
    def request(k: int, i: int) -> tuple[str, str, dict[str, Any]]:
        ts = int(time.time() * 1000)
        metrics = [
            {"key": f"m{j}", "value": float(i), "timestamp": ts, "step": i}
            for j in range(POINTS_PER_BATCH)
        ]
        return "POST", "api/2.0/mlflow/runs/log-batch", {"run_id": run_ids[k], "metrics": metrics}

    return request


def measure(
    name: str,
    host: str,
    prefix: str,
    headers: dict[str, str],
    search: Callable[[int, int], tuple[str, str, dict[str, Any]]],
    run_ids: list[str],
    args: argparse.Namespace,
) -> dict[str, dict[str, float]]:
    def batch(k: int, i: int) -> tuple[str, str, dict[str, Any]]:
        method, path, body = log_batch_request(run_ids)(k, i)
        return method, prefix + path, body

    out = {
        "search": load(host, headers, search, args.clients, args.seconds),
        "log_batch": load(host, headers, batch, args.clients, args.seconds),
    }
    for kind, f in out.items():
        print(
            f"  {name:<26} {kind:<10} {f['rps']:8.0f} req/s  p50 {f['p50']:7.1f} ms  p99 {f['p99']:7.1f} ms"
        )
    return out


def new_run(host: str, prefix: str, headers: dict[str, str]) -> str:
    conn = http.client.HTTPConnection(host, timeout=60)
    body = json.dumps({"experiment_id": "0", "start_time": int(time.time() * 1000)})
    conn.request(
        "POST",
        prefix + "api/2.0/mlflow/runs/create",
        body,
        {**headers, "Content-Type": "application/json"},
    )
    reply = conn.getresponse()
    data = json.loads(reply.read())
    conn.close()
    return str(data["run"]["info"]["run_id"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--no-mlflow", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(c.REPO))
    from jupyter_mm.core.store import Store
    from tests.support.postgres import create_database, postgres_server

    runs = make_runs(args.runs)
    token = secrets.token_hex(16)
    auth = {"Authorization": f"token {token}"}
    search_body = {"filter": FILTER, "order_by": ORDER, "max_results": 100}
    ml_body = {"experiment_ids": ["0"], **search_body}
    ours: dict[int, dict[str, dict[str, float]]] = {}
    theirs: dict[int, dict[str, dict[str, float]]] = {}
    print(
        f"{args.clients} clients, {args.seconds:g} s per figure, {args.runs:,} runs, {os.cpu_count()} CPUs"
    )
    with c.tempdir("scale") as tmp, postgres_server() as admin:
        db = create_database(admin, "mm_bench")
        store = Store.open(db, str(tmp / "art"))
        try:
            populate_ours_sql(store, "0", runs)
        finally:
            store.close()
        for workers in (1, 2):
            srv, host = start_ours(tmp, db, token, workers)
            try:
                prefix = "/jupyter-mm/mlflow/"
                run_ids = [new_run(host, prefix, auth) for _ in range(args.clients)]

                def search(k: int, i: int) -> tuple[str, str, dict[str, Any]]:
                    return "POST", "/jupyter-mm/api/runs/search", search_body

                ours[workers] = measure(
                    f"jupyter-mm x{workers} (PG)", host, prefix, auth, search, run_ids, args
                )
            except Exception:
                print(srv.tail(), file=sys.stderr)
                raise
            finally:
                srv.stop()
        if not args.no_mlflow:
            for workers in (1, 2):
                srv, host = start_mlflow(tmp, workers)
                try:
                    if workers == 1:
                        art = str(tmp / "art")
                        populate_mlflow_sql(tmp / "mlflow.db", "0", art, runs)
                    run_ids = [new_run(host, "/", {}) for _ in range(args.clients)]

                    def ml_search(k: int, i: int) -> tuple[str, str, dict[str, Any]]:
                        return "POST", "/api/2.0/mlflow/runs/search", ml_body

                    theirs[workers] = measure(
                        f"mlflow x{workers} (SQLite)", host, "/", {}, ml_search, run_ids, args
                    )
                except Exception:
                    print(srv.tail(), file=sys.stderr)
                    raise
                finally:
                    srv.stop()

    note = (
        f"{args.clients} client threads with keep-alive connections on the same "
        f"{os.cpu_count()}-CPU machine, {args.seconds:g} s each after one warm-up request per client; "
        "ours on PostgreSQL, MLflow on SQLite"
    )
    labels = {
        "search": f"REST search, filter + order, 100 per page, {args.runs:,} runs",
        "log_batch": f"MLflow log-batch of {POINTS_PER_BATCH} points",
    }
    for kind, label in labels.items():
        for workers in (1, 2):
            o, m = ours[workers][kind], theirs.get(workers, {}).get(kind)
            procs = f"{workers} process{'es' if workers > 1 else ''}"
            c.record(
                BENCH, f"(extra) {label}, {procs}, requests/s", "req/s", o["rps"],
                m["rps"] if m else None, higher_is_better=True, note=note,
            )  # fmt: skip
            c.record(
                BENCH, f"(extra) {label}, {procs}, p50", "ms", o["p50"],
                m["p50"] if m else None, higher_is_better=False,
            )  # fmt: skip
            c.record(
                BENCH, f"(extra) {label}, {procs}, p99", "ms", o["p99"],
                m["p99"] if m else None, higher_is_better=False,
            )  # fmt: skip
        o_gain = ours[2][kind]["rps"] / ours[1][kind]["rps"]
        m_gain = theirs[2][kind]["rps"] / theirs[1][kind]["rps"] if theirs else None
        c.record(
            BENCH, f"(extra) {label}: requests/s at 2 processes / at 1", "x", o_gain, m_gain,
            higher_is_better=True,
        )  # fmt: skip
    c.emit()


if __name__ == "__main__":
    main()
