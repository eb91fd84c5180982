"""Drift over a large window of the Parquet prediction log, in bounded memory (issue 12: 100,000,000
logged rows over 30 days, bar: peak RSS under 2 GB, with the time it takes).

- Data: ``--rows`` rows (default 10,000,000: what this machine's time and disk allow in a bench
  run; ``--rows 100000000`` runs the issue's size) of 20 numeric features and a score, spread
  over 30 days, written by the model server's own writer (``PredictionLog``, 250,000-row
  batches) into ``model=credit/version=1/date=.../part-*.parquet``.
- Measured in a fresh child process that only reads: ``read_window`` (what ``mm.drift`` reads
  with: the model's partitions of the window, only the profile's columns and the score, streamed
  in 262,144-row batches, a uniform sample of 2,000,000 rows kept above that) and the bank
  preset against a frozen profile. Reported: wall time of read + compare, and the child's peak
  RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, interpreter and imports included).
- No comparison column: MLflow has no prediction log; reading the whole window into pandas
  (``pd.read_parquet`` of the 30 days) is what a tool without streaming does, and needs
  rows x 21 x 8 bytes before any statistic (1.7 GB at 10M rows, 17 GB at 100M).

    python bench/monitoring_log.py [--rows 10000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _common as c

BENCH = "monitoring_log"
FEATURES = 20
DAYS = 30
CHUNK = 250_000
END = 1_780_000_000.0  # a fixed instant (2026-05-28 UTC): the window is the 30 days before it


def _profile_path(root: Path) -> Path:
    return root / "profile.json"


def write_log(root: Path, rows: int) -> float:
    import numpy as np
    import pandas as pd

    from jupyter_mm.monitoring import build_profile
    from jupyter_mm.serving.prediction_log import PredictionLog

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(FEATURES)]
    ref = pd.DataFrame(rng.normal(0, 1, (200_000, FEATURES)), columns=names)
    scores = 1 / (1 + np.exp(-ref["f0"].to_numpy()))
    _profile_path(root).write_text(build_profile(ref, scores).to_json())
    t = time.perf_counter()
    plog = PredictionLog(str(root / "predictions"), rate=1.0, flush_rows=CHUNK * 2,
                         flush_seconds=3600.0, max_buffered_rows=CHUNK * 4)  # fmt: skip
    columns = pd.Index(names)
    done, k = 0, 0
    while done < rows:
        n = min(CHUNK, rows - done)
        X = pd.DataFrame(rng.normal(0.05, 1, (n, FEATURES)), columns=columns)
        s = 1 / (1 + np.exp(-X["f0"].to_numpy()))
        ts = END - DAYS * 86400 + (done / rows) * DAYS * 86400 + 1
        while not plog.record(request_id=f"b{k}", model_name="credit", model_version="1",
                              model_digest="", alias=None, inputs=X, outputs=s,
                              latency_ms=0.0, ts=ts):  # fmt: skip
            plog.flush()  # the queue is full: let the writer catch up
        done += n
        k += 1
        if k % 2 == 0:
            plog.flush()  # keep at most two batches waiting (the writer is the bottleneck)
    plog.close(timeout=None)
    return time.perf_counter() - t


def read(root: str) -> None:
    """The child: read the window and compare, print time and peak RSS as JSON."""
    import datetime as dt
    import resource

    from jupyter_mm.monitoring.current import read_window
    from jupyter_mm.monitoring.presets import drift
    from jupyter_mm.monitoring.profile import ReferenceProfile

    profile = ReferenceProfile.from_json(_profile_path(Path(root)).read_text())
    end = dt.datetime.fromtimestamp(END, dt.timezone.utc)
    start = end - dt.timedelta(days=DAYS)
    cols = [f"input.f{i}" for i in range(FEATURES)] + ["output"]
    t = time.perf_counter()
    frame, total, _ = read_window(os.path.join(root, "predictions"), "credit", "1", start, end,
                                  cols)  # fmt: skip
    current = frame[cols[:-1]]
    current.columns = [c[6:] for c in cols[:-1]]
    result = drift(profile, current, preset="bank", scores=frame["output"].to_numpy())
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({"seconds": elapsed, "peak_rss": peak, "rows": total,
                      "compared": len(frame), "status": result.status}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keep", help="write the log here and keep it (default: a temporary dir)")
    ap.add_argument("--read", help=argparse.SUPPRESS)
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.read:
        read(args.read)
        return

    def run(root: Path) -> None:
        if not (root / "predictions").exists():
            write_s = write_log(root, args.rows)
            c.record(BENCH, f"write {args.rows:,} rows x {FEATURES} features over {DAYS} days",
                     "s", write_s, None, higher_is_better=False,
                     note="PredictionLog, 250,000-row batches, zstd Parquet")  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(c.REPO)}
        out = subprocess.run([sys.executable, __file__, "--read", str(root)], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        got = json.loads(out.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in (root / "predictions").rglob("*.parquet"))
        shape = f"{got['rows']:,} logged rows, {DAYS}-day window"
        c.record(BENCH, f"drift over {shape} (read + bank preset)", "s", got["seconds"], None,
                 higher_is_better=False,
                 note=f"rows compared: {got['compared']:,} (a uniform sample above 2,000,000); "
                      f"log {size / 2**30:.1f} GiB on disk")  # fmt: skip
        c.record(BENCH, f"peak RSS, drift over {shape}", "MiB", got["peak_rss"] / 2**20, None,
                 higher_is_better=False, bar="< 2048 MiB",
                 met=got["peak_rss"] < 2 * 2**30)  # fmt: skip

    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        run(Path(args.keep))
    else:
        with c.tempdir("monitoring-log") as d:
            run(d)
    c.emit()


if __name__ == "__main__":
    main()
