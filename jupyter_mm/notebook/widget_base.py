"""What the notebook's anywidgets (the live run panel, the comparison widgets) share.

Without anywidget they still exist as plain ``HasTraits`` objects with the same traits, so they can
render their static ``text/html`` fallback; :func:`has_live_comm` says whether a frontend can render
the widget itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import traitlets

try:
    import anywidget

    WidgetBase: Any = anywidget.AnyWidget
    HAVE_WIDGETS = True
except Exception:  # pragma: no cover - exercised only without anywidget
    WidgetBase = traitlets.HasTraits
    HAVE_WIDGETS = False


def has_live_comm(widget: Any) -> bool:
    """Whether ``widget`` is a real widget with a kernel comm (outside a kernel, ipywidgets gives
    a ``DummyComm`` that no frontend will ever see)."""
    if not HAVE_WIDGETS:
        return False
    c = getattr(widget, "comm", None)
    if c is None:
        return False
    try:
        import comm

        return not isinstance(c, comm.DummyComm)
    except Exception:
        return False


@contextlib.contextmanager
def batched(widget: Any) -> Iterator[None]:
    """Send every trait change made inside as one comm message (``hold_sync``), when there is one."""
    hold = getattr(widget, "hold_sync", None)
    if hold is None:
        yield
    else:
        with hold():
            yield
