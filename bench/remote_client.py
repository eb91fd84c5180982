"""Logging metrics to a remote tracking server from a training loop: ``mm.log_metric`` with
``MM_TRACKING_URI`` set to a Jupyter server running jupyter-mm, vs ``mlflow.log_metric`` with
``MLFLOW_TRACKING_URI`` set to ``mlflow server`` (both on SQLite, both servers started as in
bench/mlflow_server.py, over loopback HTTP).

Ours: ``--points`` calls in a loop, then ``end_run`` (which returns once every point is on the
server); the rate counts the whole time, and every point is checked in the server's store.
MLflow: one HTTP request per call (its synchronous default); calls until ``--budget`` seconds or
``--mlflow-points``, every point read back with ``get_metric_history``.

    python bench/remote_client.py [--points 200000] [--mlflow-points 2000] [--budget 15]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time

import _common as c
from mlflow_server import both_servers

BENCH = "remote_client"


def ours_rate(root_url: str, token: str, store_dir: str, spool: str, n: int) -> dict:
    os.environ.update(MM_TRACKING_TOKEN=token, MM_SPOOL_DIR=spool)
    import jupyter_mm as mm
    from jupyter_mm.core.store import Store

    mm.set_tracking_uri(root_url)
    values = c.noisy_loss(n)
    run = mm.start_run(name="bench-remote")
    t0 = time.perf_counter()
    for v in values:
        mm.log_metric("loss", v)
    loop_s = time.perf_counter() - t0
    mm.end_run()
    total_s = time.perf_counter() - t0
    mm.set_tracking_uri(None)
    with Store.open(store_dir) as st:
        got = st.get_metric_history(run.id, "loss")["value"]
    assert len(got) == n and got.tolist() == values, "points missing or changed on the server"
    return {"points_s": n / total_s, "call_us": loop_s / n * 1e6, "total_s": total_s}


def mlflow_rate(uri: str, n_max: int, budget_s: float) -> dict:
    import mlflow

    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    mlflow.set_tracking_uri(uri)
    values = c.noisy_loss(n_max)
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", values[0], step=0)  # warm-up (connection, experiment)
        t0 = time.perf_counter()
        n = 1
        while n < n_max and time.perf_counter() - t0 < budget_s:
            mlflow.log_metric("loss", values[n], step=n)
            n += 1
        elapsed = time.perf_counter() - t0
    got = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert len(got) == n, "mlflow lost points"
    return {"points_s": (n - 1) / elapsed, "n": n - 1, "elapsed": elapsed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--mlflow-points", type=int, default=2_000)
    ap.add_argument("--budget", type=float, default=15.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    c.quiet_mlflow()
    token = secrets.token_hex(16)
    with c.tempdir("remote-mm") as tmp_mm, c.tempdir("remote-mlflow") as tmp_ml:
        with both_servers(tmp_mm, tmp_ml, token) as pair:
            try:
                ours = ours_rate(
                    pair.ours_root, token, str(tmp_mm / "store"), str(tmp_mm / "spool"), args.points
                )
            except Exception:
                print(f"--- jupyter server log (tail):\n{pair.ours.tail()}", file=sys.stderr)
                raise
            ml = mlflow_rate(pair.mlflow_uri, args.mlflow_points, args.budget)
    c.record(
        BENCH,
        "(extra) remote log_metric from a loop: mm → our server vs mlflow → mlflow server",
        "points/s",
        ours["points_s"],
        ml["points_s"],
        higher_is_better=True,
        note=f"ours: {args.points:,} mm.log_metric calls ({ours['call_us']:.2f} µs a call in the "
        f"loop) then end_run, {ours['total_s']:.2f} s until all were on the server (batched, one "
        f"request per flush); MLflow: {ml['n']:,} synchronous mlflow.log_metric calls in "
        f"{ml['elapsed']:.1f} s (one request each); loopback HTTP, SQLite stores",
    )
    c.emit()


if __name__ == "__main__":
    main()
