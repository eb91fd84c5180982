"""``mm.compare`` / ``mm.plot_metric``: comparing runs in the notebook (``mm.diff`` for two runs
is :mod:`.run_diff`).

**One anywidget, plotly.js sent once.** The widget is a single anywidget (``static/compare.js``,
plain ESM, no build step) that draws its four linked views with plotly.js. plotly's
``FigureWidget`` is itself an anywidget whose ESM carries all of plotly.js (about 5 MB): four of
them in an ipywidgets box would send it four times per comparison. Here plotly.js (the copy the
``plotly`` package ships, so nothing is fetched from a network) travels once per widget as a
binary buffer, and the browser imports it once per page. anywidget renders the same way in
JupyterLab 4, Notebook 7 and VS Code, with no iframe and no frontend build.

**Python computes, the browser draws.** Every view is a plotly figure built by
:mod:`.compare_figures` from :mod:`jupyter_mm.client.comparison` (the data preparation the
frontend mirrors) and synced as the ``figures`` trait; the browser only renders them and turns
clicks into trait changes (``hidden``, ``selected``, ``metric``...), which rebuild every view. So
the views cannot disagree, the tests check what is drawn, and the exported notebook's static HTML
is the same figures (``text/html`` beside the widget view in the mime bundle, plotly.js embedded
by default).

**Live.** While any compared run is RUNNING a daemon thread re-reads those runs (at most
:data:`CPU_BUDGET` of the wall clock, like the live run panel) and refreshes the views; it stops
when they have all ended or the widget is closed, and then updates the displayed output so what
is saved is the final state.

Histories are down-sampled by the store keeping extremes (``max_points`` per run); NaN and ±Inf
are drawn as gaps; smoothing is the debiased EMA of ``comparison.ema`` over the points drawn.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from ..client import comparison as cmp
from ..errors import InvalidInput
from .compare_figures import (
    curves_figure,
    parcoords_figure,
    plotly_js,
    scatter_figure,
    static_html,
    table_html,
)
from .failsafe import swallowed
from .widget_base import HAVE_WIDGETS, NotebookWidget, widget_module

if TYPE_CHECKING:
    from ..core.entities import Run
    from ..core.store import TrackingStore

_log = logging.getLogger(__name__)

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


class CompareWidget(NotebookWidget):
    """Runs compared side by side: metric curves, a runs table, parallel coordinates and a scatter,
    linked through ``hidden`` and ``selected``. Build it with :func:`compare`."""

    _esm = widget_module("compare.js", "plotly.js")
    _css = widget_module("compare.css")
    _poll_seconds = POLL_SECONDS
    _cpu_budget = CPU_BUDGET
    _thread_name = "jupyter-mm-compare"

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
        self._ready = False
        differing = cmp.differing_params(self._runs, param_list)[0]
        super().__init__(
            _plotly=plotly_js() if HAVE_WIDGETS else b"",
            views=list(views),
            metric_keys=metric_list,
            param_keys=param_list,
            # the user's first metric, else one with a history that varies across the runs
            metric=metric_list[0] if metrics is not None else cmp.default_metric(runs, metric_list),
            scatter_param=(differing or param_list or [""])[0],
            scatter_metric=metric_list[0]
            if metrics is not None
            else cmp.default_metric(runs, metric_list, history=False),
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

    def close(self) -> None:
        """Stop following running runs and close the widget."""
        self._stop_polling(JOIN_SECONDS)
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
                    "metrics": {k: cmp.as_number(r.metrics.get(k)) for k in self.metric_keys},
                }
            )
        return {
            "params": list(self.param_keys),
            "differing": differing,
            "metrics": list(self.metric_keys),
            "rows": rows,
        }

    # ------------------------------------------------------------------ live

    def _start(self) -> None:
        if self._thread is None:
            self.live = True
            self._start_polling()

    def _poll(self) -> bool:
        return self.refresh()

    def _polling_ended(self) -> None:
        self.live = False
        if not self._stop.is_set():  # the runs ended: what the saved notebook keeps is now final
            self._update_display()

    def refresh(self) -> bool:
        """Re-read the runs still RUNNING and redraw if anything changed; False once none runs."""
        for f in self._flushers:
            if not getattr(f, "ended", False):
                with swallowed(_log, "flushing a compared run's metrics"):
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

    def _fallback_html(self) -> str | None:
        return None if self._static == "none" else self.static_html()

    def static_html(self, include_plotlyjs: str | None = None) -> str:
        """The current state as static HTML (:func:`.compare_figures.static_html`): plotly.js
        embedded (``"embed"``), from its CDN (``"cdn"``) or not at all (``"none"``); default: the
        widget's ``static`` mode."""
        table = table_html(self.table, self.hidden, self.hide_identical)
        return static_html(self.views, self.figures, table, include_plotlyjs or self._static)


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
