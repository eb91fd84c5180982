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
import os
import posixpath
import re
import uuid
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
#: Prefix of a part being written; names starting with "." are skipped by readers.
TMP_PREFIX = ".part-"
#: A batch id (the name of its part file): what a client may choose.
_PART = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
    schema = _unify([f.physical_schema for f in fragments])
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


def _unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for parts written at different times. A column whose types cannot be promoted
    into one (a feature logged as numbers, later hashed: strings) is read as text, rather than
    making the whole log unreadable."""
    import pyarrow as pa

    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema:
            seen = fields.get(f.name)
            if seen is None or seen.type == f.type:
                fields.setdefault(f.name, f)
                continue
            try:
                both = [pa.schema([seen]), pa.schema([f])]
                fields[f.name] = pa.unify_schemas(both, promote_options="permissive").field(0)
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                fields[f.name] = pa.field(f.name, pa.string())
    return pa.schema(list(fields.values()))


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
    except Exception:  # unknown: the caller reports the read's own error
        import logging

        logging.getLogger(__name__).debug("exists(%s) failed", path, exc_info=True)
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


# --------------------------------------------------------------------------- writing


def write_part(
    fs: Any, local: bool, partition: str, table: pa.Table, part: str | None = None
) -> str:
    """Write ``table`` as ``part-<part>.parquet`` (default a new uuid) under ``partition``, whole
    or not at all (locally: a hidden temporary name, synced and renamed; an object store shows
    an object only once its upload completes). Returns the part's path. A batch written again
    under its own ``part`` (a replayed upload) replaces its file instead of adding a copy.
    Shared by the model server's log, ``mm.log_predictions`` and the labels beside the log."""
    import pyarrow.parquet as pq

    if part is not None and not _PART.fullmatch(part):
        raise InvalidInput(f"a batch id is 1 to 64 letters, digits, '-' or '_', not {part!r}")
    try:
        return _write_part(fs, local, partition, table, pq, part or uuid.uuid4().hex)
    except OSError as e:  # a full disk is StoreFull (retryable), like every other write
        from .artifacts import write_failure

        raise write_failure(e, partition) from e


def _write_part(fs: Any, local: bool, partition: str, table: pa.Table, pq: Any, part: str) -> str:
    name = f"part-{part}.parquet"
    final = posixpath.join(partition, name)
    fs.makedirs(partition, exist_ok=True)
    if not local:
        with fs.open(final, "wb") as out:
            pq.write_table(table, out, compression="zstd")
        return final
    tmp = posixpath.join(partition, f"{TMP_PREFIX}{part}.{uuid.uuid4().hex[:8]}.parquet.tmp")
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return final


def _fixed_types() -> dict[str, pa.DataType]:
    return {f.name: f.type for f in _empty().schema}


def check_prediction_table(table: pa.Table, name: str, version: str) -> pa.Table:
    """A batch of logged rows as a client sent it (``POST predictions``), checked and cast to
    the log's own types: every fixed column, rows of model ``name`` version ``version`` only,
    then only ``input.<feature>`` and ``output``/``output.<name>`` columns. Raises
    :class:`InvalidInput` naming what is wrong (nothing is written then)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        raise InvalidInput("the batch has no rows")
    names = table.column_names
    if len(set(names)) != len(names):
        raise InvalidInput("the batch has a column twice")
    fixed = _fixed_types()
    missing = [c for c in fixed if c not in names]
    if missing:
        raise InvalidInput(f"the batch lacks the log's column(s) {', '.join(missing)}")
    other = [c for c in names if c not in fixed]
    odd = [c for c in other if not (c.startswith("input.") and len(c) > 6)
           and c != "output" and not (c.startswith("output.") and len(c) > 7)]  # fmt: skip
    if odd:
        raise InvalidInput(f"unexpected column(s) {', '.join(odd[:5])}: a batch holds the fixed "
                           "columns, input.<feature> and output or output.<name>")  # fmt: skip
    if not any(c == "output" or c.startswith("output.") for c in other):
        raise InvalidInput("the batch has no output column")
    columns = {}
    for column, type_ in fixed.items():
        try:
            columns[column] = table.column(column).cast(type_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise InvalidInput(f"column {column} must be {type_}: {e}") from None
    for column in ("request_id", "row", "ts", "model_name", "model_version"):
        if columns[column].null_count:
            raise InvalidInput(f"column {column} has missing values")
    if not pc.all(pc.equal(columns["model_name"], name)).as_py():
        raise InvalidInput(f"the batch holds rows of another model than {name!r}")
    if not pc.all(pc.equal(columns["model_version"], version)).as_py():
        raise InvalidInput(f"the batch holds rows of another version than {version}")
    for column in other:
        columns[column] = table.column(column)
    return pa.table(columns)


def write_prediction_table(root: str, table: pa.Table, batch: str | None = None) -> int:
    """Write a checked batch (see :func:`check_prediction_table`) into the log under ``root``:
    one part per model, version and UTC day of ``ts``, named after ``batch`` (so a batch sent
    twice is written once). Returns the rows written."""
    import fsspec
    import pyarrow.compute as pc
    from fsspec.implementations.local import LocalFileSystem

    fs, base = fsspec.core.url_to_fs(root)
    local = isinstance(fs, LocalFileSystem)
    days = pc.strftime(table.column("ts"), format="%Y-%m-%d")
    groups = (
        table.append_column("__day", days)
        .group_by(["model_name", "model_version", "__day"], use_threads=False)
        .aggregate([])
    )
    for model, version, day in zip(*(groups.column(i).to_pylist() for i in range(3)), strict=True):
        mask = pc.and_(
            pc.and_(pc.equal(table.column("model_name"), model),
                    pc.equal(table.column("model_version"), version)),
            pc.equal(days, day),
        )  # fmt: skip
        part = table.filter(mask)
        write_part(fs, local, partition_dir(base, model, version, day), part, batch)
    return int(table.num_rows)
