"""Drift statistics on numpy/scipy, each returning a :class:`Verdict` that shows its working.

Two kinds of input:

- **Binned** statistics (PSI, chi-square, z-test, Jensen-Shannon, Hellinger, KL, total variation,
  L-infinity) take the *counts* of the reference and the current data on the same bins. Empty bins
  are clipped to :data:`EPSILON` where a logarithm or a division needs it (PSI, KL: Evidently's
  1e-4), never elsewhere.
- **Continuous** statistics (Kolmogorov-Smirnov, normalised Wasserstein) take raw values, or the
  reference as frozen quantiles when the raw reference is gone (``*_from_quantiles``).

Names follow Evidently's (``psi``, ``ks``, ``chisquare``, ``z``, ``jensenshannon``,
``wasserstein``, ``hellinger``, ``kl_div``, ``TVD``, ``l_infinity``) so a verdict reads the same
as one of theirs. NaNs never reach these functions silently: the caller (``profile.py``) counts
them as a null rate and, for binned statistics, as a ``missing`` bin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInput

#: Proportion an empty bin is clipped to in PSI and KL (Evidently's choice; see docs/monitoring.md).
EPSILON = 1e-4
#: Reference standard deviation floor of the normalised Wasserstein distance (Evidently's).
STD_FLOOR = 1e-3

#: Direction of a threshold: drift when the statistic is at or above it, or when the p-value is
#: below it.
ABOVE, BELOW = "statistic>=threshold", "p_value<threshold"


@dataclass(frozen=True)
class Bins:
    """The bins behind a binned verdict: labels, numeric edges (inner edges; the first bin is
    ``(-inf, edges[0])``, the last ``[edges[-1], inf)``) and both sides' counts and proportions."""

    labels: list[str]
    reference_counts: list[int]
    current_counts: list[int]
    edges: list[float] | None = None

    @property
    def reference(self) -> list[float]:
        return _proportions(self.reference_counts)

    @property
    def current(self) -> list[float]:
        return _proportions(self.current_counts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reference": self.reference, "current": self.current}


@dataclass(frozen=True)
class Verdict:
    """One statistic on one feature: what was computed, against which threshold, on how much
    data, and the bins behind it (``None`` for continuous statistics)."""

    method: str
    statistic: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    p_value: float | None = None
    direction: str = ABOVE
    bins: Bins | None = None
    feature: str = ""
    #: bank preset: ``ok`` / ``warning`` / ``drift``; others ``ok`` / ``drift``
    band: str = ""
    warning: float | None = None
    #: PSI's chi-square critical value for these sample sizes (Yurdakul), 5% level
    critical_value: float | None = None
    null_rate_reference: float | None = None
    null_rate_current: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["bins"] = self.bins.to_dict() if self.bins is not None else None
        return out


def _proportions(counts: Sequence[int] | np.ndarray) -> list[float]:
    arr = np.asarray(counts, dtype=float)
    total = arr.sum()
    return (arr / total).tolist() if total > 0 else [0.0] * len(arr)


def _pair(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(reference, dtype=float)
    q = np.asarray(current, dtype=float)
    if p.ndim != 1 or p.shape != q.shape or p.size == 0:
        raise InvalidInput(
            f"reference and current must be counts on the same bins, got shapes {p.shape} "
            f"and {q.shape}"
        )
    if (p < 0).any() or (q < 0).any() or not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise InvalidInput("bin counts must be finite and non-negative")
    return p, q


def _sampled(
    reference: Any, current: Any, test: str
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """:func:`_pair`'s counts and their totals, for a test of two samples: each needs a row."""
    ref, cur = _pair(reference, current)
    n, m = float(ref.sum()), float(cur.sum())
    if n <= 0 or m <= 0:
        raise InvalidInput(f"{test} needs rows on both sides")
    return ref, cur, n, m


def _normalise(counts: np.ndarray, what: str) -> np.ndarray:
    total = counts.sum()
    if total <= 0:
        raise InvalidInput(f"the {what} data has no rows on these bins")
    return counts / total


def _clip(p: np.ndarray, eps: float) -> np.ndarray:
    return np.where(p == 0, eps, p)


def _binned(
    method: str,
    value: float,
    threshold: float,
    reference: Any,
    current: Any,
    labels: Sequence[str] | None,
    edges: Sequence[float] | None,
    p_value: float | None = None,
) -> Verdict:
    ref = np.asarray(reference)
    cur = np.asarray(current)
    names = list(labels) if labels is not None else [str(i) for i in range(ref.size)]
    bins = Bins(
        labels=names,
        reference_counts=[int(x) for x in np.rint(ref)],
        current_counts=[int(x) for x in np.rint(cur)],
        edges=[float(e) for e in edges] if edges is not None else None,
    )
    if p_value is not None:
        drifted, direction = p_value < threshold, BELOW
    else:
        drifted, direction = value >= threshold, ABOVE
    return Verdict(
        method=method, statistic=float(value), threshold=float(threshold), drifted=bool(drifted),
        n_reference=int(ref.sum()), n_current=int(cur.sum()), p_value=p_value,
        direction=direction, bins=bins, band="drift" if drifted else "ok",
    )  # fmt: skip


# --------------------------------------------------------------------------- binned: values


def psi_value(p: np.ndarray, q: np.ndarray, eps: float = EPSILON) -> float:
    """Σ (q − p) ln(q / p) on proportions, empty bins clipped to ``eps``."""
    pc, qc = _clip(p, eps), _clip(q, eps)
    return float(np.sum((qc - pc) * np.log(qc / pc)))


def psi_critical_value(bins: int, n_reference: int, n_current: int, alpha: float = 0.05) -> float:
    """PSI's critical value under "no change": PSI ≈ χ²(B − 1) · (1/n + 1/m) (Yurdakul 2018)."""
    from scipy.special import chdtri  # scipy.special: importing scipy.stats costs ~1 s

    if bins < 2 or n_reference <= 0 or n_current <= 0:
        return math.inf
    return float(chdtri(bins - 1, alpha) * (1 / n_reference + 1 / n_current))


def psi_p_value(value: float, bins: int, n_reference: int, n_current: int) -> float | None:
    """P(PSI >= value) under "no change", by the same χ² approximation."""
    from scipy.special import chdtrc

    if bins < 2 or n_reference <= 0 or n_current <= 0:
        return None
    return float(chdtrc(bins - 1, value / (1 / n_reference + 1 / n_current)))


def kl_value(p: np.ndarray, q: np.ndarray, eps: float = EPSILON) -> float:
    """Σ p ln(p / q) (reference relative to current), empty bins clipped to ``eps``."""
    pc, qc = _clip(p, eps), _clip(q, eps)
    return float(np.sum(pc * np.log(pc / qc)))


def js_value(p: np.ndarray, q: np.ndarray, base: float | None = None) -> float:
    """Jensen-Shannon *distance* √JSD, natural log unless ``base`` (Evidently: e; NannyML: 2)."""
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_pm = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_qm = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    jsd = max((kl_pm + kl_qm) / 2, 0.0)
    if base is not None:
        jsd /= math.log(base)
    return math.sqrt(jsd)


def hellinger_value(p: np.ndarray, q: np.ndarray) -> float:
    """√(1 − Σ √(p q)) (Evidently's form; 0 identical, 1 disjoint)."""
    return math.sqrt(max(1.0 - float(np.sum(np.sqrt(p * q))), 0.0))


def tvd_value(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def linf_value(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.abs(p - q).max())


# --------------------------------------------------------------------------- binned: verdicts


def psi(
    reference: Any,
    current: Any,
    threshold: float = 0.25,
    warning: float | None = 0.1,
    labels: Sequence[str] | None = None,
    edges: Sequence[float] | None = None,
    eps: float = EPSILON,
) -> Verdict:
    """Population (or characteristic) stability index on counts. Band ``ok`` below ``warning``,
    ``warning`` up to ``threshold``, ``drift`` at or above it; the verdict carries the χ²
    critical value and p-value for these sample sizes beside the band."""
    ref, cur = _pair(reference, current)
    p, q = _normalise(ref, "reference"), _normalise(cur, "current")
    value = psi_value(p, q, eps)
    n, m, k = int(ref.sum()), int(cur.sum()), int(ref.size)
    band = "drift" if value >= threshold else (
        "warning" if warning is not None and value >= warning else "ok"
    )  # fmt: skip
    base = _binned("psi", value, threshold, ref, cur, labels, edges)
    return _replace(
        base, band=band, warning=warning, critical_value=psi_critical_value(k, n, m),
        p_value=psi_p_value(value, k, n, m), direction=ABOVE, drifted=band == "drift",
    )  # fmt: skip


def chisquare(
    reference: Any,
    current: Any,
    threshold: float = 0.05,
    labels: Sequence[str] | None = None,
    edges: Sequence[float] | None = None,
) -> Verdict:
    """Pearson's χ² test of homogeneity on the 2 × k table of counts (the reference is a sample
    too, and a category only one side has stays finite); drift when p < ``threshold``. Bins empty
    on both sides are left out of the degrees of freedom."""
    from scipy.special import chdtrc

    ref, cur, _, _ = _sampled(reference, current, "chi-square")
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    k = int(keep.sum())
    if k < 2:
        value, p_value = 0.0, 1.0
    else:
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
        value = float(((table - expected) ** 2 / expected).sum())
        p_value = float(chdtrc(k - 1, value))
    return _binned("chisquare", value, threshold, ref, cur, labels, edges, p_value=p_value)


def z_test(
    reference: Any,
    current: Any,
    threshold: float = 0.05,
    labels: Sequence[str] | None = None,
) -> Verdict:
    """Two-proportion z-test (pooled variance, two-sided) on the share of the *first* bin; for
    columns with at most two values. Drift when p < ``threshold``."""
    from scipy.special import ndtr

    ref, cur, n, m = _sampled(reference, current, "the z-test")
    p1, p2 = ref[0] / n, cur[0] / m
    pooled = (ref[0] + cur[0]) / (n + m)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    if se == 0:
        z, p_value = 0.0, 1.0
    else:
        z = float((p2 - p1) / se)
        p_value = float(2 * ndtr(-abs(z)))
    return _binned("z", z, threshold, ref, cur, labels, None, p_value=p_value)


def _distance(method: str, fn: Any) -> Any:
    def verdict(
        reference: Any,
        current: Any,
        threshold: float = 0.1,
        labels: Sequence[str] | None = None,
        edges: Sequence[float] | None = None,
        **kw: Any,
    ) -> Verdict:
        ref, cur = _pair(reference, current)
        value = fn(_normalise(ref, "reference"), _normalise(cur, "current"), **kw)
        return _binned(method, value, threshold, ref, cur, labels, edges)

    verdict.__name__ = method
    verdict.__doc__ = f"{method} on counts; drift when the value is at or above ``threshold``."
    return verdict


jensenshannon = _distance("jensenshannon", js_value)
hellinger = _distance("hellinger", hellinger_value)
kl_div = _distance("kl_div", kl_value)
tvd = _distance("TVD", tvd_value)
l_infinity = _distance("l_infinity", linf_value)


# --------------------------------------------------------------------------- continuous


def _non_null(values: Any, what: str) -> tuple[np.ndarray, float, str]:
    """The non-null values, the null rate, and a note naming the nulls dropped ("" without
    any): continuous statistics compare the non-null values and say so, never silently."""
    arr = np.asarray(values, dtype=float).ravel()
    null = np.isnan(arr)
    kept = arr[~null]
    if kept.size == 0:
        raise InvalidInput(f"the {what} data has no non-null values")
    nulls = int(null.sum())
    note = f"{nulls} of {arr.size} {what} values are null, dropped" if nulls else ""
    return kept, nulls / arr.size, note


def _ks_p(d: float, n: int, m: int) -> float:
    """Asymptotic two-sample p-value: ``kstwo.sf(D, round(n·m/(n+m)))``, as
    ``scipy.stats.ks_2samp(method="asymp")`` computes it."""
    from scipy.stats import kstwo

    en = round(n * m / (n + m))
    return float(np.clip(kstwo.sf(d, max(en, 1)), 0.0, 1.0))


def ks(reference: Any, current: Any, threshold: float = 0.05) -> Verdict:
    """Two-sample Kolmogorov-Smirnov on raw values: D = sup |F_ref − F_cur| (exact), asymptotic
    p-value; drift when p < ``threshold``. D is the effect size to read at large n. Nulls (NaN)
    are dropped on both sides; the verdict carries both null rates and a note when any were."""
    ref, null_ref, note_ref = _non_null(reference, "reference")
    cur, null_cur, note_cur = _non_null(current, "current")
    ref, cur = np.sort(ref), np.sort(cur)
    grid = np.concatenate([ref, cur])
    f_ref = np.searchsorted(ref, grid, side="right") / ref.size
    f_cur = np.searchsorted(cur, grid, side="right") / cur.size
    d = float(np.abs(f_ref - f_cur).max())
    p = _ks_p(d, ref.size, cur.size)
    return Verdict(
        method="ks", statistic=d, threshold=threshold, drifted=p < threshold,
        n_reference=int(ref.size), n_current=int(cur.size), p_value=p, direction=BELOW,
        band="drift" if p < threshold else "ok", null_rate_reference=null_ref,
        null_rate_current=null_cur, notes=[n for n in (note_ref, note_cur) if n],
    )  # fmt: skip


def ks_from_quantiles(
    levels: Sequence[float],
    quantiles: Sequence[float],
    n_reference: int,
    current: Any,
    threshold: float = 0.05,
) -> Verdict:
    """Kolmogorov-Smirnov against the reference's frozen quantiles: D is taken at the quantile
    points, where F_ref(q_k) = level_k, so it is a lower bound of the exact D that misses it by
    at most the largest gap between levels (0.01 for the profile's grid)."""
    q = np.asarray(quantiles, dtype=float)
    lv = np.asarray(levels, dtype=float)
    if q.shape != lv.shape or q.size < 2:
        raise InvalidInput("quantiles and levels must be two or more values each")
    # Tied quantiles (a reference atom): F_ref there is at least the last level of the tie.
    q, last = np.unique(q[::-1], return_index=True)
    lv = lv[::-1][last]
    cur, null_cur, note_cur = _non_null(current, "current")
    # F_cur(q_k) = share of current values <= q_k: one searchsorted pass, no sort of the data.
    idx = np.searchsorted(q, cur, side="left")
    f_cur = np.cumsum(np.bincount(idx, minlength=q.size + 1))[: q.size] / cur.size
    d = float(np.abs(lv - f_cur).max())
    p = _ks_p(d, int(n_reference), int(cur.size))
    return Verdict(
        method="ks", statistic=d, threshold=threshold, drifted=p < threshold,
        n_reference=int(n_reference), n_current=int(cur.size), p_value=p, direction=BELOW,
        band="drift" if p < threshold else "ok",
        null_rate_current=null_cur,
        notes=[f"D at {lv.size} reference quantiles (a lower bound of the exact D)",
               *([note_cur] if note_cur else [])],
    )  # fmt: skip


def wasserstein(reference: Any, current: Any, threshold: float = 0.1) -> Verdict:
    """Wasserstein-1 distance divided by the reference's standard deviation (floored at
    :data:`STD_FLOOR`): "moved by this many reference standard deviations". Nulls are dropped
    and reported as :func:`ks` reports them."""
    from scipy.stats import wasserstein_distance

    ref, null_ref, note_ref = _non_null(reference, "reference")
    cur, null_cur, note_cur = _non_null(current, "current")
    std = max(float(np.std(ref)), STD_FLOOR)
    value = float(wasserstein_distance(ref, cur)) / std
    return Verdict(
        method="wasserstein", statistic=value, threshold=threshold, drifted=value >= threshold,
        n_reference=int(ref.size), n_current=int(cur.size),
        band="drift" if value >= threshold else "ok", null_rate_reference=null_ref,
        null_rate_current=null_cur, notes=[n for n in (note_ref, note_cur) if n],
    )  # fmt: skip


def wasserstein_from_quantiles(
    levels: Sequence[float],
    quantiles: Sequence[float],
    std: float,
    n_reference: int,
    current: Any,
    threshold: float = 0.1,
) -> Verdict:
    """Normalised Wasserstein-1 from the reference's frozen quantile function:
    W₁ = ∫₀¹ |Q_ref(u) − Q_cur(u)| du by the midpoint rule on the levels strictly inside (0, 1)
    (the profile keeps the midpoints of 100 equal strata; min and max are left out, as their
    gap grows with n and the midpoint rule never needs them)."""
    lv = np.asarray(levels, dtype=float)
    q_ref = np.asarray(quantiles, dtype=float)
    inner = (lv > 0) & (lv < 1)
    if q_ref.shape != lv.shape or not inner.any():
        raise InvalidInput("quantiles and levels must match and have levels inside (0, 1)")
    cur, null_cur, note_cur = _non_null(current, "current")
    q_cur = np.quantile(cur, lv[inner])
    value = float(np.abs(q_ref[inner] - q_cur).mean()) / max(float(std), STD_FLOOR)
    return Verdict(
        method="wasserstein", statistic=value, threshold=threshold, drifted=value >= threshold,
        n_reference=int(n_reference), n_current=int(cur.size),
        band="drift" if value >= threshold else "ok",
        null_rate_current=null_cur,
        notes=[f"W1 from {int(inner.sum())} reference quantiles (midpoint rule)",
               *([note_cur] if note_cur else [])],
    )  # fmt: skip


def _replace(v: Verdict, **changes: Any) -> Verdict:
    from dataclasses import replace

    return replace(v, **changes)


#: Binned statistics by name (what presets and per-feature overrides may name).
BINNED = {
    "psi": psi,
    "chisquare": chisquare,
    "z": z_test,
    "jensenshannon": jensenshannon,
    "hellinger": hellinger,
    "kl_div": kl_div,
    "TVD": tvd,
    "l_infinity": l_infinity,
}
#: Continuous statistics by name (numeric features only).
CONTINUOUS = ("ks", "wasserstein")
#: Methods whose threshold is a p-value (drift below it); the others are distances (drift at or
#: above it).
P_VALUE_METHODS = ("chisquare", "z", "ks")
#: Default thresholds (Evidently's for each method; PSI's is the bank's "act" band).
DEFAULT_THRESHOLDS = {
    "psi": 0.25,
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "jensenshannon": 0.1,
    "wasserstein": 0.1,
    "hellinger": 0.1,
    "kl_div": 0.1,
    "TVD": 0.1,
    "l_infinity": 0.1,
}
METHODS = tuple(DEFAULT_THRESHOLDS)
