"""Reading a long metric history for a chart: 1,000,000 points down-sampled to 2,000.

jupyter-mm: ``Store.get_metric_history(run, "loss", max_points=2000)`` on a 1,000,000-point history
(min/max per bucket, so spikes survive); also ``mm.metric_history`` (DataFrame) and the full read.

MLflow, same machine, local SQLite store:
- ``MlflowClient().get_metric_history`` (public API; returns every point, no down-sampling) on a
  100,000-point history logged with ``log_batch``; the 1,000,000-point figure is extrapolated
  linearly from it (it materialises one ``Metric`` object per row) and marked as such;
- ``get_metric_history_bulk_interval(max_results=2000)`` of MLflow's SQLAlchemy store (what the
  MLflow UI's charts call through the server; SQL window functions keep the first row of 2,000
  buckets) measured for real at 1,000,000 points: after the 100,000 logged through the client, the
  other 900,000 rows are inserted straight into its ``metrics`` table (the rows ``log_batch`` writes).

    python bench/metric_history.py [--points 1000000] [--mlflow-points 100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import sqlite3
import time

import _common as c

BENCH = "metric_history"
BASE_TS = 1_700_000_000_000


def series(n: int) -> tuple[list[float], list[int], list[int]]:
    values = c.noisy_loss(n, seed=3)
    steps = list(range(n))
    stamps = [BASE_TS + i * 7 for i in range(n)]  # one step every ~7 ms
    return values, steps, stamps


def bench_ours(tmp, n: int, max_points: int, repeat: int) -> dict[str, float]:
    import jupyter_mm as mm
    from jupyter_mm.core.store import Store

    path = str(tmp / "mm")
    st = Store.open(path)
    exp = st.create_experiment("bench")
    run = st.create_run(exp)
    values, steps, stamps = series(n)
    t = time.perf_counter()
    batch = 100_000
    for i in range(0, n, batch):
        st.log_batch(
            run.id,
            metrics=[("loss", values[j], steps[j], stamps[j]) for j in range(i, min(i + batch, n))],
        )
    populate = time.perf_counter() - t
    st.close()

    out = {"populate_s": populate}
    st = Store.open(path)
    t = time.perf_counter()
    h = st.get_metric_history(run.id, "loss", max_points=max_points)
    out["cold_ms"] = (time.perf_counter() - t) * 1000
    assert 2 < len(h["value"]) <= max_points and h["step"][0] == 0 and h["step"][-1] == n - 1
    assert h["value"].max() == max(values) and h["value"].min() == min(values)  # extremes kept
    out["points"] = len(h["value"])
    out["warm_ms"] = (
        1000
        * c.median_time(
            lambda: st.get_metric_history(run.id, "loss", max_points=max_points), repeat
        )[0]
    )
    out["full_ms"] = 1000 * c.median_time(lambda: st.get_metric_history(run.id, "loss"), 3)[0]
    mm.set_tracking_uri(path)
    out["df_ms"] = (
        1000
        * c.median_time(lambda: mm.metric_history(run.id, "loss", max_points=max_points), repeat)[0]
    )
    mm.set_tracking_uri(None)
    st.close()
    return out


def bench_mlflow(
    tmp, n_client: int, n_total: int, max_points: int, repeat: int
) -> dict[str, float]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    c.quiet_mlflow()
    db = tmp / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    exp = client.create_experiment("bench", artifact_location=str(tmp / "mlartifacts"))
    run_id = client.create_run(exp).info.run_id
    values, steps, stamps = series(n_total)
    out: dict[str, float] = {}
    t = time.perf_counter()
    for i in range(0, n_client, 1000):
        client.log_batch(
            run_id,
            metrics=[
                Metric("loss", values[j], stamps[j], steps[j])
                for j in range(i, min(i + 1000, n_client))
            ],
        )
    out["populate_client_s"] = time.perf_counter() - t

    hist = client.get_metric_history(run_id, "loss")
    assert len(hist) == n_client
    reps = 3
    out["full_client_ms"] = (
        1000 * c.median_time(lambda: client.get_metric_history(run_id, "loss"), reps, warmup=0)[0]
    )
    out["full_reps"] = reps
    store = client._tracking_client.store

    def sampled():
        return store.get_metric_history_bulk_interval(
            run_ids=[run_id],
            metric_key="loss",
            max_results=max_points,
            start_step=None,
            end_step=None,
        )

    out["sampled_client_n_ms"] = 1000 * c.median_time(sampled, reps)[0]

    # top up to n_total with the rows log_batch writes, then measure the sampled read for real
    t = time.perf_counter()
    con = sqlite3.connect(db)
    with con:
        con.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
            (("loss", values[j], stamps[j], run_id, steps[j], 0) for j in range(n_client, n_total)),
        )
        con.execute(
            "UPDATE latest_metrics SET value = ?, timestamp = ?, step = ? WHERE run_uuid = ?"
            " AND key = 'loss'",
            (values[-1], stamps[-1], steps[-1], run_id),
        )
    con.close()
    out["populate_sql_s"] = time.perf_counter() - t
    got = sampled()
    assert len(got) <= max_points and got[-1].step == n_total - 1
    out["sampled_total_ms"] = 1000 * c.median_time(sampled, reps)[0]
    out["sampled_points"] = len(got)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--mlflow-points", type=int, default=100_000)
    ap.add_argument("--max-points", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json")
    args = ap.parse_args()
    n, m = args.points, args.mlflow_points
    with c.tempdir("metric-history") as tmp:
        ours = bench_ours(tmp, n, args.max_points, args.repeat)
        ml = bench_mlflow(tmp, m, n, args.max_points, args.repeat)

    scale = n / m
    full_extrap = ml["full_client_ms"] * scale
    nk, mk = f"{n / 1e6:g}M" if n >= 1e6 else f"{n // 1000}k", f"{m // 1000}k"
    c.record(
        BENCH,
        f"{nk}-point history -> {args.max_points:,} points (chart read)",
        "ms",
        ours["warm_ms"],
        full_extrap,
        higher_is_better=False,
        bar="<100 ms (ours)",
        met=ours["warm_ms"] < 100,
        note=f"ours: Store.get_metric_history(max_points={args.max_points}), median of "
        f"{args.repeat} warm calls, {ours['points']:,} points returned (bucket min/max); "
        f"MLflow: MlflowClient.get_metric_history (all points, no down-sampling) measured "
        f"on {mk} points = {ml['full_client_ms']:.0f} ms (median of {ml['full_reps']}), "
        f"x{scale:g} extrapolated",
    )
    c.record(
        BENCH,
        f"{nk}-point history -> {args.max_points:,}, first call on a fresh store",
        "ms",
        ours["cold_ms"],
        None,
        higher_is_better=False,
        bar="<100 ms (ours)",
        met=ours["cold_ms"] < 100,
        note="new Store object, first query",
    )
    c.record(
        BENCH,
        f"(extra) {nk} -> {args.max_points:,} chart read vs MLflow's sampled query",
        "ms",
        ours["warm_ms"],
        ml["sampled_total_ms"],
        higher_is_better=False,
        note=f"MLflow SqlAlchemyStore.get_metric_history_bulk_interval(max_results="
        f"{args.max_points}) (UI chart path; first row per bucket), measured at {nk} "
        f"({mk} via log_batch + {(n - m) // 1000}k inserted by SQL); at {mk}: "
        f"{ml['sampled_client_n_ms']:.0f} ms",
    )
    c.record(
        BENCH,
        f"(extra) mm.metric_history DataFrame, {nk} -> {args.max_points:,}",
        "ms",
        ours["df_ms"],
        None,
        higher_is_better=False,
        note="public pandas API",
    )
    c.record(
        BENCH,
        f"(extra) full {nk}-point read, no down-sampling",
        "ms",
        ours["full_ms"],
        full_extrap,
        higher_is_better=False,
        note=f"MLflow extrapolated from {mk} as above; ours populated with 100k-point "
        f"Store.log_batch calls in {ours['populate_s']:.1f} s, MLflow's {mk} log_batch "
        f"points took {ml['populate_client_s']:.1f} s",
    )
    c.emit()


if __name__ == "__main__":
    main()
