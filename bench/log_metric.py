"""Logging metrics from a training loop: per-call ``log_metric`` throughput and bytes on disk per point.

jupyter-mm: ``mm.log_metric("loss", v, step=i)`` for 100,000 steps in one run; the time runs from
just after ``start_run`` to the return of ``end_run`` (which flushes what is still buffered), so every
point is on disk when the clock stops. Median of 3 runs.

MLflow (same machine, same run of this script, local SQLite store):
- per call: ``mlflow.log_metric("loss", v, step=i)`` (synchronous, the default), on fewer calls;
- batched: ``MlflowClient().log_batch`` with 1,000 metrics per call (MLflow's per-request maximum);
- (extra, no bar) per call with ``synchronous=False`` (MLflow's opt-in async logging), incl. the flush.
Rates are per-operation, so measuring MLflow on fewer calls extrapolates linearly (stated in the notes).

Bytes per point: growth of the database file over the measured points, after
``PRAGMA wal_checkpoint(TRUNCATE)``, for a decaying loss with Gaussian noise (incompressible low bits).

    python bench/log_metric.py [--steps 100000] [--mlflow-calls 500] [--mlflow-batch-points 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common as c

BENCH = "log_metric"


def bench_ours(tmp, steps: int, reps: int) -> tuple[float, float, float, list[float]]:
    import jupyter_mm as mm
    from jupyter_mm.core.store import Store

    store_dir = tmp / "mm"
    mm.set_tracking_uri(str(store_dir))
    mm.set_experiment("bench")
    with mm.start_run(name="warmup"):
        for i in range(2000):
            mm.log_metric("loss", 1.0 / (i + 1), step=i)
    values = c.noisy_loss(steps)
    db = store_dir / "mm.db"
    rates, loop_rates, bpp = [], [], []
    for rep in range(reps):
        before = c.db_bytes(db)
        run = mm.start_run(name=f"bench-{rep}")
        log_metric = mm.log_metric
        t0 = time.perf_counter()
        for i, v in enumerate(values):
            log_metric("loss", v, step=i)
        t1 = time.perf_counter()
        mm.end_run()
        t2 = time.perf_counter()
        rates.append(steps / (t2 - t0))
        loop_rates.append(steps / (t1 - t0))
        bpp.append((c.db_bytes(db) - before) / steps)
        # every point arrived, in order
        h = Store.open(str(store_dir)).get_metric_history(run.id, "loss")
        assert len(h["value"]) == steps and h["value"][-1] == values[-1], "points lost"
    mm.set_tracking_uri(None)
    return statistics.median(rates), statistics.median(loop_rates), statistics.median(bpp), rates


def bench_ours_store_batch(tmp, points: int, batch: int) -> float:
    """Lower level, for comparison with MLflow's log_batch: Store.log_batch, 1,000 points a call."""
    from jupyter_mm.core.store import Store

    st = Store.open(str(tmp / "mm-batch"))
    exp = st.create_experiment("bench")
    run = st.create_run(exp)
    values = c.noisy_loss(points, seed=1)
    ts = int(time.time() * 1000)
    batches = [
        [("loss", values[j], j, ts) for j in range(i, min(i + batch, points))]
        for i in range(0, points, batch)
    ]
    st.log_batch(st.create_run(exp).id, metrics=batches[0])  # warm-up
    t = time.perf_counter()
    for b in batches:
        st.log_batch(run.id, metrics=b)
    rate = points / (time.perf_counter() - t)
    st.close()
    return rate


def bench_mlflow(tmp, calls: int, batch_points: int, async_calls: int) -> dict[str, float]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    c.quiet_mlflow()
    db = tmp / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    mlflow.create_experiment("bench", artifact_location=str(tmp / "mlartifacts"))
    mlflow.set_experiment("bench")
    out: dict[str, float] = {}

    values = c.noisy_loss(max(calls, async_calls, batch_points), seed=2)
    with mlflow.start_run(run_name="warmup"):
        for i in range(20):
            mlflow.log_metric("loss", values[i], step=i)

    # per call, synchronous (the default)
    with mlflow.start_run(run_name="per-call"):
        t = time.perf_counter()
        for i in range(calls):
            mlflow.log_metric("loss", values[i], step=i)
        out["per_call"] = calls / (time.perf_counter() - t)

    # per call, async (opt-in), including the flush of everything queued
    with mlflow.start_run(run_name="per-call-async"):
        t = time.perf_counter()
        for i in range(async_calls):
            mlflow.log_metric("loss", values[i], step=i, synchronous=False)
        mlflow.flush_async_logging()
        out["per_call_async"] = async_calls / (time.perf_counter() - t)

    # log_batch, 1,000 points a call; bytes on disk over exactly these points
    client = MlflowClient()
    exp = client.get_experiment_by_name("bench").experiment_id
    run = client.create_run(exp, run_name="batch")
    ts = int(time.time() * 1000)
    batches = [
        [Metric("loss", values[j], ts, j) for j in range(i, min(i + 1000, batch_points))]
        for i in range(0, batch_points, 1000)
    ]
    before = c.db_bytes(db)
    t = time.perf_counter()
    for b in batches:
        client.log_batch(run.info.run_id, metrics=b)
    out["batch"] = batch_points / (time.perf_counter() - t)
    out["bpp"] = (c.db_bytes(db) - before) / batch_points
    client.set_terminated(run.info.run_id)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--mlflow-calls", type=int, default=500)
    ap.add_argument("--mlflow-async-calls", type=int, default=2000)
    ap.add_argument("--mlflow-batch-points", type=int, default=20_000)
    ap.add_argument("--json")
    args = ap.parse_args()

    with c.tempdir("log-metric") as tmp:
        ours, ours_loop, ours_bpp, ours_all = bench_ours(tmp, args.steps, args.reps)
        ours_batch = bench_ours_store_batch(tmp, args.mlflow_batch_points, 1000)
        ml = bench_mlflow(tmp, args.mlflow_calls, args.mlflow_batch_points, args.mlflow_async_calls)

    ours_note = (
        f"{args.steps:,} calls in one run, clock stopped after end_run's final flush; "
        f"median of {args.reps} ({', '.join(f'{r:,.0f}' for r in ours_all)} calls/s)"
    )
    c.record(
        BENCH,
        "per-call log_metric vs MLflow per-call",
        "calls/s",
        ours,
        ml["per_call"],
        higher_is_better=True,
        bar=">=1000x",
        met=ours / ml["per_call"] >= 1000,
        note=ours_note + f"; MLflow: {args.mlflow_calls:,} synchronous mlflow.log_metric calls",
    )
    c.record(
        BENCH,
        "per-call log_metric vs MLflow log_batch(1000)",
        "points/s",
        ours,
        ml["batch"],
        higher_is_better=True,
        bar=">=50x",
        met=ours / ml["batch"] >= 50,
        note=f"MLflow: MlflowClient.log_batch, {args.mlflow_batch_points // 1000} calls x 1,000 "
        "metrics (Metric objects built before the clock starts)",
    )
    c.record(
        BENCH,
        "bytes on disk per metric point",
        "bytes",
        ours_bpp,
        ml["bpp"],
        higher_is_better=False,
        bar="<=40 B (ours)",
        met=ours_bpp <= 40,
        note=f"db growth after wal_checkpoint(TRUNCATE) / points; ours over {args.steps:,} "
        f"points of one run, MLflow over its {args.mlflow_batch_points:,} log_batch points; "
        "values = 2.5*exp(-5i/n)+0.1+N(0,0.02)",
    )
    c.record(
        BENCH,
        "(extra) per-call log_metric, loop only (no final flush)",
        "calls/s",
        ours_loop,
        None,
        higher_is_better=True,
        note="what the training loop itself pays per call",
    )
    c.record(
        BENCH,
        "(extra) per-call log_metric vs MLflow per-call async (synchronous=False)",
        "calls/s",
        ours,
        ml["per_call_async"],
        higher_is_better=True,
        note=f"MLflow opt-in async logging: {args.mlflow_async_calls:,} calls + "
        "mlflow.flush_async_logging()",
    )
    c.record(
        BENCH,
        "(extra) Store.log_batch(1000) vs MLflow log_batch(1000)",
        "points/s",
        ours_batch,
        ml["batch"],
        higher_is_better=True,
        note=f"both {args.mlflow_batch_points:,} points in 1,000-point calls into one run",
    )
    c.emit()


if __name__ == "__main__":
    main()
