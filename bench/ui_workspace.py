"""The run workspace in a real browser: the charts workspace of 20 runs, and grouping 10,000 runs.

Fills a fresh store with (a) 20 FINISHED runs in one experiment, each with 5 metrics of
``--steps`` steps (``Store.log_batch``) and a param ``lr`` of 4 values, and (b) in another
experiment ``--runs`` runs as ``bench/ui_sidebar.py`` builds them (5 params, 5 single-value
metrics; bulk-written like ``bench/search.py``) whose ``learning_rate`` param is replaced by ``lr``
of 4 values. Starts JupyterLab on it (the UI tests' server configuration: the working tree's
package and its labextension as last built by ``jlpm build``) and runs ``bench/ui_workspace.mjs``
in Debian's Chromium (Playwright from ``ui-tests/``):

- the charts workspace of the 20 runs listed (``jupyter-mm:open-charts-workspace``, the run
  panel's Charts button) until all 5 charts have drawn: cold (first open: views and plotly
  chunks) and warm (median of ``--repeat`` opens);
- a zoom dragged across one chart until all 5 charts have re-queried the visible steps and drawn
  (median of ``--zooms``), and the double click back to everything;
- Group by ``params.lr`` in the run panel over the 10,000 runs until the group header rows are
  painted (first, then median of ``--repeat`` None -> lr), and ``--frames`` animation frames
  scrolling the grouped table ``--px`` pixels per frame (as ``bench/ui_sidebar.py``).

Not run in CI (it measures; the UI tests check). Figures in ``docs/benchmarks.md``.

    python bench/ui_workspace.py [--steps 10000] [--runs 10000] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import _common as c
from search import make_runs, populate_ours_sql

BENCH = "ui_workspace"
BASE_TS = 1_700_000_000_000
LRS = ["0.1", "0.01", "0.001", "0.0001"]
METRICS = ["loss", "val_loss", "acc", "val_acc", "lr_now"]
CHARTS_EXPERIMENT = "bench-charts"
GROUPING_EXPERIMENT = "bench-grouping"


def populate(store_dir: Path, steps: int, runs: int) -> None:
    from jupyter_mm.core.store import Store

    st = Store.open(str(store_dir))
    exp = st.create_experiment(CHARTS_EXPERIMENT)
    for i in range(20):
        run = st.create_run(exp, name=f"charts-{i:02d}")
        st.log_batch(run.id, params={"lr": LRS[i % 4]})
        curves = [c.noisy_loss(steps, seed=100 * i + k) for k in range(len(METRICS))]
        st.log_batch(
            run.id,
            metrics=[
                (key, curve[j], j, BASE_TS + 7 * j)
                for key, curve in zip(METRICS, curves, strict=True)
                for j in range(steps)
            ],
        )
        st.end_run(run.id, "FINISHED")
    many = make_runs(runs)
    for i, r in enumerate(many):
        del r["params"]["learning_rate"]
        r["params"]["lr"] = LRS[i % 4]
    populate_ours_sql(st, st.create_experiment(GROUPING_EXPERIMENT), many)
    st.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--zooms", type=int, default=5)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--px", type=int, default=120)
    ap.add_argument("--json", help="append the BENCH_JSON lines to this file")
    a = ap.parse_args()

    with c.tempdir("ui") as tmp:
        store = tmp / "store"
        t = time.perf_counter()
        populate(store, a.steps, a.runs)
        populate_s = time.perf_counter() - t
        with c.jupyterlab(store) as base:
            m = c.browser(
                "ui_workspace.mjs",
                base,
                CHARTS_EXPERIMENT,
                GROUPING_EXPERIMENT,
                *("--repeat", str(a.repeat), "--zooms", str(a.zooms)),
                *("--scroll-frames", str(a.frames), "--px-per-frame", str(a.px)),
            )
    load = os.getloadavg()[0]
    charts, zoom, grouping, scroll = m["charts"], m["zoom"], m["grouping"], m["scroll"]
    n = f"{a.runs:,} runs"
    w = f"20 runs x 5 metrics x {a.steps:,} steps"
    c.record(
        BENCH,
        "store populated",
        "s",
        populate_s,
        None,
        higher_is_better=False,
        note=f"Chromium {m['browser']}; 1-minute load average at the end {load:.1f}",
    )
    warm = charts["warm"]
    c.record(
        BENCH,
        f"charts workspace, warm: all 5 charts drawn ({w})",
        "ms",
        charts["warm_median_ms"],
        None,
        higher_is_better=False,
        note=f"median of {len(charts['warm_ms'])} opens of the {charts['listed_runs']} runs listed; "
        f"{warm['charts']} charts, {warm['curves']} curves, {warm['points']:,} points drawn; "
        f"{warm['history_requests']} history requests, the slowest {warm['history_max_ms']:.0f} ms",
    )
    c.record(
        BENCH,
        "charts workspace, cold (first open in the page)",
        "ms",
        charts["cold"]["elapsed"],
        None,
        higher_is_better=False,
        note="also loads the views chunk and plotly.js",
    )
    z = zoom["zoomed"]
    c.record(
        BENCH,
        "zoom in one chart: all 5 charts re-queried and drawn",
        "ms",
        zoom["zoom_median_ms"],
        None,
        higher_is_better=False,
        note=f"median of {len(zoom['zoom_ms'])} drags, from the mouse release; "
        f"{z['history_requests']} history requests, x ranges {z['ranges']}, "
        f"{z['points']:,} points drawn",
    )
    c.record(
        BENCH,
        "double click back to all of it: all 5 charts drawn",
        "ms",
        zoom["reset_median_ms"],
        None,
        higher_is_better=False,
    )
    g = grouping["warm"]
    c.record(
        BENCH,
        f"Group by params.lr: group headers painted ({n})",
        "ms",
        grouping["warm_median_painted_ms"],
        None,
        higher_is_better=False,
        note=f"median of {len(grouping['warm_painted_ms'])} (None, then lr); in the DOM after "
        f"{g['in_dom_ms']:.0f} ms; {g['searches']} runs/search requests; headers {g['headers']}",
    )
    c.record(
        BENCH,
        f"Group by params.lr, first time ({n})",
        "ms",
        grouping["cold"]["painted_ms"],
        None,
        higher_is_better=False,
        note=f"{grouping['cold']['searches']} runs/search requests",
    )
    c.record(
        BENCH,
        f"grouped table, scrolling {scroll['frames']} frames x {scroll['px_per_frame']} px: "
        "mean frame rate",
        "fps",
        scroll["mean_fps"],
        None,
        higher_is_better=True,
        bar="smooth (about 60)",
        note=f"{scroll['scrolled_px']:,} px scrolled; {scroll['rows_in_dom']} run rows and "
        f"{scroll['group_headers_in_dom']} group headers in the DOM; footer '{scroll['footer']}'",
    )
    c.record(
        BENCH,
        "grouped scrolling: median / 95th percentile / worst frame",
        "ms",
        scroll["frame_p50_ms"],
        None,
        higher_is_better=False,
        note=f"p95 {scroll['frame_p95_ms']:.1f} ms, worst {scroll['frame_max_ms']:.1f} ms, "
        f"{scroll['long_frames_over_50ms']} frames over 50 ms",
    )
    c.emit()


if __name__ == "__main__":
    main()
