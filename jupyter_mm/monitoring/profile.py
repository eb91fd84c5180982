"""The reference profile: what monitoring keeps of the reference data, computed once.

Per feature: the reference deciles' edges and counts (numeric), category frequencies with a cap
and an ``other`` level (categorical, and numeric columns with few distinct values), a quantile
grid, mean and standard deviation, null count, row count and dtype; the model's scores on the same
rows as one more numeric column; the data's SHA-256 (the dataset fingerprint of
``client/datasets.py``). It is plain JSON with a versioned schema (:data:`SCHEMA`), a few
kilobytes per feature at most, and comparing current data to it never needs the reference data
(:func:`current_counts` bins current data on the frozen bins with ``np.searchsorted``).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

#: Schema name and version written into every profile; readers refuse others.
SCHEMA = "jupyter-mm.reference-profile"
SCHEMA_VERSION = 1
#: Bank convention: ten bins at the reference deciles.
DECILES = tuple(round(0.1 * k, 1) for k in range(1, 10))
#: Quantile grid kept for KS and Wasserstein against the profile: min, the midpoints of 100
#: equal strata (0.005, 0.015, ... 0.995), max.
QUANTILE_LEVELS = (0.0, *(round(0.005 + 0.01 * k, 3) for k in range(100)), 1.0)
#: Categories kept per categorical feature; the rest are counted together as ``other``.
MAX_CATEGORIES = 50
#: A numeric column with at most this many distinct values also keeps its value frequencies
#: (Evidently treats numeric columns with <= 5 distinct values as categorical).
MAX_VALUES = 20
OTHER, MISSING = "other", "missing"
SCORE = "__score__"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def undated(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A profile document without its ``created`` stamp: two builds of the same data are equal
    under it, whatever second each was made in."""
    return {k: v for k, v in doc.items() if k != "created"}


def frame_with_rows(data: Any, what: str) -> pd.DataFrame:
    """``data`` as a DataFrame (a Series becomes a one-column frame) with at least one row."""
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(f"{what} must be a DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise InvalidInput(f"{what} must have at least one row")
    return data


def _column_kind(series: Any) -> str:
    from pandas.api import types

    if types.is_bool_dtype(series.dtype):
        return "categorical"
    if types.is_numeric_dtype(series.dtype) or types.is_datetime64_any_dtype(series.dtype):
        return "numeric"
    return "categorical"


def numeric_values(series: Any) -> np.ndarray:
    """float64 values of a numeric (or datetime) column, nulls as NaN."""
    from pandas.api import types

    if types.is_datetime64_any_dtype(series.dtype):
        stamps = series.to_numpy(dtype="datetime64[ns]")
        out = stamps.astype("int64").astype(float)
        out[np.isnat(stamps)] = np.nan
        return out
    try:
        return np.asarray(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"column {series.name!r} is numeric in the reference but holds non-numbers now"
        ) from None


def _round(values: np.ndarray, digits: int | None = None) -> list[float]:
    """JSON numbers; ``digits`` significant digits where full precision buys nothing (the
    quantile grid), full precision where bins must reproduce exactly (decile edges)."""
    if digits is None:
        return [float(v) for v in values]
    return [float(f"{v:.{digits}g}") for v in values]


def _numeric_profile(values: np.ndarray, dtype: str) -> dict[str, Any]:
    nulls = int(np.isnan(values).sum())
    finite = values[~np.isnan(values)]
    out: dict[str, Any] = {
        "kind": "numeric", "dtype": dtype, "count": int(values.size), "nulls": nulls,
        "null_rate": nulls / values.size if values.size else 0.0,
    }  # fmt: skip
    if finite.size == 0:
        out.update(mean=None, std=None, min=None, max=None, deciles=None, quantiles=None)
        out["values"] = None
        return out
    edges = np.unique(np.quantile(finite, DECILES))
    if finite.min() == finite.max():  # a constant: bins below, at and above it, so a move shows
        edges = np.array([edges[0], np.nextafter(edges[0], np.inf)])
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=edges.size + 1)
    out.update(
        mean=float(finite.mean()), std=float(finite.std()),
        min=float(finite.min()), max=float(finite.max()),
        deciles={"edges": _round(edges), "counts": counts.tolist(),
                 "proportions": _round(counts / finite.size, digits=6)},
        quantiles=_round(np.quantile(finite, QUANTILE_LEVELS), digits=8),
    )  # fmt: skip
    distinct, freq = np.unique(finite, return_counts=True)
    out["unique"] = int(distinct.size)
    out["values"] = (
        {"levels": _round(distinct), "counts": freq.tolist()}
        if distinct.size <= MAX_VALUES
        else None
    )
    return out


def category_keys(series: Any) -> tuple[list[str], np.ndarray, int]:
    """(distinct non-null values as text, their counts, null count) of a column."""
    import pandas as pd

    nulls = int(series.isna().sum())
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(series.cat.categories))
        keys = [str(c) for c in series.cat.categories]
    else:
        vc = series.value_counts(dropna=True, sort=False)
        keys, counts = [str(k) for k in vc.index], vc.to_numpy()
    merged: dict[str, int] = {}
    for key, count in zip(keys, counts.tolist(), strict=True):
        if count:
            merged[key] = merged.get(key, 0) + int(count)
    return list(merged), np.asarray(list(merged.values()), dtype=np.int64), nulls


def _categorical_profile(series: Any, max_categories: int) -> dict[str, Any]:
    keys, counts, nulls = category_keys(series)
    order = sorted(range(len(keys)), key=lambda i: (-counts[i], keys[i]))
    kept, rest = order[:max_categories], order[max_categories:]
    n = int(len(series))
    non_null = int(counts.sum())
    levels = [keys[i] for i in kept]
    kept_counts = [int(counts[i]) for i in kept]
    other = int(sum(int(counts[i]) for i in rest))
    return {
        "kind": "categorical", "dtype": str(series.dtype), "count": n, "nulls": nulls,
        "null_rate": nulls / n if n else 0.0, "unique": len(keys),
        "categories": {
            "levels": levels, "counts": kept_counts, "other": other,
            "proportions": _round(np.asarray(kept_counts) / non_null, 6) if non_null else [],
        },
    }  # fmt: skip


def _scores_array(scores: Any, rows: int) -> np.ndarray:
    arr = np.asarray(getattr(scores, "to_numpy", lambda: scores)(), dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 2:  # predict_proba of a binary classifier
        arr = arr[:, 1]
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != rows:
        raise InvalidInput(
            f"scores must be one value per reference row ({rows}), got shape {arr.shape}"
        )
    return arr


@dataclass(frozen=True)
class ReferenceProfile:
    """A frozen reference profile: the JSON document plus typed accessors."""

    doc: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.doc["rows"])

    @property
    def digest(self) -> str:
        return str(self.doc["data_digest"])

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        return dict(self.doc["features"])

    @property
    def quantile_levels(self) -> list[float]:
        return list(self.doc["options"]["quantile_levels"])

    @property
    def score(self) -> dict[str, Any] | None:
        return self.doc.get("score")

    @property
    def performance(self) -> dict[str, Any] | None:
        """The labelled reference's metrics and calibration (None: built without labels)."""
        return self.doc.get("performance")

    def to_json(self) -> str:
        return json.dumps(self.doc, separators=(",", ":"), allow_nan=False)

    def to_bytes(self) -> bytes:
        return self.to_json().encode()

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> ReferenceProfile:
        """Read a profile back, refusing anything that is not one this version can read."""
        try:
            doc = dict(text) if isinstance(text, Mapping) else json.loads(text)
        except (ValueError, TypeError):
            raise InvalidInput("a reference profile must be JSON") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise InvalidInput(f"not a reference profile (expected schema {SCHEMA!r})")
        if doc.get("schema_version") != SCHEMA_VERSION:
            raise InvalidInput(
                f"reference profile schema version {doc.get('schema_version')!r} is not "
                f"{SCHEMA_VERSION}: upgrade jupyter-mm to read it"
            )
        if not isinstance(doc.get("features"), dict) or not isinstance(doc.get("rows"), int):
            raise InvalidInput("reference profile lacks its features or row count")
        return cls(doc)


def build_profile(
    data: Any,
    scores: Any = None,
    *,
    max_categories: int = MAX_CATEGORIES,
    categorical: Any = (),
    labels: Any = None,
) -> ReferenceProfile:
    """Profile a DataFrame (and optionally the model's scores on the same rows) once.

    ``categorical`` names numeric columns to profile as categories (codes, ratings).
    ``labels`` (0/1 outcomes of the same rows, with ``scores``) add ``performance``: the
    reference's measured metrics and whether its scores are calibrated (what performance
    monitors compare with, and what allows estimating performance before labels arrive).
    """
    import pandas as pd

    from ..client.datasets import describe

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        try:
            data = pd.DataFrame(data)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"reference data must be a pandas DataFrame, got {type(data).__name__}"
            ) from None
    if len(data) == 0 or data.shape[1] == 0:
        raise InvalidInput("reference data is empty: a profile needs rows and columns")
    names = [str(c) for c in data.columns]
    if len(set(names)) != len(names):
        raise InvalidInput("reference data has duplicate column names")
    if SCORE in names:
        raise InvalidInput(f"{SCORE!r} is reserved for the model's scores")
    if not isinstance(max_categories, int) or max_categories < 1:
        raise InvalidInput("max_categories must be a positive integer")
    forced = {str(c) for c in categorical}
    unknown = sorted(forced - set(names))
    if unknown:
        raise InvalidInput(f"categorical names columns the data lacks: {', '.join(unknown)}")
    score_values = _scores_array(scores, len(data)) if scores is not None else None
    features: dict[str, Any] = {}
    for col, name in zip(data.columns, names, strict=True):
        series = data[col]
        if _column_kind(series) == "numeric" and name not in forced:
            features[name] = _numeric_profile(numeric_values(series), str(series.dtype))
        else:
            features[name] = _categorical_profile(series, max_categories)
    doc: dict[str, Any] = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "created": _now(),
        "rows": int(len(data)), "data_digest": describe(data, "reference").digest,
        "features": features, "score": None, "scores_digest": None,
        "options": {"deciles": list(DECILES), "quantile_levels": list(QUANTILE_LEVELS),
                    "max_categories": max_categories, "max_values": MAX_VALUES},
    }  # fmt: skip
    if score_values is not None:
        doc["score"] = _numeric_profile(score_values, "float64")
        doc["scores_digest"] = describe(score_values, "scores").digest
    if labels is not None:
        doc["performance"] = _reference_performance(labels, score_values, len(data))
    return ReferenceProfile(doc)


def _reference_performance(labels: Any, scores: np.ndarray | None, rows: int) -> dict[str, Any]:
    import pandas as pd

    from .performance import reference_summary

    if scores is None:
        raise InvalidInput("reference labels need the model's scores on the same rows (scores=)")
    y = labels.to_numpy() if isinstance(labels, (pd.Series, pd.Index)) else np.asarray(labels)
    if y.ndim != 1 or y.size != rows:
        raise InvalidInput(f"labels must be one value per reference row ({rows}), got shape "
                           f"{y.shape}")  # fmt: skip
    if pd.isna(pd.Series(y)).any():
        raise InvalidInput("reference labels must not be missing (NaN/None)")
    if np.isnan(scores).any():
        raise InvalidInput("reference labels need a score for every row (the scores hold NaN)")
    return reference_summary(y, scores)


# --------------------------------------------------------------------------- current data


@dataclass(frozen=True)
class Counts:
    """Reference and current counts of one feature on the frozen bins."""

    labels: list[str]
    reference: np.ndarray
    current: np.ndarray
    edges: list[float] | None
    current_nulls: int
    current_rows: int
    unseen: list[str]


def numeric_bins(fp: Mapping[str, Any], values: np.ndarray, missing: bool = True) -> Counts:
    """Current numeric values on the reference's decile bins (+ a ``missing`` bin when either
    side has nulls and ``missing``): one ``searchsorted`` pass."""
    nan = np.isnan(values)
    nulls = int(nan.sum())
    finite = values[~nan] if nulls else values
    dec = fp.get("deciles")
    if dec is None:  # reference all null
        edges: list[float] = []
        ref = np.zeros(1, dtype=np.int64)
        cur = np.array([finite.size])
        labels = ["all"]
    else:
        edges = list(dec["edges"])
        ref = np.asarray(dec["counts"], dtype=np.int64)
        cur = np.bincount(
            np.searchsorted(np.asarray(edges), finite, side="right"), minlength=len(edges) + 1
        )
        labels = _interval_labels(edges)
    if missing and (fp["nulls"] or nulls):
        labels, ref, cur = [*labels, MISSING], np.append(ref, fp["nulls"]), np.append(cur, nulls)
    return Counts(labels, ref, cur, edges, nulls, int(values.size), [])


def _interval_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    out = [f"< {edges[0]:.6g}"]
    out += [f"[{a:.6g}, {b:.6g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [*out, f">= {edges[-1]:.6g}"]


def value_bins(fp: Mapping[str, Any], values: np.ndarray, missing: bool = False) -> Counts:
    """Current values of a low-cardinality numeric column on the reference's distinct values,
    values the reference never had counted as ``other``."""
    nan = np.isnan(values)
    finite = values[~nan]
    levels = np.asarray(fp["values"]["levels"], dtype=float)
    idx = np.searchsorted(levels, finite)
    idx_c = np.minimum(idx, levels.size - 1)
    hit = (idx < levels.size) & (levels[idx_c] == finite)
    cur = np.bincount(idx_c[hit], minlength=levels.size)
    unseen_vals = np.unique(finite[~hit])
    labels = [f"{v:.6g}" for v in levels]
    ref = np.asarray(fp["values"]["counts"], dtype=np.int64)
    labels, ref, cur = [*labels, OTHER], np.append(ref, 0), np.append(cur, int((~hit).sum()))
    if missing and (fp["nulls"] or nan.any()):
        labels, ref = [*labels, MISSING], np.append(ref, fp["nulls"])
        cur = np.append(cur, int(nan.sum()))
    unseen = [f"{v:.6g}" for v in unseen_vals[:20]]
    return Counts(labels, ref, cur, None, int(nan.sum()), int(values.size), unseen)


def category_bins(fp: Mapping[str, Any], series: Any, missing: bool = True) -> Counts:
    """Current categories on the reference's levels; unseen ones go to ``other``."""
    cats = fp["categories"]
    keys, counts, nulls = category_keys(series)
    position = {k: i for i, k in enumerate(cats["levels"])}
    cur = np.zeros(len(position) + 1, dtype=np.int64)
    unseen = []
    for key, count in zip(keys, counts.tolist(), strict=True):
        i = position.get(key)
        if i is None:
            cur[-1] += count
            unseen.append(key)
        else:
            cur[i] += count
    ref = np.asarray([*cats["counts"], cats["other"]], dtype=np.int64)
    labels = [*cats["levels"], OTHER]
    if missing and (fp["nulls"] or nulls):
        labels, ref, cur = [*labels, MISSING], np.append(ref, fp["nulls"]), np.append(cur, nulls)
    return Counts(labels, ref, cur, None, nulls, int(len(series)), sorted(unseen)[:20])
