"""Creating runs through the fluent APIs: each run gets 10 params and 5 metrics, then ends.

    jupyter-mm: with mm.start_run():     mm.log_params({...10});     mm.log_metrics({...5})
    MLflow:     with mlflow.start_run(): mlflow.log_params({...10}); mlflow.log_metrics({...5})

Both on a local SQLite store created (and warmed with a few runs) before the clock starts. MLflow
is measured on fewer runs by default; the figure is runs per second either way.

    python bench/create_runs.py [--runs 1000] [--mlflow-runs 100]
"""

from __future__ import annotations

import argparse
import random
import time

import _common as c

BENCH = "create_runs"


def run_payload(i: int, rng: random.Random) -> tuple[dict, dict]:
    params = {
        "model": rng.choice(["resnet18", "resnet50", "vit-b16", "mlp"]),
        "optimizer": rng.choice(["adam", "sgd", "adamw"]),
        "lr": round(10 ** rng.uniform(-5, -1), 6),
        "batch_size": rng.choice([16, 32, 64, 128]),
        "epochs": rng.randint(1, 100),
        "dropout": round(rng.uniform(0, 0.5), 3),
        "weight_decay": 1e-4,
        "momentum": 0.9,
        "layers": rng.randint(2, 12),
        "seed": i,
    }
    metrics = {
        "accuracy": rng.random(),
        "loss": rng.uniform(0.01, 3.0),
        "f1": rng.random(),
        "precision": rng.random(),
        "recall": rng.random(),
    }
    return params, metrics


def bench_ours(tmp, n: int) -> float:
    import jupyter_mm as mm
    from jupyter_mm.core.store import Store

    mm.set_tracking_uri(str(tmp / "mm"))
    exp_id = mm.set_experiment("bench")
    rng = random.Random(0)
    payloads = [run_payload(i, rng) for i in range(n + 3)]
    for p, m in payloads[:3]:  # warm-up
        with mm.start_run():
            mm.log_params(p)
            mm.log_metrics(m)
    t = time.perf_counter()
    for p, m in payloads[3:]:
        with mm.start_run():
            mm.log_params(p)
            mm.log_metrics(m)
    rate = n / (time.perf_counter() - t)
    mm.set_tracking_uri(None)
    st = Store.open(str(tmp / "mm"))  # everything is there
    runs, _ = st.search_runs([exp_id], max_results=n + 3)
    assert len(runs) == n + 3 and all(len(r.params) == 10 and len(r.metrics) == 5 for r in runs)
    assert all(r.status == "FINISHED" for r in runs)
    st.close()
    return rate


def bench_mlflow(tmp, n: int) -> float:
    import mlflow

    c.quiet_mlflow()
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    mlflow.create_experiment("bench", artifact_location=str(tmp / "mlartifacts"))
    mlflow.set_experiment("bench")
    rng = random.Random(0)
    payloads = [run_payload(i, rng) for i in range(n + 3)]
    for p, m in payloads[:3]:
        with mlflow.start_run():
            mlflow.log_params(p)
            mlflow.log_metrics(m)
    t = time.perf_counter()
    for p, m in payloads[3:]:
        with mlflow.start_run():
            mlflow.log_params(p)
            mlflow.log_metrics(m)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--mlflow-runs", type=int, default=100)
    ap.add_argument("--json")
    args = ap.parse_args()
    with c.tempdir("create-runs") as tmp:
        ours = bench_ours(tmp, args.runs)
        ml = bench_mlflow(tmp, args.mlflow_runs)
    c.record(
        BENCH,
        "create run + 10 params + 5 metrics (fluent)",
        "runs/s",
        ours,
        ml,
        higher_is_better=True,
        bar=">=15x",
        met=ours / ml >= 15,
        note=f"ours {args.runs:,} runs, MLflow {args.mlflow_runs:,} runs, after 3 warm-up runs "
        f"each; per run: ours {1000 / ours:.1f} ms, MLflow {1000 / ml:.1f} ms",
    )
    c.emit()


if __name__ == "__main__":
    main()
