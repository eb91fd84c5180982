"""The sidebar run panel in a real browser: 10,000 runs, time to first rows and frames while scrolling.

Seeds a fresh store with ``--runs`` runs (5 params, 5 metrics, 2 tags each; bulk-written like
``bench/search.py``) in the Default experiment, starts JupyterLab on it (the UI tests' server
configuration: the working tree's package and labextension), and runs ``bench/ui_sidebar.mjs`` in
Debian's Chromium (Playwright from ``ui-tests/node_modules``: run ``jlpm install`` there first):

- time from navigation start to the first run row in the DOM, and to the frame after it was
  painted (JupyterLab's own start-up included), and the first ``runs/search`` request's duration;
- ``--frames`` animation frames scrolling the table ``--px`` pixels per frame (rows are 24 px, a
  page of 200 runs is 4,800 px, so the panel fetches pages while it scrolls): mean frame rate,
  median / 95th percentile / worst frame time, frames over 50 ms;
- jumping to the end of the list: time until the last run is shown.

Not run in CI (it measures; the UI tests check).

    python bench/ui_sidebar.py [--runs 10000] [--frames 600] [--px 120]
"""

from __future__ import annotations

import argparse
import time

import _common as c
from search import make_runs, populate_ours_sql

BENCH = "ui_sidebar"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--px", type=int, default=120)
    ap.add_argument("--json")
    a = ap.parse_args()

    from jupyter_mm.core.store import Store

    with c.tempdir("ui") as tmp:
        store_dir = tmp / "store"
        st = Store.open(str(store_dir))
        t = time.perf_counter()
        populate_ours_sql(st, "0", make_runs(a.runs))
        populate_s = time.perf_counter() - t
        st.close()
        with c.jupyterlab(store_dir) as base:
            m = c.browser(
                "ui_sidebar.mjs",
                base + "/",
                "--scroll-frames",
                str(a.frames),
                "--px-per-frame",
                str(a.px),
            )

    load, scroll, jump = m["load"], m["scroll"], m["jump"]
    n = f"{a.runs:,} runs"
    c.record(BENCH, f"store populated ({n})", "s", populate_s, None, higher_is_better=False)
    c.record(
        BENCH,
        f"first run rows painted, from page navigation ({n})",
        "ms",
        load["first_paint_ms"],
        None,
        higher_is_better=False,
        note="includes JupyterLab's own start-up; DOMContentLoaded at "
        f"{load['dom_content_loaded_ms']:.0f} ms, first runs/search sent at "
        f"{load['first_search_start_ms']:.0f} ms",
    )
    c.record(
        BENCH,
        f"first page request (200 runs of {n})",
        "ms",
        load["first_search_ms"],
        None,
        higher_is_better=False,
    )
    c.record(
        BENCH,
        f"first rows painted after the request was sent ({n})",
        "ms",
        load["first_paint_ms"] - load["first_search_start_ms"],
        None,
        higher_is_better=False,
        note=f"{load['rows_in_dom']} row elements in the DOM",
    )
    c.record(
        BENCH,
        f"scrolling {scroll['frames']} frames x {scroll['px_per_frame']} px: mean frame rate",
        "fps",
        scroll["mean_fps"],
        None,
        higher_is_better=True,
        bar="smooth (about 60)",
        note=f"{scroll['scrolled_px']:,} px scrolled; {scroll['rows_in_dom']} row elements in the "
        f"DOM; footer '{scroll['footer']}'",
    )
    c.record(
        BENCH, "scrolling: median frame", "ms", scroll["frame_p50_ms"], None, higher_is_better=False
    )
    c.record(
        BENCH,
        "scrolling: 95th percentile frame",
        "ms",
        scroll["frame_p95_ms"],
        None,
        higher_is_better=False,
    )
    c.record(
        BENCH, "scrolling: worst frame", "ms", scroll["frame_max_ms"], None, higher_is_better=False
    )
    c.record(
        BENCH,
        "scrolling: frames over 50 ms",
        "frames",
        scroll["long_frames_over_50ms"],
        None,
        higher_is_better=False,
    )
    c.record(
        BENCH,
        f"jump to the end of {n}",
        "ms",
        jump["jump_to_end_ms"],
        None,
        higher_is_better=False,
        note=f"footer '{jump['footer']}'",
    )
    c.emit()


if __name__ == "__main__":
    main()
