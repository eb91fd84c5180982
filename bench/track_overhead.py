"""What ``%%track`` costs a cell, in a real kernel: the same cell executed with and without the magic.

Times are client-side round trips (execute_request sent -> execute_reply received), like a user
pressing Shift-Enter, in one kernel session with ``MM_TRACKING_URI`` on a fresh local store:

- an empty cell (``pass``) vs ``%%track`` + ``pass``: the first tracked cell of the session
  (environment capture, imports) and the steady state (median of ``--repeat``);
- a loop of 100,000 ``mm.log_metric`` calls in a tracked cell vs the same loop doing the
  arithmetic without logging, untracked.
MLflow has no notebook capture, so there is no MLflow column here.

    python bench/track_overhead.py [--repeat 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import _common as c
from jupyter_client.manager import start_new_kernel

BENCH = "track_overhead"
LOOP = "for i in range(100_000):\n    v = 1.0 / (i + 1)\n"
LOOP_TRACKED = "%%track loop\nfor i in range(100_000):\n    mm.log_metric('loss', 1.0 / (i + 1))\n"


def run_cell(kc, code: str) -> float:
    t = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
    elapsed = time.perf_counter() - t
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--json")
    args = ap.parse_args()
    with c.tempdir("track") as tmp:
        env = {**os.environ, "MM_TRACKING_URI": str(tmp / "store"), "JPY_SESSION_NAME": ""}
        km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp))
        try:
            run_cell(kc, "import jupyter_mm as mm")
            plain_first = run_cell(kc, "pass")
            tracked_first = run_cell(kc, "%%track\npass")
            plain = [run_cell(kc, "pass") for _ in range(args.repeat)]
            tracked = [run_cell(kc, "%%track\npass") for _ in range(args.repeat)]
            loop_plain = min(run_cell(kc, LOOP) for _ in range(3))
            loop_tracked = min(run_cell(kc, LOOP_TRACKED) for _ in range(3))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    p, t = statistics.median(plain) * 1e3, statistics.median(tracked) * 1e3
    first = (tracked_first - plain_first) * 1e3
    c.record(
        BENCH,
        "empty %%track cell, extra over untracked (steady state)",
        "ms",
        t - p,
        None,
        higher_is_better=False,
        bar="<30 ms",
        met=(t - p) < 30,
        note=f"median of {args.repeat} round trips each: untracked {p:.1f} ms, tracked {t:.1f} ms",
    )
    c.record(
        BENCH,
        "empty %%track cell, extra over untracked (first in session)",
        "ms",
        first,
        None,
        higher_is_better=False,
        note="includes the first environment capture and imports of the store",
    )
    per_call = (loop_tracked - loop_plain) / 100_000 * 1e6
    c.record(
        BENCH,
        "100,000 mm.log_metric in a %%track cell vs the same loop untracked",
        "us/call",
        per_call,
        None,
        higher_is_better=False,
        note=(
            f"best of 3: untracked loop {loop_plain * 1e3:.0f} ms, tracked loop with logging "
            f"{loop_tracked * 1e3:.0f} ms (run end and flush included)"
        ),
    )
    c.emit()


if __name__ == "__main__":
    main()
