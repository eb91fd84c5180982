"""``mm.compare`` / ``mm.plot_metric``: comparing runs in the notebook, and ``mm.diff`` for two runs.

**One anywidget, plotly.js sent once.** The widget is a single anywidget (``static/compare.js``,
plain ESM, no build step) that draws its four linked views with plotly.js. plotly's
``FigureWidget`` is itself an anywidget whose ESM carries all of plotly.js (about 5 MB): four of
them in an ipywidgets box would send it four times per comparison. Here plotly.js (the copy the
``plotly`` package ships, so nothing is fetched from a network) travels once per widget as a
binary buffer, and the browser imports it once per page. anywidget renders the same way in
JupyterLab 4, Notebook 7 and VS Code, with no iframe and no frontend build.

**Python computes, the browser draws.** Every view is a plotly figure built here from
:mod:`jupyter_mm.client.comparison` (the data preparation the frontend mirrors) and synced as the
``figures`` trait; the browser only renders them and turns clicks into trait changes (``hidden``,
``selected``, ``metric``...), which rebuild every view. So the views cannot disagree, the tests
check what is drawn, and the exported notebook's static HTML is the same figures
(``text/html`` beside the widget view in the mime bundle, plotly.js embedded by default).

**Live.** While any compared run is RUNNING a daemon thread re-reads those runs (at most
:data:`CPU_BUDGET` of the wall clock, like the live run panel) and refreshes the views; it stops
when they have all ended or the widget is closed, and then updates the displayed output so what
is saved is the final state.

Histories are down-sampled by the store keeping extremes (``max_points`` per run); NaN and ±Inf
are drawn as gaps; smoothing is the debiased EMA of ``comparison.ema`` over the points drawn.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets

from ..client import comparison as cmp
from ..errors import InvalidInput
from .widget_base import HAVE_WIDGETS, batched, has_live_comm
from .widget_base import WidgetBase as _Base

if TYPE_CHECKING:
    import numpy as np

    from ..core.entities import Run
    from ..core.store import TrackingStore

STATIC = Path(__file__).parent / "static"
#: Seconds between two polls of the store (at least).
POLL_SECONDS = 1.0
#: Fraction of the wall clock the poller may spend reading; slower polls wait proportionally longer.
CPU_BUDGET = 0.1
#: How long :meth:`CompareWidget.close` waits for the poller to stop.
JOIN_SECONDS = 2.0
#: The views, in the order drawn.
VIEWS = ("curves", "table", "parcoords", "scatter")
#: Params drawn as parallel-coordinate axes at most (differing ones first).
MAX_PARCOORDS_PARAMS = 12
#: How the static ``text/html`` gets plotly.js: ``"embed"`` (offline), ``"cdn"`` or ``"none"``.
STATIC_MODES = ("embed", "cdn", "none")


_plotly_js: bytes | None = None


def _plotly_js_text() -> str:
    global _plotly_js_str
    if _plotly_js_str is None:
        _plotly_js_str = plotly_js().decode("utf-8")
    return _plotly_js_str


_plotly_js_str: str | None = None


def _plotly_js_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: ``<`` only occurs in strings, where ``\\u003c`` means it too."""
    return json.dumps(value, allow_nan=False).replace("<", "\\u003c")


def plotly_js() -> bytes:
    """plotly.js as the installed ``plotly`` package ships it (read once per process)."""
    global _plotly_js
    if _plotly_js is None:
        import plotly

        _plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    return _plotly_js


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


def _num(v: Any) -> float | None:
    """JSON-safe number: NaN/±Inf/None → None."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 13}},
        "margin": {"l": 56, "r": 16, "t": 36, "b": 44},
        "height": 340,
        "autosize": True,
        "template": {"layout": {"font": {"size": 11}}},
    }
    layout.update(extra)
    return layout


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
        base = {
            "type": "scatter",
            "mode": "lines",
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


class _HistoryCache:
    """Down-sampled histories of ended runs (which no longer change), shared by every widget of
    the kernel: running ``mm.compare`` again, or switching back to a metric, reads nothing.
    Least recently used entries go first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, cmp.History] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> cmp.History | None:
        with self._lock:
            h = self._items.get(key)
            if h is not None:
                self._items.move_to_end(key)
            return h

    def put(self, key: Any, h: cmp.History) -> None:
        with self._lock:
            self._items[key] = h
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


#: Histories kept at most (about 16 kB each at 1,000 points).
HISTORY_CACHE_SIZE = 2000
_ENDED_HISTORIES = _HistoryCache(HISTORY_CACHE_SIZE)


# -------------------------------------------------------------------------------------- widget


class CompareWidget(_Base):
    """Runs compared side by side: metric curves, a runs table, parallel coordinates and a scatter,
    linked through ``hidden`` and ``selected``. Build it with :func:`compare`."""

    _esm = STATIC / "compare.js"
    _css = STATIC / "compare.css"

    #: plotly.js, sent once as a binary buffer (see the module docstring)
    _plotly = traitlets.Bytes(b"").tag(sync=True)
    views = traitlets.List(traitlets.Unicode()).tag(sync=True)
    metric_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    param_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    metric = traitlets.Unicode("").tag(sync=True)
    x_axis = traitlets.Unicode("step").tag(sync=True)
    smoothing = traitlets.Float(0.0).tag(sync=True)
    log_y = traitlets.Bool(False).tag(sync=True)
    scatter_param = traitlets.Unicode("").tag(sync=True)
    scatter_metric = traitlets.Unicode("").tag(sync=True)
    #: run ids left out of every view (still listed in the table, unticked)
    hidden = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: run ids highlighted in every view
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    hide_identical = traitlets.Bool(False).tag(sync=True)
    #: the runs table: {"params", "differing", "metrics", "rows": [{id, name, status, color, ...}]}
    table = traitlets.Dict().tag(sync=True)
    #: view name → plotly figure {"data", "layout"}
    figures = traitlets.Dict().tag(sync=True)
    #: whether the poller is following RUNNING runs
    live = traitlets.Bool(False).tag(sync=True)
    #: bumped whenever ``figures`` changes (the browser marks what it drew with it)
    revision = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        runs: Sequence[Run],
        store: TrackingStore,
        metrics: Sequence[str] | None = None,
        params: Sequence[str] | None = None,
        views: Sequence[str] = VIEWS,
        max_points: int | None = None,
        static: str = "embed",
        flushers: Sequence[Any] = (),
    ) -> None:
        if not runs:
            raise InvalidInput("no runs to compare")
        bad = [v for v in views if v not in VIEWS]
        if bad or not views:
            raise InvalidInput(f"views are some of {', '.join(VIEWS)}, got {list(views)!r}")
        if static not in STATIC_MODES:
            raise InvalidInput(f"static is one of {', '.join(STATIC_MODES)}, got {static!r}")
        available = cmp.metric_keys(runs)
        metric_list = cmp.check_keys(metrics, available, "metric")
        if not metric_list:
            raise InvalidInput("none of the compared runs has logged a metric")
        param_list = cmp.check_keys(params, cmp.param_keys(runs), "param")
        self._store = store
        self._runs: list[Run] = list(runs)
        self._colors = {r.id: cmp.run_color(i) for i, r in enumerate(self._runs)}
        self._fixed_metrics = metrics is not None
        self._fixed_params = params is not None
        self._max_points = cmp.points_per_curve(len(self._runs), max_points)
        self._static = static
        self._flushers = list(flushers)
        self._hist: dict[tuple[str, str], tuple[Any, cmp.History]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handle: Any = None
        self._ready = False
        #: seconds the last poll took, and how many polls ran (diagnostics and tests)
        self.last_poll_seconds = 0.0
        self.polls = 0
        differing = cmp.differing_params(self._runs, param_list)[0]
        super().__init__(
            _plotly=plotly_js() if HAVE_WIDGETS else b"",
            views=list(views),
            metric_keys=metric_list,
            param_keys=param_list,
            metric=metric_list[0],
            scatter_param=(differing or param_list or [""])[0],
            scatter_metric=metric_list[0],
        )
        self._ready = True
        self._rebuild()
        if any(r.status == "RUNNING" for r in self._runs):
            self._start()

    # ------------------------------------------------------------------ validation

    @traitlets.validate("metric", "scatter_metric")
    def _valid_metric(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if proposal["trait"].name == "scatter_metric" and value == "":
            return value
        cmp.check_keys([value], list(self.metric_keys), "metric")
        return value

    @traitlets.validate("scatter_param")
    def _valid_param(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value:
            cmp.check_keys([value], list(self.param_keys), "param")
        return value

    @traitlets.validate("x_axis")
    def _valid_axis(self, proposal: Any) -> str:
        return cmp.check_axis(str(proposal["value"]))

    @traitlets.validate("smoothing")
    def _valid_smoothing(self, proposal: Any) -> float:
        return cmp.check_smoothing(proposal["value"])

    @traitlets.validate("hidden", "selected")
    def _valid_ids(self, proposal: Any) -> list[str]:
        known = {r.id for r in self._runs}
        ids = [str(v) for v in proposal["value"]]
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InvalidInput(f"not a compared run: {unknown[0]!r}")
        return list(dict.fromkeys(ids))

    @traitlets.observe(
        "metric",
        "x_axis",
        "smoothing",
        "log_y",
        "scatter_param",
        "scatter_metric",
        "hidden",
        "selected",
    )
    def _changed(self, change: Any) -> None:
        if self._ready:
            self._rebuild()

    # ------------------------------------------------------------------ public

    @property
    def runs(self) -> list[Run]:
        """The compared runs, as last read."""
        return list(self._runs)

    @property
    def visible_runs(self) -> list[Run]:
        hidden = set(self.hidden)
        return [r for r in self._runs if r.id not in hidden]

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop following running runs and close the widget."""
        stop = getattr(self, "_stop", None)  # None: __init__ refused its arguments
        if stop is not None:
            stop.set()
        thread = getattr(self, "_thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_SECONDS)
        if HAVE_WIDGETS:
            super().close()

    def summary(self) -> str:
        n = len(self._runs)
        shown = len(self.visible_runs)
        parts = [f"compare {n} run{'s' if n != 1 else ''}"]
        if shown != n:
            parts.append(f"{shown} shown")
        parts.append(f"metric {self.metric}")
        running = sum(r.status == "RUNNING" for r in self._runs)
        if running:
            parts.append(f"{running} running")
        return (
            " · ".join(parts)
            + ": "
            + ", ".join(r.name for r in self._runs[:10])
            + ("…" if n > 10 else "")
        )

    def __repr__(self) -> str:
        return f"<CompareWidget {self.summary()}>"

    # ------------------------------------------------------------------ building views

    def _history(self, run: Run, key: str) -> cmp.History | None:
        if key not in run.metrics:
            return None
        latest = run.latest_metrics.get(key)
        mark = (latest.step, latest.timestamp) if latest is not None else None
        cached = self._hist.get((run.id, key))
        if cached is not None and cached[0] == mark and mark is not None:
            return cached[1]
        shared = (self._store.display_uri, run.id, key, self._max_points, mark)
        ended = run.status != "RUNNING" and mark is not None
        h = _ENDED_HISTORIES.get(shared) if ended else None
        if h is None:
            h = cmp.history(self._store, run.id, key, self._max_points)
            if ended:
                _ENDED_HISTORIES.put(shared, h)
        self._hist[(run.id, key)] = (mark, h)
        return h

    def _rebuild(self) -> None:
        """Recompute the table and every figure from the current runs and choices."""
        with self._lock:
            runs = self.visible_runs
            selected = [i for i in self.selected if i not in set(self.hidden)]
            figures: dict[str, Any] = {}
            if "curves" in self.views:
                hist = {}
                for r in runs:
                    h = self._history(r, self.metric)
                    if h is not None:
                        hist[r.id] = h
                figures["curves"] = curves_figure(
                    runs,
                    hist,
                    self.metric,
                    self._colors,
                    self.x_axis,
                    self.smoothing,
                    self.log_y,
                    selected,
                )
            differing, _ = cmp.differing_params(self._runs, self.param_keys)
            if "parcoords" in self.views:
                axes = (differing or list(self.param_keys))[:MAX_PARCOORDS_PARAMS]
                figures["parcoords"] = parcoords_figure(runs, axes, self.metric)
            if "scatter" in self.views:
                figures["scatter"] = scatter_figure(
                    runs, self.scatter_param, self.scatter_metric, self._colors, selected
                )
            table = self._table(differing)
            with self._batch():
                self.table = table
                self.figures = figures
                self.revision += 1

    def _table(self, differing: list[str]) -> dict[str, Any]:
        rows = []
        for r in self._runs:
            rows.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "status": r.status,
                    "color": self._colors[r.id],
                    "params": {k: r.params.get(k) for k in self.param_keys},
                    "metrics": {k: _num(r.metrics.get(k)) for k in self.metric_keys},
                }
            )
        return {
            "params": list(self.param_keys),
            "differing": differing,
            "metrics": list(self.metric_keys),
            "rows": rows,
        }

    def _batch(self) -> contextlib.AbstractContextManager[None]:
        return batched(self)

    # ------------------------------------------------------------------ live

    def _start(self) -> None:
        if self._thread is not None:
            return
        self.live = True
        self._thread = threading.Thread(target=self._loop, name="jupyter-mm-compare", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self._interval()):
                t0 = time.perf_counter()
                going = self.refresh()
                self.last_poll_seconds = time.perf_counter() - t0
                self.polls += 1
                if not going:
                    break
        except BaseException:  # a daemon thread must never raise into the kernel
            pass
        finally:
            try:
                self.live = False
                if not self._stop.is_set():
                    self._update_display()
            except Exception:
                pass

    def _interval(self) -> float:
        return max(POLL_SECONDS, self.last_poll_seconds / CPU_BUDGET)

    def refresh(self) -> bool:
        """Re-read the runs still RUNNING and redraw if anything changed; False once none runs."""
        for f in self._flushers:
            if not getattr(f, "ended", False):
                with contextlib.suppress(Exception):
                    f.flush()
        changed = False
        with self._lock:
            fresh = []
            for r in self._runs:
                if r.status != "RUNNING":
                    fresh.append(r)
                    continue
                new = self._store.get_run(r.id)
                if (new.status, new.metrics, new.params) != (r.status, r.metrics, r.params):
                    changed = True
                fresh.append(new)
            if not changed or self._stop.is_set():
                return any(r.status == "RUNNING" for r in self._runs)
            self._runs = fresh
            with self._batch():
                if not self._fixed_metrics:
                    keys = cmp.metric_keys(fresh)
                    if keys != list(self.metric_keys):
                        self.metric_keys = keys
                if not self._fixed_params:
                    keys = cmp.param_keys(fresh)
                    if keys != list(self.param_keys):
                        self.param_keys = keys
                self._rebuild()
        return any(r.status == "RUNNING" for r in fresh)

    # ------------------------------------------------------------------ display

    def _ipython_display_(self) -> None:
        """Display with a display id, so the final state of a live comparison can replace it."""
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        self._handle = display(data, metadata=metadata, raw=True, display_id=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        data: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        if self._widget_ok():
            try:
                bundle = super()._repr_mimebundle_(**kwargs)
                if isinstance(bundle, tuple):
                    data, metadata = dict(bundle[0]), dict(bundle[1] or {})
                elif bundle:
                    data = dict(bundle)
            except Exception:
                data = {}
        data["text/plain"] = self.summary()
        if self._static != "none":
            data["text/html"] = self.static_html()
        return data, metadata

    def static_html(self, include_plotlyjs: str | None = None) -> str:
        """The current state as static HTML, as plotly's ``to_html`` writes it: each figure as a
        div and a ``Plotly.newPlot`` call, plotly.js embedded once before them (``"embed"``) or
        from its CDN (``"cdn"``), and the runs table. Figures are JSON with every ``<`` written
        ``\\u003c`` (no user string can close the script); the table is HTML-escaped."""
        mode = include_plotlyjs or self._static
        parts = ["<div class='jmm-compare-static'>"]
        if mode == "embed":
            parts.append(f'<script type="text/javascript">{_plotly_js_text()}</script>')
        elif mode == "cdn":
            parts.append(
                f'<script src="https://cdn.plot.ly/plotly-{_plotly_js_version()}.min.js" '
                'charset="utf-8"></script>'
            )
        config = _script_json({"displaylogo": False, "responsive": True})
        for view in self.views:
            if view == "table":
                parts.append(self._table_html())
                continue
            fig = self.figures.get(view)
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

    def _table_html(self) -> str:
        e = html.escape
        t = self.table
        hidden = set(self.hidden)
        differing = set(t.get("differing", []))
        params = [p for p in t.get("params", []) if not self.hide_identical or p in differing]
        mark = {p: " style='background:#fff7d6'" if p in differing else "" for p in params}
        head = "".join(f"<th{mark[p]}>{e(p)}</th>" for p in params) + "".join(
            f"<th>{e(m)}</th>" for m in t.get("metrics", [])
        )
        body = []
        for row in t.get("rows", []):
            if row["id"] in hidden:
                continue
            style = cmp.status_style(row["status"])
            cells = "".join(
                f"<td{mark[p]}>{e('' if row['params'].get(p) is None else str(row['params'][p]))}"
                "</td>"
                for p in params
            ) + "".join(
                f"<td>{'' if v is None else f'{v:.6g}'}</td>" for v in row["metrics"].values()
            )
            body.append(
                f"<tr><td><span style='color:{e(row['color'])}'>&#9632;</span> {e(row['name'])}</td>"
                f"<td style='{style}'>{e(row['status'])}</td>{cells}</tr>"
            )
        return (
            "<table class='jmm-compare-table' style='border-collapse:collapse;font-size:12px'>"
            f"<thead><tr><th>run</th><th>status</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def _widget_ok(self) -> bool:
        return has_live_comm(self)

    def _update_display(self) -> None:
        handle = self._handle
        if handle is None:
            return
        with contextlib.suppress(Exception):
            data, metadata = self._repr_mimebundle_()
            handle.update(data, metadata=metadata, raw=True)


# ------------------------------------------------------------------------------- entry points


def compare(
    runs_or_filter: Any = None,
    metrics: Sequence[str] | str | None = None,
    params: Sequence[str] | str | None = None,
    experiment: str | Iterable[str] | None = None,
    *,
    max_points: int | None = None,
    static: str = "embed",
) -> CompareWidget:
    """Compare runs in the notebook: metric curves (step or wall time, EMA smoothing, log scale),
    a runs table with the differing params highlighted, parallel coordinates over the params
    towards a chosen metric, and a scatter of any param against any metric. Hiding or selecting
    runs in one view updates the others; running runs update live.

    ``runs_or_filter``: a filter in the search grammar (``"params.opt = 'adam'"``), run ids or runs,
    or a DataFrame from ``mm.runs()``. ``metrics`` / ``params`` limit the keys offered (default:
    all). ``max_points``: points per curve (down-sampled keeping extremes; default: 20,000 shared
    among the runs, 200 to 1,000 each). ``static``: how the
    exported notebook's static HTML gets plotly.js (``"embed"``, ``"cdn"`` or ``"none"``).
    """
    from ..client.reading import get_store

    store = get_store()
    runs = cmp.resolve_runs(runs_or_filter, experiment, store)
    flushers = _flushers(runs_or_filter)
    return CompareWidget(
        runs,
        store,
        metrics=[metrics] if isinstance(metrics, str) else metrics,
        params=[params] if isinstance(params, str) else params,
        max_points=max_points,
        static=static,
        flushers=flushers,
    )


def plot_metric(
    runs: Any,
    key: str,
    *,
    x_axis: str = "step",
    smoothing: float = 0.0,
    log_y: bool = False,
    max_points: int | None = None,
    static: str = "embed",
) -> CompareWidget:
    """One chart: ``key`` over steps (or wall time) for one run or several (ids, runs, a filter
    or a ``mm.runs()`` DataFrame), with the same controls and live updates as :func:`compare`."""
    from ..client.reading import get_store

    store = get_store()
    resolved = cmp.resolve_runs(runs, None, store)
    widget = CompareWidget(
        resolved,
        store,
        metrics=[key],
        params=[],
        views=("curves",),
        max_points=max_points,
        static=static,
        flushers=_flushers(runs),
    )
    widget.x_axis = x_axis
    widget.smoothing = smoothing
    widget.log_y = log_y
    return widget


def _flushers(value: Any) -> list[Any]:
    """Run objects with a metric buffer (active runs) among what was passed: flushed before polls."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if callable(getattr(v, "flush", None)) and hasattr(v, "id")]


# ----------------------------------------------------------------------------------- diff


class RunDiff:
    """What differs between two runs (from :func:`jupyter_mm.client.comparison.run_diff`),
    displayed as compact HTML tables and the notebook diff; ``.data`` holds the plain dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text())

    def text(self) -> str:
        d = self.data
        lines = [
            f"diff {d['a']['name']} ({d['a']['id'][:8]}) → {d['b']['name']} ({d['b']['id'][:8]})"
        ]
        for part in ("params", "metrics", "tags", "environment", "datasets"):
            rows = d.get(part, [])
            lines.append(f"{part}: {len(rows)} difference{'s' if len(rows) != 1 else ''}")
            for row in rows[:20]:
                lines.append(f"  {row['key']}: {_short(row['a'])} → {_short(row['b'])}")
            if len(rows) > 20:
                lines.append(f"  … {len(rows) - 20} more")
        nb = d.get("notebook")
        if nb is not None:
            if "error" in nb:
                lines.append(f"notebook: {nb['error']}")
            else:
                c = nb["cells"]
                lines.append(
                    f"notebook: {c['modified']} cell(s) modified, {c['added']} added, "
                    f"{c['removed']} removed"
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        d = self.data
        out = [
            "<div class='jmm-diff' style='font-size:12px'>",
            f"<div><b>{e(d['a']['name'])}</b> <code>{e(d['a']['id'][:8])}</code> → "
            f"<b>{e(d['b']['name'])}</b> <code>{e(d['b']['id'][:8])}</code></div>",
        ]
        for part in ("params", "metrics", "tags", "environment", "datasets"):
            rows = d.get(part, [])
            out.append(f"<h4 style='margin:8px 0 2px'>{part} ({len(rows)})</h4>")
            if not rows:
                out.append("<div style='color:#666'>no differences</div>")
                continue
            body = "".join(
                f"<tr><td><code>{e(str(r['key']))}</code></td><td>{e(_short(r['a']))}</td>"
                f"<td>{e(_short(r['b']))}</td><td>{_delta(r)}</td></tr>"
                for r in rows[:200]
            )
            more = f"<div>… {len(rows) - 200} more</div>" if len(rows) > 200 else ""
            out.append(
                "<table style='border-collapse:collapse'><thead><tr><th>key</th>"
                f"<th>{e(d['a']['name'])}</th><th>{e(d['b']['name'])}</th><th></th></tr></thead>"
                f"<tbody>{body}</tbody></table>{more}"
            )
        nb = d.get("notebook")
        if nb is not None:
            out.append("<h4 style='margin:8px 0 2px'>notebook</h4>")
            out.append(notebook_diff_html(nb))
        out.append("</div>")
        return "".join(out)


def _short(v: Any, limit: int = 120) -> str:
    if v is None:
        return "–"
    text = f"{v:.6g}" if isinstance(v, float) else str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _delta(row: dict[str, Any]) -> str:
    a, b = row["a"], row["b"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isfinite(a) and math.isfinite(b):
            return html.escape(f"{b - a:+.4g}")
    return html.escape(row["change"])


def notebook_diff_html(nb: dict[str, Any]) -> str:
    """The notebook part of a run diff: nbdime's diff printed as text (its pretty printer), each
    line escaped and coloured by whether it was added or removed."""
    e = html.escape
    if "error" in nb:
        return f"<div style='color:#666'>{e(nb['error'])}</div>"
    c = nb["cells"]
    head = (
        f"<div>{c['modified']} cell(s) modified, {c['added']} added, {c['removed']} removed "
        f"(snapshots: {e(nb['base']['source'])} → {e(nb['other']['source'])})</div>"
    )
    text = nb.get("text")
    if not text:
        return head
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        color = ""
        if stripped.startswith("+"):
            color = "background:#e6ffec"
        elif stripped.startswith("-"):
            color = "background:#ffebe9"
        lines.append(f"<div style='{color}'>{e(line) or '&nbsp;'}</div>")
    return (
        f"{head}<div style='font-family:var(--jp-code-font-family,monospace);white-space:pre;"
        f"overflow:auto;max-height:480px;border:1px solid #ddd;padding:4px'>{''.join(lines)}</div>"
    )


def diff(run_a: Any, run_b: Any, notebook: bool = True) -> RunDiff:
    """Differences between two runs: params, latest metrics, tags, environment (packages, Python,
    platform), datasets, and the notebook diff of their snapshots (nbdime), shown inline."""
    from ..client.reading import get_store

    store = get_store()
    data = cmp.run_diff(store, run_a, run_b, notebook=notebook)
    nb = data.get("notebook")
    if nb is not None and "error" not in nb:
        nb["text"] = _nbdime_text(store, data["a"]["id"], nb["diff"])
    return RunDiff(data)


def _nbdime_text(store: TrackingStore, base_id: str, diff_ops: list[Any]) -> str:
    """nbdime's own text rendering of a notebook diff, without ANSI colours."""
    import io

    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_diff

    from ..client.snapshots import best_snapshot

    base, _ = best_snapshot(store, base_id)
    out = io.StringIO()
    # difflib, not git/diff subprocesses; no ANSI colours (the HTML colours lines itself)
    config = PrettyPrintConfig(out=out, use_git=False, use_diff=False, use_color=False)
    try:
        pretty_print_diff(base, _entries(diff_ops), "", config)
    except Exception as exc:  # a diff nbdime cannot print: say so, keep the rest
        return f"(nbdime could not print this diff: {exc})"
    return _strip_ansi(out.getvalue())


def _entries(value: Any) -> Any:
    """Plain diff dicts back into nbdime's ``DiffEntry`` objects (its printer reads attributes)."""
    from nbdime.diff_format import DiffEntry

    if isinstance(value, list):
        return [_entries(v) for v in value]
    if isinstance(value, dict) and "op" in value:
        return DiffEntry(**{k: _entries(v) if k == "diff" else v for k, v in value.items()})
    return value


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
