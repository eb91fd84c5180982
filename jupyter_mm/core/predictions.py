"""The prediction log's files, read back: Parquet partitioned by model, version and date.

The writer is :class:`jupyter_mm.serving.prediction_log.PredictionLog` (the serving layer); the
reader lives here, below the client and the store, so that ``mm.predictions`` and the server's
``GET predictions`` route can read the log without importing the serving layer. The layout both
sides agree on::

    <root>/model=<name>/version=<v>/date=<YYYY-MM-DD>/part-<uuid>.parquet

(partition values URL-encoded, as pyarrow's hive partitioning decodes them). ``<root>`` is
``<artifact root>/predictions`` for a store. Files whose name starts with ``.`` or ``_`` are a
write in progress (or one a crash interrupted) and are never read.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: Folder of the prediction log under a store's artifact root.
PREDICTIONS_DIRNAME = "predictions"
#: The partition keys, outermost first.
PARTITION_KEYS = ("model", "version", "date")
#: Columns every row has (then ``input.<feature>...``, ``output`` or ``output.<name>...``).
FIXED_COLUMNS = (
    "request_id",
    "row",
    "ts",
    "model_name",
    "model_version",
    "model_digest",
    "alias",
    "latency_ms",
    "sampling_rate",
)


def predictions_url(artifact_url: str) -> str:
    """Where a store whose artifact root is ``artifact_url`` keeps its prediction log."""
    return posixpath.join(artifact_url.rstrip("/"), PREDICTIONS_DIRNAME)


def partition_dir(root: str, name: str, version: str | None = None, date: str | None = None) -> str:
    """The folder of one model (and version, and date) under ``root``."""
    parts = [f"model={quote(name, safe='')}"]
    if version is not None:
        parts.append(f"version={quote(version, safe='')}")
        if date is not None:
            parts.append(f"date={date}")
    return posixpath.join(root.rstrip("/"), *parts)


def _bound(value: Any, field: str, end: bool) -> tuple[dt.datetime | None, str | None]:
    """``(instant, date)`` of a time bound: a datetime (naive = UTC), a date or ``YYYY-MM-DD``
    (the whole day: from its first instant as ``start``, through its last as ``end``), an ISO
    8601 string, or epoch seconds."""
    if value is None:
        return None, None
    whole_day = False
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a time, not {value!r}")
    if isinstance(value, (int, float)):
        try:
            instant = dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
        except (OverflowError, OSError, ValueError):  # NaN, ±inf, 400 digits, out of range
            raise InvalidInput(f"{field} {value!r} is not a time in epoch seconds") from None
    elif isinstance(value, dt.datetime):
        instant = value
    elif isinstance(value, dt.date):
        instant, whole_day = dt.datetime(value.year, value.month, value.day), True
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                d = dt.date.fromisoformat(text)
                instant, whole_day = dt.datetime(d.year, d.month, d.day), True
            else:
                instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"{field} {value!r} is not a time: give a datetime, a date, an ISO 8601 string "
                "(2024-05-01 or 2024-05-01T12:00:00Z) or epoch seconds"
            ) from None
    else:
        # pandas.Timestamp is a datetime; anything else is a mistake
        raise InvalidInput(f"{field} must be a time, not {type(value).__name__}")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.timezone.utc)
    instant = instant.astimezone(dt.timezone.utc)
    if whole_day and end:
        instant = instant + dt.timedelta(days=1) - dt.timedelta(milliseconds=1)
    return instant, instant.date().isoformat()


def wire_bound(value: Any, field: str) -> str | None:
    """A time bound as the REST route takes it: ``YYYY-MM-DD`` for a whole day, else an ISO 8601
    instant in UTC (checked here, so a bad bound fails before any request)."""
    if value is None:
        return None
    instant, day = _bound(value, field, end=False)
    assert instant is not None
    whole_day = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if whole_day or (isinstance(value, str) and len(value.strip()) == 10):
        return day
    return instant.isoformat()


def _filesystem(root: str) -> tuple[Any, str]:
    """pyarrow's own filesystem for a local root (faster), else the fsspec one."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    fs, path = fsspec.core.url_to_fs(root)
    if isinstance(fs, LocalFileSystem):
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem(), path
    return fs, path


def read_table(
    root: str,
    name: str,
    version: int | str | None = None,
    start: Any = None,
    end: Any = None,
) -> pa.Table:
    """The logged rows of model ``name`` (one ``version`` or all) between ``start`` and ``end``
    (inclusive), ordered by time, as an Arrow table. Only the partitions of that model (and
    version) are listed, and only the files of the dates in range are opened. Files written with
    other input columns (another version's features) are read together: a column a file lacks
    is null there."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    if not isinstance(name, str) or not name:
        raise InvalidInput("the model name must be a non-empty string")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (int, str))):
        raise InvalidInput(f"version must be a number or a string, not {version!r}")
    lo, lo_date = _bound(start, "start", end=False)
    hi, hi_date = _bound(end, "end", end=True)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput(f"start ({lo.isoformat()}) is after end ({hi.isoformat()})")
    fs, base = _filesystem(root)
    where = partition_dir(base, name, None if version is None else str(version))
    partitioning = ds.partitioning(
        pa.schema([(k, pa.string()) for k in PARTITION_KEYS]), flavor="hive"
    )
    try:
        dataset = ds.dataset(
            where,
            filesystem=fs,
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=base,
            exclude_invalid_files=False,
        )
    except (FileNotFoundError, OSError) as e:
        if _missing(fs, where):
            return _empty()
        raise InvalidInput(f"cannot read the prediction log at {root}: {e}") from e
    keep = ds.field("model") == name
    if version is not None:
        keep &= ds.field("version") == str(version)
    if lo_date is not None:
        keep &= ds.field("date") >= lo_date
    if hi_date is not None:
        keep &= ds.field("date") <= hi_date
    fragments = list(dataset.get_fragments(filter=keep))
    if not fragments:
        return _empty()
    schema = pa.unify_schemas([f.physical_schema for f in fragments], promote_options="permissive")
    table = ds.FileSystemDataset(fragments, schema, dataset.format, dataset.filesystem).to_table()
    ts = table.column("ts")
    mask = None
    if lo is not None:
        mask = pc.greater_equal(ts, pa.scalar(lo, ts.type))
    if hi is not None:
        upper = pc.less_equal(ts, pa.scalar(hi, ts.type))
        mask = upper if mask is None else pc.and_(mask, upper)
    if mask is not None:
        table = table.filter(mask)
    names = table.column_names
    columns = [c for c in FIXED_COLUMNS if c in names]
    columns += [c for c in names if c.startswith("input.")]
    columns += [c for c in names if c not in columns]  # outputs (and columns of later versions)
    order = pc.sort_indices(table, [("ts", "ascending")])  # stable: a request's rows in order
    return table.select(columns).take(order)


def read_predictions(
    root: str,
    name: str,
    version: int | str | None = None,
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """:func:`read_table` as a pandas DataFrame (``ts`` a UTC timestamp column)."""
    return table_to_frame(read_table(root, name, version, start, end))


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    return frame.reset_index(drop=True)


def _missing(fs: Any, path: str) -> bool:
    try:
        import pyarrow.fs as pafs

        if isinstance(fs, pafs.FileSystem):
            return bool(fs.get_file_info(path).type == pafs.FileType.NotFound)
        return not fs.exists(path)
    except Exception:
        return False


def _empty() -> pa.Table:
    import pyarrow as pa

    return pa.table(
        {
            "request_id": pa.array([], pa.string()),
            "row": pa.array([], pa.int32()),
            "ts": pa.array([], pa.timestamp("ms", tz="UTC")),
            "model_name": pa.array([], pa.string()),
            "model_version": pa.array([], pa.string()),
            "model_digest": pa.array([], pa.string()),
            "alias": pa.array([], pa.string()),
            "latency_ms": pa.array([], pa.float64()),
            "sampling_rate": pa.array([], pa.float64()),
        }
    )
