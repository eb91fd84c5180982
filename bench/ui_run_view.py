"""Time to open a run view whose metric has 1,000,000 points, measured in a real browser.

Fills a fresh store with one FINISHED run holding a 1,000,000-point ``loss`` history (plus a
param), starts JupyterLab on it (the working tree's server extension and its labextension as last
built by ``jlpm build``, with the UI tests' server configuration) and runs
``bench/ui_run_view.mjs`` in Debian's Chromium (Playwright from ``ui-tests/node_modules``). The
browser script executes ``jupyter-mm:open-run`` and times until the chart has drawn (plotly's
``react`` resolved on the down-sampled history):

- *cold*: the first open in the page (loads the views and plotly chunks, ~4.9 MB of plotly);
- *warm*: the median of later opens (tab closed and opened again).

Not run in CI: run by hand, figures in ``docs/benchmarks.md``.

    python bench/ui_run_view.py [--points 1000000] [--repeat 7] [--port 8896]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import _common as c

BENCH = "ui_run_view"
BASE_TS = 1_700_000_000_000


def populate(store_dir: Path, n: int) -> str:
    from jupyter_mm.core.store import Store

    values = c.noisy_loss(n, seed=3)
    st = Store.open(str(store_dir))
    run = st.create_run(st.create_experiment("bench-ui"), name="million")
    st.log_batch(run.id, params={"lr": 0.01})
    batch = 100_000
    for i in range(0, n, batch):
        st.log_batch(
            run.id,
            metrics=[("loss", values[j], j, BASE_TS + 7 * j) for j in range(i, min(i + batch, n))],
        )
    st.end_run(run.id, "FINISHED")
    st.close()
    return run.id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--port", type=int, default=8896)
    ap.add_argument("--json", help="append the BENCH_JSON lines to this file")
    args = ap.parse_args()

    with c.tempdir("ui") as tmp:
        store = tmp / "store"
        t = time.perf_counter()
        run_id = populate(store, args.points)
        took = time.perf_counter() - t
        print(f"store with {args.points:,} points in {took:.1f} s", file=sys.stderr)
        with c.jupyterlab(store, args.port) as base:
            result = c.browser(
                "ui_run_view.mjs",
                env={
                    "MM_BENCH_URL": base,
                    "MM_BENCH_RUN": run_id,
                    "MM_BENCH_REPEAT": str(args.repeat),
                },
            )
    result["points"] = args.points
    print(f"run view, metric of {args.points:,} points (Chromium {result['browser']}):")
    print(f"  cold open (views + plotly chunks): {result['cold_ms']:.0f} ms")
    print(f"  warm open, median of {len(result['warm_ms'])}: {result['warm_median_ms']:.0f} ms")
    print(
        f"  history request (server, down-sampled to {result['drawn_points']} points): "
        f"median {result['history_median_ms']:.0f} ms"
    )
    print(f"  the same request alone (fetch): median {result['history_alone_median_ms']:.0f} ms")
    result["load_average_1min"] = os.getloadavg()[0]
    print(f"  (1-minute load average at the end: {result['load_average_1min']:.1f})")
    line = "BENCH_JSON " + json.dumps({"bench": BENCH, **result})
    print(line)
    if args.json:
        with open(args.json, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
