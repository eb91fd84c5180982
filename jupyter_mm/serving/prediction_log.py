"""The prediction log: every sampled scored row, written off the request path as Parquet.

The model server calls :meth:`PredictionLog.record` after scoring a request. That call only
decides whether the request is sampled and appends a reference to its inputs and outputs to an
in-memory queue (a few microseconds, no I/O, no conversion); one background thread per log turns
the queue into Arrow tables and writes one Parquet file per model, version and day at each flush::

    <root>/model=<name>/version=<v>/date=<YYYY-MM-DD>/part-<uuid>.parquet

A flush happens when ``flush_rows`` rows wait, every ``flush_seconds``, on :meth:`flush` and on
:meth:`close`. Files appear whole or not at all: on a local disk a part is written under a
hidden temporary name (``.part-<uuid>.parquet.tmp``, which readers skip), synced and renamed; on
an object store (S3) an object becomes visible only once its upload completes. A killed process
therefore loses at most the rows not yet flushed, and never leaves a file a reader would trip on.
Rows still unwritten when the log closes (a full disk, a refusing bucket) are not dropped: they
go whole to a spool on another disk (``prediction_spool.py``), which the next writer of the same
root, or ``jupyter mm sync``, moves into the log.

Decisions:

- **Sampling is per request, decided by a hash of the request id** (``rate`` is a fraction):
  a request's rows are all logged or none is, and whether a request id was logged can be
  recomputed anywhere (every worker process decides alike), which is what joining delayed labels
  by request id needs. ``sampling_rate`` is stored on each row so estimates can be re-weighted.
- **Personal data**: ``drop`` removes columns, ``hash`` replaces their values with the hex
  SHA-256 of ``salt + NUL + the value's text`` (equal values still match, so they can be joined
  or counted). A name is a logged column (``input.email``, ``output``...) or an input feature's
  bare name (``email``). The salt is the ``salt`` argument, else the environment variable
  ``MM_PREDICTION_LOG_SALT``; hashing without one is refused (an unsalted hash of a phone number
  is reversed by trying them all). The salt is never logged or written.
- **Bounded memory**: at most ``max_buffered_rows`` rows wait (in the queue, or for a store that
  refuses writes); beyond that new rows are not logged and counted in :attr:`dropped_rows`, with
  one warning. A failed write is retried at the next flush.
- **Retention**: with ``retention_days``, partitions whose date is older than that many days
  (UTC) are removed by the writer thread when it starts and once a day after.

Reading back: :func:`read_predictions` (``mm.predictions`` for a store), which lives in
:mod:`jupyter_mm.core.predictions` so that the REST route reads without this layer.
"""

from __future__ import annotations

import atexit
import collections
import datetime as dt
import hashlib
import logging
import os
import posixpath
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..core.predictions import TMP_PREFIX, partition_dir, write_part
from ..core.predictions import read_predictions as read_predictions  # re-exported
from ..errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Environment variable holding the salt of hashed columns (when not passed as ``salt=``).
SALT_ENV = "MM_PREDICTION_LOG_SALT"
#: Environment variable a bundle's server reads for the log's root (a directory or fsspec URL).
URI_ENV = "MM_PREDICTION_LOG_URI"
#: A temporary part older than this (seconds) was left by a killed writer: the sweep removes it.
STALE_TMP_SECONDS = 3600.0
_DAY = 86400.0


class _Item(NamedTuple):
    request_id: str
    model_name: str
    model_version: str
    model_digest: str
    alias: str | None
    inputs: Any
    outputs: Any
    latency_ms: float
    ts: float
    rows: int
    ids: Any = None  # one id per row (batch scores logged with ``mm.log_predictions(ids=)``)


def sampled(request_id: str, rate: float) -> bool:
    """Whether a request with this id is logged at ``rate``: the first 8 bytes of the
    BLAKE2b hash of its id, as a fraction of 2**64, below ``rate`` (the same everywhere)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    h = hashlib.blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(h, "big") < rate * 18446744073709551616.0


class PredictionLog:
    """Buffered prediction log under ``root`` (a directory or an fsspec URL such as
    ``s3://bucket/prefix/predictions``). Thread-safe; one writer thread per instance.
    ``spill=False``: rows unwritten at close are not spooled (a caller that reports the failure
    and still holds the rows, as ``mm.log_predictions`` does, would otherwise log them twice)."""

    def __init__(
        self,
        root: str,
        rate: float,
        drop: Sequence[str] = (),
        hash: Sequence[str] = (),
        retention_days: int | None = None,
        flush_rows: int = 50_000,
        flush_seconds: float = 10.0,
        *,
        salt: str | bytes | None = None,
        max_buffered_rows: int = 1_000_000,
        spill: bool = True,
    ) -> None:
        import fsspec
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise InvalidInput(f"the sampling rate must be a fraction from 0 to 1, not {rate!r}")
        if retention_days is not None and (
            isinstance(retention_days, bool)
            or not isinstance(retention_days, int)
            or retention_days < 1
        ):
            raise InvalidInput(
                f"retention_days must be a whole number of days >= 1, not {retention_days!r}"
            )
        if not isinstance(flush_rows, int) or flush_rows < 1:
            raise InvalidInput(f"flush_rows must be a positive integer, not {flush_rows!r}")
        if not isinstance(flush_seconds, (int, float)) or not flush_seconds > 0:
            raise InvalidInput(f"flush_seconds must be positive, not {flush_seconds!r}")
        for label, names in (("drop", drop), ("hash", hash)):
            if isinstance(names, str) or any(not isinstance(n, str) or not n for n in names):
                raise InvalidInput(f"{label} must be a list of column names, not {names!r}")
        overlap = set(drop) & set(hash)
        if overlap:
            raise InvalidInput(f"columns both dropped and hashed: {sorted(overlap)}")
        if hash:
            salt = salt if salt is not None else os.environ.get(SALT_ENV)
            if not salt:
                raise InvalidInput(
                    f"hashing columns {list(hash)} needs a salt: set {SALT_ENV} (or pass salt=); "
                    "an unsalted hash of personal data is reversed by trying every value"
                )
        self._salt = salt.encode() if isinstance(salt, str) else (salt or b"")
        self.root = root.rstrip("/")
        self.rate = float(rate)
        self.drop = frozenset(drop)
        self.hash = frozenset(hash)
        self.retention_days = retention_days
        self.flush_rows = flush_rows
        self.flush_seconds = float(flush_seconds)
        self.max_buffered_rows = max(max_buffered_rows, flush_rows)
        self.fs, self._base = fsspec.core.url_to_fs(self.root)
        self._base = self._base.rstrip("/")
        self._local = isinstance(self.fs, LocalFileSystem)
        #: rows recorded, written, and not logged for lack of room (see ``max_buffered_rows``)
        self.recorded_rows = 0
        self.written_rows = 0
        self.dropped_rows = 0
        self.files_written = 0
        #: rows moved into the spool at close (written later), and moved from it into the log
        self.spooled_rows = 0
        self.unspooled_rows = 0
        self._spool_left = True  # parts of earlier writers may wait in the spool
        self.spill = spill
        #: The latest failed write (its rows are retried at the next flush).
        self.last_error: Exception | None = None
        self._queue: collections.deque[_Item] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Condition(self._lock)
        self._buffered = 0  # rows queued or waiting to be written again
        self._enqueued = 0  # items ever queued
        self._handled = 0  # items the writer has taken care of (written, or given up on)
        self._retry: list[tuple[str, pa.Table, int]] = []  # (partition dir, table, rows)
        self._warned_full = False
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mm-prediction-log", daemon=True)
        self._thread.start()
        _open_logs.add(self)

    # ------------------------------------------------------------ the request path

    def record(
        self,
        *,
        request_id: str,
        model_name: str,
        model_version: str,
        model_digest: str,
        alias: str | None,
        inputs: pd.DataFrame,
        outputs: Any,
        latency_ms: float,
        ts: float,
        ids: Sequence[str] | None = None,
    ) -> bool:
        """Queue the rows of one scored request (if it is sampled); returns whether they were.

        With ``ids`` (one text id per row, for batch scores logged from elsewhere), each row's
        ``request_id`` is its own id and its ``row`` is 0, so labels join on that id alone.

        No I/O and no copy: ``inputs`` and ``outputs`` (a list, array, Series or DataFrame with
        one entry per input row) are kept by reference until the writer converts them, so the
        caller must not modify them afterwards. Never raises for the log's own state (closed,
        full): a request is never failed because its log entry could not be kept."""
        if self._closing or not sampled(request_id, self.rate):
            return False
        rows = len(inputs)
        if rows == 0:
            return False
        if len(outputs) != rows:
            raise InvalidInput(
                f"the prediction log needs one output per input row: {len(outputs)} outputs "
                f"for {rows} rows"
            )
        if ids is not None and len(ids) != rows:
            raise InvalidInput(f"the prediction log needs one id per input row: {len(ids)} ids "
                               f"for {rows} rows")  # fmt: skip
        item = _Item(
            request_id,
            model_name,
            str(model_version),
            model_digest,
            alias,
            inputs,
            outputs,
            latency_ms,
            ts,
            rows,
            ids,
        )
        with self._lock:
            queued = self._buffered + rows <= self.max_buffered_rows
            if queued:
                self._queue.append(item)
                self._buffered += rows
                self._enqueued += 1
                self.recorded_rows += rows
                if self._buffered >= self.flush_rows:
                    self._wake.set()
                warn = False
            else:
                self.dropped_rows += rows
                warn = not self._warned_full
                self._warned_full = True
        if warn:
            log.warning(
                "prediction log %s: %d rows wait to be written (the limit): new rows are not "
                "logged until the writer catches up",
                self.root,
                self.max_buffered_rows,
            )
        return queued

    # ------------------------------------------------------------ control

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything recorded so far; returns False if that did not finish within
        ``timeout`` seconds (or a write failed and will be retried)."""
        with self._lock:
            target = self._enqueued
            self._wake.set()
            ok = self._done.wait_for(lambda: self._handled >= target, timeout)
            return ok and not self._retry

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush and stop the writer thread. Rows recorded afterwards are ignored."""
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        self._closed = True
        _open_logs.discard(self)
        if self._retry or self._queue:
            lost = sum(r for _, _, r in self._retry) + sum(i.rows for i in self._queue)
            log.error("prediction log %s: %d rows could not be written, nor spooled", self.root,
                      lost)  # fmt: skip

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        next_sweep = time.time()
        deadline = time.monotonic() + self.flush_seconds
        while True:
            if self.retention_days is not None and time.time() >= next_sweep:
                self._sweep()
                next_sweep = time.time() + _DAY
            closing = self._closing
            if not closing:
                self._wake.wait(max(0.0, deadline - time.monotonic()))
            self._wake.clear()
            closing = self._closing
            with self._lock:
                target = self._enqueued
            try:
                self._write_pending()
                if closing and self._retry and self.spill:
                    self._spill()
                elif self._spool_left and not self._retry:
                    self._unspool()
            except Exception:  # never let the thread die: the rows are retried or counted
                log.exception("prediction log %s: flush failed", self.root)
            with self._lock:
                self._handled = target
                self._done.notify_all()
            deadline = time.monotonic() + self.flush_seconds
            if closing:
                return

    def _write_pending(self) -> None:
        items: list[_Item] = []
        while self._queue:
            items.append(self._queue.popleft())
        groups: dict[str, list[_Item]] = {}
        paths: dict[tuple[str, str, int], str] = {}
        for item in items:
            where = (item.model_name, item.model_version, int(item.ts // _DAY))
            key = paths.get(where)
            if key is None:
                day = dt.datetime.fromtimestamp(item.ts, dt.timezone.utc).date().isoformat()
                key = paths[where] = partition_dir(
                    self._base, item.model_name, item.model_version, day
                )
            groups.setdefault(key, []).append(item)
        pending = self._retry
        self._retry = []
        for key, group in groups.items():
            rows = sum(i.rows for i in group)
            try:
                table = self._table(group)
            except Exception:
                log.exception("prediction log %s: %d rows could not be converted", self.root, rows)
                self._release(rows)
                continue
            pending.append((key, table, rows))
        for key, table, rows in pending:
            try:
                self._write_part(key, table)
            except Exception as e:
                log.warning(
                    "prediction log %s: write failed, retried at the next flush: %s", self.root, e
                )
                self.last_error = e
                self._retry.append((key, table, rows))
                continue
            self.written_rows += rows
            self.files_written += 1
            self._release(rows)

    def _spill(self) -> None:
        """At close: the parts the log could not take go whole to its spool (another disk)."""
        from .prediction_spool import spill

        retry, self._retry = self._retry, []
        for key, table, rows in retry:
            relative = key[len(self._base) :].lstrip("/")
            try:
                where = spill(self.root, relative, table)
            except Exception as e:
                log.warning("prediction log %s: %d rows cannot be spooled either: %s",
                            self.root, rows, e)  # fmt: skip
                self._retry.append((key, table, rows))
                continue
            log.warning("prediction log %s: %d rows could not be written; kept in %s for the "
                        "next writer or `jupyter mm sync`", self.root, rows, where)  # fmt: skip
            self.spooled_rows += rows
            self._release(rows)

    def _unspool(self) -> None:
        """Move what earlier writers of this root spooled into the log (kept if it fails)."""
        from .prediction_spool import drain

        moved, left = drain(self.root)
        self.unspooled_rows += moved
        self._spool_left = left > 0
        if moved:
            log.info("prediction log %s: %d spooled rows written", self.root, moved)

    def _release(self, rows: int) -> None:
        with self._lock:
            self._buffered -= rows
            if self._buffered + self.flush_rows <= self.max_buffered_rows:
                self._warned_full = False

    def _table(self, items: list[_Item]) -> pa.Table:
        """One Arrow table of a partition's items (see :func:`items_table`), with the dropped
        columns removed and the hashed ones hashed."""
        import pyarrow as pa

        tables = [
            self._hashed(t.select([c for c in t.column_names if not self._dropped(c)]))
            for t in _shape_tables(items, self.rate)
        ]
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables, promote_options="permissive")

    def _dropped(self, column: str) -> bool:
        return column in self.drop or (column.startswith("input.") and column[6:] in self.drop)

    def _hashed(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        if not self.hash:
            return table
        for i, column in enumerate(table.column_names):
            if column in self.hash or (column.startswith("input.") and column[6:] in self.hash):
                salt = self._salt + b"\0"
                values = [
                    None
                    if v is None
                    else hashlib.sha256(salt + str(v).encode("utf-8", "surrogatepass")).hexdigest()
                    for v in table.column(i).to_pylist()
                ]
                table = table.set_column(i, column, pa.array(values, pa.string()))
        return table

    def _write_part(self, partition: str, table: pa.Table) -> None:
        write_part(self.fs, self._local, partition, table)

    def _sweep(self) -> None:
        """Remove the partitions older than ``retention_days`` (and, on a local disk, the
        temporary parts killed writers left behind)."""
        assert self.retention_days is not None
        today = dt.datetime.now(dt.timezone.utc).date()
        oldest = (today - dt.timedelta(days=self.retention_days)).isoformat()
        try:
            dirs = self.fs.glob(posixpath.join(self._base, "model=*", "version=*", "date=*"))
        except (FileNotFoundError, OSError) as e:
            log.warning("prediction log %s: retention sweep could not list: %s", self.root, e)
            return
        for path in dirs:
            day = posixpath.basename(path.rstrip("/"))[5:]
            if len(day) == 10 and day < oldest:
                try:
                    self.fs.rm(path, recursive=True)
                except FileNotFoundError:  # another worker removed it first
                    pass
                except OSError as e:
                    log.warning("prediction log %s: cannot remove %s: %s", self.root, path, e)
            elif self._local:
                _remove_stale_tmp(path)


def _shape_tables(items: list[_Item], rate: float) -> list[pa.Table]:
    """Arrow tables of a partition's items, one per shape: the fixed columns, ``input.<name>`` per
    feature, ``output`` or ``output.<name>``; items with other features are unified."""
    import numpy as np
    import pyarrow as pa

    by_shape: dict[tuple[Any, ...], list[_Item]] = {}
    names: dict[int, tuple[str, ...]] = {}  # by id(): the items keep their Index alive
    for item in items:
        by_shape.setdefault(_shape(item, names), []).append(item)
    tables = []
    for group in by_shape.values():
        counts = np.fromiter((i.rows for i in group), np.int64, len(group))
        total = int(counts.sum())
        if group[0].ids is not None:  # rows with their own ids (the shape keeps them apart)
            request_id = pa.array([str(x) for i in group for x in i.ids], pa.string())
            row = pa.array(np.zeros(total, np.int32))
        else:
            request_id = _repeat([i.request_id for i in group], counts, pa.string())
            row = pa.array(_row_index(counts), pa.int32())
        cols: dict[str, Any] = {
            "request_id": request_id,
            "row": row,
            "ts": pa.array(
                np.repeat(
                    np.fromiter((i.ts * 1000.0 for i in group), np.float64, len(group)), counts
                ).astype("int64"),
                pa.timestamp("ms", tz="UTC"),
            ),
            "model_name": _repeat([i.model_name for i in group], counts, pa.string()),
            "model_version": _repeat([i.model_version for i in group], counts, pa.string()),
            "model_digest": _repeat([i.model_digest for i in group], counts, pa.string()),
            "alias": _repeat([i.alias for i in group], counts, pa.string()),
            "latency_ms": pa.array(
                np.repeat(
                    np.fromiter((float(i.latency_ms) for i in group), np.float64, len(group)),
                    counts,
                )
            ),
            "sampling_rate": pa.array(np.full(total, rate)),
        }
        cols.update(_inputs(group))
        cols.update(_outputs(group))
        table = pa.table(cols)
        tables.append(table)
    return tables


def batch_table(
    *,
    request_id: str,
    model_name: str,
    model_version: str,
    inputs: pd.DataFrame,
    outputs: Any,
    ts: float,
    ids: Sequence[str] | None = None,
) -> pa.Table:
    """The log's rows of one batch of scores made elsewhere (``mm.log_predictions``), built by
    the code that turns a served request into rows (rate 1, no digest, alias or latency), so a
    batch lands in the log exactly as the model server would have logged it."""
    import pyarrow as pa

    item = _Item(request_id, model_name, str(model_version), "", None, inputs, outputs,
                 float("nan"), ts, len(inputs), ids)  # fmt: skip
    tables = _shape_tables([item], 1.0)
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")


# ------------------------------------------------------------ helpers


def _shape(item: _Item, names: dict[int, tuple[str, ...]]) -> tuple[Any, ...]:
    """Items of one shape (input columns, kind and width of outputs) are converted together.

    Reading an Index's names is the writer's main cost per small request (pandas 3's
    Arrow-backed strings), so names are read once per Index object: a server that builds its
    frames with one shared ``columns=`` Index pays it once per flush."""
    inputs, out = item.inputs, item.outputs
    cols: tuple[Any, ...] = (item.ids is not None,)
    if hasattr(inputs, "columns"):
        index = inputs.columns
        found = names.get(id(index))
        if found is None:
            found = names[id(index)] = tuple(index.tolist())
        cols = (*cols, *found)
    if hasattr(out, "columns"):
        return (cols, "frame", tuple(out.columns))
    if hasattr(out, "ndim"):
        return (cols, type(out).__name__, out.shape[1:])
    first = out[0]
    if isinstance(first, dict):
        return (cols, "records", tuple(first))
    return (cols, "list", len(first) if isinstance(first, (list, tuple)) else None)


def _repeat(values: list[Any], counts: Any, type: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) == 1 or (counts == 1).all():
        if len(values) == 1:
            return pa.array(values * int(counts[0]), type)
        return pa.array(values, type)
    indices = pa.array(_group_index(counts))
    return pc.take(pa.array(values, type), indices)


def _group_index(counts: Any) -> Any:
    import numpy as np

    return np.repeat(np.arange(len(counts)), counts)


def _row_index(counts: Any) -> Any:
    import numpy as np

    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _column(values: Any) -> Any:
    """An Arrow array of a pandas Series or a numpy array; mixed objects become text."""
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        import numpy as np

        return pa.array([None if v is None else str(v) for v in np.asarray(values, dtype=object)])


def _inputs(group: list[_Item]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    frames = [i.inputs for i in group]
    if not hasattr(frames[0], "columns"):
        frames = [pd.DataFrame(f) for f in frames]
    first = frames[0]
    kinds = {dtype.kind for dtype in first.dtypes}
    if len(frames) > 1 and len(kinds) == 1 and kinds <= {"f", "i", "u"}:
        # all-numeric features (the common case): stacking the frames' arrays is several times
        # faster than pd.concat on many small frames (the group shares its column names)
        values = np.vstack([f.to_numpy() for f in frames])
        names = first.columns.tolist()
        return {f"input.{c}": _column(values[:, j]) for j, c in enumerate(names)}
    frame = first if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return {f"input.{c}": _column(frame[c]) for c in frame.columns}


def _outputs(group: list[_Item]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    first = group[0].outputs
    if hasattr(first, "columns"):  # DataFrames: one column per output
        frame = pd.concat([i.outputs for i in group], ignore_index=True)
        return {f"output.{c}": _column(frame[c]) for c in frame.columns}
    if isinstance(first, list) and first and isinstance(first[0], dict):
        frame = pd.DataFrame([r for i in group for r in i.outputs])
        return {f"output.{c}": _column(frame[c]) for c in frame.columns}
    if isinstance(first, pd.Series):
        values = np.concatenate([i.outputs.to_numpy() for i in group])
    else:
        parts = [np.asarray(i.outputs) for i in group]
        values = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 1:
        return {"output": _column(values)}
    if values.ndim == 2:
        return {f"output.{j}": _column(values[:, j]) for j in range(values.shape[1])}
    return {"output": _column([v.tolist() for v in values])}


def _remove_stale_tmp(folder: str) -> None:
    now = time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(TMP_PREFIX):
            path = os.path.join(folder, name)
            try:
                if now - os.stat(path).st_mtime > STALE_TMP_SECONDS:
                    os.unlink(path)
            except OSError:
                pass


# Close (flush) open logs at interpreter exit, so a server stopped without close() keeps its rows.
_open_logs: weakref.WeakSet[PredictionLog] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for plog in list(_open_logs):
        try:
            plog.close(timeout=30.0)
        except Exception:  # at exit, the log's last words go to the logger
            log.exception("prediction log %s: close at exit failed", plog.root)
