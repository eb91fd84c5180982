"""Current data: ``mm.log_predictions`` (batch scores logged from anywhere), ``mm.log_labels``
(delayed ground truth), and what reads them back: ``mm.drift`` (a window of the log against the
version's reference profile), ``mm.performance`` (measured, once labels arrive) and
``mm.estimate_performance`` (CBPE, before they do).

Batch scores land in the prediction log's own layout (their rows built by the model server's
writer's own code, :func:`~jupyter_mm.serving.prediction_log.batch_table`), under the store's
``<artifact root>/predictions``; labels beside it (``core/labels.py``). Both are written through
the store (``log_prediction_table``, ``log_label_table``): a remote store (``http(s)://``
tracking URI) sends them to the server's ``POST predictions`` and ``POST labels`` routes as
Parquet, and keeps them in its spool while the server is unreachable or failing (sent when it
is back, or by ``jupyter mm sync``), so a batch it accepted is never lost. ``mm.drift`` and
``mm.performance`` read a remote store's log through ``GET predictions`` (the whole window in
memory) and its labels through ``GET labels``.

Reading a window (``read_window``) opens only the model's partitions of the dates in range and
only the columns needed (the profile's features, the score, the ids), and streams record
batches: above ``max_rows`` rows it keeps a uniform random sample of ``max_rows`` (seeded, said
in the result), so memory is bounded by ``max_rows`` × the features, whatever the window holds.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd

    from ..core.store import TrackingStore
    from .presets import DriftResult, Thresholds
    from .profile import ReferenceProfile

#: Windows with fewer logged rows than this say so instead of giving a verdict.
MIN_ROWS = 500
#: Above this many rows in a window, a uniform sample of this many is compared.
MAX_ROWS = 2_000_000
SCORE_COLUMNS = ("output", "output.1", "output.score", "output.probability")


def _store(write: bool = False) -> TrackingStore:
    from ..client.registry import _store as store

    return store(write)


def _version(store: TrackingStore, name: str, version: int | str | None) -> str:
    if version is not None:
        return str(store.get_model_version(name, version).version)
    versions = store.list_model_versions(name)
    if not versions:
        raise NotFound(f"model {name!r} has no versions")
    return str(max(v.version for v in versions))


# --------------------------------------------------------------------------- writing


def log_predictions(
    name: str,
    version: int | str,
    inputs: Any,
    outputs: Any,
    ids: Any = None,
    *,
    at: Any = None,
) -> dict[str, Any]:
    """Log batch scores made elsewhere (``inputs`` a DataFrame, ``outputs`` one score, class or
    row of scores per input row) into the store's prediction log, as the model server logs.

    ``ids`` (one per row) are the rows' ids for :func:`log_labels`; without them the batch gets
    one request id (returned) and its rows are ``(request_id, row)``. ``at`` is when they were
    scored (default now). Returns ``{"request_id", "rows", "version"}``. Written before
    returning; nothing is written when the batch is refused.
    """

    from ..core.predictions import _bound
    from ..serving.prediction_log import batch_table
    from .profile import frame_with_rows

    store = _store(write=True)
    inputs = frame_with_rows(inputs, "inputs")
    if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__len__"):
        raise InvalidInput("outputs must hold one prediction per input row")
    if isinstance(outputs, (list, tuple)):
        import numpy as np

        outputs = np.asarray(outputs)
    if len(outputs) != len(inputs):
        raise InvalidInput(f"the prediction log needs one output per input row: {len(outputs)} "
                           f"outputs for {len(inputs)} rows")  # fmt: skip
    id_list = None
    if ids is not None:
        id_list = [str(x) for x in (ids.tolist() if hasattr(ids, "tolist") else list(ids))]
        if len(id_list) != len(inputs):
            raise InvalidInput(f"the prediction log needs one id per input row: {len(id_list)} "
                               f"ids for {len(inputs)} rows")  # fmt: skip
        if len(set(id_list)) != len(id_list):
            raise InvalidInput("ids must be unique within a batch (they are the labels' join key)")
        if any(x in ("", "None", "nan") for x in id_list):
            raise InvalidInput("ids must not be empty, None or NaN")
    ts = time.time() if at is None else _bound(at, "at", end=False)[0].timestamp()  # type: ignore[union-attr]
    v = _batch_version(store, name, version)
    batch = uuid.uuid4().hex
    request_id = f"batch-{batch}"
    table = batch_table(request_id=request_id, model_name=name, model_version=v,
                        inputs=inputs.reset_index(drop=True), outputs=outputs, ts=ts,
                        ids=id_list)  # fmt: skip
    store.log_prediction_table(name, v, table, batch=batch)  # None: spooled, sent later
    return {"request_id": None if id_list else request_id, "rows": len(inputs),
            "version": int(v) if v.isdigit() else v}  # fmt: skip


def _batch_version(store: TrackingStore, name: str, version: int | str) -> str:
    """The version a batch is logged for. A version number given to a remote store is checked
    by the server when the batch arrives (so a batch logged while it is unreachable is kept);
    anything else is looked up now (NotFound before anything is sent or written)."""
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        raise InvalidInput(f"version must be a number or a string, not {version!r}")
    number = str(version).strip()
    if getattr(store, "predictions_url", None) is None and number.isdigit() and int(number) > 0:
        return str(int(number))
    return str(store.get_model_version(name, version).version)


def log_labels(name: str, ids: Any, labels: Any, at: Any = None) -> int:
    """Record delayed ground truth for model ``name``: ``labels[i]`` is the outcome of the
    prediction ``ids[i]`` (an id given at ``log_predictions``, or a ``(request_id, row)`` pair
    of a served request). ``at``: when the outcome was known (default now). The last label
    recorded for an id wins; labels of ids never logged are kept and reported by
    :func:`labels`, never joined. Returns the number of labels written."""
    from .labels import label_table

    if not isinstance(name, str) or not name:
        raise InvalidInput("the model name must be a non-empty string")
    store = _store(write=True)
    table = label_table(ids, labels, at)  # checked here: a bad call fails before anything is sent
    store.log_label_table(name, table, batch=uuid.uuid4().hex)  # None: spooled, sent later
    return int(table.num_rows)


def labels(name: str) -> pd.DataFrame:
    """The model's labels (the last per id) with ``matched``: whether a logged prediction of
    any version has that id, and ``duplicates``: how many earlier labels it replaced."""
    from .labels import KEY

    store = _store()
    frame = store.labels(name)
    ids = frame["request_id"].unique()
    keys = _scan(store, name, None, None, None, list(KEY), None, request_ids=ids)[0]
    keys = keys[KEY].drop_duplicates()
    keys["row"] = keys["row"].astype("int32")
    probe = frame.merge(keys.assign(matched=True), on=KEY, how="left")
    probe["matched"] = probe["matched"].notna() & probe["matched"].astype(bool)
    return probe


# --------------------------------------------------------------------------- reading a window


def window_bounds(window: Any, end: Any = None) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end)`` in UTC: ``end`` (default now) minus ``window`` (``"7d"``, ``"24h"``,
    a ``timedelta``)."""
    import pandas as pd

    from ..core.predictions import _bound

    hi = dt.datetime.now(dt.timezone.utc) if end is None else _bound(end, "end", end=True)[0]
    assert hi is not None
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*", str(window).lower())
    if isinstance(window, dt.timedelta):
        span = window
    elif isinstance(window, pd.Timedelta):
        span = window.to_pytimedelta()
    elif isinstance(window, str) and found:
        span = dt.timedelta(**{units[found.group(2)]: float(found.group(1))})
    else:
        raise InvalidInput(f"window {window!r} is not a duration: give '30d', '7d', '24h', "
                           "'90m' or a timedelta")  # fmt: skip
    if span <= dt.timedelta(0):
        raise InvalidInput(f"window must be positive, got {window!r}")
    return hi - span, hi


def read_window(
    root: str,
    name: str,
    version: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    columns: list[str],
    max_rows: int | None = MAX_ROWS,
    seed: int = 0,
    request_ids: Any = None,
) -> tuple[pd.DataFrame, int, list[str]]:
    """``(frame, rows in the window, columns absent from the log)``: the log's rows of the
    window, only ``columns`` (those the log has), streamed in batches; above ``max_rows`` a
    uniform random sample of about ``max_rows`` rows. ``request_ids``: only rows with one of
    these ids (the labelled ones), filtered while scanning."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.dataset as ds

    from ..core.predictions import PARTITION_KEYS, _filesystem, _missing, partition_dir

    fs, base = _filesystem(root)
    where = partition_dir(base, name, version)
    empty = pd_empty(columns)
    if _missing(fs, where):
        return empty, 0, []
    partitioning = ds.partitioning(
        pa.schema([(k, pa.string()) for k in PARTITION_KEYS]), flavor="hive"
    )
    dataset = ds.dataset(where, filesystem=fs, format="parquet", partitioning=partitioning,
                         partition_base_dir=base, exclude_invalid_files=False)  # fmt: skip
    keep = ds.field("model") == name
    if version is not None:
        keep &= ds.field("version") == version
    if start is not None:
        keep &= ds.field("date") >= start.date().isoformat()
    if end is not None:
        keep &= ds.field("date") <= end.date().isoformat()
    fragments = list(dataset.get_fragments(filter=keep))
    if not fragments:
        return empty, 0, []
    schema = pa.unify_schemas([f.physical_schema for f in fragments], promote_options="permissive")
    present = [c for c in columns if c in schema.names]
    absent = [c for c in columns if c not in schema.names]
    data = ds.FileSystemDataset(fragments, schema, dataset.format, dataset.filesystem)
    rows_filter = None
    ts_type = schema.field("ts").type
    if start is not None:
        rows_filter = ds.field("ts") >= pa.scalar(start, ts_type)
    if end is not None:
        upper = ds.field("ts") <= pa.scalar(end, ts_type)
        rows_filter = upper if rows_filter is None else rows_filter & upper
    if request_ids is not None:
        among = ds.field("request_id").isin(pa.array(list(request_ids), pa.string()))
        rows_filter = among if rows_filter is None else rows_filter & among
    total = int(data.count_rows(filter=rows_filter))
    rate = 1.0 if max_rows is None or total <= max_rows else max_rows / total
    rng = np.random.default_rng(seed)
    kept = []
    scanner = data.scanner(columns=present, filter=rows_filter, batch_size=262_144)
    for batch in scanner.to_batches():
        if batch.num_rows == 0:
            continue
        if rate < 1.0:
            batch = batch.filter(pa.array(rng.random(batch.num_rows) < rate))
        kept.append(batch)
    if not kept:
        return empty, total, absent
    table = pa.Table.from_batches(kept, schema=kept[0].schema)
    return table.to_pandas(), total, absent


def pd_empty(columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: [] for c in columns})


def _scan(
    store: TrackingStore,
    name: str,
    version: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    columns: list[str],
    max_rows: int | None,
    seed: int = 0,
    request_ids: Any = None,
) -> tuple[pd.DataFrame, int, list[str]]:
    """:func:`read_window` on a local store's log; a remote store's through its route."""
    url = getattr(store, "predictions_url", None)
    if url is not None:
        return read_window(
            str(url), name, version, start, end, columns, max_rows, seed, request_ids
        )
    frame = store.predictions(name, version=version, start=start, end=end)
    if request_ids is not None:
        frame = frame[frame["request_id"].isin(set(request_ids))]
    present = [c for c in columns if c in frame.columns]
    absent = [c for c in columns if c not in frame.columns]
    return frame[present], len(frame), absent


def _score_columns(names: list[str]) -> list[str]:
    """The log's score column(s), preferred first: ``output``; the positive column
    ``output.1`` of a binary ``predict_proba`` (``output.0``/``output.1``); ``output.score`` or
    ``output.probability``; a single ``output.<name>``. A version logged in two shapes has two,
    taken row by row (the first that is not null)."""
    outputs = [c for c in names if c == "output" or c.startswith("output.")]
    found = []
    if {"output.0", "output.1"} <= set(outputs) and not any(
        c not in ("output", "output.0", "output.1") for c in outputs
    ):
        found.append("output.1")
    found += [c for c in SCORE_COLUMNS if c in outputs and c not in found and c != "output.1"]
    if "output" in found:
        found.remove("output")
        found.insert(0, "output")
    if not found and len(outputs) == 1:
        found = outputs
    return found


def _coalesce(frame: pd.DataFrame, columns: list[str]) -> Any:
    columns = [c for c in columns if c in frame.columns] or columns[:1]
    if columns[0] not in frame.columns:
        import pandas as pd

        return pd.Series(float("nan"), index=frame.index)
    series = frame[columns[0]]
    for c in columns[1:]:
        series = series.fillna(frame[c])
    return series


def _log_columns(store: TrackingStore, name: str, version: str | None) -> list[str]:
    """The log's column names for the model (version), from the files' schemas only."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from ..core.predictions import _filesystem, _missing, partition_dir

    url = getattr(store, "predictions_url", None)
    if url is None:  # a remote store: the columns of the rows it sends (no schema-only route)
        return list(store.predictions(name, version=version).columns)
    fs, base = _filesystem(str(url))
    where = partition_dir(base, name, version)
    if _missing(fs, where):
        return []
    dataset = ds.dataset(where, filesystem=fs, format="parquet", exclude_invalid_files=False)
    fragments = list(dataset.get_fragments())
    if not fragments:
        return []
    return list(pa.unify_schemas([f.physical_schema for f in fragments],
                                 promote_options="permissive").names)  # fmt: skip


# --------------------------------------------------------------------------- drift


@dataclass
class Window:
    """A window of the log read for a drift comparison (:func:`read_drift_window`): the rows as
    the preset compares them, and what ``mm.drift`` says about them."""

    name: str
    version: str
    profile: ReferenceProfile
    preset: str
    thresholds: dict[str, Any]
    start: dt.datetime
    stop: dt.datetime
    #: rows logged in the window (``current`` may hold a uniform sample of them)
    total: int
    #: rows read (a uniform sample above ``max_rows``)
    compared: int
    min_rows: int
    #: the profile's features (columns renamed), or None below ``min_rows``
    current: pd.DataFrame | None
    #: the model's scores of the same rows, or None when there are none to compare
    scores: Any
    #: scoring times of the same rows (UTC), when asked for
    ts: Any
    #: whether the score is compared (``__score__``)
    has_score: bool
    notes: list[str]
    #: the same rows' ``request_id`` and ``row`` (to join labels), when asked for
    keys: pd.DataFrame | None = None

    def attrs(self) -> dict[str, Any]:
        return {"preset": self.preset, "version": int(self.version),
                "window_start": self.start, "window_end": self.stop, "rows": self.total,
                "compared": self.compared}  # fmt: skip

    @property
    def features(self) -> list[str]:
        """What a verdict is given on: the profile's features, then the score (``__score__``)
        when it is compared. A window with too few rows says ``too few rows`` of each."""
        from .profile import SCORE

        return [*self.profile.features, *([SCORE] if self.has_score else [])]

    def compare(self, rows: Any = None) -> DriftResult:
        """The window's preset and thresholds on its rows (``current``, not None), or on those
        ``rows`` (a boolean mask) keeps: one period of the window in a report's over time."""
        from .presets import drift

        assert self.current is not None, "too few rows in the window to compare"
        current, scores = self.current, self.scores
        if rows is not None:
            current, scores = current[rows], None if scores is None else scores[rows]
        return drift(self.profile, current, self.preset, self.thresholds, scores=scores)


@dataclass(frozen=True, kw_only=True)
class DriftRequest:
    """What a drift comparison is asked: ``mm.drift``'s and ``mm.drift_report``'s arguments as
    one value, so the public functions keep their signatures (help, tab completion) and pass
    this on to :func:`read_drift_window` and ``report.report_data`` rather than the list again.
    Built unchecked: :func:`read_drift_window` validates it."""

    name: str
    version: int | str | None = None
    window: Any = "7d"
    preset: str = "bank"
    end: Any = None
    thresholds: Thresholds | None = None
    min_rows: int = MIN_ROWS
    max_rows: int = MAX_ROWS


def read_drift_window(request: DriftRequest, *, with_ts: bool = False) -> Window:
    """Validate a drift request and read its window of the log (what :func:`drift` and
    ``mm.drift_report`` compare); ``with_ts`` also reads the rows' scoring times."""
    from .presets import check_preset, check_thresholds, merge_thresholds
    from .references import drift_thresholds, reference_profile

    r = request
    check_preset(r.preset)
    if isinstance(r.min_rows, bool) or not isinstance(r.min_rows, int) or r.min_rows < 1:
        raise InvalidInput(f"min_rows must be a positive whole number, got {r.min_rows!r}")
    store = _store()
    v = _version(store, r.name, r.version)
    profile = reference_profile(r.name, v)
    start, stop = window_bounds(r.window, r.end)
    merged = merge_thresholds(drift_thresholds(r.name), r.thresholds)
    check_thresholds(merged, list(profile.features))
    return scan_drift_window(store, r.name, v, profile, start, stop, preset=r.preset,
                             thresholds=merged, min_rows=r.min_rows, max_rows=r.max_rows,
                             with_ts=with_ts)  # fmt: skip


def scan_drift_window(
    store: TrackingStore,
    name: str,
    version: str,
    profile: ReferenceProfile,
    start: dt.datetime,
    stop: dt.datetime,
    *,
    preset: str,
    thresholds: dict[str, Any],
    min_rows: int,
    max_rows: int | None = MAX_ROWS,
    with_ts: bool = False,
    with_keys: bool = False,
) -> Window:
    """Read the window of ``version``'s log that ``profile`` is compared with: only the
    profile's features and the score (``with_ts``: the scoring times; ``with_keys``: the rows'
    ``request_id``/``row``, to join labels), streamed, and above ``max_rows`` a seeded uniform
    sample. ``mm.drift``, ``mm.drift_report`` and scheduled monitors all read through here, so
    a monitor's memory is bounded like ``mm.drift``'s."""
    from .labels import KEY

    features = list(profile.features)
    names = _log_columns(store, name, version)
    score = _score_columns(names) if profile.score is not None else []
    keys = list(KEY) if with_keys else []
    wanted = [f"input.{f}" for f in features] + score + (["ts"] if with_ts else []) + keys
    frame, total, absent = _scan(store, name, version, start, stop, wanted, max_rows)
    notes: list[str] = []
    out = Window(name=name, version=version, profile=profile, preset=preset,
                 thresholds=thresholds, start=start, stop=stop, total=total,
                 compared=len(frame), min_rows=min_rows, current=None, scores=None, ts=None,
                 has_score=bool(score), notes=notes)  # fmt: skip
    if with_keys and all(k in frame.columns for k in keys):
        out.keys = frame[keys]
    if total < min_rows:
        notes.append(f"{total} rows logged in the window, fewer than min_rows={min_rows}: no "
                     "verdict")  # fmt: skip
        return out
    lacking = [c[6:] for c in absent if c.startswith("input.")]
    if lacking:
        raise InvalidInput(f"the prediction log of {name!r} version {version} lacks feature(s) "
                           f"of the reference profile: {', '.join(lacking)}")  # fmt: skip
    if len(frame) < total:
        notes.append(f"compared a uniform random sample of {len(frame)} of the window's {total} "
                     "rows (max_rows)")  # fmt: skip
    current = frame[[f"input.{f}" for f in features]]
    current.columns = features
    out.current = current
    out.scores = _coalesce(frame, score).to_numpy(dtype=float) if score else None
    if with_ts and "ts" in frame.columns:
        import pandas as pd

        out.ts = pd.to_datetime(frame["ts"], utc=True)
    if profile.score is not None and not score:
        notes.append("the log has no single score column: the score distribution is not compared")
    return out


def drift(
    name: str,
    version: int | str | None = None,
    window: Any = "7d",
    preset: str = "bank",
    end: Any = None,
    *,
    thresholds: Thresholds | None = None,
    min_rows: int = MIN_ROWS,
    max_rows: int = MAX_ROWS,
) -> pd.DataFrame:
    """Drift of the logged rows of the last ``window`` (to ``end``, default now) against the
    version's reference profile (default: the latest version), one row per feature (the
    score last, as ``__score__``) as ``DriftResult.to_frame()``. ``frame.attrs`` holds status,
    drifted, preset, version, window_start/window_end, rows (in the window), compared (rows
    compared: a uniform sample above ``max_rows``), notes. Fewer than ``min_rows`` rows: every
    band is ``too few rows``, the status ``too_few_rows``, nothing drifted."""
    import numpy as np
    import pandas as pd

    w = read_drift_window(DriftRequest(name=name, version=version, window=window, preset=preset,
                                       end=end, thresholds=thresholds, min_rows=min_rows,
                                       max_rows=max_rows))  # fmt: skip
    if w.current is None:
        rows = [{"feature": f, "method": None, "statistic": np.nan, "threshold": np.nan,
                 "band": "too few rows", "drifted": False, "n_reference": w.profile.rows,
                 "n_current": w.total}
                for f in w.features]  # fmt: skip
        out = pd.DataFrame(rows)
        out.attrs.update(w.attrs(), status="too_few_rows", drifted=False, notes=w.notes)
        return out
    result = w.compare()
    out = result.to_frame()
    out.attrs.update(w.attrs(), status=result.status, drifted=result.drifted,
                     notes=[*w.notes, *result.notes])  # fmt: skip
    return out


# --------------------------------------------------------------------------- performance


def _labelled(
    store: TrackingStore, name: str, v: str, start: Any, stop: Any, max_rows: int | None = None
) -> tuple[pd.DataFrame, str, int]:
    from .labels import KEY, join

    score = _score_columns(_log_columns(store, name, v))
    if not score:
        raise InvalidInput(f"the prediction log of {name!r} version {v} has no single output "
                           "column to measure")  # fmt: skip
    lab = store.labels(name)
    ids = lab["request_id"].unique()  # only labelled rows are read
    frame, _, _ = _scan(store, name, v, start, stop, [*KEY, "ts", *score], max_rows,
                        request_ids=ids)  # fmt: skip
    frame = frame.assign(_out=_coalesce(frame, score)).drop(columns=score)
    joined = join(frame, lab)
    return joined.frame.rename(columns={"_out": "output"}), score[0], len(joined.unmatched)


def performance(
    name: str,
    version: int | str | None = None,
    window: Any = "30d",
    end: Any = None,
    *,
    bucket: str = "1D",
    task: str = "auto",
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Measured performance of the rows logged in the window that have labels, per time bucket
    of scoring time (``kind="measured"``): n, AUC, Gini, KS, bad rate, mean score, ECE,
    accuracy/precision/recall/F1 (binary), accuracy/F1 (classes) or MAE/RMSE (regression).
    ``attrs``: unmatched_labels (labels of the model no row of the window has)."""
    from .performance import over_time

    store = _store()
    v = _version(store, name, version)
    start, stop = window_bounds(window, end)
    frame, score, unmatched = _labelled(store, name, v, start, stop)
    out = over_time(frame, "label", "output", "ts", bucket, task, threshold)
    out.attrs.update(version=int(v), window_start=start, window_end=stop, score_column=score,
                     labelled=len(frame), unmatched_labels=unmatched)  # fmt: skip
    return out


def estimate_performance(
    name: str,
    version: int | str | None = None,
    window: Any = "7d",
    end: Any = None,
    *,
    bucket: str | None = "1D",
    threshold: float = 0.5,
    reference_scores: Any = None,
    reference_labels: Any = None,
    tolerance: float | None = None,
) -> pd.DataFrame:
    """Estimated performance (CBPE) of the rows logged in the window, labelled or not, per time
    bucket (``kind="estimate"``: never a measurement): expected AUC, Gini, accuracy, precision,
    recall, F1, bad rate, the expected confusion matrix (tp, fp, fn, tn) and the sampling spread
    (``auc_sd``...). Calibration is checked first on ``reference_scores``/``reference_labels``
    when given, else on the version's labelled logged rows (any time up to ``end``); when the
    scores are not calibrated within ``tolerance`` (expected calibration error, default 0.03)
    this refuses with the reason (``InvalidInput``). Above 2,000,000 rows in the window, a
    uniform sample of that many is used (``attrs``: rows, compared)."""
    import pandas as pd

    from . import performance as perf

    store = _store()
    v = _version(store, name, version)
    start, stop = window_bounds(window, end)
    tol = perf.MAX_ECE if tolerance is None else float(tolerance)
    if (reference_scores is None) != (reference_labels is None):
        raise InvalidInput("reference_scores and reference_labels go together")
    if reference_scores is not None:
        cal = perf.check_calibration(reference_labels, reference_scores, tol)
        source = "reference"
    else:
        labelled, _, _ = _labelled(store, name, v, None, stop)
        cal = perf.check_calibration(labelled["label"].to_numpy(),
                                     labelled["output"].to_numpy(), tol)  # fmt: skip
        source = "labelled log"
    if not cal.calibrated:
        raise InvalidInput(f"{name!r} version {v}: {cal.reason} (checked on the {source})")
    score = _score_columns(_log_columns(store, name, v))
    if not score:
        raise InvalidInput(f"the prediction log of {name!r} version {v} has no score column")
    frame, total, _ = _scan(store, name, v, start, stop, ["ts", *score], MAX_ROWS)
    frame = frame.assign(_score=_coalesce(frame, score).astype(float))
    rows = []
    groups = [(start, frame)] if bucket is None else list(
        frame.groupby(pd.Grouper(key="ts", freq=bucket))
    )  # fmt: skip
    for when, part in groups:
        if len(part):
            rows.append(
                {"bucket": when, **perf.estimate(part["_score"].to_numpy(), cal, threshold)}
            )
    out = pd.DataFrame(rows)
    out.attrs.update(version=int(v), window_start=start, window_end=stop, calibration=cal,
                     calibration_source=source, rows=total, compared=len(frame))  # fmt: skip
    return out
