"""``mm.drift_report``: a model's drift in the notebook, the verdicts of ``mm.drift`` with the
figures that show their working.

One anywidget (``static/drift_report.js``, plain ESM, no build step) drawing plotly figures the
kernel builds (:mod:`.drift_figures`) from the report's JSON (:mod:`jupyter_mm.monitoring.report`:
the same read of the log and the same preset as ``mm.drift``, so the table and ``mm.drift``
agree). plotly.js travels once as a binary trait, as in ``mm.compare``. The browser shows the
verdict table, the score's distributions, and the distributions and statistic over time of the
feature chosen in the table (the ``feature`` trait). The mime bundle's ``text/html`` holds the
whole report (every feature's figures), which is what an nbconvert export shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from ..errors import InvalidInput
from ..monitoring.current import MAX_ROWS, MIN_ROWS, DriftRequest
from .compare_figures import plotly_js
from .drift_figures import STATIC_MODES, figures, headline, static_html
from .widget_base import HAVE_WIDGETS, NotebookWidget, widget_module

if TYPE_CHECKING:
    from ..monitoring.presets import Thresholds

#: Periods a window is split into for the statistics over time, by default.
PERIODS = 6


def _check_static(static: str) -> None:
    """The widget's and ``mm.drift_report``'s check of ``static``, one message for both."""
    if static not in STATIC_MODES:
        raise InvalidInput(f"static is one of {', '.join(STATIC_MODES)}, got {static!r}")


class DriftReport(NotebookWidget):
    """A drift report: build it with :func:`drift_report`. ``report`` is the report's JSON
    (:func:`jupyter_mm.monitoring.report.report_data`), ``figures`` its plotly figures per
    feature, ``feature`` the feature shown beside the score."""

    _esm = widget_module("drift_report.js", "plotly.js")
    _css = widget_module("drift_report.css")

    _plotly = traitlets.Bytes(b"").tag(sync=True)
    report = traitlets.Dict().tag(sync=True)
    figures = traitlets.Dict().tag(sync=True)
    #: the feature whose figures are shown (a feature of ``report["verdicts"]``)
    feature = traitlets.Unicode("").tag(sync=True)

    def __init__(self, report: dict[str, Any], static: str = "embed") -> None:
        _check_static(static)
        self._static = static
        self._features = [v["feature"] for v in report.get("verdicts", [])]
        drifted = [v["feature"] for v in report.get("verdicts", []) if v.get("drifted")]
        chosen = next(iter(drifted), None) or next(iter(self._features), "")
        super().__init__(
            _plotly=plotly_js() if HAVE_WIDGETS else b"",
            report=report,
            figures=figures(report),
            feature=chosen,
        )

    @traitlets.validate("feature")
    def _valid_feature(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value and value not in self._features:
            raise InvalidInput(f"not a feature of the report: {value!r}")
        return value

    @property
    def frame(self) -> Any:
        """The verdict table as a DataFrame (the rows ``mm.drift`` returns, with the bins)."""
        import pandas as pd

        return pd.DataFrame(self.report.get("verdicts", []))

    def summary(self) -> str:
        return headline(self.report)

    def _fallback_html(self) -> str | None:
        return None if self._static == "none" else self.static_html()

    def static_html(self, static: str | None = None) -> str:
        """The report as static HTML: plotly.js embedded (``"embed"``) or from its CDN
        (``"cdn"``); default: the widget's ``static`` mode."""
        return static_html(self.report, self.figures, static or self._static)


def drift_report(
    name: str,
    version: int | str | None = None,
    window: Any = "1d",
    preset: str = "bank",
    *,
    end: Any = None,
    thresholds: Thresholds | None = None,
    periods: int = PERIODS,
    min_rows: int = MIN_ROWS,
    max_rows: int = MAX_ROWS,
    static: str = "embed",
) -> DriftReport:
    """A drift report of model ``name`` (default: its latest version) over the last ``window``
    (to ``end``, default now): the verdict table of ``mm.drift`` (feature, method, statistic,
    threshold, verdict, p-value, both sample sizes), each feature's and the score's reference
    and current distributions on the same bins, and each statistic over ``periods`` equal
    periods of the window (same preset and thresholds). A window (or period) with fewer than
    ``min_rows`` rows says so instead of giving a verdict. ``static``: how the exported
    notebook's HTML gets plotly.js (``"embed"``: offline, the default; ``"cdn"``; ``"none"``)."""
    from ..monitoring.report import check_periods, report_data

    _check_static(static)  # before the log is read
    check_periods(periods)
    request = DriftRequest(name=name, version=version, window=window, preset=preset, end=end,
                           thresholds=thresholds, min_rows=min_rows, max_rows=max_rows)  # fmt: skip
    data = report_data(request, periods)
    return DriftReport(data, static=static)
