"""The compact live panel a ``%%track`` cell shows in its output area while it runs.

An anywidget (``static/live_panel.js``, plain ESM, no build step) showing the run's name and id, its
status, the elapsed time and a sparkline per metric with the latest value. A daemon thread polls the
store every :data:`POLL_SECONDS` (backing off so that polling never takes more than
:data:`CPU_BUDGET` of the wall clock) and sets the synced traits; the browser computes the elapsed
time itself from ``started``. :meth:`LivePanel.finish` stops the thread and shows the final status
and metrics.

Where widgets cannot be shown (anywidget/ipywidgets missing, or no kernel comm) :meth:`LivePanel.show`
displays a one-line text summary instead, updated in place by :meth:`LivePanel.finish` (not while the
run goes on: every update would be another output message, and another output for ``%%track``'s
output recorder). The mime bundle always carries
``text/plain`` and ``text/html`` summaries too, so exported notebooks and frontends without a widget
manager still say what the run did.

Metric values are JSON-safe: NaN becomes the string ``"NaN"``, ±Inf ``"inf"`` / ``"-inf"``.
"""

from __future__ import annotations

import html
import logging
import math
import threading
import time
from typing import Any

import traitlets

from .failsafe import log_swallowed, swallowed
from .widget_base import NotebookWidget, widget_module

_log = logging.getLogger(__name__)

#: Seconds between two polls of the store (at least).
POLL_SECONDS = 0.5
#: Fraction of the wall clock the poller may spend reading: slower polls wait proportionally longer.
CPU_BUDGET = 0.1
#: Metrics drawn as sparklines (the first ones in name order); the others show their latest value.
MAX_SPARKLINES = 8
#: Points per sparkline (down-sampled by the store, keeping extremes).
MAX_POINTS = 60
#: Metrics listed at all; the rest are counted in ``hidden``.
MAX_LISTED = 40
#: How long :meth:`LivePanel.finish` waits for the poller to stop.
JOIN_SECONDS = 1.0


def jsonable(value: Any) -> float | str | None:
    """A metric value JSON can carry: floats as they are, NaN as ``"NaN"``, ±Inf as ``"inf"``/``"-inf"``."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


def format_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


class LivePanel(NotebookWidget):
    """Live view of one run in the output of the cell that runs it.

    ``LivePanel(run).show()`` displays it and starts polling; ``finish(status)`` stops polling and
    shows the final state. Neither raises: a panel that cannot read the store just stops updating.
    """

    _esm = widget_module("live_panel.js")
    _css = widget_module("live_panel.css")
    _poll_seconds = POLL_SECONDS
    _cpu_budget = CPU_BUDGET
    _thread_name = "jupyter-mm-live-panel"

    name = traitlets.Unicode("").tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("RUNNING").tag(sync=True)
    #: epoch seconds
    started = traitlets.Float(0.0).tag(sync=True)
    ended = traitlets.Float(None, allow_none=True).tag(sync=True)
    #: the kernel's clock at the last update (epoch seconds), so the browser can correct for skew
    clock = traitlets.Float(0.0).tag(sync=True)
    #: key → {"last": float | "NaN" | "inf" | "-inf" | None, "points": [[step, value], ...]}
    metrics = traitlets.Dict().tag(sync=True)
    #: metrics beyond the MAX_LISTED shown
    hidden = traitlets.Int(0).tag(sync=True)

    def __init__(self, run: Any, flush: bool = True) -> None:
        info = getattr(run, "info", None)
        start_ms = getattr(info, "start_time", None)
        now = time.time()
        super().__init__(
            name=str(run.name or ""),
            run_id=str(run.id),
            started=start_ms / 1000 if isinstance(start_ms, int) else now,
            clock=now,
        )
        self._run = run
        self._flush = flush
        self._apply_lock = threading.Lock()
        self._finished = False
        self._histories: dict[str, tuple[tuple[int, int], list[list[Any]]]] = {}

    # ------------------------------------------------------------------ public

    def show(self) -> LivePanel:
        """Display the panel in the current output and start polling; returns self."""
        with swallowed(_log, "displaying the live panel"):
            from IPython.core.interactiveshell import InteractiveShell

            if InteractiveShell.initialized():  # else plain Python: nothing to display into
                self._ipython_display_()  # the widget view, or the text fallback alone
        if not self._finished:
            self._start_polling()
        return self

    def finish(self, status: str = "FINISHED") -> None:
        """Stop polling; show ``status`` and the final metrics. Never raises."""
        if self._finished:
            return
        self._finished = True
        self._stop_polling(JOIN_SECONDS)
        with swallowed(_log, "reading the run's final state"):
            self._refresh(final=True)
        with swallowed(_log, "setting the final status"), self._batch():
            self.status = str(status)
            if self.ended is None:
                self.ended = time.time()
            self.clock = time.time()
        self._update_display()  # the final state in the output (also what an exported one keeps)

    def summary(self) -> str:
        """One line: ``run 'name' (id 1234abcd…) STATUS 3.2s · acc 0.9 · loss 0.2``."""
        head = f"run {self.name!r} (id {self.run_id[:8]}…) {self.status} {self._elapsed()}"
        parts = [head] + [f"{k} {format_value(m.get('last'))}" for k, m in self.metrics.items()]
        if self.hidden:
            parts.append(f"+{self.hidden} more")
        return " · ".join(parts)

    # ------------------------------------------------------------------ display

    def _fallback_html(self) -> str:
        e = html.escape
        cells = "".join(
            f"<span style='margin-left:1em'>{e(k)} <b>{e(format_value(m.get('last')))}</b></span>"
            for k, m in self.metrics.items()
        )
        more = f"<span style='margin-left:1em'>+{self.hidden} more</span>" if self.hidden else ""
        return (
            "<div class='jmm-live-static' style='font-family:var(--jp-ui-font-family,sans-serif);"
            "font-size:12px'>"
            f"<b>{e(self.name)}</b> <code title='{e(self.run_id)}'>{e(self.run_id[:8])}…</code> "
            f"<span>{e(self.status)}</span> <span>{e(self._elapsed())}</span>{cells}{more}</div>"
        )

    def _elapsed(self) -> str:
        end = self.ended if self.ended is not None else time.time()
        return format_duration(end - self.started)

    # ------------------------------------------------------------------ polling

    def _poll(self) -> bool:
        return self._refresh()

    def _refresh(self, final: bool = False) -> bool:
        """Read the run from the store and set the traits; False once the run has ended."""
        run = self._run
        if self._flush and not final and not getattr(run, "ended", False):
            with swallowed(_log, "flushing the run's metrics"):
                run.flush()  # fresher than waiting for the writer thread
        info = run.store.get_run(run.id)
        metrics, hidden = self._read_metrics(run, info, final)
        with self._apply_lock:
            if self._stop.is_set() and not final:
                return False  # finish() took over: do not overwrite its state
            changed = metrics != self.metrics or hidden != self.hidden
            done = info.status != "RUNNING"
            with self._batch():
                if changed or done:
                    self.clock = time.time()
                if changed:
                    self.metrics = metrics
                    self.hidden = hidden
                if done:
                    if not final:
                        self.status = info.status
                    if info.end_time is not None:
                        self.ended = info.end_time / 1000
        return not done

    def _read_metrics(self, run: Any, info: Any, final: bool) -> tuple[dict[str, Any], int]:
        latest = info.latest_metrics
        keys = sorted(info.metrics)
        out: dict[str, Any] = {}
        for i, key in enumerate(keys[:MAX_LISTED]):
            point = latest.get(key)
            points: list[list[Any]] = []
            if i < MAX_SPARKLINES:
                mark = (point.step, point.timestamp) if point is not None else (0, 0)
                cached = self._histories.get(key)
                if cached is not None and cached[0] == mark and not final:
                    points = cached[1]
                else:
                    h = run.store.get_metric_history(run.id, key, max_points=MAX_POINTS)
                    points = [
                        [int(s), jsonable(v)]
                        for s, v in zip(h["step"].tolist(), h["value"].tolist(), strict=False)
                    ]
                    self._histories[key] = (mark, points)
            out[key] = {"last": jsonable(info.metrics[key]), "points": points}
        return out, max(0, len(keys) - MAX_LISTED)


def show_live_panel(run: Any) -> LivePanel | None:
    """``LivePanel(run).show()``, or None if even that failed: for ``%%track``, where a panel must
    never cost the user's cell."""
    try:
        return LivePanel(run).show()
    except Exception:
        log_swallowed(_log, "showing a live panel")
        return None
