"""A monitor's performance rule and its assessment of one window: measured, estimated or unknown.

The rule (``mm.monitor(..., performance={"metric": "auc", "min": 0.7, "max_drop": 0.05})``) is
plain JSON kept in the monitor's tag: ``metric`` one of :data:`METRICS`, a floor ``min`` and/or
``max_drop`` below the reference's value of the metric (the labelled reference of the version's
profile, ``mm.set_reference(..., labels=)``), and ``min_labels``: how many labelled rows of the
window make a measurement. The bar is the higher of the two.

:func:`assess` decides, in this order: the metric **measured** on the window's rows that have
labels (joined by id, ``labels.py``) when there are at least ``min_labels`` of both classes;
else **estimated** from the window's scores (CBPE, ``performance.estimate``) when the reference
showed them calibrated; else **unknown**, with the reason. An estimate always says so
(``estimated: true``, metric ``performance/<metric>_estimated``): it is never a measurement.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidInput, MMError

#: Metrics a rule may watch: measured from labels and estimable from calibrated scores alike.
METRICS = ("auc", "gini", "accuracy", "precision", "recall", "f1")
DEFAULT_MIN_LABELS = 100
OK, DEGRADED, UNKNOWN = "ok", "degraded", "unknown"
_KEYS = ("metric", "min", "max_drop", "min_labels")
_EXAMPLE = "{'metric': 'auc', 'min': 0.7} or {'metric': 'auc', 'max_drop': 0.05}"


def _number(rule: dict[str, Any], key: str, low: float, high: float) -> float:
    value = rule[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"performance {key!r} must be a number, not {value!r}")
    if not low <= value <= high:
        raise InvalidInput(f"performance {key!r} must lie in [{low}, {high}], not {value!r}")
    return float(value)


def check_rule(rule: Any) -> dict[str, Any] | None:
    """The rule, validated and normalised (``min_labels`` filled in); None for no rule."""
    if rule is None:
        return None
    if not isinstance(rule, dict):
        raise InvalidInput(f"performance must be a dict such as {_EXAMPLE}, not {rule!r}")
    unknown = sorted(str(k) for k in rule if k not in _KEYS)
    if unknown:
        raise InvalidInput(f"performance has unknown keys {', '.join(unknown)}; expected "
                           f"{', '.join(_KEYS)}")  # fmt: skip
    metric = rule.get("metric")
    if metric not in METRICS:
        raise InvalidInput(f"performance metric {metric!r} is not one of {', '.join(METRICS)}")
    if rule.get("min") is None and rule.get("max_drop") is None:
        raise InvalidInput(f"performance needs a bar: 'min' and/or 'max_drop', e.g. {_EXAMPLE}")
    out: dict[str, Any] = {"metric": metric}
    if rule.get("min") is not None:
        out["min"] = _number(rule, "min", -1.0 if metric == "gini" else 0.0, 1.0)
    if rule.get("max_drop") is not None:
        out["max_drop"] = _number(rule, "max_drop", 0.0, 2.0)
        if out["max_drop"] <= 0:
            raise InvalidInput("performance 'max_drop' must be above zero")
    n = rule.get("min_labels", DEFAULT_MIN_LABELS)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInput(f"performance 'min_labels' must be a positive integer, not {n!r}")
    out["min_labels"] = n
    return out


def _record(rule: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The performance part of an evaluation record (the monitoring contract's shape)."""
    doc: dict[str, Any] = {"metric": rule["metric"], "status": UNKNOWN, "value": None,
                           "reference": None, "estimated": False, "threshold": None,
                           "degraded": False, "labelled_rows": 0, "notes": []}  # fmt: skip
    doc.update(fields)
    return doc


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def assess(
    rule: dict[str, Any],
    reference: dict[str, Any] | None,
    scores: Any,
    labelled: Any,
    *,
    rows: int,
    enough_rows: bool = True,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Judge one window against ``rule``. ``reference``: the profile's ``performance`` (None:
    built without labels); ``scores``: the window's scores (None: the log has none);
    ``labelled``: (labels, scores) of the window's rows that have a label, or None when the
    labels could not be read (``notes`` says why); ``enough_rows``: the window holds the
    monitor's ``min_rows``."""
    import numpy as np

    from . import performance as perf

    metric = rule["metric"]
    notes = list(notes or [])
    ref_value = _finite(reference.get(metric)) if reference else None
    bars = [rule["min"]] if "min" in rule else []
    if "max_drop" in rule:
        if ref_value is None:
            notes.append(f"the reference profile has no labelled {metric} to drop from "
                         "(mm.set_reference(..., labels=)): max_drop is not judged")  # fmt: skip
        else:
            bars.append(ref_value - rule["max_drop"])
    threshold = max(bars) if bars else None
    n_labelled = 0 if labelled is None else int(len(labelled[0]))
    base = {"reference": ref_value, "threshold": threshold, "labelled_rows": n_labelled}
    if threshold is None:
        return _record(rule, **base, notes=notes)
    if not enough_rows:
        notes.append(f"the window holds {rows} rows, fewer than the monitor's min_rows: "
                     "performance is not judged")  # fmt: skip
        return _record(rule, **base, notes=notes)
    if scores is None:
        notes.append("the prediction log has no single score column: nothing to measure")
        return _record(rule, **base, notes=notes)

    value: float | None = None
    estimated = False
    sd: float | None = None
    if labelled is not None and n_labelled >= rule["min_labels"]:
        y, s = labelled
        try:
            measured = perf.measure(y, s, "binary")
            value = _finite(measured[metric])
            if value is None:
                notes.append(f"the {n_labelled} labelled rows hold one class only: {metric} "
                             "cannot be measured")  # fmt: skip
        except MMError as e:
            notes.append(f"the window's labels cannot be measured: {e.message}")
    elif labelled is not None:
        notes.append(f"{n_labelled} of the window's {rows} rows have labels, fewer than "
                     f"min_labels {rule['min_labels']}: not measured")  # fmt: skip
    if value is None:
        cal = (reference or {}).get("calibration")
        if cal is None:
            notes.append("the reference profile has no labels, so the scores' calibration is "
                         "unknown and performance cannot be estimated (mm.set_reference(..., "
                         "labels=))")  # fmt: skip
            return _record(rule, **base, notes=notes)
        calibration = perf.stored_calibration(cal)
        if not calibration.calibrated:
            notes.append(f"not estimated: on the reference, {calibration.reason}")
            return _record(rule, **base, notes=notes)
        try:
            found = perf.estimate(np.asarray(scores, dtype=float), calibration, draws=20)
        except MMError as e:
            notes.append(f"not estimated: {e.message}")
            return _record(rule, **base, notes=notes)
        value, estimated = _finite(found[metric]), True
        sd = _finite(found.get(f"{metric}_sd"))
        if metric == "gini" and found.get("auc_sd") is not None:
            sd = _finite(2 * found["auc_sd"])
        notes.append(f"estimated from {found['n']} scores (CBPE), not measured: the reference's "
                     f"scores are calibrated (ECE {calibration.ece:.4f}); assumes the relation "
                     "of scores to outcomes is unchanged")  # fmt: skip
        if value is None:
            return _record(rule, **base, estimated=True, notes=notes)
    assert value is not None
    degraded = value < threshold
    return _record(rule, **base, status=DEGRADED if degraded else OK, value=value,
                   estimated=estimated, degraded=degraded, notes=notes,
                   **({"sd": sd} if estimated else {}))  # fmt: skip
