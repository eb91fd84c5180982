"""Searching runs: filter + order, first page of 100, over 10,000 runs (both tools) and 100,000 (ours).

Query:  filter   "metrics.acc > 0.5 and params.model = 'rf'"   (about 10% of runs match)
        order_by ["metrics.loss ASC"], max_results=100
jupyter-mm: ``Store.search_runs`` (what the sidebar and ``mm.runs`` call), returning hydrated runs
(params, latest metrics, tags). MLflow: ``MlflowClient().search_runs`` on its SQLite store, returning
hydrated ``Run`` entities. Also the unfiltered "newest first" page a run list opens with, and
``mm.runs`` / ``mlflow.search_runs`` returning DataFrames. Warm figures are the median of
``--repeat`` calls after one warm-up call; "cold" is the first call on a freshly opened store.

Populating: both stores get the same 10,000 runs (5 params, 5 metrics with 1 point each, 2 tags),
written straight into each tool's own tables inside one transaction, because going through the
per-run client APIs would take minutes (MLflow about 25 runs/s here). The rows are the ones each
tool's own ``create_run`` + ``log_batch`` write; a run logged through each tool's API is compared
column by column with a bulk-written one, and both tools must return the same 100 runs in the same
order. ``--api-populate`` fills our 10k store through ``Store.create_run`` + ``Store.log_batch``
instead (slower), to show the populate path does not change our figures.

    python bench/search.py [--runs 10000] [--big-runs 100000] [--repeat 7] [--api-populate]
"""

from __future__ import annotations

import argparse
import random
import time
import uuid

import _common as c

BENCH = "search"
FILTER = "metrics.acc > 0.5 and params.model = 'rf'"
ORDER = ["metrics.loss ASC"]
NEWEST = ["attributes.start_time DESC"]
METRICS = ("acc", "loss", "f1", "precision", "recall")
BASE_TS = 1_700_000_000_000


def make_runs(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    runs = []
    for i in range(n):
        runs.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "name": f"run-{i:06d}",
                "start": BASE_TS + i * 1000,
                "params": {
                    "model": rng.choice(["rf", "gbm", "lr", "svm", "mlp"]),
                    "max_depth": str(rng.randint(2, 16)),
                    "n_estimators": str(rng.choice([50, 100, 200, 500])),
                    "learning_rate": str(round(10 ** rng.uniform(-4, 0), 6)),
                    "seed": str(i),
                },
                "metrics": {
                    "acc": rng.random(),
                    "loss": rng.uniform(0.0, 3.0),
                    "f1": rng.random(),
                    "precision": rng.random(),
                    "recall": rng.random(),
                },
            }
        )
    return runs


# ----------------------------------------------------------------------------- jupyter-mm


def populate_ours_sql(store, exp_id: str, runs: list[dict]) -> None:
    """Write the rows Store.create_run + Store.log_batch would write, in one transaction."""
    import numpy as np

    from jupyter_mm.core import database, metric_chunks
    from jupyter_mm.core import schema as s

    run_rows, tag_rows, param_rows, latest_rows, chunk_rows = [], [], [], [], []
    for r in runs:
        end = r["start"] + 500
        run_rows.append(
            {
                "run_uuid": r["id"],
                "name": r["name"],
                "experiment_id": int(exp_id),
                "user_id": "bench",
                "status": "FINISHED",
                "start_time": r["start"],
                "end_time": end,
                "heartbeat_time": end,
                "lifecycle_stage": "active",
                "deleted_time": None,
                "parent_run_id": None,
                "notes": "",
            }
        )
        tag_rows.append({"run_uuid": r["id"], "key": "mm.source.type", "value": "LOCAL"})
        tag_rows.append({"run_uuid": r["id"], "key": "team", "value": "bench"})
        param_rows.extend(
            {"run_uuid": r["id"], "key": k, "value": v} for k, v in r["params"].items()
        )
        for k, v in r["metrics"].items():
            ts = r["start"] + 400
            latest_rows.append(
                {"run_uuid": r["id"], "key": k, "value": v, "step": 0, "timestamp": ts}
            )
            chunk_rows.append(
                {
                    "run_uuid": r["id"],
                    "key": k,
                    "seq": 0,
                    "n": 1,
                    "step_min": 0,
                    "step_max": 0,
                    "ts_min": ts,
                    "ts_max": ts,
                    "data": metric_chunks.encode(np.array([0]), np.array([ts]), np.array([v])),
                }
            )
    with database.write_conn(store.engine) as conn:
        for table, rows in (
            (s.runs, run_rows),
            (s.tags, tag_rows),
            (s.params, param_rows),
            (s.latest_metrics, latest_rows),
            (s.metric_chunks, chunk_rows),
        ):
            cols = list(rows[0])
            missing = {c.name for c in table.c if not c.nullable} - set(cols)
            assert not missing, f"schema changed: {table.name} also needs {missing}"
            conn.execute(table.insert(), rows)  # any dialect (bench/scale_out.py: PostgreSQL)


def populate_ours_api(store, exp_id: str, runs: list[dict]) -> None:
    for r in runs:
        run = store.create_run(
            exp_id,
            name=r["name"],
            user="bench",
            start_time=r["start"],
            tags={"mm.source.type": "LOCAL", "team": "bench"},
            params=r["params"],
            run_id=r["id"],
        )
        store.log_batch(
            run.id, metrics=[(k, v, 0, r["start"] + 400) for k, v in r["metrics"].items()]
        )
        store.update_run(run.id, status="FINISHED", end_time=r["start"] + 500)


def ours_rows_match_api(store, exp_id: str) -> None:
    """A run written by the API has the same rows (modulo ids/times) as a bulk-written one."""
    from sqlalchemy import select

    from jupyter_mm.core import schema as s

    probe = make_runs(2, seed=99)
    populate_ours_api(store, exp_id, probe[:1])
    populate_ours_sql(store, exp_id, probe[1:])
    with store.engine.connect() as conn:
        shapes = []
        for r in probe:
            shape = {}
            for t in (s.runs, s.tags, s.params, s.latest_metrics, s.metric_chunks):
                rows = conn.execute(select(t).where(t.c.run_uuid == r["id"])).mappings().all()
                shape[t.name] = sorted(
                    tuple(sorted((k, type(v).__name__) for k, v in row.items())) for row in rows
                )
            shapes.append(shape)
    assert shapes[0] == shapes[1], f"bulk rows differ from API rows: {shapes}"
    for r in probe:
        store.delete_run(r["id"])


def bench_ours(tmp, runs: list[dict], repeat: int, api: bool, label: str) -> dict[str, float]:
    import jupyter_mm as mm
    from jupyter_mm.core.store import Store

    path = tmp / f"mm-{label}"
    st = Store.open(str(path))
    exp_id = st.create_experiment("bench")
    ours_rows_match_api(st, exp_id)
    t = time.perf_counter()
    (populate_ours_api if api else populate_ours_sql)(st, exp_id, runs)
    populate_s = time.perf_counter() - t
    st.close()

    out = {"populate_s": populate_s}
    st = Store.open(str(path))  # cold: fresh engine, empty page cache for this connection
    t = time.perf_counter()
    page, _ = st.search_runs([exp_id], filter=FILTER, order_by=ORDER, max_results=100)
    out["cold_ms"] = (time.perf_counter() - t) * 1000
    out["names"] = [r.name for r in page]
    out["filter_ms"] = (
        1000
        * c.median_time(
            lambda: st.search_runs([exp_id], filter=FILTER, order_by=ORDER, max_results=100), repeat
        )[0]
    )
    out["newest_ms"] = (
        1000
        * c.median_time(lambda: st.search_runs([exp_id], order_by=NEWEST, max_results=100), repeat)[
            0
        ]
    )
    mm.set_tracking_uri(str(path))
    out["df_ms"] = (
        1000
        * c.median_time(
            lambda: mm.runs(filter=FILTER, order_by=ORDER, experiment="bench", max_results=100),
            repeat,
        )[0]
    )
    mm.set_tracking_uri(None)
    st.close()
    return out


# ----------------------------------------------------------------------------- MLflow


def populate_mlflow_sql(db, exp_id: str, art: str, runs: list[dict]) -> None:
    """The rows MlflowClient.create_run + log_batch + set_terminated write, in one transaction."""
    import sqlite3

    con = sqlite3.connect(db)
    with con:
        con.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
            " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
            " experiment_id, deleted_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r["id"],
                    r["name"],
                    "UNKNOWN",
                    "",
                    "",
                    "bench",
                    "FINISHED",
                    r["start"],
                    r["start"] + 500,
                    "",
                    "active",
                    f"{art}/{r['id']}/artifacts",
                    int(exp_id),
                    None,
                )
                for r in runs
            ],
        )
        con.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)",
            [
                t
                for r in runs
                for t in (
                    ("mlflow.runName", r["name"], r["id"]),
                    ("mlflow.user", "bench", r["id"]),
                    ("team", "bench", r["id"]),
                )
            ],
        )
        con.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)",
            [(k, v, r["id"]) for r in runs for k, v in r["params"].items()],
        )
        con.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
            [
                (k, v, r["start"] + 400, r["id"], 0, 0)
                for r in runs
                for k, v in r["metrics"].items()
            ],
        )
        con.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
            " VALUES (?,?,?,?,?,?)",
            [
                (k, v, r["start"] + 400, 0, 0, r["id"])
                for r in runs
                for k, v in r["metrics"].items()
            ],
        )
    con.close()


def mlflow_rows_match_api(client, db, exp_id: str, art: str) -> None:
    import sqlite3

    from mlflow.entities import Metric, Param, RunTag

    probe = make_runs(2, seed=98)
    r = probe[0]
    run = client.create_run(
        exp_id,
        start_time=r["start"],
        run_name=r["name"],
        tags={"mlflow.user": "bench", "team": "bench"},
    )
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, v, r["start"] + 400, 0) for k, v in r["metrics"].items()],
        params=[Param(k, v) for k, v in r["params"].items()],
        tags=[RunTag("x", "y")],
    )
    client.delete_tag(run.info.run_id, "x")
    client.set_terminated(run.info.run_id, end_time=r["start"] + 500)
    r["id"] = run.info.run_id
    populate_mlflow_sql(db, exp_id, art, probe[1:])
    con = sqlite3.connect(db)
    shapes = []
    for p in probe:
        shape = {}
        for t in ("runs", "tags", "params", "metrics", "latest_metrics"):
            cur = con.execute(f"SELECT * FROM {t} WHERE run_uuid = ?", (p["id"],))
            cols = [d[0] for d in cur.description]
            shape[t] = sorted(
                tuple((k, type(v).__name__) for k, v in zip(cols, row, strict=True)) for row in cur
            )
        shapes.append(shape)
    rows = con.execute(
        "SELECT * FROM runs WHERE run_uuid IN (?, ?)", (probe[0]["id"], probe[1]["id"])
    ).fetchall()
    con.close()
    assert shapes[0] == shapes[1], f"bulk rows differ from MLflow's own: {shapes}\n{rows}"
    for p in probe:
        client.delete_run(p["id"])


def bench_mlflow(tmp, runs: list[dict], repeat: int) -> dict[str, float]:
    import mlflow
    from mlflow import MlflowClient

    c.quiet_mlflow()
    db = tmp / "mlflow.db"
    art = str(tmp / "mlartifacts")
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    exp_id = client.create_experiment("bench", artifact_location=art)
    mlflow_rows_match_api(client, db, exp_id, art)
    t = time.perf_counter()
    populate_mlflow_sql(db, exp_id, art, runs)
    out = {"populate_s": time.perf_counter() - t}

    client = MlflowClient()
    t = time.perf_counter()
    page = client.search_runs([exp_id], filter_string=FILTER, order_by=ORDER, max_results=100)
    out["cold_ms"] = (time.perf_counter() - t) * 1000
    out["names"] = [r.info.run_name for r in page]
    out["filter_ms"] = (
        1000
        * c.median_time(
            lambda: client.search_runs(
                [exp_id], filter_string=FILTER, order_by=ORDER, max_results=100
            ),
            repeat,
        )[0]
    )
    out["newest_ms"] = (
        1000
        * c.median_time(
            lambda: client.search_runs([exp_id], order_by=NEWEST, max_results=100), repeat
        )[0]
    )
    out["df_ms"] = (
        1000
        * c.median_time(
            lambda: mlflow.search_runs(
                [exp_id], filter_string=FILTER, order_by=ORDER, max_results=100
            ),
            repeat,
        )[0]
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--big-runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument(
        "--api-populate",
        action="store_true",
        help="fill our 10k store through Store.create_run/log_batch (slow)",
    )
    ap.add_argument("--json")
    args = ap.parse_args()

    runs = make_runs(args.runs)
    expected = sorted(
        (r for r in runs if r["metrics"]["acc"] > 0.5 and r["params"]["model"] == "rf"),
        key=lambda r: r["metrics"]["loss"],
    )
    expected_names = [r["name"] for r in expected[:100]]
    with c.tempdir("search") as tmp:
        ours = bench_ours(tmp, runs, args.repeat, args.api_populate, "10k")
        ml = bench_mlflow(tmp, runs, args.repeat)
        assert ours["names"] == expected_names, "jupyter-mm returned the wrong page"
        assert ml["names"] == expected_names, "MLflow returned a different page"
        del runs
        big = bench_ours(tmp, make_runs(args.big_runs, seed=1), args.repeat, False, "100k")

    k = f"{args.runs // 1000}k"
    how = "Store API" if args.api_populate else "bulk SQL"
    common = (
        f"{len(expected):,} of {args.runs:,} runs match; median of {args.repeat} warm calls; "
        f"both return the same 100 runs"
    )
    c.record(
        BENCH,
        f"filter+order, first page of 100, {k} runs",
        "ms",
        ours["filter_ms"],
        ml["filter_ms"],
        higher_is_better=False,
        bar="<50 ms (ours)",
        met=ours["filter_ms"] < 50,
        note=f"{common}; populate: ours {how} {ours['populate_s']:.1f} s, MLflow bulk SQL "
        f"{ml['populate_s']:.1f} s",
    )
    c.record(
        BENCH,
        f"filter+order, first call on a freshly opened store, {k}",
        "ms",
        ours["cold_ms"],
        ml["cold_ms"],
        higher_is_better=False,
        bar="<50 ms (ours)",
        met=ours["cold_ms"] < 50,
        note="new Store / new MlflowClient, first query",
    )
    c.record(
        BENCH,
        f"newest-first page of 100 (no filter), {k}",
        "ms",
        ours["newest_ms"],
        ml["newest_ms"],
        higher_is_better=False,
        note="order_by attributes.start_time DESC",
    )
    c.record(
        BENCH,
        f"DataFrame: mm.runs vs mlflow.search_runs, 100 rows, {k}",
        "ms",
        ours["df_ms"],
        ml["df_ms"],
        higher_is_better=False,
        note="same filter and order",
    )
    kb = f"{args.big_runs // 1000}k"
    c.record(
        BENCH,
        f"filter+order, first page of 100, {kb} runs",
        "ms",
        big["filter_ms"],
        None,
        higher_is_better=False,
        bar="interactive: <200 ms",
        met=big["filter_ms"] < 200,
        note=f"ours only (bulk populate {big['populate_s']:.1f} s); cold first call "
        f"{big['cold_ms']:.0f} ms; newest-first page {big['newest_ms']:.1f} ms; "
        f"mm.runs DataFrame {big['df_ms']:.1f} ms",
    )
    c.emit()


if __name__ == "__main__":
    main()
