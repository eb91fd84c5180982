"""The comparison's views as plotly figures, and as the static HTML an exported notebook keeps.

Pure functions of the runs and the user's choices (data preparation from
:mod:`jupyter_mm.client.comparison`): :class:`~.compare_widget.CompareWidget` syncs what they return
and the browser only draws it, so the tests check what is drawn. User text is HTML-escaped
(plotly reads ``<b>``, ``<a href>``... in names and labels); histories travel as plotly.js typed
arrays; NaN and ±Inf are drawn as gaps.
"""

from __future__ import annotations

import base64
import html
import json
import math
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import comparison as cmp

if TYPE_CHECKING:
    import numpy as np

    from ..core.entities import Run

# ---------------------------------------------------------------------------------- plotly.js

_plotly_js: bytes | None = None
_plotly_js_str: str | None = None


def plotly_js() -> bytes:
    """plotly.js as the installed ``plotly`` package ships it (read once per process)."""
    global _plotly_js
    if _plotly_js is None:
        import plotly

        _plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    return _plotly_js


def _plotly_js_text() -> str:
    global _plotly_js_str
    if _plotly_js_str is None:
        _plotly_js_str = plotly_js().decode("utf-8")
    return _plotly_js_str


def _plotly_js_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: ``<`` only occurs in strings, where ``\\u003c`` means it too."""
    return json.dumps(value, allow_nan=False).replace("<", "\\u003c")


# ------------------------------------------------------------------------------ plotly pieces


def typed(values: np.ndarray) -> dict[str, str]:
    """A float64 array as plotly.js's typed-array JSON (base64), a third of the size of a list.
    ±Inf become NaN: plotly draws NaN as a gap, Inf would wreck the axis range."""
    import numpy as np

    arr = np.asarray(values, dtype="<f8")
    if not np.isfinite(arr).all():
        arr = np.where(np.isfinite(arr), arr, np.nan)
    return {"dtype": "f8", "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


def _t(text: Any) -> str:
    """User text for plotly, which reads ``<b>``, ``<a href>``... in names, titles and labels:
    escaped, so it is shown as written."""
    return html.escape(str(text), quote=False)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        # left-aligned: plotly's toolbar (top right) must not cover it
        "title": {"text": title, "font": {"size": 13}, "x": 0, "xref": "paper", "xanchor": "left"},
        "margin": {"l": 56, "r": 16, "t": 36, "b": 44},
        "height": 340,
        "autosize": True,
        "template": {"layout": {"font": {"size": 11}}},
    }
    layout.update(extra)
    return layout


#: Curves with fewer finite points than this get markers (the run view's rule, ``metrics.ts``).
SHOW_MARKERS_BELOW = 3


def _finite_count(values: np.ndarray) -> int:
    import numpy as np

    return int(np.isfinite(np.asarray(values, dtype=float)).sum())


def curves_figure(
    runs: Sequence[Run],
    hist: dict[str, cmp.History],
    metric: str,
    colors: dict[str, str],
    x_axis: str = "step",
    smoothing: float = 0.0,
    log_y: bool = False,
    selected: Iterable[str] = (),
) -> dict[str, Any]:
    """Overlaid histories of ``metric``: one line per run (``meta`` = run id); with smoothing,
    the raw line faded behind the smoothed one."""
    chosen = set(selected)
    data: list[dict[str, Any]] = []
    for run in runs:
        h = hist.get(run.id)
        if h is None:
            continue
        dim = bool(chosen) and run.id not in chosen
        width = 2.6 if run.id in chosen else 1.6
        x = typed(h.x(x_axis))
        # a metric logged once (a final accuracy) is one point, which a line alone does not draw
        lone = _finite_count(h.value) < SHOW_MARKERS_BELOW
        base = {
            "type": "scatter",
            "mode": "lines+markers" if lone else "lines",
            "x": x,
            "name": _t(run.name),
            "meta": run.id,
            "legendgroup": run.id,
            "hovertemplate": f"{_t(run.name)}<br>%{{x}}: %{{y:.6g}}<extra></extra>",
        }
        color = colors[run.id]
        if smoothing > 0:
            data.append(
                {
                    **base,
                    "y": typed(h.value),
                    "showlegend": False,
                    "opacity": 0.08 if dim else 0.25,
                    "line": {"color": color, "width": 1},
                    "hoverinfo": "skip",
                    "hovertemplate": None,
                }
            )
            y = typed(cmp.ema(h.value, smoothing))
        else:
            y = typed(h.value)
        data.append(
            {
                **base,
                "y": y,
                "opacity": 0.3 if dim else 1.0,
                "line": {"color": color, "width": width},
                **({"marker": {"color": color, "size": 9}} if lone else {}),
            }
        )
    xaxis: dict[str, Any] = {"title": {"text": "step" if x_axis == "step" else "time"}}
    if x_axis == "time":
        xaxis["type"] = "date"
    suffix = f" (EMA {smoothing:g})" if smoothing > 0 else ""
    layout = _layout(
        f"{_t(metric)}{suffix}",
        xaxis=xaxis,
        yaxis={"type": "log" if log_y else "linear", "title": {"text": _t(metric)}},
        showlegend=True,
        legend={"font": {"size": 10}},
        hovermode="closest",
    )
    return {"data": data, "layout": layout}


def parcoords_figure(runs: Sequence[Run], params: Sequence[str], metric: str) -> dict[str, Any]:
    """Parallel coordinates over ``params`` towards ``metric``, coloured by it. Runs missing a
    numeric axis' value are left out (plotly cannot draw a gap there); ``meta`` lists the ids
    of the runs drawn, in line order."""
    dims = cmp.parcoords_dimensions(runs, params, metric)
    keep = [
        i
        for i in range(len(runs))
        if all(d["values"][i] is not None for d in dims if d["kind"] != "categorical")
    ]
    left_out = len(runs) - len(keep)
    out_dims = []
    for d in dims:
        values = [d["values"][i] for i in keep]
        dim: dict[str, Any] = {"label": _t(d["label"]), "values": values}
        if d["kind"] == "numeric" and _spans_decades(values):
            # plotly's parallel coordinates have no log axes: log10 values, ticks at decades
            logs = [math.log10(v) for v in values]
            lo, hi = math.floor(min(logs)), math.ceil(max(logs))
            dim.update(
                label=f"{_t(d['label'])} (log)",
                values=logs,
                tickvals=list(range(lo, hi + 1)),
                ticktext=[f"1e{k}" for k in range(lo, hi + 1)],
            )
        if d["kind"] == "categorical":
            dim["tickvals"] = list(range(len(d["labels"])))
            dim["ticktext"] = [_t(t if len(t) <= 24 else t[:23] + "…") for t in d["labels"]]
            dim["range"] = [0, max(0, len(d["labels"]) - 1)]
        out_dims.append(dim)
    colors = out_dims[-1]["values"] if out_dims else []
    line: dict[str, Any] = {"color": colors, "colorscale": "Viridis", "showscale": True}
    if colors and min(colors) == max(colors):  # one value: plotly would invent a colour range
        pad = abs(colors[0]) * 0.05 or 1.0
        line.update(cmin=colors[0] - pad, cmax=colors[0] + pad)
        out_dims[-1]["range"] = [colors[0] - pad, colors[0] + pad]
    trace = {
        "type": "parcoords",
        "dimensions": out_dims,
        "line": line,
        "meta": [runs[i].id for i in keep],
    }
    note = f" · {left_out} run(s) without every value left out" if left_out else ""
    layout = _layout(f"params → {_t(metric)}{note}", height=380)
    layout["margin"] = {"l": 56, "r": 40, "t": 80, "b": 30}  # room for the axis labels
    return {"data": [trace], "layout": layout}


def _spans_decades(values: Sequence[Any]) -> bool:
    """Positive numbers spanning at least two decades (learning rates...): drawn on a log axis."""
    nums = [v for v in values if isinstance(v, (int, float))]
    return bool(nums) and min(nums) > 0 and max(nums) / min(nums) >= 100


def scatter_figure(
    runs: Sequence[Run],
    param: str,
    metric: str,
    colors: dict[str, str],
    selected: Iterable[str] = (),
) -> dict[str, Any]:
    """Each run's ``param`` against its latest ``metric``: one point per run, coloured as in the
    curves, ``customdata`` = run id."""
    chosen = set(selected)
    pts = cmp.scatter_points(runs, param, metric) if param and metric else None
    data: list[dict[str, Any]] = []
    xaxis: dict[str, Any] = {"title": {"text": _t(param)}}
    if pts is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [_t(x) if isinstance(x, str) else x for x in pts["x"]],
                "y": pts["y"],
                "text": [_t(r.name) for r in runs],
                "customdata": [r.id for r in runs],
                "marker": {
                    "color": [colors[r.id] for r in runs],
                    "size": [14 if r.id in chosen else 9 for r in runs],
                    "opacity": [1.0 if not chosen or r.id in chosen else 0.35 for r in runs],
                    "line": {"width": 1, "color": "#333"},
                },
                "hovertemplate": "%{text}<br>%{x} → %{y:.6g}<extra></extra>",
            }
        )
        if pts["kind"] == "numeric" and _spans_decades(pts["x"]):
            xaxis["type"] = "log"
        if pts["kind"] == "categorical":
            xaxis.update(
                type="category",
                categoryorder="array",
                categoryarray=[_t(label) for label in pts["labels"]],
            )
    layout = _layout(
        f"{_t(metric)} vs {_t(param)}" if pts else "scatter: choose a param and a metric",
        xaxis=xaxis,
        yaxis={"title": {"text": _t(metric)}},
        hovermode="closest",
    )
    return {"data": data, "layout": layout}


# -------------------------------------------------------------------------------- static HTML


def static_html(
    views: Sequence[str], figures: dict[str, Any], table_html: str, include_plotlyjs: str
) -> str:
    """``views`` as static HTML, as plotly's ``to_html`` writes it: each figure as a div and a
    ``Plotly.newPlot`` call, plotly.js embedded once before them (``"embed"``) or from its CDN
    (``"cdn"``), and ``table_html`` where the table view goes. Figures are JSON with every ``<``
    written ``\\u003c`` (no user string can close the script)."""
    parts = ["<div class='jmm-compare-static'>"]
    if include_plotlyjs == "embed":
        parts.append(f'<script type="text/javascript">{_plotly_js_text()}</script>')
    elif include_plotlyjs == "cdn":
        parts.append(
            f'<script src="https://cdn.plot.ly/plotly-{_plotly_js_version()}.min.js" '
            'charset="utf-8"></script>'
        )
    config = _script_json({"displaylogo": False, "responsive": True})
    for view in views:
        if view == "table":
            parts.append(table_html)
            continue
        fig = figures.get(view)
        if fig is None:
            continue
        div_id = f"jmm-{view}-{uuid.uuid4().hex[:12]}"
        height = int(fig.get("layout", {}).get("height", 340))
        parts.append(
            f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; '
            'width:100%;"></div><script type="text/javascript">if (window.Plotly) '
            f'{{ Plotly.newPlot("{div_id}", {_script_json(fig.get("data", []))}, '
            f"{_script_json(fig.get('layout', {}))}, {config}); }}</script>"
        )
    parts.append("</div>")
    return "".join(parts)


def table_html(table: dict[str, Any], hidden: Iterable[str], hide_identical: bool) -> str:
    """The runs table (the widget's ``table`` trait) as an HTML-escaped ``<table>``: the runs not
    ``hidden``, the differing params highlighted (or the only ones, with ``hide_identical``)."""
    e = html.escape
    left_out = set(hidden)
    differing = set(table.get("differing", []))
    params = [p for p in table.get("params", []) if not hide_identical or p in differing]
    mark = {p: " style='background:#fff7d6'" if p in differing else "" for p in params}
    head = "".join(f"<th{mark[p]}>{e(p)}</th>" for p in params) + "".join(
        f"<th>{e(m)}</th>" for m in table.get("metrics", [])
    )
    body = []
    for row in table.get("rows", []):
        if row["id"] in left_out:
            continue
        style = cmp.status_style(row["status"])
        cells = "".join(
            f"<td{mark[p]}>{e('' if row['params'].get(p) is None else str(row['params'][p]))}</td>"
            for p in params
        ) + "".join(f"<td>{'' if v is None else f'{v:.6g}'}</td>" for v in row["metrics"].values())
        body.append(
            f"<tr><td><span style='color:{e(row['color'])}'>&#9632;</span> {e(row['name'])}</td>"
            f"<td style='{style}'>{e(row['status'])}</td>{cells}</tr>"
        )
    return (
        "<table class='jmm-compare-table' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr><th>run</th><th>status</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
