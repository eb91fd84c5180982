"""Model performance: measured once labels arrive, estimated from calibrated scores before.

Measured (``measure``, per time bucket with ``over_time``): AUC and Gini, KS of the scores
(largest gap between the score distributions of goods and bads), bad rate and calibration by
score band, accuracy/precision/recall/F1 for classifiers, MAE/RMSE for regressors.

Estimated (``estimate``, confidence-based performance estimation as NannyML's CBPE): when a
binary classifier's probabilities are calibrated, a row scored ``s`` is a positive with
probability ``s``, so the *expected* confusion matrix at a threshold is ``TP = Σ s·[s ≥ t]``,
``FP = Σ (1 − s)·[s ≥ t]``... and the expected ROC curve (hence AUC) follows from the same sums.
That holds only for calibrated scores: ``check_calibration`` measures it on labelled reference
rows first and ``estimate`` refuses when the expected calibration error exceeds the tolerance.
Every estimate is marked ``kind="estimate"`` and carries its sampling spread.

Own code on numpy/scipy (sklearn is only the tests' yardstick).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInput

#: Default calibration tolerance: the largest expected calibration error (equal-count bands)
#: under which scores are taken as probabilities.
MAX_ECE = 0.03
#: Labelled reference rows needed before calibration is judged at all.
MIN_CALIBRATION_ROWS = 500
BANDS = 10


def _arrays(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.ndim != 1 or y.size != s.size:
        raise InvalidInput(f"labels and scores must be 1-D and of one length ({y.size}, {s.size})")
    keep = ~np.isnan(s)
    if y.dtype.kind == "f":
        keep &= ~np.isnan(y)
    return y[keep], s[keep]


def _binary(y: np.ndarray) -> np.ndarray:
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise InvalidInput(f"binary metrics need labels 0/1, got {sorted(values)[:5]}")
    return y.astype(np.int8)


def _two_classes(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, int, int] | None:
    """Binary labels, scores and the count of each class (1s, 0s); None when one is absent."""
    y, s = _arrays(labels, scores)
    y = _binary(y)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return None
    return y, s, n1, n0


def auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann–Whitney U with average ranks for ties); NaN when one
    class is absent."""
    from scipy.stats import rankdata

    classes = _two_classes(labels, scores)
    if classes is None:
        return float("nan")
    y, s, n1, n0 = classes
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def gini(labels: Any, scores: Any) -> float:
    """Gini coefficient (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(labels, scores) - 1.0


def ks_score(labels: Any, scores: Any) -> float:
    """KS of the scores: the largest gap between the cumulative score distributions of the
    positives and the negatives (scipy's two-sample D between the two groups)."""
    classes = _two_classes(labels, scores)
    if classes is None:
        return float("nan")
    y, s, n1, n0 = classes
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # the last row of each tied value
    cum1 = np.cumsum(y_sorted)[last] / n1
    cum0 = np.cumsum(1 - y_sorted)[last] / n0
    return float(np.abs(cum1 - cum0).max())


def band_edges(scores: Any, bands: int = BANDS) -> np.ndarray:
    """Inner edges of ``bands`` equal-count score bands (ties merged)."""
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    if s.size == 0:
        return np.array([])
    return np.unique(np.quantile(s, np.linspace(0, 1, bands + 1)[1:-1]))


def calibration_table(labels: Any, scores: Any, edges: Any = None, bands: int = BANDS) -> Any:
    """Bad rate and mean score by score band: band, low, high, n, bads, bad_rate, mean_score,
    gap (bad_rate − mean_score). ``edges`` (inner) default to equal-count bands of ``scores``;
    pass the reference's to compare periods on the same bands."""
    import pandas as pd

    y, s = _arrays(labels, scores)
    y = _binary(y)
    inner = band_edges(s, bands) if edges is None else np.asarray(edges, dtype=float)
    idx = np.searchsorted(inner, s, side="right")
    k = inner.size + 1
    n = np.bincount(idx, minlength=k)
    bads = np.bincount(idx, weights=y, minlength=k)
    total = np.bincount(idx, weights=s, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate, mean = bads / n, total / n
    bounds = np.r_[-np.inf, inner, np.inf]
    return pd.DataFrame({
        "band": np.arange(1, k + 1), "low": bounds[:-1], "high": bounds[1:], "n": n,
        "bads": bads.astype(np.int64), "bad_rate": rate, "mean_score": mean, "gap": rate - mean,
    })  # fmt: skip


def expected_calibration_error(labels: Any, scores: Any, bands: int = BANDS) -> float:
    """Σ (n_b / N) · |bad rate_b − mean score_b| over equal-count bands."""
    table = calibration_table(labels, scores, bands=bands)
    table = table[table["n"] > 0]
    return float((table["n"] * table["gap"].abs()).sum() / table["n"].sum())


def classification_metrics(labels: Any, predicted: Any) -> dict[str, float]:
    """Accuracy, and for 0/1 labels precision, recall and F1 of the positive class; for more
    classes macro-averaged F1."""
    y = np.asarray(labels)
    p = np.asarray(predicted)
    if y.size != p.size:
        raise InvalidInput("labels and predictions must be of one length")
    out = {"accuracy": float(np.mean(y == p)) if y.size else float("nan")}
    classes = np.unique(np.r_[y, p]) if y.size else np.array([])
    binary = set(classes.tolist()) <= {0, 1}
    targets = [1] if binary else list(classes)
    f1s = []
    for c in targets:
        tp = float(np.sum((p == c) & (y == c)))
        fp = float(np.sum((p == c) & (y != c)))
        fn = float(np.sum((p != c) & (y == c)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
        if binary:
            out["precision"] = tp / (tp + fp) if tp + fp else 0.0
            out["recall"] = tp / (tp + fn) if tp + fn else 0.0
    out["f1"] = float(np.mean(f1s)) if f1s else float("nan")
    return out


def regression_metrics(labels: Any, predicted: Any) -> dict[str, float]:
    y, p = _arrays(labels, predicted)
    err = p - y.astype(float)
    if err.size == 0:
        return {"mae": float("nan"), "rmse": float("nan")}
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean()))}


TASKS = ("binary", "classification", "regression")


def infer_task(labels: Any, outputs: Any) -> str:
    """``binary`` for 0/1 labels and scores in [0, 1]; ``classification`` when outputs take the
    labels' values; else ``regression``."""
    y, o = np.asarray(labels), np.asarray(outputs)
    if o.dtype.kind in "fiu" and y.dtype.kind in "fiub" and y.size:
        yv = set(np.unique(y[~np.isnan(y.astype(float))]).tolist())
        if yv <= {0, 1} and o.dtype.kind == "f" and np.nanmin(o) >= 0 and np.nanmax(o) <= 1:
            return "binary"
        if o.dtype.kind in "iu" or set(np.unique(o).tolist()) <= yv:
            return "classification"
        return "regression"
    return "classification"


def measure(
    labels: Any, outputs: Any, task: str = "auto", threshold: float = 0.5
) -> dict[str, Any]:
    """The measured metrics of one period (``n`` labelled rows, then the task's metrics)."""
    if task == "auto":
        task = infer_task(labels, outputs)
    if task not in TASKS:
        raise InvalidInput(f"unknown task {task!r}; expected auto or one of {', '.join(TASKS)}")
    n = int(np.asarray(labels).size)
    out: dict[str, Any] = {"n": n, "task": task}
    if task == "binary":
        y, s = _arrays(labels, outputs)
        y = _binary(y)
        out.update(auc=auc(y, s), gini=gini(y, s), ks=ks_score(y, s),
                   bad_rate=float(y.mean()) if y.size else float("nan"),
                   mean_score=float(s.mean()) if s.size else float("nan"))  # fmt: skip
        out["ece"] = expected_calibration_error(y, s) if y.size else float("nan")
        out.update(classification_metrics(y, (s >= threshold).astype(np.int8)))
    elif task == "classification":
        out.update(classification_metrics(labels, outputs))
    else:
        out.update(regression_metrics(labels, outputs))
    return out


def over_time(
    frame: Any,
    label: str = "label",
    output: str = "output",
    ts: str = "ts",
    bucket: str = "1D",
    task: str = "auto",
    threshold: float = 0.5,
) -> Any:
    """One row per time bucket (``bucket`` a pandas frequency: ``1D``, ``7D``, ``MS``...): the
    bucket's start, ``kind="measured"`` and :func:`measure`'s metrics."""
    import pandas as pd

    if task == "auto" and len(frame):
        task = infer_task(frame[label].to_numpy(), frame[output].to_numpy())
    rows = []
    for start, part in frame.groupby(pd.Grouper(key=ts, freq=bucket)):
        if len(part) == 0:
            continue
        m = measure(part[label].to_numpy(), part[output].to_numpy(), task, threshold)
        rows.append({"bucket": start, "kind": "measured", **m})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- estimation (CBPE)


@dataclass(frozen=True)
class Calibration:
    """Whether scores can be read as probabilities, judged on labelled reference rows."""

    calibrated: bool
    ece: float
    noise: float  # the ECE sampling noise alone gives perfectly calibrated scores here
    tolerance: float
    n: int
    hosmer_lemeshow: float
    p_value: float
    table: Any = field(repr=False)
    reason: str = ""


def check_calibration(
    labels: Any, scores: Any, tolerance: float = MAX_ECE, bands: int = BANDS
) -> Calibration:
    """Calibrated when the expected calibration error on equal-count bands, less the ECE that
    sampling noise alone gives calibrated scores on bands of these sizes
    (Σ n_b/N · √(2/π) · √(s̄_b(1 − s̄_b)/n_b)), is at most ``tolerance`` (default 0.03). The
    Hosmer–Lemeshow χ² (``bands`` degrees of freedom: the scores come from elsewhere) is given
    beside it. Too few labelled rows, or one class only, is "not calibrated" with the reason."""
    from scipy.stats import chi2

    y, s = _arrays(labels, scores)
    if s.size and (np.nanmin(s) < 0 or np.nanmax(s) > 1):
        return Calibration(False, float("nan"), float("nan"), tolerance, int(s.size),
                           float("nan"), float("nan"), None,
                           "scores are not probabilities (outside [0, 1])")  # fmt: skip
    y = _binary(y)
    if y.size < MIN_CALIBRATION_ROWS or y.min() == y.max():
        return Calibration(False, float("nan"), float("nan"), tolerance, int(y.size),
                           float("nan"), float("nan"), None,
                           f"calibration needs at least {MIN_CALIBRATION_ROWS} labelled reference "
                           f"rows with both classes; there are {y.size}")  # fmt: skip
    table = calibration_table(y, s, bands=bands)
    t = table[table["n"] > 0]
    ece = float((t["n"] * t["gap"].abs()).sum() / t["n"].sum())
    m = t["mean_score"].clip(1e-9, 1 - 1e-9)
    # E|bad rate - mean score| of a calibrated band of n rows ~ sqrt(2/pi) * sqrt(m(1-m)/n)
    noise = float((t["n"] * np.sqrt(2 / np.pi) * np.sqrt(m * (1 - m) / t["n"])).sum()
                  / t["n"].sum())  # fmt: skip
    expected = t["n"] * t["mean_score"]
    var = np.maximum(expected * (1 - t["mean_score"]), 1e-12)
    hl = float((((t["bads"] - expected) ** 2) / var).sum())
    p = float(chi2.sf(hl, len(t)))
    ok = ece - noise <= tolerance
    reason = "" if ok else (
        f"the scores are not calibrated: expected calibration error {ece:.4f} on "
        f"{y.size} labelled rows, {ece - noise:.4f} above what sampling noise gives calibrated "
        f"scores ({noise:.4f}), exceeds the tolerance {tolerance} (Hosmer-Lemeshow p = {p:.3g}); "
        "performance cannot be estimated from them: recalibrate (e.g. Platt or isotonic) or "
        "wait for labels"
    )  # fmt: skip
    return Calibration(ok, ece, noise, tolerance, int(y.size), hl, p, table, reason)


def expected_confusion(scores: Any, threshold: float = 0.5) -> dict[str, float]:
    """Expected TP, FP, FN, TN (counts) of calibrated ``scores`` at ``threshold``."""
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    pos = s >= threshold
    return {"tp": float(s[pos].sum()), "fp": float((1 - s[pos]).sum()),
            "fn": float(s[~pos].sum()), "tn": float((1 - s[~pos]).sum())}  # fmt: skip


def expected_auc(scores: Any) -> float:
    """AUC expected of calibrated ``scores``: the ROC curve whose TPR/FPR at each threshold are
    the expected ones (cumulated ``s`` and ``1 − s`` from the top), by the trapezoid rule."""
    s = np.asarray(scores, dtype=float)
    s = np.sort(s[~np.isnan(s)])[::-1]
    if s.size == 0:
        return float("nan")
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.r_[0.0, np.cumsum(s)[last]]
    fp = np.r_[0.0, np.cumsum(1 - s)[last]]
    if tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def _estimates(s: np.ndarray, threshold: float) -> dict[str, float]:
    c = expected_confusion(s, threshold)
    n = max(s.size, 1)
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    return {
        "auc": expected_auc(s), "gini": 2 * expected_auc(s) - 1, "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "bad_rate": float(s.mean()) if s.size else float("nan"), **c,
    }  # fmt: skip


def estimate(
    scores: Any,
    calibration: Calibration,
    threshold: float = 0.5,
    draws: int = 30,
    seed: int = 0,
) -> dict[str, Any]:
    """CBPE estimates of one period's metrics from calibrated ``scores`` alone, with
    ``<metric>_sd``: the spread the realised metric would have (labels drawn ``draws`` times as
    Bernoulli(s), on at most 100,000 of the rows, scaled to the period's size). Refuses
    (``InvalidInput``) when ``calibration`` says the scores are not calibrated."""
    if not calibration.calibrated:
        raise InvalidInput(calibration.reason)
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    if s.size and (s.min() < 0 or s.max() > 1):
        raise InvalidInput("performance is estimated from probabilities: scores lie outside [0, 1]")
    out: dict[str, Any] = {"n": int(s.size), "kind": "estimate", **_estimates(s, threshold)}
    if s.size >= 2 and draws > 1:
        rng = np.random.default_rng(seed)
        sub = s if s.size <= 100_000 else rng.choice(s, 100_000, replace=False)
        scale = np.sqrt(sub.size / s.size)
        realised: dict[str, list[float]] = {"auc": [], "accuracy": [], "f1": []}
        pred = (sub >= threshold).astype(np.int8)
        for _ in range(draws):
            y = (rng.random(sub.size) < sub).astype(np.int8)
            realised["auc"].append(auc(y, sub))
            m = classification_metrics(y, pred)
            realised["accuracy"].append(m["accuracy"])
            realised["f1"].append(m["f1"])
        for k, values in realised.items():
            out[f"{k}_sd"] = float(np.nanstd(values) * scale)
    out["calibration_ece"] = calibration.ece
    return out


def _finite(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def reference_summary(labels: Any, scores: Any, tolerance: float = MAX_ECE) -> dict[str, Any]:
    """What a reference profile keeps of its labelled rows (JSON, no NaN): the measured binary
    metrics a monitor's ``max_drop`` is relative to, and the calibration verdict that decides
    whether later windows without labels may be estimated (CBPE) at all."""
    y, s = _arrays(labels, scores)
    y = _binary(y)
    m = measure(y, s, "binary")
    cal = check_calibration(y, s, tolerance)
    keep = ("auc", "gini", "ks", "accuracy", "precision", "recall", "f1", "bad_rate")
    return {
        "task": "binary", "n": int(y.size), **{k: _finite(m[k]) for k in keep},
        "calibration": {"calibrated": bool(cal.calibrated), "ece": _finite(cal.ece),
                        "noise": _finite(cal.noise), "tolerance": float(cal.tolerance),
                        "n": cal.n, "hosmer_lemeshow": _finite(cal.hosmer_lemeshow),
                        "p_value": _finite(cal.p_value), "reason": cal.reason},
    }  # fmt: skip


def stored_calibration(doc: dict[str, Any]) -> Calibration:
    """The :class:`Calibration` of a reference summary's ``calibration`` (its table is not kept)."""
    nan = float("nan")

    def num(key: str) -> float:
        value = doc.get(key)
        return nan if value is None else float(value)

    return Calibration(bool(doc.get("calibrated")), num("ece"), num("noise"), num("tolerance"),
                       int(doc.get("n") or 0), num("hosmer_lemeshow"), num("p_value"), None,
                       str(doc.get("reason") or ""))  # fmt: skip
