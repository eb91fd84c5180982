"""Buffered metric writing: ``log_metric`` appends to a deque in about a microsecond; one background
thread per process flushes every open buffer in batches, when a buffer fills and at least every
``FLUSH_SECONDS``, and beats each run's heartbeat; ``close`` flushes the rest in the caller.

Points whose write fails because the store is unavailable stay queued and are retried; points the
store rejects for good (e.g. the run was deleted) are dropped with one warning.
"""

from __future__ import annotations

import collections
import threading
import time
import warnings
from collections.abc import Callable, Sequence

from ..core.limits import MAX_BATCH_METRICS as MAX_WRITE
from ..errors import MMError, StoreError

Point = tuple[str, float, int, int]

FLUSH_SECONDS = 1.0
HEARTBEAT_SECONDS = 10.0


class MetricBuffer:
    def __init__(
        self,
        write: Callable[[Sequence[Point]], object],
        heartbeat: Callable[[], None] | None = None,
        batch_size: int = 20_000,
        max_pending: int = 1_000_000,
    ) -> None:
        self._write = write
        self._heartbeat = heartbeat
        self._last_beat = time.monotonic()
        self.batch_size = batch_size
        self.max_pending = max_pending
        #: Pending points; appending to it directly is the fast path (see ActiveRun.log_metric).
        self.queue: collections.deque[Point] = collections.deque()
        self._flush_lock = threading.Lock()  # one writer at a time (thread vs close/flush)
        self._warned = False
        self._closed = False
        _writer.register(self)

    def __len__(self) -> int:
        return len(self.queue)

    def add(self, point: Point) -> None:
        q = self.queue
        q.append(point)
        if len(q) >= self.batch_size:
            self.filled(len(q))

    def filled(self, n: int) -> None:
        """The queue reached ``batch_size`` (callers that append to ``queue`` themselves call this)."""
        if n >= self.max_pending:  # the writer can't keep up: apply back-pressure
            self.flush()
        elif n == self.batch_size:  # wake the writer once per batch, not on every call
            _writer.wake()

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
        except StoreError:
            q.extendleft(reversed(batch))  # back to the front, order kept
            raise
        except MMError as e:
            self._warn(f"jupyter-mm: {len(batch)} metric points were rejected: {e}")
            raise

    def tick(self, now: float) -> None:
        """Called by the background writer: flush, and beat the heartbeat when it is due."""
        try:
            self.flush()
        except StoreError as e:  # keep the points; try again next tick
            self._warn(f"jupyter-mm: could not write metrics yet ({e}); will retry")
        except Exception as e:  # never let the writer thread die
            self._warn(f"jupyter-mm: metric writer error: {e}")
        if self._heartbeat is not None and now - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = now
            try:
                self._heartbeat()
            except Exception:  # a missed beat is harmless; the next one will do
                pass

    def close(self, last: Callable[[Sequence[Point]], object] | None = None) -> None:
        """Stop background flushing and write what is left; the final batch (possibly empty) goes
        to ``last`` instead of the normal writer, so a run can end in the same transaction."""
        self._closed = True
        _writer.unregister(self)
        with self._flush_lock:
            while len(self.queue) > min(self.batch_size, MAX_WRITE):
                self._write_next()
            if last is not None:
                self._write_next(last)
            elif self.queue:
                self._write_next()

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(message, RuntimeWarning, stacklevel=2)


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
