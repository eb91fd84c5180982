"""What the prediction log costs serving: ``PredictionLog.record`` per call and row, the rows per
second its writer thread puts on disk, and the throughput a scoring loop keeps at rate 1.0.

- ``record()`` per call: single-row requests (a 1-row, 20-column DataFrame, as the server builds
  for a JSON body) and 100-row requests; the clock covers only the calls (the writer runs
  meanwhile, as in a server).
- Rows/s written: from the first ``record()`` to the return of ``flush()`` (every row on disk,
  as zstd Parquet in a local directory), for single-row requests and 100-row requests.
- Serving throughput: a loop that does what a server does per single-row request (a DataFrame
  from the JSON record, with the signature's columns as one shared ``Index``, ``predict_proba`` of a scikit-learn LogisticRegression on ~20 columns),
  with the log at rate 1.0 vs without it; the bar is a cost under 10% (issue 11). The writer
  thread competes for the GIL and the CPU, so this is the figure that matters. Median of 3 runs.

MLflow has no counterpart: its scoring server logs no predictions (MLflow OSS has no prediction
log for classic models; tracing is GenAI-only), so there is no MLflow column here.

    python bench/prediction_log.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common as c

BENCH = "prediction_log"
N_FEATURES = 20


def request_bodies(n: int) -> list[dict[str, float]]:
    import numpy as np

    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, N_FEATURES))
    return [{f"f{j}": float(values[i, j]) for j in range(N_FEATURES)} for i in range(n)]


def model():  # type: ignore[no-untyped-def]
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, N_FEATURES))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    import pandas as pd

    return LogisticRegression().fit(
        pd.DataFrame(x, columns=[f"f{j}" for j in range(N_FEATURES)]), y
    )


def open_log(tmp, name: str):  # type: ignore[no-untyped-def]
    from jupyter_mm.serving.prediction_log import PredictionLog

    return PredictionLog(str(tmp / name), 1.0)


def bench_record(tmp, frames, outputs, label: str) -> tuple[float, float]:
    """(µs per record() call, rows/s written from the first call to the end of flush())."""
    plog = open_log(tmp, label)
    rows = sum(len(f) for f in frames)
    record = plog.record
    t0 = time.perf_counter()
    for i, (frame, out) in enumerate(zip(frames, outputs, strict=True)):
        record(
            request_id=f"req-{i}",
            model_name="credit",
            model_version="1",
            model_digest="sha256:bench",
            alias="champion",
            inputs=frame,
            outputs=out,
            latency_ms=0.5,
            ts=time.time(),
        )
    t1 = time.perf_counter()
    assert plog.flush(600), "flush did not finish"
    t2 = time.perf_counter()
    plog.close()
    assert plog.written_rows == rows, "rows lost"
    return (t1 - t0) / len(frames) * 1e6, rows / (t2 - t0)


def serve_loop(clf, bodies, plog) -> float:  # type: ignore[no-untyped-def]
    """Requests/s of a single-row scoring loop (with ``plog`` recording each, if given)."""
    import pandas as pd

    columns = pd.Index(list(bodies[0]))  # the signature's columns, one Index for every request
    t0 = time.perf_counter()
    for i, body in enumerate(bodies):
        s = time.perf_counter()
        frame = pd.DataFrame([body], columns=columns)
        out = clf.predict_proba(frame)[:, 1]
        if plog is not None:
            plog.record(
                request_id=f"req-{i}",
                model_name="credit",
                model_version="1",
                model_digest="sha256:bench",
                alias="champion",
                inputs=frame,
                outputs=out,
                latency_ms=(time.perf_counter() - s) * 1000.0,
                ts=time.time(),
            )
    if plog is not None:
        assert plog.flush(600)
    return len(bodies) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    import numpy as np
    import pandas as pd

    n = args.requests
    bodies = request_bodies(n)
    columns = pd.Index(list(bodies[0]))
    singles = [pd.DataFrame([b], columns=columns) for b in bodies]
    single_out = [np.array([0.5]) for _ in singles]
    big = pd.DataFrame(bodies[:100])
    batches = [big] * max(1, n // 100)
    batch_out = [np.full(100, 0.5)] * len(batches)
    with c.tempdir("plog") as tmp:
        us_single, rate_single = bench_record(tmp, singles, single_out, "single")
        us_batch, rate_batch = bench_record(tmp, batches, batch_out, "batch")
        clf = model()
        serve_loop(clf, bodies[:500], None)  # warm-up
        plain, logged = [], []
        for rep in range(3):
            plain.append(serve_loop(clf, bodies, None))
            plog = open_log(tmp, f"serve-{rep}")
            logged.append(serve_loop(clf, bodies, plog))
            plog.close()
    cost = 1.0 - statistics.median(logged) / statistics.median(plain)
    c.record(
        BENCH, "record() per single-row request", "us/call", us_single, None, higher_is_better=False
    )
    c.record(
        BENCH,
        "record() per 100-row request, per row",
        "us/row",
        us_batch / 100,
        None,
        higher_is_better=False,
    )
    c.record(
        BENCH,
        "rows written (single-row requests)",
        "rows/s",
        rate_single,
        None,
        higher_is_better=True,
    )
    c.record(
        BENCH, "rows written (100-row requests)", "rows/s", rate_batch, None, higher_is_better=True
    )
    c.record(
        BENCH,
        "single-row scoring loop, no log",
        "req/s",
        statistics.median(plain),
        None,
        higher_is_better=True,
    )
    c.record(
        BENCH,
        "single-row scoring loop, log at rate 1.0",
        "req/s",
        statistics.median(logged),
        None,
        higher_is_better=True,
    )
    c.record(
        BENCH,
        "throughput cost of logging at rate 1.0",
        "%",
        cost * 100.0,
        None,
        higher_is_better=False,
        bar="< 10%",
        met=cost < 0.10,
        note="MLflow has no prediction log to compare with",
    )
    c.emit()


if __name__ == "__main__":
    main()
