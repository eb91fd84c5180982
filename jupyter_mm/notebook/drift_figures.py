"""The drift report's figures (plotly figure dicts) and its static HTML, from the report's JSON
(:func:`jupyter_mm.monitoring.report.report_data`).

Pure functions: :class:`~.drift_report.DriftReport` syncs what they return and the browser only
draws it, so the tests check what is drawn. User text (feature and model names, category levels)
is HTML-escaped wherever plotly or the page would read it as markup.

**Static HTML: plotly.js embedded by default.** The exported report is evidence a model-risk
review keeps: it must open offline, inside a bank's network, and look the same years later, so
plotly.js (the copy the ``plotly`` package ships, about 4.6 MB) is embedded once per report.
``static="cdn"`` makes a small file that loads plotly.js from cdn.plot.ly at view time (needs a
network; the viewer's browser asks a third party); ``"none"`` leaves the HTML out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from .compare_figures import _layout, _t

#: How the static ``text/html`` gets plotly.js (as ``mm.compare``): embedded, CDN, or no HTML.
STATIC_MODES = ("embed", "cdn", "none")
REFERENCE_COLOR, CURRENT_COLOR = "#9e9e9e", "#1976d2"
BAND_COLORS = {"ok": "#2e7d32", "warning": "#ef6c00", "drift": "#c62828"}
#: ``Verdict.direction`` of p-value tests: their p-value is what crosses the threshold.
P_VALUE = "p_value<threshold"


def feature_label(feature: str) -> str:
    """What a feature is called on screen (the score is ``__score__`` in verdicts)."""
    from ..monitoring.profile import SCORE

    return "score" if feature == SCORE else feature


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def distribution_figure(verdict: Mapping[str, Any]) -> dict[str, Any] | None:
    """Reference and current proportions on the verdict's bins (the same bins on both sides),
    or None when there are no bins (too few rows, a categorical feature under a continuous
    test)."""
    bins = verdict.get("bins")
    if not bins:
        return None
    labels = [_t(label) for label in bins["labels"]]
    name = _t(feature_label(verdict["feature"]))
    data = []
    for side, color, key in (
        ("reference", REFERENCE_COLOR, "reference"),
        ("current", CURRENT_COLOR, "current"),
    ):
        data.append(
            {
                "type": "bar",
                "name": side,
                "x": labels,
                "y": list(bins[key]),
                "customdata": list(bins[f"{key}_counts"]),
                "marker": {"color": color},
                "hovertemplate": f"{side}<br>%{{x}}: %{{y:.2%}} (%{{customdata}} rows)"
                "<extra></extra>",
            }
        )
    on = "reference deciles" if verdict.get("bins_source") == "deciles" else "the verdict's bins"
    stat = verdict.get("statistic")
    title = f"{name}: {_t(verdict.get('method') or '')} {_fmt(stat)} ({_t(verdict['band'])})"
    layout = _layout(
        title,
        barmode="group",
        xaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "title": {"text": f"bins ({on})"},
        },  # fmt: skip
        yaxis={"title": {"text": "share of rows"}, "tickformat": ".0%"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    return {"data": data, "layout": layout}


def over_time_figure(
    verdict: Mapping[str, Any], periods: Mapping[str, Any], series: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The feature's statistic per period of the window (the p-value for p-value tests), its
    threshold (and warning band) as lines; a period with too few rows is a gap, said in its
    hover. None without periods."""
    starts, ends = periods.get("starts") or [], periods.get("ends") or []
    if not starts or not series:
        return None
    p_test = verdict.get("direction") == P_VALUE
    values = series.get("p_value" if p_test else "statistic") or []
    bands = series.get("band") or []
    rows = periods.get("rows") or [0] * len(starts)
    what = "p-value" if p_test else (series.get("method") or "statistic")
    hover = [f"{_t(b)} · {n} rows" for b, n in zip(bands, rows, strict=False)]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _t(what),
            "x": list(starts),
            "y": list(values),
            "text": hover,
            "marker": {"color": [BAND_COLORS.get(b, "#757575") for b in bands], "size": 8},
            "line": {"color": CURRENT_COLOR},
            "connectgaps": False,
            "hovertemplate": "%{x}<br>%{y:.4g}<br>%{text}<extra></extra>",
        }
    ]
    x_span = [starts[0], ends[-1]]
    for label, value, color in (
        ("threshold", series.get("threshold"), BAND_COLORS["drift"]),
        ("warning", series.get("warning"), BAND_COLORS["warning"]),
    ):
        if value is not None:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{label} {value:.4g}",
                    "x": x_span,
                    "y": [value, value],
                    "line": {"color": color, "dash": "dash", "width": 1},
                    "hoverinfo": "skip",
                }
            )
    gaps = sum(v is None for v in values)
    note = f" · {gaps} period(s) with too few rows" if gaps else ""
    layout = _layout(
        f"{_t(feature_label(verdict['feature']))}: {_t(what)} over time{note}",
        xaxis={"type": "date", "title": {"text": "period start (UTC)"}},
        yaxis={"title": {"text": _t(what)}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        hovermode="closest",
    )
    return {"data": data, "layout": layout}


def figures(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Feature → ``{"distribution": fig, "over_time": fig}`` (absent figures left out)."""
    periods = report.get("periods") or {}
    series = periods.get("series") or {}
    out: dict[str, dict[str, Any]] = {}
    for v in report.get("verdicts", []):
        figs = {}
        dist = distribution_figure(v)
        if dist is not None:
            figs["distribution"] = dist
        trend = over_time_figure(v, periods, series.get(v["feature"]) or {})
        if trend is not None:
            figs["over_time"] = trend
        out[v["feature"]] = figs
    return out


# -------------------------------------------------------------------------------- text


def headline(report: Mapping[str, Any]) -> str:
    """One line: model, version, window, preset, status, rows (plain text: never HTML)."""
    status = report.get("status", "")
    drifted = [feature_label(v["feature"]) for v in report.get("verdicts", []) if v.get("drifted")]
    text = (
        f"drift report · {report.get('model')} v{report.get('version')} · "
        f"{report.get('window_start')} to {report.get('window_end')} · {report.get('preset')} · "
        f"{report.get('rows')} rows · {status}"
    )
    if status == "too_few_rows":
        text += f" (fewer than {report.get('min_rows')}: no verdict)"
    elif drifted:
        text += f": {', '.join(drifted[:10])}{'…' if len(drifted) > 10 else ''}"
    return text


TABLE_COLUMNS = (
    ("feature", "feature"), ("method", "method"), ("statistic", "statistic"),
    ("threshold", "threshold"), ("band", "verdict"), ("p_value", "p-value"),
    ("n_reference", "n reference"), ("n_current", "n current"),
)  # fmt: skip


def table_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """The verdict table's cells as plain text, in :data:`TABLE_COLUMNS` order."""
    rows = []
    for v in report.get("verdicts", []):
        cells = []
        for key, _ in TABLE_COLUMNS:
            value = feature_label(v["feature"]) if key == "feature" else v.get(key)
            cells.append(_fmt(value))
        rows.append(cells)
    return rows


def table_html(report: Mapping[str, Any]) -> str:
    """The verdict table as an HTML-escaped ``<table>``, each verdict's band coloured."""
    e = html.escape
    head = "".join(f"<th>{e(label)}</th>" for _, label in TABLE_COLUMNS)
    body = []
    band_at = [k for k, _ in TABLE_COLUMNS].index("band")
    for v, cells in zip(report.get("verdicts", []), table_rows(report), strict=True):
        color = BAND_COLORS.get(v.get("band") or "", "#757575")
        tds = "".join(
            f"<td style='color:{color};font-weight:600'>{e(c)}</td>" if i == band_at
            else f"<td>{e(c)}</td>"
            for i, c in enumerate(cells)
        )  # fmt: skip
        body.append(f"<tr>{tds}</tr>")
    return (
        "<table class='jmm-drift-table' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


# -------------------------------------------------------------------------------- static HTML


def _figure_html(fig: Mapping[str, Any], include_plotlyjs: bool | str) -> str:
    """One figure as plotly's ``to_html`` writes it (``validate=False``: our dicts are plotly's
    JSON already); plotly's JSON encoder writes ``<``, ``>`` and ``/`` as ``\\uXXXX``, so no
    string can close the script."""
    import plotly.io as pio

    height = int(fig.get("layout", {}).get("height", 340))
    return str(
        pio.to_html(
            dict(fig),
            full_html=False,
            include_plotlyjs=include_plotlyjs,
            validate=False,
            default_height=f"{height}px",
            config={"displaylogo": False, "responsive": True},
        )  # fmt: skip
    )


def static_html(report: Mapping[str, Any], figs: Mapping[str, Any], static: str) -> str:
    """The whole report as static HTML for an exported notebook: the headline, notes, the
    verdict table, then per feature (the score first) its distributions and its statistic over
    time. plotly.js embedded once before the first figure (``"embed"``) or from its CDN
    (``"cdn"``)."""
    from ..monitoring.profile import SCORE

    e = html.escape
    modes: dict[str, bool | str] = {"embed": True, "cdn": "cdn"}
    first = modes.get(static, False)
    parts = ["<div class='jmm-drift-static'>", f"<p><strong>{e(headline(report))}</strong></p>"]
    notes = report.get("notes") or []
    if notes:
        parts.append("<ul class='jmm-drift-notes'>")
        parts += [f"<li>{e(str(n))}</li>" for n in notes]
        parts.append("</ul>")
    parts.append(table_html(report))
    order = sorted(report.get("verdicts", []), key=lambda v: v["feature"] != SCORE)
    for v in order:
        feature_figs = figs.get(v["feature"]) or {}
        if not feature_figs:
            continue
        parts.append(f"<h4>{e(feature_label(v['feature']))}</h4>")
        for kind in ("distribution", "over_time"):
            fig = feature_figs.get(kind)
            if fig is not None:
                parts.append(_figure_html(fig, first))
                first = False
    parts.append("</div>")
    return "".join(parts)
