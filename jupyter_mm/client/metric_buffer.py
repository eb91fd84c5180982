"""Buffered metric writing: ``log_metric`` appends to a deque in about a microsecond; one background
thread per process flushes every open buffer in batches, when a buffer fills and at least every
``FLUSH_SECONDS``, and beats each run's heartbeat; ``close`` flushes the rest in the caller.

A loop that logs faster than the store writes would leave the writer further and further behind,
and a kill would lose all it had not reached. So once the writer has been behind (a full batch
waiting) for ``MAX_LAG_SECONDS``, the logging thread writes the queue itself: a point is stored
within about a second and a half even then.

A write that fails for a reason that can pass (an error whose ``retryable`` is true: the disk
full, the database locked or unreachable, a tracking server's 5xx), or for a reason unknown, puts
its points back at the front of the queue and is retried on every tick; the user is warned once
when writing stops and once when it resumes, each time with the number of points waiting. Only
an error that is not retryable (the store refuses the points for good, e.g. the run was deleted)
drops the batch: those points are counted in :attr:`MetricBuffer.refused` and warned about.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence

from ..core.limits import MAX_BATCH_METRICS as MAX_WRITE
from ..errors import MMError

_log = logging.getLogger(__name__)

Point = tuple[str, float, int, int]

FLUSH_SECONDS = 1.0
#: How long the writer may stay behind before the logging thread writes the queue itself.
MAX_LAG_SECONDS = 0.5
#: The logging thread reads the clock only every this many points while the writer is behind.
_LAG_CHECK_MASK = 1023
HEARTBEAT_SECONDS = 10.0


class MetricBuffer:
    def __init__(
        self,
        write: Callable[[Sequence[Point]], object],
        heartbeat: Callable[[], None] | None = None,
        batch_size: int = 20_000,
        max_pending: int = 1_000_000,
        name: str = "",
        on_refused: Callable[[int], None] | None = None,
        writer: _Writer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._clock = clock
        self._heartbeat = heartbeat
        self._last_beat = time.monotonic()
        self.batch_size = batch_size
        self.max_pending = max_pending
        #: Pending points; appending to it directly is the fast path (see ActiveRun.log_metric).
        self.queue: collections.deque[Point] = collections.deque()
        self._flush_lock = threading.Lock()  # one writer at a time (thread vs close/flush)
        self.name = name
        self._on_refused = on_refused
        #: Points refused for good (not retryable) and dropped.
        self.refused = 0
        #: Why writing stopped (the last retryable failure), None while writes succeed.
        self.stalled: BaseException | None = None
        self._stalled_since = 0.0
        self._closed = False
        #: Since when a full batch has been waiting (None: the writer is keeping up).
        self._behind_since: float | None = None
        self._writer = writer or _writer
        self._writer.register(self)

    def __len__(self) -> int:
        return len(self.queue)

    def add(self, point: Point) -> None:
        q = self.queue
        q.append(point)
        if len(q) >= self.batch_size:
            self.filled(len(q))

    def filled(self, n: int) -> None:
        """The queue holds ``n >= batch_size`` points (callers that append to ``queue`` themselves
        call this on every append): wake the writer, or write in this thread if it lags."""
        if self.stalled is not None:  # the store is failing (the user was told): the writer retries
            if n == self.batch_size:
                self._writer.wake()
            return
        behind = self._behind_since
        if behind is None:  # wake the writer once per batch, not on every call
            self._behind_since = self._clock()
            self._writer.wake()
        elif n >= self.max_pending or (
            not n & _LAG_CHECK_MASK and self._clock() - behind >= MAX_LAG_SECONDS
        ):
            self._flush_logged()  # back-pressure: the writer can't keep up

    def flush(self) -> None:
        with self._flush_lock:
            while self.queue:
                self._write_next()

    def _write_next(self, last: Callable[[Sequence[Point]], object] | None = None) -> None:
        """Write the next batch from the front of the queue (with ``last`` if given)."""
        q = self.queue
        pop = q.popleft  # popleft, not list()+clear(): other threads may append meanwhile
        batch = [pop() for _ in range(min(len(q), self.batch_size, MAX_WRITE))]
        try:
            (last or self._write)(batch)
        except MMError as e:
            if not e.retryable:  # refused for good: dropped, and counted
                self.refused += len(batch)
                self._notify(
                    f"jupyter-mm: the store refused {len(batch)} metric points{self._of()} for "
                    f"good ({e.code}: {e.message}); {self.refused} refused so far"
                )
                if self._on_refused is not None:
                    try:
                        self._on_refused(self.refused)
                    except Exception:  # the count also goes in with the run's end
                        _log.debug("recording the refused points failed", exc_info=True)
                raise
            q.extendleft(reversed(batch))  # back to the front, order kept
            self._stop(e)
            raise
        except BaseException as e:  # unknown (or interrupted): keep the points all the same
            q.extendleft(reversed(batch))
            if isinstance(e, Exception):
                self._stop(e)
            raise
        if len(q) < self.batch_size:
            self._behind_since = None  # caught up
        if self.stalled is not None:
            self._resume(len(batch) + len(q))

    def _of(self) -> str:
        return f" of run {self.name}" if self.name else ""

    def _stop(self, e: BaseException) -> None:
        """Writing failed for a reason that may pass: say so once per outage."""
        if self.stalled is None:
            self._stalled_since = time.monotonic()
            self._notify(
                f"jupyter-mm: writing metrics{self._of()} stopped ({e}); {len(self.queue)} "
                "points are waiting and will be written when the store takes them again"
            )
        self.stalled = e

    def _resume(self, waiting: int) -> None:
        seconds = time.monotonic() - self._stalled_since
        self.stalled = None
        self._notify(
            f"jupyter-mm: writing metrics{self._of()} resumed after {seconds:.0f} s; the "
            f"{waiting} points waiting are being written"
        )

    def tick(self, now: float) -> None:
        """Called by the background writer: flush, and beat the heartbeat when it is due."""
        self._flush_logged()
        if self._heartbeat is not None and now - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = now
            try:
                self._heartbeat()
            except Exception:  # a missed beat is harmless; the next one will do
                _log.debug("a heartbeat failed", exc_info=True)

    def _flush_logged(self) -> None:
        """Flush where a failure must not escape (the writer thread, or the user's logging loop):
        the user was told already (``_stop``, refused points) and the points kept."""
        try:
            self.flush()
        except Exception:
            _log.debug("flushing metric points failed", exc_info=True)

    def close(self, last: Callable[[Sequence[Point]], object] | None = None) -> None:
        """Stop background flushing and write what is left; the final batch (possibly empty) goes
        to ``last`` instead of the normal writer, so a run can end in the same transaction."""
        self._closed = True
        self._writer.unregister(self)
        with self._flush_lock:
            while len(self.queue) > min(self.batch_size, MAX_WRITE):
                self._write_next()
            if last is not None:
                self._write_next(last)
            elif self.queue:
                self._write_next()

    @staticmethod
    def _notify(message: str) -> None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)


class _Writer:
    """The process's one background writer thread, started on first use."""

    def __init__(self) -> None:
        self._buffers: list[MetricBuffer] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, buffer: MetricBuffer) -> None:
        with self._lock:
            self._buffers.append(buffer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="jupyter-mm-writer", daemon=True
                )
                self._thread.start()

    def unregister(self, buffer: MetricBuffer) -> None:
        with self._lock:
            if buffer in self._buffers:
                self._buffers.remove(buffer)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            with self._lock:
                buffers = list(self._buffers)
            now = time.monotonic()
            for buffer in buffers:
                if not buffer._closed:
                    buffer.tick(now)


_writer = _Writer()
