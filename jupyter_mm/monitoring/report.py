"""What a drift report shows, as plain JSON: the verdicts of ``mm.drift`` (with their bins),
each feature's reference and current distributions on the same bins, and each statistic over
time. ``mm.drift_report`` (``notebook/drift_report.py``) draws it; nothing here knows Jupyter.

**Over time: the window's periods, recomputed.** The window is split into ``periods`` equal
periods and the same preset, thresholds and frozen bins judge each one, from the rows already
read for the verdict table (one read of the log). A monitor's metric history would need a monitor
with evaluations, and would show that monitor's window, preset and thresholds rather than the
report's; recomputing always exists and always agrees with the table. A period with fewer than
``min_rows`` rows has no statistic (a gap, said as ``too few rows``), like a window.

**Bins.** A binned verdict's distributions are its own bins (``bins_source="verdict"``). A
continuous statistic (KS and Wasserstein in the ``evidently-compatible`` preset) has no bins: its
distributions are drawn on the reference's frozen deciles (``bins_source="deciles"``), the same
edges on both sides, and the statistic is the one computed from the quantiles.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .current import DriftRequest, Window, read_drift_window

if TYPE_CHECKING:
    from ..core.entities import Run
    from ..core.store import TrackingStore

#: Periods a window is split into at most (each is one full comparison).
MAX_PERIODS = 100
#: The verdict fields the report keeps (``Verdict.to_dict()`` less the bins, kept apart).
FIELDS = (
    "feature", "method", "statistic", "threshold", "warning", "p_value", "critical_value",
    "band", "drifted", "direction", "n_reference", "n_current", "null_rate_reference",
    "null_rate_current",
    "notes",
)  # fmt: skip


def _num(value: Any) -> Any:
    """JSON-safe: NaN/±Inf → None, numpy scalars → Python."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, list):
        return [_num(v) for v in value]
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    if not math.isfinite(f):
        return None
    return int(f) if isinstance(value, int) or (hasattr(value, "dtype") and
                                                 value.dtype.kind in "iu") else f  # fmt: skip


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def check_periods(periods: Any) -> int:
    if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS:
        raise InvalidInput(
            f"periods must be a whole number from 1 to {MAX_PERIODS}, got {periods!r}"
        )
    return periods


def report_data(request: DriftRequest, periods: int = 6) -> dict[str, Any]:
    """The report of ``request`` (what ``mm.drift`` compares, split into ``periods``) as JSON:
    ``{model, version, preset, window_start, window_end, rows, compared, min_rows, status,
    drifted, share, notes, verdicts: [{...Verdict fields, bins: {labels, edges, reference,
    current, reference_counts, current_counts} | None, bins_source}], periods: {starts, ends,
    rows, series: {feature: {method, threshold, warning, statistic: [...], p_value: [...],
    band: [...]}}}}``.
    Below ``min_rows`` rows the status is ``too_few_rows`` and no verdict is given."""
    name = request.name
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"name must be a model's name, got {name!r}")
    periods = check_periods(periods)
    w = read_drift_window(request, with_ts=True)
    out: dict[str, Any] = {
        "model": name, "version": int(w.version), "preset": w.preset,
        "window_start": _iso(w.start), "window_end": _iso(w.stop), "rows": w.total,
        "compared": w.compared, "min_rows": w.min_rows, "periods": _bounds(w, periods),
    }  # fmt: skip
    if w.current is None:
        out.update(status="too_few_rows", drifted=False, share=0.0, notes=list(w.notes),
                   verdicts=[_too_few(f, w) for f in w.features])  # fmt: skip
        out["periods"]["series"] = {}
        return out
    result = w.compare()
    verdicts = []
    for v in result.verdicts:
        row = {k: _num(getattr(v, k)) if k != "notes" else list(v.notes) for k in FIELDS}
        row["bins"], row["bins_source"] = _bins(w, v)
        verdicts.append(row)
    out.update(status=result.status, drifted=bool(result.drifted), share=float(result.share),
               notes=[*w.notes, *result.notes], verdicts=verdicts)  # fmt: skip
    out["periods"]["series"] = _over_time(w, out["periods"], verdicts)
    return out


def _too_few(feature: str, w: Window) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIELDS)
    row.update(feature=feature, band="too few rows", drifted=False,
               n_reference=int(w.profile.rows), n_current=int(w.total), notes=[],
               bins=None, bins_source=None)  # fmt: skip
    return row


def _bins(w: Window, v: Any) -> tuple[dict[str, Any] | None, str | None]:
    if v.bins is not None:
        return {**v.bins.to_dict(), "edges": _num(v.bins.edges)}, "verdict"
    from .profile import SCORE, numeric_bins, numeric_values

    fp = w.profile.score if v.feature == SCORE else w.profile.features.get(v.feature)
    if fp is None or fp.get("kind") != "numeric":
        return None, None
    import numpy as np

    if v.feature == SCORE:
        values = np.asarray(w.scores, dtype=float)
    else:
        values = numeric_values(w.current[v.feature])  # type: ignore[index]
    c = numeric_bins(fp, values, missing=True)
    ref, cur = [int(x) for x in c.reference], [int(x) for x in c.current]
    rt, ct = sum(ref) or 1, sum(cur) or 1
    return {"labels": list(c.labels), "edges": _num(c.edges), "reference_counts": ref,
            "current_counts": cur, "reference": [x / rt for x in ref],
            "current": [x / ct for x in cur]}, "deciles"  # fmt: skip


def _bounds(w: Window, periods: int) -> dict[str, Any]:
    span = (w.stop - w.start) / periods
    starts = [w.start + span * i for i in range(periods)]
    ends = [*starts[1:], w.stop]
    return {"starts": [_iso(s) for s in starts], "ends": [_iso(e) for e in ends],
            "rows": [0] * periods, "_edges": [*starts, w.stop]}  # fmt: skip


def _over_time(w: Window, bounds: dict[str, Any], verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Each feature's statistic per period, by the window's preset and thresholds."""
    import numpy as np
    import pandas as pd

    edges = bounds.pop("_edges")
    n = len(edges) - 1
    series = {v["feature"]: {"method": v["method"], "threshold": v["threshold"],
                             "warning": v["warning"], "statistic": [None] * n,
                             "p_value": [None] * n,
                             "band": ["too few rows"] * n} for v in verdicts}  # fmt: skip
    if w.ts is None or w.current is None:
        return series
    ts = w.ts.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    cuts = np.asarray(
        [pd.Timestamp(e).tz_convert(None).to_datetime64() for e in edges], dtype="datetime64[ns]"
    )
    # a row at a period's start belongs to it; the window's end closes the last one
    index = np.clip(np.searchsorted(cuts, ts, side="right") - 1, 0, n - 1)
    for i in range(n):
        mask = index == i
        rows = int(mask.sum())
        bounds["rows"][i] = rows
        if rows < w.min_rows:
            continue
        for v in w.compare(mask).verdicts:
            s = series.get(v.feature)
            if s is not None:
                s["statistic"][i] = _num(v.statistic)
                s["p_value"][i] = _num(v.p_value)
                s["band"][i] = v.band
    return series


# ------------------------------------------------------------ a monitor's latest evaluation

#: Verdict fields that are numbers (a record keeps non-finite ones as the wire's strings).
_NUMERIC = ("statistic", "threshold", "warning", "p_value", "critical_value",
            "null_rate_reference", "null_rate_current")  # fmt: skip


def _finite(value: Any) -> Any:
    """A record's number as the report gives it: non-finite (the wire's strings) → None."""
    if isinstance(value, str):
        return None
    return _num(value)


def evaluation_report(
    store: TrackingStore, name: str, version: int, history: int = 100
) -> dict[str, Any]:
    """The report of version ``version``'s latest monitor evaluation, as the version view draws
    it: ``{name, version, report, evaluations, series}``, all three null before its first
    evaluation. ``report`` has :func:`report_data`'s fields (``verdicts`` with their ``bins``
    and ``bins_source``), taken from the evaluation's record (the verdicts are the ones it
    alarmed on, not recomputed); a continuous statistic's distributions are drawn on the
    reference's frozen deciles from the evaluation's window of the log, as :func:`report_data`
    draws them. ``evaluations`` are the last ``history`` evaluations of the same monitoring
    run, oldest first (``overview``'s history rows), and ``series`` each verdict's statistic at
    those evaluations (the run's metric ``<method>/<feature>``; null where none was measured).
    ``NotFound`` for an unknown model or version."""
    from .monitors import TAG_EVALUATIONS, TAG_VERSION
    from .overview import _at, _history, _runs, latest_record

    store.get_model_version(name, version)  # NotFound for an unknown model or version
    empty: dict[str, Any] = {"name": name, "version": int(version), "report": None,
                             "evaluations": None, "series": None}  # fmt: skip
    runs = [r for r in _runs(store, name)
            if r.tags.get(TAG_VERSION) == str(version)
            and int(r.tags.get(TAG_EVALUATIONS, "0") or 0) > 0]  # fmt: skip
    if not runs:
        return empty
    run = max(runs, key=_at)
    record = latest_record(store, run)
    if record is None:
        return empty
    evaluations = _history(store, run, history)
    return {**empty, "report": _record_report(store, run, record), "evaluations": evaluations,
            "series": _series(store, run, record, evaluations)}  # fmt: skip


def _record_report(store: TrackingStore, run: Run, record: dict[str, Any]) -> dict[str, Any]:
    from .monitors import parse_duration

    at = dt.datetime.fromisoformat(record["at"])
    window = str(record.get("window") or run.params.get("window") or "")
    start = at - dt.timedelta(seconds=parse_duration(window, "window")) if window else None
    verdicts = []
    for v in record.get("verdicts", []):
        row: dict[str, Any] = {k: v.get(k) for k in FIELDS}
        row.update({k: _finite(v.get(k)) for k in _NUMERIC})
        row["notes"] = list(v.get("notes") or [])
        bins = v.get("bins")
        if bins is not None:
            bins = {**bins, "edges": None if bins.get("edges") is None
                    else [_finite(e) for e in bins["edges"]]}  # fmt: skip
        row["bins"], row["bins_source"] = bins, "verdict" if bins is not None else None
        verdicts.append(row)
    lacking = [r for r in verdicts if r["bins"] is None]
    if lacking and start is not None and record.get("status") != "not-enough-data":
        _decile_bins(store, record, start, at, lacking)
    status = record.get("status")
    return {
        "model": record.get("model"), "version": record.get("version"),
        "monitor": record.get("monitor"), "evaluation": record.get("id"),
        "step": record.get("step"), "at": _iso(at), "preset": record.get("preset"),
        "window": window or None, "window_start": None if start is None else _iso(start),
        "window_end": _iso(at), "rows": record.get("rows"),
        "compared": record.get("compared", record.get("rows")),
        "min_rows": record.get("min_rows"),
        "status": "too_few_rows" if status == "not-enough-data" else status,
        "drifted": status == "drift", "share": _finite(record.get("share")) or 0.0,
        "notes": list(record.get("notes") or []), "verdicts": verdicts,
    }  # fmt: skip


def _decile_bins(
    store: TrackingStore,
    record: dict[str, Any],
    start: dt.datetime,
    stop: dt.datetime,
    rows: list[dict[str, Any]],
) -> None:
    """Fill the continuous verdicts' distributions on the reference's deciles from the
    evaluation's window (:func:`_bins`); left null when the window no longer holds its rows
    (the log was pruned) or the version lost its profile."""
    from types import SimpleNamespace

    from .current import scan_drift_window
    from .profile import ReferenceProfile

    name, version = str(record["model"]), int(record["version"])
    found = store.reference_profile(name, version)
    if found is None:
        return
    profile = ReferenceProfile.from_json(found["profile"])
    w = scan_drift_window(store, name, str(version), profile, start, stop,
                          preset=str(record.get("preset") or "bank"), thresholds={},
                          min_rows=int(record.get("min_rows") or 1))  # fmt: skip
    if w.current is None:
        return
    for row in rows:
        row["bins"], row["bins_source"] = _bins(
            w, SimpleNamespace(bins=None, feature=row["feature"])
        )


def _series(
    store: TrackingStore, run: Run, record: dict[str, Any], evaluations: list[dict[str, Any]]
) -> dict[str, Any]:
    """Each verdict's statistic at ``evaluations`` (the monitoring run's metric of it)."""
    from .monitors import _metric_key

    steps = [e["step"] for e in evaluations]
    span = (steps[0], steps[-1]) if steps else None
    out: dict[str, Any] = {}
    for v in record.get("verdicts", []):
        key = _metric_key(str(v["method"]), str(v["feature"]))
        points: dict[int, Any] = {}
        if span is not None:
            h = store.get_metric_history(run.id, key, step_range=span)
            points = {int(s): _num(x) for s, x in zip(h["step"], h["value"], strict=True)}
        out[str(v["feature"])] = {
            "method": v["method"], "metric": key, "threshold": _finite(v.get("threshold")),
            "warning": _finite(v.get("warning")), "statistic": [points.get(s) for s in steps],
        }  # fmt: skip
    return out
