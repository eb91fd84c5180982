"""What the notebook's anywidgets (the live run panel, the comparison widget) share:
:class:`NotebookWidget`.

**Always a fallback.** The mime bundle always carries ``text/plain`` (and usually ``text/html``)
beside the widget view, so exported notebooks and frontends without a widget manager still say
what the widget showed. Without anywidget the widgets still exist as plain ``HasTraits`` objects
with the same traits and render only that fallback.

**Displayed once, updated in place.** A widget is displayed as a raw mime bundle with a display
id; :meth:`NotebookWidget._update_display` replaces that output with the current bundle, so what a
saved notebook keeps is the final state, not the first one.

**Polled within a budget.** A daemon thread calls :meth:`NotebookWidget._poll` at least
``_poll_seconds`` apart, and longer when a poll is slow, so polling never takes more than
``_cpu_budget`` of the wall clock; it stops when the poll says so or on
:meth:`NotebookWidget._stop_polling`.

None of it raises into the user's cell: failures go to a debug log (:mod:`.failsafe`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import traitlets

from .failsafe import log_swallowed, swallowed

_log = logging.getLogger(__name__)

#: The widgets' ESM and CSS (plain files, no build step).
STATIC = Path(__file__).parent / "static"


def widget_module(name: str, *shared: str) -> str:
    """The ESM or CSS a widget sends: ``static/widget.js`` (or ``.css``), what every widget
    shares, then the ``shared`` parts some widgets share (e.g. ``plotly.js``), then
    ``static/<name>``. An anywidget module is one file: it cannot import a sibling."""
    parts = ["widget" + Path(name).suffix, *shared, name]
    return "\n".join((STATIC / part).read_text(encoding="utf-8") for part in parts)


try:
    import anywidget

    WidgetBase: Any = anywidget.AnyWidget
    HAVE_WIDGETS = True
except Exception:  # pragma: no cover - exercised only without anywidget
    log_swallowed(_log, "importing anywidget (the widgets show their text fallback only)")
    WidgetBase = traitlets.HasTraits
    HAVE_WIDGETS = False


class NotebookWidget(WidgetBase):
    """An anywidget with a text fallback, an updatable display and an optional poller.

    Subclasses give :meth:`summary` (the ``text/plain`` fallback), :meth:`_fallback_html` and,
    if they poll, :meth:`_poll`.
    """

    #: seconds between two polls (at least)
    _poll_seconds = 1.0
    #: fraction of the wall clock the poller may spend polling: slower polls wait longer
    _cpu_budget = 0.1
    _thread_name = "jupyter-mm-widget"
    # class defaults, so that closing a widget whose __init__ failed early still works
    _thread: threading.Thread | None = None
    _handle: Any = None

    def __init__(self, **traits: Any) -> None:
        self._stop = threading.Event()
        #: seconds the last poll took, and how many polls ran (diagnostics and tests)
        self.last_poll_seconds = 0.0
        self.polls = 0
        super().__init__(**traits)

    # ------------------------------------------------------------------ fallback

    def summary(self) -> str:
        """One line saying what the widget shows: the ``text/plain`` fallback."""
        raise NotImplementedError

    def _fallback_html(self) -> str | None:
        """The ``text/html`` fallback, or None for none."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.summary()}>"

    def _widget_ok(self) -> bool:
        """Whether this is a real widget with a kernel comm (outside a kernel, ipywidgets gives a
        ``DummyComm`` that no frontend will ever see)."""
        if not HAVE_WIDGETS:
            return False
        c = getattr(self, "comm", None)
        if c is None:
            return False
        try:
            import comm

            return not isinstance(c, comm.DummyComm)
        except Exception:
            log_swallowed(_log, "checking the widget's comm")
            return False

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
                log_swallowed(_log, "building the widget view's mime bundle")
                data = {}
        data["text/plain"] = self.summary()
        html = self._fallback_html()
        if html is not None:
            data["text/html"] = html
        return data, metadata

    # ------------------------------------------------------------------ display

    def _ipython_display_(self) -> None:
        """Display with a display id, so :meth:`_update_display` can replace the output."""
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        extra = {"metadata": metadata} if metadata else {}
        self._handle = display(data, raw=True, display_id=True, **extra)

    def _update_display(self) -> None:
        """Replace the displayed output with the current bundle (what a saved notebook keeps)."""
        handle = self._handle
        if handle is None:
            return
        with swallowed(_log, "updating the displayed widget"):
            data, metadata = self._repr_mimebundle_()
            handle.update(data, metadata=metadata, raw=True)

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """Send every trait change made inside as one comm message (``hold_sync``), when there is
        one."""
        hold = getattr(self, "hold_sync", None)
        if hold is None:
            yield
        else:
            with hold():
                yield

    # ------------------------------------------------------------------ polling

    def _poll(self) -> bool:
        """One poll; False when there is nothing more to follow."""
        raise NotImplementedError

    def _polling_ended(self) -> None:
        """Called in the poller thread when it stops, however it stops."""

    @property
    def polling(self) -> bool:
        """Whether the poller thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _start_polling(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll_loop, name=self._thread_name, daemon=True)
        self._thread.start()

    def _stop_polling(self, join_seconds: float) -> None:
        """Stop the poller and wait up to ``join_seconds`` for it (not when called from it)."""
        stop = getattr(self, "_stop", None)  # None: __init__ failed before the base's
        if stop is not None:
            stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_seconds)

    def _poll_loop(self) -> None:
        try:
            # the first poll comes one interval in: a short cell ends before it and costs no poll
            while not self._stop.wait(
                max(self._poll_seconds, self.last_poll_seconds / self._cpu_budget)
            ):
                t0 = time.perf_counter()
                going = self._poll()
                self.last_poll_seconds = time.perf_counter() - t0
                self.polls += 1
                if not going:
                    break
        except BaseException:  # a daemon thread must never raise into the kernel
            log_swallowed(_log, f"polling in {self._thread_name}")
        finally:
            with swallowed(_log, f"ending {self._thread_name}"):
                self._polling_ended()
