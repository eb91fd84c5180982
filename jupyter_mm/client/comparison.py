"""Data preparation for comparing runs: Jupyter-free, so the widgets and any other chart can share it.

The notebook widgets (``jupyter_mm.notebook.compare_widget``) draw what this module computes; the
frontend's compare view follows the same rules, listed here so both agree:

- **Runs** come from a filter in the search grammar, run ids / run objects, or a ``mm.runs()`` frame
  (:func:`resolve_runs`); at most :data:`MAX_RUNS`, in the order given.
- **Histories** are read down-sampled by the store to at most ``max_points`` per run, keeping each
  bucket's minimum and maximum so spikes survive (:func:`histories`). ±Inf is drawn as a gap, like NaN.
- **Smoothing** is TensorBoard's debiased exponential moving average over the points drawn
  (:func:`ema`): weight ``w`` in ``[0, 1)``, non-finite points pass through and do not enter the
  average.
- **Params differ** when at least two runs disagree, a run lacking the param counting as a value of
  its own (:func:`differing_params`).
- **Params as axes** (:func:`encode_param`): numeric when every present value parses as a finite
  float, else categorical, coded 0..n-1 in sorted order with the labels as tick text; a missing
  value is the category ``"(none)"`` (categorical) or NaN (numeric).
- **Status colours** for tables and badges: :data:`STATUS_COLORS`.

Every bad input raises an :class:`~jupyter_mm.errors.MMError` subclass that says what is available.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import records
from ..errors import InvalidInput, NotFound

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..core.entities import Run
    from ..core.store import TrackingStore

#: Most runs one comparison draws (a filter matching more is refused: narrow it or pass ids).
MAX_RUNS = 500
#: Points per run and metric drawn at most by default (down-sampled keeping extremes).
DEFAULT_MAX_POINTS = 1000
#: Points drawn over all overlaid curves by default: many runs get fewer points each, since the
#: browser's drawing time grows with the total and a chart is a few hundred pixels wide anyway.
DEFAULT_TOTAL_POINTS = 20_000
#: Fewest points per curve :func:`points_per_curve` chooses.
MIN_POINTS_PER_CURVE = 200
#: What the curves' x axis can show: the step, or the wall time of each point.
X_AXES = ("step", "time")
#: Label of a missing value on a categorical axis.
MISSING = "(none)"
#: Background / text colours of run statuses (badges and table cells).
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "RUNNING": ("#dbeafe", "#1e40af"),
    "SCHEDULED": ("#e0e7ff", "#3730a3"),
    "FINISHED": ("#dcfce7", "#166534"),
    "FAILED": ("#fee2e2", "#991b1b"),
    "KILLED": ("#fef3c7", "#92400e"),
}
#: Qualitative palette (plotly's default), one colour per run in the order compared.
PALETTE = (
    "#636efa",
    "#ef553b",
    "#00cc96",
    "#ab63fa",
    "#ffa15a",
    "#19d3f3",
    "#ff6692",
    "#b6e880",
    "#ff97ff",
    "#fecb52",
)


def run_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# ---------------------------------------------------------------------------------------- runs


def resolve_runs(
    runs_or_filter: Any,
    experiment: str | Iterable[str] | None = None,
    store: TrackingStore | None = None,
) -> list[Run]:
    """The runs to compare, fresh from the store, in the order given (a filter: newest first).

    ``runs_or_filter``: a filter string in the search grammar (``""`` or None: every run of
    ``experiment``), a run id, a run object, a list of either, or a DataFrame from ``mm.runs()``.
    """
    from .reading import get_store

    st = store if store is not None else get_store()
    if runs_or_filter is None or (
        isinstance(runs_or_filter, str) and not _looks_like_id(runs_or_filter)
    ):
        exp_ids = _ids_in(st, experiment)
        found, token = st.search_runs(
            exp_ids, runs_or_filter or None, None, max_results=MAX_RUNS + 1
        )
        if len(found) > MAX_RUNS:
            raise InvalidInput(
                f"the filter matches more than {MAX_RUNS} runs: narrow it, or pass run ids"
            )
        if not found:
            where = f" {runs_or_filter!r}" if runs_or_filter else ""
            raise NotFound(f"no runs match the filter{where}; nothing to compare")
        return found
    ids = _run_ids(runs_or_filter)
    if not ids:
        raise InvalidInput("no runs to compare: the list (or DataFrame) is empty")
    if len(ids) > MAX_RUNS:
        raise InvalidInput(f"at most {MAX_RUNS} runs can be compared at once, got {len(ids)}")
    if experiment is not None:
        raise InvalidInput("experiment= applies to a filter; runs passed by id need none")
    seen: set[str] = set()
    out = []
    for rid in ids:
        if rid not in seen:
            seen.add(rid)
            out.append(st.get_run(rid))  # NotFound names an unknown id
    return out


def _looks_like_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _ids_in(store: TrackingStore, experiment: str | Iterable[str] | None) -> list[str] | None:
    if experiment is None:
        return None
    names = [experiment] if isinstance(experiment, str) else list(experiment)
    ids = []
    for name in names:
        exp = store.get_experiment_by_name(name)
        if exp is not None:
            ids.append(exp.id)
        elif name.isdigit():
            ids.append(name)
        else:
            raise NotFound(f"no experiment named {name!r}")
    return ids


def _run_ids(value: Any) -> list[str]:
    """Run ids from a run id, run object, DataFrame (``run_id`` column) or a sequence of those."""
    if isinstance(value, str):
        return [value]
    columns = getattr(value, "columns", None)
    if columns is not None:
        if "run_id" not in columns:
            raise InvalidInput("a DataFrame of runs needs a 'run_id' column, as mm.runs() returns")
        return [str(v) for v in value["run_id"].tolist()]
    if hasattr(value, "id") and not isinstance(value, (list, tuple)):
        return [str(value.id)]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        out = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(getattr(item, "id", None), str):
                out.append(item.id)
            else:
                raise InvalidInput(
                    f"cannot compare {type(item).__name__!r}: pass run ids, runs, a filter "
                    "string or a DataFrame from mm.runs()"
                )
        return out
    raise InvalidInput(
        f"cannot compare {type(value).__name__!r}: pass a filter string, run ids, runs or a "
        "DataFrame from mm.runs()"
    )


def metric_keys(runs: Sequence[Run]) -> list[str]:
    """Every metric key any of the runs has, sorted."""
    return sorted({k for r in runs for k in r.metrics})


def default_metric(runs: Sequence[Run], keys: Sequence[str], history: bool = True) -> str:
    """The metric to show first among ``keys``: one with a history (a run logged it past step 0)
    whose latest value varies across the runs, then one with a history, then one that varies,
    then the first. Alphabetical order alone often picks a metric logged once (``acc_final``),
    whose curve is a single point."""

    def has_history(key: str) -> bool:
        return any((m := r.latest_metrics.get(key)) is not None and m.step > 0 for r in runs)

    def varies(key: str) -> bool:
        values = {r.metrics[key] for r in runs if key in r.metrics}
        return len({v for v in values if v == v}) > 1  # NaN is no value

    def score(key: str) -> tuple[bool, bool]:
        return ((has_history(key) if history else False), varies(key))

    return max(keys, key=score, default="")  # max keeps the first of equal scores


def param_keys(runs: Sequence[Run]) -> list[str]:
    return sorted({k for r in runs for k in r.params})


def check_keys(
    wanted: Iterable[str] | str | None, available: Sequence[str], what: str
) -> list[str]:
    """``wanted`` (all of ``available`` when None), each checked to be there."""
    if wanted is None:
        return list(available)
    keys = [wanted] if isinstance(wanted, str) else list(wanted)
    have = set(available)
    for key in keys:
        if not isinstance(key, str):
            raise InvalidInput(f"{what} names are strings, got {key!r}")
        if key not in have:
            shown = ", ".join(repr(k) for k in available[:20]) or "none"
            more = f" (and {len(available) - 20} more)" if len(available) > 20 else ""
            raise InvalidInput(f"no compared run has the {what} {key!r}; available: {shown}{more}")
    return keys


# ------------------------------------------------------------------------------------ histories


@dataclass(frozen=True)
class History:
    """One run's down-sampled history of one metric; ``timestamp`` in epoch milliseconds."""

    step: np.ndarray
    timestamp: np.ndarray
    value: np.ndarray

    def x(self, axis: str) -> np.ndarray:
        return self.step if axis == "step" else self.timestamp

    @property
    def mark(self) -> tuple[int, int, int]:
        """Changes when points were appended: (count, last step, last timestamp)."""
        n = len(self.step)
        return (n, int(self.step[-1]), int(self.timestamp[-1])) if n else (0, 0, 0)


def points_per_curve(n_curves: int, max_points: int | None = None) -> int:
    """``max_points`` when given, else :data:`DEFAULT_TOTAL_POINTS` shared among the curves
    (between :data:`MIN_POINTS_PER_CURVE` and :data:`DEFAULT_MAX_POINTS` each)."""
    if max_points is not None:
        if not isinstance(max_points, int) or isinstance(max_points, bool) or max_points < 4:
            raise InvalidInput(f"max_points must be an integer of at least 4, got {max_points!r}")
        return max_points
    share = DEFAULT_TOTAL_POINTS // max(1, n_curves)
    return max(MIN_POINTS_PER_CURVE, min(DEFAULT_MAX_POINTS, share))


def history(
    store: TrackingStore, run_id: str, key: str, max_points: int = DEFAULT_MAX_POINTS
) -> History:
    """A run's history of ``key``, down-sampled keeping extremes; empty if the run lacks it."""
    if not isinstance(max_points, int) or max_points < 4:
        raise InvalidInput(f"max_points must be an integer of at least 4, got {max_points!r}")
    h = store.get_metric_history(run_id, key, max_points=max_points)
    return History(h["step"], h["timestamp"], h["value"])


def histories(
    store: TrackingStore, runs: Sequence[Run], key: str, max_points: int = DEFAULT_MAX_POINTS
) -> dict[str, History]:
    """Each run's history of ``key`` (runs without it are left out)."""
    return {r.id: history(store, r.id, key, max_points) for r in runs if key in r.metrics}


def check_axis(axis: str) -> str:
    if axis not in X_AXES:
        raise InvalidInput(f"x axis must be one of {', '.join(X_AXES)}, got {axis!r}")
    return axis


def check_smoothing(weight: Any) -> float:
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise InvalidInput(f"smoothing is a number in [0, 1), got {weight!r}") from None
    if not 0.0 <= w < 1.0:
        raise InvalidInput(f"smoothing is a number in [0, 1), got {weight!r}")
    return w


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average with weight ``weight`` in ``[0, 1)``.

    ``s_i = w * s_{i-1} + (1 - w) * v_i`` from ``s = 0``, divided by ``1 - w**n`` (``n``: finite
    points so far) so the start is not pulled towards zero. Non-finite points (NaN, ±Inf) stay
    as they are and are left out of the average. ``weight == 0`` returns a copy.
    """
    import numpy as np

    w = check_smoothing(weight)
    v = np.asarray(values, dtype=np.float64)
    out = v.copy()
    if w == 0.0 or len(v) == 0:
        return out
    finite = np.isfinite(v)
    x = v[finite]
    if len(x) == 0:
        return out
    s = _ema_raw(x, w)
    n = np.arange(1, len(x) + 1, dtype=np.float64)
    out[finite] = s / (1.0 - w**n)
    return out


def _ema_raw(x: np.ndarray, w: float) -> np.ndarray:
    """``s_i = w * s_{i-1} + (1 - w) * x_i`` from ``s = 0``, vectorised by blocks (no scipy: its
    import alone takes a second). Within a block ``s_i = w^i * (s_0 + (1-w) * cumsum(x_k / w^k))``;
    blocks are short enough that ``w^-k`` stays below 1e150, and each is scaled to its largest
    magnitude so values near the float64 limit cannot overflow."""
    import numpy as np

    n = len(x)
    out = np.empty(n, dtype=np.float64)
    block = max(1, min(n, int(150 / -math.log10(w)))) if w < 1 else n
    k = np.arange(1, block + 1, dtype=np.float64)
    up = w**-k  # w^-1 .. w^-block
    down = w**k
    carry = 0.0
    for start in range(0, n, block):
        chunk = x[start : start + block]
        m = len(chunk)
        scale = max(float(np.abs(chunk).max()), abs(carry)) or 1.0  # no overflow near 1e308
        acc = np.cumsum((chunk / scale) * up[:m]) * (1.0 - w)
        out[start : start + m] = down[:m] * (carry / scale + acc) * scale
        carry = float(out[start + m - 1])
    return out


# --------------------------------------------------------------------------------------- params


def differing_params(
    runs: Sequence[Run], keys: Iterable[str] | None = None
) -> tuple[list[str], list[str]]:
    """``(differing, identical)`` param keys: a key differs when two runs hold different values or
    one run lacks it. One run alone has no differing params."""
    chosen = param_keys(runs) if keys is None else list(keys)
    differing: list[str] = []
    identical: list[str] = []
    for key in chosen:
        values = {r.params.get(key) for r in runs}
        (differing if len(values) > 1 else identical).append(key)
    return differing, identical


def as_number(text: Any) -> float | None:
    """``text`` as a finite float, else None."""
    if text is None or isinstance(text, bool):
        return None
    try:
        f = float(text)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class Encoded:
    """A param's values as numbers for an axis: ``kind`` ``"numeric"`` or ``"categorical"``; for
    categorical, ``labels[i]`` is the text of code ``i``."""

    kind: str
    values: list[float | None]
    labels: list[str]


def encode_param(values: Sequence[str | None]) -> Encoded:
    """Numeric when every present value is a finite number (missing: None), else categorical with
    codes in sorted label order, numbers sorted numerically before text (missing: ``"(none)"``)."""
    present = [v for v in values if v is not None]
    nums = [as_number(v) for v in present]
    if present and all(n is not None for n in nums):
        return Encoded("numeric", [as_number(v) for v in values], [])
    labels = sorted({MISSING if v is None else str(v) for v in values}, key=_label_order)
    code = {label: float(i) for i, label in enumerate(labels)}
    return Encoded("categorical", [code[MISSING if v is None else str(v)] for v in values], labels)


def _label_order(label: str) -> tuple[int, float, str]:
    n = as_number(label)
    if label == MISSING:
        return (2, 0.0, label)
    return (0, n, label) if n is not None else (1, 0.0, label)


def metric_value(run: Run, key: str) -> float | None:
    """The run's latest value of ``key`` when finite, else None (missing, NaN or ±Inf)."""
    v = run.metrics.get(key)
    return None if v is None or not math.isfinite(v) else float(v)


def parcoords_dimensions(
    runs: Sequence[Run], params: Sequence[str], metric: str
) -> list[dict[str, Any]]:
    """Axes for parallel coordinates: one per param, the metric last. Each is ``{"label",
    "kind", "values"}`` (plus ``"labels"`` when categorical); None marks a missing value."""
    dims: list[dict[str, Any]] = []
    for key in params:
        enc = encode_param([r.params.get(key) for r in runs])
        dim: dict[str, Any] = {"label": key, "kind": enc.kind, "values": enc.values}
        if enc.kind == "categorical":
            dim["labels"] = enc.labels
        dims.append(dim)
    dims.append(
        {"label": metric, "kind": "metric", "values": [metric_value(r, metric) for r in runs]}
    )
    return dims


def scatter_points(runs: Sequence[Run], param: str, metric: str) -> dict[str, Any]:
    """``{"kind", "x", "y", "labels"}``: each run's param (numeric or the category's text) against
    its latest metric value; None where either is missing or not finite."""
    enc = encode_param([r.params.get(param) for r in runs])
    if enc.kind == "numeric":
        xs: list[Any] = list(enc.values)
    else:
        xs = [r.params.get(param, MISSING) for r in runs]
    return {
        "kind": enc.kind,
        "x": xs,
        "y": [metric_value(r, metric) for r in runs],
        "labels": enc.labels,
    }


# ---------------------------------------------------------------------------------------- diffs


def _flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            name = v.get("name") if isinstance(v.get("name"), str) else str(i)
            _flatten(v, f"{prefix}[{name}]", out)
    else:
        out[prefix] = value
    return out


def mapping_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{"key", "a", "b", "change"}`` for keys whose values differ (``change``: ``"added"``,
    ``"removed"`` or ``"changed"``), sorted by key. Missing values are None."""
    rows = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if key in a and key in b:
            same = va == vb or (
                isinstance(va, float)
                and isinstance(vb, float)
                and math.isnan(va)
                and math.isnan(vb)
            )
            if same:
                continue
            change = "changed"
        else:
            change = "added" if key in b else "removed"
        rows.append({"key": key, "a": va, "b": vb, "change": change})
    return rows


#: Environment record keys not worth diffing (they change for every capture).
_ENV_SKIP = ("fingerprint", "errors")


def environment_diff(
    a: Mapping[str, Any] | None, b: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Differences between two environment records, as flattened dotted keys
    (``packages.numpy``, ``python.version``...)."""
    fa = _flatten({k: v for k, v in (a or {}).items() if k not in _ENV_SKIP})
    fb = _flatten({k: v for k, v in (b or {}).items() if k not in _ENV_SKIP})
    return mapping_diff(fa, fb)


def dataset_diff(a: Run, b: Run) -> list[dict[str, Any]]:
    """Datasets by ``name (context)``: digest, row count and source compared."""

    def table(run: Run) -> dict[str, Any]:
        return {
            f"{d.name} ({d.context})" if d.context else d.name: {
                "digest": d.digest,
                "rows": d.row_count,
                "source": d.source,
            }
            for d in run.datasets
        }

    return mapping_diff(table(a), table(b))


def run_diff(
    store: TrackingStore,
    run_a: Any,
    run_b: Any,
    notebook: bool = True,
) -> dict[str, Any]:
    """What differs between two runs: ``params``, ``metrics`` (latest values), ``tags`` (not the
    ``mm.*`` bookkeeping), ``environment``, ``datasets`` (rows from :func:`mapping_diff`) and
    ``notebook``: nbdime's diff of their snapshots (:func:`~.snapshots.diff_snapshots`), or
    ``{"error": why}`` when either has none."""
    from .snapshots import diff_snapshots

    ia, ib = _run_ids(run_a), _run_ids(run_b)
    if len(ia) != 1 or len(ib) != 1:
        raise InvalidInput("diff compares exactly two runs: pass one run (or id) for each side")
    a, b = store.get_run(ia[0]), store.get_run(ib[0])
    env_a, env_b = _environment(store, a.id), _environment(store, b.id)
    out: dict[str, Any] = {
        "a": {"id": a.id, "name": a.name, "status": a.status},
        "b": {"id": b.id, "name": b.name, "status": b.status},
        "params": mapping_diff(a.params, b.params),
        "metrics": mapping_diff(a.metrics, b.metrics),
        "tags": mapping_diff(
            {k: v for k, v in a.tags.items() if not k.startswith("mm.")},
            {k: v for k, v in b.tags.items() if not k.startswith("mm.")},
        ),
        "environment": environment_diff(env_a, env_b),
        "environment_recorded": (env_a is not None, env_b is not None),
        "datasets": dataset_diff(a, b),
    }
    if notebook:
        try:
            out["notebook"] = diff_snapshots(store, a.id, b.id)
        except NotFound as e:
            out["notebook"] = {"error": e.message}
    return out


def _environment(store: TrackingStore, run_id: str) -> dict[str, Any] | None:
    import json

    try:
        value = json.loads(store.read_artifact(run_id, records.ENVIRONMENT))
    except NotFound:
        return None
    return value if isinstance(value, dict) else None


# ------------------------------------------------------------------------------- runs frames


def status_style(status: Any) -> str:
    """CSS for a status cell (empty for an unknown status)."""
    colors = STATUS_COLORS.get(str(status))
    if colors is None:
        return ""
    return f"background-color: {colors[0]}; color: {colors[1]}; font-weight: 600"


def runs_frame_class() -> type[pd.DataFrame]:
    """:class:`RunsFrame`, defined on first use so importing this module never imports pandas."""
    global _RunsFrame
    if _RunsFrame is None:
        _RunsFrame = _define_runs_frame()
    return _RunsFrame


_RunsFrame: Any = None


def _define_runs_frame() -> type[pd.DataFrame]:
    import pandas as pd

    class RunsFrame(pd.DataFrame):
        """A DataFrame of runs whose HTML shows the ``status`` column in its colour.

        Everything else is plain pandas: operations that keep the frame keep the class (and the
        colours); a frame without a ``status`` column renders as pandas renders it.
        """

        @property
        def _constructor(self) -> Any:
            return RunsFrame

        def _repr_html_(self) -> str | None:
            plain = super()._repr_html_()
            if "status" not in self.columns or plain is None or self.columns.duplicated().any():
                return plain
            try:
                max_rows = pd.get_option("display.max_rows")
                max_cols = pd.get_option("display.max_columns")
                styler = (
                    pd.DataFrame(self)
                    .style.format(escape="html", na_rep="")
                    .format_index(escape="html", axis=0)
                    .format_index(escape="html", axis=1)
                    .map(status_style, subset=["status"])
                )
                return styler.to_html(max_rows=max_rows, max_columns=max_cols)
            except Exception:  # jinja2 missing, an odd index: pandas' own HTML
                _log.debug("styling the runs table failed", exc_info=True)
                return plain

    RunsFrame.__module__ = __name__
    RunsFrame.__qualname__ = "RunsFrame"
    return RunsFrame


def __getattr__(name: str) -> Any:
    """``RunsFrame`` on demand (pickle finds the class by this name)."""
    if name == "RunsFrame":
        return runs_frame_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
