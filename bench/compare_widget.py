"""The comparison widget at 50 runs x 100,000 steps: time to build it and what it sends.

A store holds 50 finished runs, each with 5 params and two metrics (``loss``, ``acc``) of 100,000
points. Measured, in one process with jupyter-mm and anywidget already imported:

- **build**: ``mm.compare("", experiment=...)`` until the widget holds every view: resolve the 50
  runs, read 50 histories down-sampled to 1,000 points keeping extremes, build the curves, runs
  table, parallel coordinates and scatter (median of ``--repeat``; the static HTML is built at
  display time and timed separately);
- **payload**: the widget's state as the comm sends it when the view opens: the JSON (figures with
  base64 typed arrays, table, choices) and the binary buffer of plotly.js;
- **interactions** (kernel side): changing the smoothing, and the metric (50 fresh histories);
- **static HTML** (``text/html`` of the mime bundle, for exported notebooks): time and size with
  plotly.js embedded;
- **browser** (when Chromium is available, ``/usr/bin/chromium`` or ``MM_CHROMIUM``, driven by the
  ui-tests' Playwright): loading plotly.js and drawing the three plots from the static HTML, until
  every ``Plotly.newPlot`` has resolved. Time to interactive = build + browser.

MLflow has no in-notebook comparison widget: no MLflow column.

    python bench/compare_widget.py [--runs 50] [--steps 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import _common as c

BENCH = "compare_widget"
BASE_TS = 1_700_000_000_000


def populate(path: str, runs: int, steps: int) -> None:
    import numpy as np

    from jupyter_mm.core.store import Store

    st = Store.open(path)
    exp = st.create_experiment("bench")
    rng = np.random.default_rng(7)
    step = np.arange(steps)
    stamps = (BASE_TS + step * 10).tolist()
    for i in range(runs):
        params = {
            "lr": str(10 ** rng.uniform(-4, -1)),
            "batch": str(int(rng.choice([32, 64, 128, 256]))),
            "opt": str(rng.choice(["adam", "sgd", "adamw"])),
            "dropout": f"{rng.uniform(0, 0.5):.2f}",
            "seed": "1",
        }
        run = st.create_run(exp, name=f"run-{i:02d}", params=params)
        loss = (1.0 + i / runs) / np.sqrt(step + 1) + rng.normal(0, 0.01, steps)
        acc = 1 - loss / 2
        for key, values in (("loss", loss), ("acc", acc)):
            vs = values.tolist()
            for j in range(0, steps, 100_000):
                st.log_batch(
                    run.id,
                    [(key, vs[k], k, stamps[k]) for k in range(j, min(steps, j + 100_000))],
                )
        st.end_run(run.id, "FINISHED")
    st.close()


def comm_payload(widget) -> tuple[int, int]:
    """(JSON bytes, binary buffer bytes) of the state sent when the widget's comm opens."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, _, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state, allow_nan=False).encode()), sum(len(b) for b in buffers)


def update_payload(widget, names: list[str]) -> int:
    return len(json.dumps({n: widget.get_state()[n] for n in names}, allow_nan=False).encode())


def browser_page(figures: dict) -> str:
    """A page drawing the widget's figures with the plotly.js the widget sends, as its ESM does."""
    from jupyter_mm.notebook.compare_widget import plotly_js

    views = [v for v in ("curves", "parcoords", "scatter") if v in figures]
    data = json.dumps({v: figures[v] for v in views}).replace("</", "<\\/")
    divs = "".join(f'<div id="{v}" style="width:700px"></div>' for v in views)
    return (
        f"<!doctype html><html><body>{divs}<script>{plotly_js().decode()}</script><script>"
        f"window.__jmm_loaded = performance.now(); const FIGS = {data};"
        # as the widget draws: one view after the other, the curves first, painting in between
        "window.__jmm_done = (async () => { const marks = [];"
        " for (const [id, f] of Object.entries(FIGS)) {"
        "  await Plotly.newPlot(id, f.data, f.layout, {responsive: true});"
        "  await new Promise((r) => requestAnimationFrame(r)); marks.push(performance.now()); }"
        " return marks; })();"
        "</script></body></html>"
    )


def browser_ms(html_path: Path) -> tuple[float, float, float] | None:
    """Milliseconds from navigation to plotly.js loaded, to the curves drawn and to every plot
    drawn, in headless Chromium (None without it)."""
    chromium = os.environ.get("MM_CHROMIUM", "/usr/bin/chromium")
    node = shutil.which("node")
    pw = c.REPO / "ui-tests" / "node_modules" / "playwright-core"
    if not (Path(chromium).exists() and node and pw.exists()):
        return None
    script = f"""
const {{ chromium }} = require({json.dumps(str(pw))});
(async () => {{
  const browser = await chromium.launch({{ executablePath: {json.dumps(chromium)},
    args: ['--no-sandbox', '--disable-gpu'] }});
  const page = await browser.newPage({{ viewport: {{ width: 1400, height: 1000 }} }});
  const times = [];
  for (let i = 0; i < 4; i++) {{
    await page.goto('file://' + {json.dumps(str(html_path))}, {{ waitUntil: 'load' }});
    const t = await page.evaluate(async () => {{
      const marks = await window.__jmm_done;
      return [window.__jmm_loaded, marks[0], marks[marks.length - 1]];
    }});
    times.push(t);
  }}
  await browser.close();
  times.shift();  // the first load also warms the disk cache
  times.sort((a, b) => a[2] - b[2]);
  console.log(JSON.stringify(times[Math.floor(times.length / 2)]));
}})().catch((e) => {{ console.error(e); process.exit(1); }});
"""
    proc = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, timeout=300, cwd=c.REPO
    )
    if proc.returncode != 0:
        print("browser measurement failed:", proc.stderr[-2000:])
        return None
    loaded, curves, drawn = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(loaded), float(curves), float(drawn)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    with c.tempdir("compare") as tmp:
        path = str(tmp / "mm")
        t = time.perf_counter()
        populate(path, args.runs, args.steps)
        print(
            f"populated {args.runs} runs x {args.steps:,} steps x 2 metrics in "
            f"{time.perf_counter() - t:.1f} s"
        )

        t = time.perf_counter()
        import jupyter_mm as mm
        from jupyter_mm.notebook import compare_widget  # timed with the imports

        imports = time.perf_counter() - t
        mm.set_tracking_uri(path)

        def build(cached: bool = False):
            if not cached:  # histories of ended runs are cached across widgets: start cold
                compare_widget._ENDED_HISTORIES.clear()
            w = mm.compare("", experiment="bench", static="none")
            w.close()
            return w

        t = time.perf_counter()
        build()
        first = time.perf_counter() - t
        median, times = c.median_time(build, args.repeat, warmup=0)
        cached, _ = c.median_time(lambda: build(cached=True), args.repeat, warmup=1)
        w = mm.compare("", experiment="bench", static="none")
        assert len(w.figures["curves"]["data"]) == args.runs
        points = w._max_points
        json_bytes, buffer_bytes = comm_payload(w)

        t = time.perf_counter()
        w.smoothing = 0.8
        smoothing_s = time.perf_counter() - t
        smoothing_bytes = update_payload(w, ["figures", "table", "revision", "smoothing"])
        t = time.perf_counter()
        w.metric = "loss" if w.metric == "acc" else "acc"
        metric_s = time.perf_counter() - t
        w.smoothing = 0.0

        t = time.perf_counter()
        page = w.static_html("embed")
        static_s = time.perf_counter() - t
        cdn_bytes = len(w.static_html("cdn").encode())
        w.close()

        html_path = tmp / "plots.html"
        html_path.write_text(browser_page(w.figures))
        measured = browser_ms(html_path)
        loaded, curves, browser = measured if measured is not None else (None, None, None)

    ms = 1000
    n = f"{args.runs} runs x {args.steps:,} steps"
    c.record(
        BENCH,
        f"compare widget: build ({n})",
        "ms",
        median * ms,
        None,
        higher_is_better=False,
        bar="" if browser is not None else "< 1 s to interactive (browser not measured)",
        met=None if browser is not None else median < 1.0,
        note=(
            f"`mm.compare` on {n} (2 metrics of that length each, 5 params), "
            f"{points} points per curve; median of {args.repeat} builds ({', '.join(f'{x * ms:.0f}' for x in times)} "
            f"ms); the first build in the process took {first * ms:.0f} ms, after "
            f"{imports * ms:.0f} ms of imports (jupyter_mm, anywidget, plotly pieces). Nearly "
            "all of it is the store decoding the full histories to down-sample them"
        ),
    )
    c.record(
        BENCH,
        f"compare widget: build again ({n})",
        "ms",
        cached * ms,
        None,
        higher_is_better=False,
        note="the same comparison built again (a cell re-run): ended runs' down-sampled "
        f"histories come from the kernel's cache; median of {args.repeat}",
    )
    if browser is not None and curves is not None and loaded is not None:
        c.record(
            BENCH,
            f"compare widget: time to interactive, curves ({n})",
            "ms",
            (median + static_s) * ms + curves,
            None,
            higher_is_better=False,
            bar="< 1 s",
            met=((median + static_s) * ms + curves) < 1000,
            note=(
                f"build ({median * ms:.0f} ms) + the display's static HTML ({static_s * ms:.0f} "
                'ms, the default `static="embed"`) + headless Chromium (software GL, no GPU) '
                f"loading the plotly.js the widget sends and drawing the overlaid curves "
                f"({curves:.0f} ms from navigation, of which {loaded:.0f} ms to parse and run "
                f"plotly.js, paid once per page; median of 3 warm loads). The parallel "
                f"coordinates (WebGL, here in software) and the scatter take {browser - curves:.0f} "
                "ms more; the widget draws each when it scrolls near the screen, so they do not "
                "hold up the first view. The websocket transfer on localhost is not included"
            ),
        )
    c.record(
        BENCH,
        "compare widget: payload, data (JSON)",
        "kB",
        json_bytes / 1000,
        None,
        higher_is_better=False,
        note="state sent when the view opens, without plotly.js: figures (curves as base64 "
        "float64 typed arrays), runs table, choices",
    )
    c.record(
        BENCH,
        "compare widget: payload, plotly.js (binary, once per widget)",
        "kB",
        buffer_bytes / 1000,
        None,
        higher_is_better=False,
        note="the plotly package's plotly.min.js, sent as one binary buffer and imported once "
        "per page; four plotly FigureWidgets would each send their 5 MB bundle",
    )
    c.record(
        BENCH,
        "compare widget: change smoothing (kernel)",
        "ms",
        smoothing_s * ms,
        None,
        higher_is_better=False,
        note=f"EMA over {args.runs} curves and every view rebuilt; the update sent is "
        f"{smoothing_bytes / 1000:.0f} kB",
    )
    c.record(
        BENCH,
        "compare widget: change metric (kernel)",
        "ms",
        metric_s * ms,
        None,
        higher_is_better=False,
        note=f"{args.runs} histories of {args.steps:,} points read and down-sampled, every view "
        "rebuilt",
    )
    c.record(
        BENCH,
        "compare widget: static HTML for export",
        "ms",
        static_s * ms,
        None,
        higher_is_better=False,
        note=f"`text/html` with plotly.js embedded: {len(page.encode()) / 1e6:.1f} MB "
        f'({cdn_bytes / 1e6:.2f} MB with plotly.js from its CDN, `static="cdn"`)',
    )
    c.emit()


if __name__ == "__main__":
    main()
