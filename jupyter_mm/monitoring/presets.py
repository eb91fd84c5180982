"""Presets: which statistic each feature gets, its thresholds, and the dataset verdict.

- ``bank``: PSI (CSI per feature, PSI on the score) on the reference's frozen deciles, categories
  on their levels with ``other`` for unseen ones and a ``missing`` bin for nulls; bands
  ``ok`` < 0.1 <= ``warning`` < 0.25 <= ``drift``, the χ² critical value for the sample sizes
  beside the band. The dataset's status is its worst band.
- ``evidently-compatible``: Evidently's default test per column type and size
  (``_get_default_stattest``), its thresholds, and dataset drift when the share of drifted
  columns is at least 0.5. Numeric distances use the profile's frozen bins and quantiles, where
  Evidently bins the pooled raw data (see docs/monitoring.md).

Thresholds are overridden per feature (and per model, by the caller merging the model's
settings first) with :data:`Thresholds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InvalidInput
from . import statistics as st
from .profile import (
    SCORE,
    Counts,
    ReferenceProfile,
    category_bins,
    frame_with_rows,
    numeric_bins,
    numeric_values,
    value_bins,
)

BANK, EVIDENTLY = "bank", "evidently-compatible"
PRESETS = (BANK, EVIDENTLY)
#: Bank bands (Lewis 1994; Siddiqi, *Credit Risk Scorecards*).
BANK_WARNING, BANK_DRIFT = 0.1, 0.25
#: Evidently's dataset drift share and the reference size up to which it uses p-value tests.
EVIDENTLY_SHARE, EVIDENTLY_SMALL = 0.5, 1000
_STATUS_ORDER = ("ok", "warning", "drift")

#: ``{feature | "*": threshold | {"method", "threshold", "warning"}, "drift_share": share}``;
#: ``"*"`` applies to every feature, a feature's own entry wins; ``__score__`` is the score.
Thresholds = Mapping[str, Any]


@dataclass(frozen=True)
class DriftResult:
    """Per-feature verdicts (the score's last, as ``__score__``) and the dataset verdict."""

    preset: str
    verdicts: list[st.Verdict]
    drift_share: float
    share: float
    drifted: bool
    status: str
    n_reference: int
    n_current: int
    profile_digest: str
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, feature: str) -> st.Verdict:
        for v in self.verdicts:
            if v.feature == feature:
                return v
        raise KeyError(feature)

    def to_frame(self) -> Any:
        """One row per feature: feature, method, statistic, threshold, warning, p_value,
        critical_value, band, drifted, n_reference, n_current, null rates."""
        import pandas as pd

        cols = (
            "feature", "method", "statistic", "threshold", "warning", "p_value",
            "critical_value", "band", "drifted", "n_reference", "n_current",
            "null_rate_reference", "null_rate_current",
        )  # fmt: skip
        return pd.DataFrame([{c: getattr(v, c) for c in cols} for v in self.verdicts],
                            columns=list(cols))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset, "drift_share": self.drift_share, "share": self.share,
            "drifted": self.drifted, "status": self.status, "n_reference": self.n_reference,
            "n_current": self.n_current, "profile_digest": self.profile_digest,
            "notes": list(self.notes), "verdicts": [v.to_dict() for v in self.verdicts],
        }  # fmt: skip


@dataclass(frozen=True)
class _Setting:
    method: str
    threshold: float
    warning: float | None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _override(base: _Setting, spec: Any, feature: str) -> _Setting:
    if spec is None:
        return base
    if not isinstance(spec, Mapping):
        return replace(base, threshold=_number(spec, f"threshold of {feature!r}"))
    unknown = sorted(set(spec) - {"method", "threshold", "warning"})
    if unknown:
        raise InvalidInput(f"threshold of {feature!r}: unknown key(s) {', '.join(unknown)}")
    method = spec.get("method", base.method)
    if method not in st.METHODS:
        raise InvalidInput(f"unknown method {method!r}; expected one of {', '.join(st.METHODS)}")
    if method != base.method and "threshold" not in spec:
        base = _Setting(method, st.DEFAULT_THRESHOLDS[method], None)
    threshold = _number(spec.get("threshold", base.threshold), f"threshold of {feature!r}")
    warning = spec.get("warning", base.warning if method == base.method else None)
    if warning is not None:
        warning = _number(warning, f"warning of {feature!r}")
    return _Setting(method, threshold, warning)


def check_preset(preset: str) -> str:
    """``preset`` when it is one of :data:`PRESETS`: the one check (and message) of
    :func:`drift`, ``mm.drift``, ``mm.drift_report`` and a monitor's definition."""
    if preset not in PRESETS:
        raise InvalidInput(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return preset


def check_thresholds(thresholds: Thresholds | None, features: Any = None) -> dict[str, Any]:
    """Validate a thresholds mapping; with ``features``, also that it names only those."""
    if thresholds is None:
        return {}
    if not isinstance(thresholds, Mapping):
        raise InvalidInput("thresholds must be a mapping of feature name to threshold")
    out = dict(thresholds)
    if "drift_share" in out:
        share = _number(out["drift_share"], "drift_share")
        if not 0 < share <= 1:
            raise InvalidInput(f"drift_share must be in (0, 1], got {share}")
    probe = _Setting("psi", BANK_DRIFT, BANK_WARNING)
    for key, spec in out.items():
        if key != "drift_share":
            _override(probe, spec, key)
    if features is not None:
        known = {*features, "*", "drift_share", SCORE}
        unknown = sorted(set(out) - known)
        if unknown:
            raise InvalidInput(
                f"thresholds name feature(s) the profile lacks: {', '.join(unknown)}"
            )
    return out


def merge_thresholds(*layers: Thresholds | None) -> dict[str, Any]:
    """Later layers win per key (model settings first, then the call's)."""
    out: dict[str, Any] = {}
    for layer in layers:
        out.update(layer or {})
    return out


# --------------------------------------------------------------------------- per feature


def _evidently_setting(fp: Mapping[str, Any], rows: int, current_unique: int) -> _Setting:
    small = rows <= EVIDENTLY_SMALL
    n_unique = current_unique
    if fp["kind"] == "numeric" and n_unique > 5:
        method = "ks" if small else "wasserstein"
    elif n_unique > 2:
        method = "chisquare" if small else "jensenshannon"
    else:
        method = "z" if small else "jensenshannon"
    return _Setting(method, st.DEFAULT_THRESHOLDS[method], None)


def _union_unique(fp: Mapping[str, Any], series: Any) -> int:
    """Distinct non-null values of reference and current together (Evidently's n_unique)."""
    if fp["kind"] == "numeric":
        if fp.get("values") is None:
            return max(int(fp.get("unique", 0)), 6)
        ref = np.asarray(fp["values"]["levels"], dtype=float)
        cur = numeric_values(series)
        return int(np.union1d(ref, np.unique(cur[~np.isnan(cur)])).size)
    cats = fp["categories"]
    if cats["other"]:
        return int(fp["unique"]) + 1
    from .profile import category_keys

    keys, _, _ = category_keys(series)
    return len(set(cats["levels"]) | set(keys))


def _counts(fp: Mapping[str, Any], series: Any, categorical: bool, missing: bool) -> Counts:
    if fp["kind"] == "categorical":
        return category_bins(fp, series, missing=missing)
    values = numeric_values(series)
    if categorical and fp.get("values") is not None:
        return value_bins(fp, values, missing=missing)
    return numeric_bins(fp, values, missing=missing)


def _feature_verdict(
    name: str,
    fp: Mapping[str, Any],
    series: Any,
    setting: _Setting,
    preset: str,
    levels: list[float],
) -> st.Verdict:
    method = setting.method
    notes: list[str] = []
    n_ref_rows = int(fp["count"])
    null_ref = float(fp["null_rate"])
    if method in st.CONTINUOUS:
        if fp["kind"] != "numeric":
            raise InvalidInput(f"{method} needs a numeric feature; {name!r} is categorical")
        values = numeric_values(series)
        q = fp.get("quantiles")
        if q is None:
            raise InvalidInput(f"feature {name!r} has no non-null reference values")
        non_null = n_ref_rows - int(fp["nulls"])
        if method == "ks":
            v = st.ks_from_quantiles(levels, q, non_null, values, setting.threshold)
        else:
            v = st.wasserstein_from_quantiles(
                levels, q, fp["std"], non_null, values, setting.threshold
            )
        nulls = int(np.isnan(values).sum())
        null_cur = nulls / values.size if values.size else 0.0
    else:
        # Evidently drops nulls and compares a few-valued numeric column value by value; the bank
        # keeps nulls as a bin of their own and bins numbers on the deciles.
        evidently = preset == EVIDENTLY
        c = _counts(fp, series, categorical=evidently, missing=not evidently)
        if c.reference.sum() == 0:
            raise InvalidInput(f"feature {name!r} has no non-null reference values")
        fn = st.BINNED[method]
        kw: dict[str, Any] = {}
        if method == "psi":
            kw["warning"] = setting.warning
        if method != "z":
            kw["edges"] = c.edges
        v = fn(c.reference, c.current, setting.threshold, labels=c.labels, **kw)
        if c.unseen:
            notes.append(f"unseen in the reference, counted as 'other': {', '.join(c.unseen)}")
        null_cur = c.current_nulls / c.current_rows if c.current_rows else 0.0
    return replace(
        v, feature=name, null_rate_reference=null_ref, null_rate_current=null_cur,
        notes=[*v.notes, *notes],
    )  # fmt: skip


def drift(
    profile: ReferenceProfile | Mapping[str, Any] | Any,
    current: Any,
    preset: str = BANK,
    thresholds: Thresholds | None = None,
    scores: Any = None,
) -> DriftResult:
    """Compare ``current`` (a DataFrame with the profile's features) to a reference profile.

    ``profile`` may also be the reference DataFrame itself (profiled first). ``scores``, the
    model's scores on ``current``, are compared with the profile's score distribution.
    """
    import pandas as pd

    check_preset(preset)
    if isinstance(profile, ReferenceProfile):
        prof = profile
    elif isinstance(profile, Mapping):
        prof = ReferenceProfile.from_json(profile)
    elif isinstance(profile, pd.DataFrame):
        from .profile import build_profile

        prof = build_profile(profile)
    else:
        raise InvalidInput(
            f"profile must be a ReferenceProfile, its JSON or a DataFrame, "
            f"got {type(profile).__name__}"
        )
    current = frame_with_rows(current, "current data")
    features = prof.features
    th = check_thresholds(thresholds, features)
    columns = {str(c): c for c in current.columns}
    missing = [f for f in features if f not in columns]
    if missing:
        raise InvalidInput(f"current data lacks feature(s) of the profile: {', '.join(missing)}")
    notes = []
    extra = sorted(set(columns) - set(features))
    if extra:
        notes.append(f"not in the profile, not compared: {', '.join(extra)}")
    default = th.get("*")
    verdicts = []
    targets: list[tuple[str, Mapping[str, Any], Any]] = [
        (f, fp, current[columns[f]]) for f, fp in features.items()
    ]
    if scores is not None:
        if prof.score is None:
            raise InvalidInput("the profile has no score distribution to compare scores with")
        from .profile import _scores_array

        targets.append((SCORE, prof.score, pd.Series(_scores_array(scores, len(current)))))
    for name, fp, series in targets:
        if preset == BANK:
            base = _Setting("psi", BANK_DRIFT, BANK_WARNING)
        else:
            base = _evidently_setting(fp, prof.rows, _union_unique(fp, series))
        setting = _override(_override(base, default, name), th.get(name), name)
        verdicts.append(_feature_verdict(name, fp, series, setting, preset, prof.quantile_levels))
    share_threshold = float(th.get("drift_share", EVIDENTLY_SHARE))
    drifted_n = sum(v.drifted for v in verdicts)
    share = drifted_n / len(verdicts)
    if preset == BANK and "drift_share" not in th:
        status = max((v.band for v in verdicts), key=_STATUS_ORDER.index)
        dataset_drifted = status == "drift"
    else:
        dataset_drifted = share >= share_threshold
        status = "drift" if dataset_drifted else (
            "warning" if any(v.band in ("warning", "drift") for v in verdicts) else "ok"
        )  # fmt: skip
    return DriftResult(
        preset=preset, verdicts=verdicts,
        drift_share=share_threshold if (preset != BANK or "drift_share" in th) else 0.0,
        share=share, drifted=dataset_drifted, status=status, n_reference=prof.rows,
        n_current=int(len(current)), profile_digest=prof.digest, notes=notes,
    )  # fmt: skip
