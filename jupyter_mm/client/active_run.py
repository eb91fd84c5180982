"""A run being tracked in this process: buffered metrics, heartbeats, and clean endings."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core import records, validation
from ..core.limits import MAX_STEP, MIN_STEP
from ..errors import InvalidInput, MMError
from . import fallback
from .metric_buffer import MetricBuffer

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..core.entities import Run
    from ..core.store import TrackingStore


class ActiveRun:
    """Handle on a run this process writes to. Also a context manager: an exception marks the run
    FAILED, KeyboardInterrupt marks it KILLED, a normal exit FINISHED."""

    def __init__(self, store: TrackingStore, run: Run, on_end: Any = None) -> None:
        self.store = store
        self.id = run.id
        self.name = run.name
        self.experiment_id = run.experiment_id
        self.info = run
        self._on_end = on_end
        self._last_step: dict[str, int] = {}
        self._params: dict[str, str] = dict(run.params)
        self._ended = False
        self._refused_counted = 0  # of the buffer's refused points, those in the run's tag
        self._buffer = MetricBuffer(
            self._write_metrics, heartbeat=self._beat, name=run.id, on_refused=self._count_refused
        )
        self._queue = self._buffer.queue

    def __repr__(self) -> str:
        state = "ended" if self._ended else "active"
        return f"<ActiveRun {self.name!r} id={self.id} ({state})>"

    def _write_metrics(self, points: Any) -> None:
        self.store.log_batch(self.id, metrics=points)

    def _beat(self) -> None:
        self.store.heartbeat(self.id)

    def _count_refused(self, total: int) -> None:
        """Add the points refused since the last count to the run's record (added, not set: a
        replay of a spool may count there too). Fails while the run cannot be tagged (deleted);
        what is not counted yet goes in with the run's end."""
        fallback.add_refused(self.store, self.id, total - self._refused_counted)
        self._refused_counted = total

    def _refused_total(self) -> str:
        """The run's refused-points tag as it should be at the end: what is recorded plus what
        this process has not counted there yet."""
        new = self._buffer.refused - self._refused_counted
        try:
            current = self.store.get_run(self.id).tags.get(fallback.REFUSED_TAG, "")
        except MMError:  # cannot read it now: our own count is the best we know
            return str(self._buffer.refused)
        return str((int(current) if current.isdigit() else 0) + new)

    # ------------------------------------------------------------ logging

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: int | None = None
    ) -> None:
        # Everything is checked here, at the call, so a bad point fails where it is logged and
        # never spoils a buffered batch of good ones.
        if self._ended:
            raise InvalidInput(f"run {self.id} has ended; start a new run to log more")
        last = self._last_step.get(key)
        if last is None:
            validation.key(key, "metric name")
            last = -1
        if type(value) is not float:
            value = validation.metric_value(key, value)
        if step is None:
            step = last + 1
        elif type(step) is not int or not MIN_STEP <= step <= MAX_STEP:
            step = validation.step(key, step)
        if step > last:
            self._last_step[key] = step
        if timestamp is None:
            timestamp = time.time_ns() // 1_000_000
        elif type(timestamp) is not int or not 0 <= timestamp <= MAX_STEP:
            # the store's range too: a point it would refuse must fail here, not take the
            # good points of its batch down with it
            timestamp = validation.timestamp(key, timestamp)
        q = self._queue  # MetricBuffer.add, inlined: this is the per-call hot path
        q.append((key, value, step, timestamp))
        if len(q) >= self._buffer.batch_size:
            self._buffer.filled(len(q))

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: int | None = None
    ) -> None:
        ts = timestamp if timestamp is not None else int(time.time() * 1000)
        items = validation.mapping(metrics, "metrics", 100_000)
        checked = [
            (k, validation.metric_value(validation.key(k, "metric name"), v))
            for k, v in items.items()
        ]
        for k, v in checked:
            self.log_metric(k, v, step, ts)

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.store.log_batch(self.id, params=params)
        self._params.update({k: str(v) for k, v in params.items()})

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.store.log_batch(self.id, tags=tags)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def flush(self) -> None:
        """Write buffered metrics now."""
        self._buffer.flush()

    # ------------------------------------------------------------ ending

    def end(self, status: str = "FINISHED", tags: Mapping[str, Any] | None = None) -> None:
        """End the run; the last metrics, ``tags`` and the status go in one transaction.

        If the store cannot take the last points now (full, unavailable), the run still ends
        with ``status``: its points go to the store's fallback spool (``jupyter mm sync`` writes
        them) and the run's tag ``mm.unwritten_points`` says how many wait there, so a run with
        holes never looks complete. Points refused for good are counted in ``mm.refused_points``.
        """
        if self._ended:
            return
        self._ended = True
        end_tags = dict(tags or {})
        end_time = time.time_ns() // 1_000_000

        def last(points: Any) -> None:
            if self._buffer.refused > self._refused_counted:
                end_tags[fallback.REFUSED_TAG] = self._refused_total()
            self.store.end_run(self.id, status, end_time, metrics=points, tags=end_tags)

        try:
            self._buffer.close(last=last)
        except BaseException as e:
            self._end_anyway(status, end_time, end_tags, e)
        finally:
            if self._on_end is not None:
                self._on_end(self)

    def _end_anyway(
        self, status: str, end_time: int, tags: dict[str, Any], error: BaseException
    ) -> None:
        """The last write failed: keep what is unwritten and still record the end."""
        waiting = list(self._buffer.queue)
        self._buffer.queue.clear()
        if self._buffer.refused > self._refused_counted:
            tags[fallback.REFUSED_TAG] = self._refused_total()
        from ..core.store import Store

        store = self.store
        if not waiting:  # only refused points (or none) were lost: the run ends as it ended
            try:
                store.end_run(self.id, status, end_time, tags=tags)
                return
            except MMError as e:
                if not e.retryable or not isinstance(store, Store):
                    raise
        if not isinstance(store, Store):  # a remote store: its own spool failed, nothing to add
            self._buffer.queue.extend(waiting)
            raise error
        try:
            spool = fallback.spill(store, self.id, waiting)
            if waiting:
                tags[fallback.UNWRITTEN_TAG] = str(len(waiting))
                store.end_run(self.id, status, end_time, tags=tags)
                ended = f"ended {status}, tagged {fallback.UNWRITTEN_TAG}"
            else:
                raise error
        except OSError:
            self._buffer.queue.extend(waiting)  # only in memory: say so, loudly
            raise error from None
        except MMError:  # the store takes nothing now: the end waits in the spool, after them
            tags.pop(fallback.UNWRITTEN_TAG, None)
            fallback.spool_end(store, self.id, status, end_time, tags)
            ended = f"stays RUNNING until they are written, then ends {status}"
        import warnings

        warnings.warn(
            f"jupyter-mm: {len(waiting)} metric points of run {self.id} could not be written "
            f"({error}); they are kept in {spool.dir} and the run {ended}. Run `jupyter mm "
            "sync` once the store takes writes again.",
            RuntimeWarning,
            stacklevel=3,
        )

    @property
    def ended(self) -> bool:
        return self._ended

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        tags = {}
        if exc_type is None:
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
            if exc is not None:  # the traceback goes in with the final status, one transaction
                import traceback

                tags[records.TAG_ERROR] = "".join(traceback.format_exception(exc_type, exc, tb))[
                    -7000:
                ]
        self.end(status, tags=tags)


@functools.cache
def default_user() -> str:
    for var in ("JUPYTERHUB_USER", "MM_USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no name for this uid (some containers)
        _log.debug("getpass.getuser() failed", exc_info=True)
        return "unknown"
