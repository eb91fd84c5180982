"""Buffered metric writer: ``log_metric`` appends to a deque in about a microsecond; a background
thread flushes batches by size and at least every ``interval`` seconds, and ``close`` flushes the rest.

Points whose write fails because the store is unavailable stay queued and are retried; points the
store rejects for good (e.g. the run was deleted) are dropped with one warning.
"""

from __future__ import annotations

import collections
import threading
import warnings
from collections.abc import Callable, Sequence

from ..core.limits import MAX_BATCH_METRICS as MAX_WRITE
from ..errors import MMError, StoreError

Point = tuple[str, float, int, int]


class MetricBuffer:
    def __init__(
        self,
        write: Callable[[Sequence[Point]], None],
        interval: float = 1.0,
        batch_size: int = 20_000,
        max_pending: int = 1_000_000,
        name: str = "jupyter-mm-metrics",
    ) -> None:
        self._write = write
        self.interval = interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._queue: collections.deque[Point] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._flush_lock = threading.Lock()  # one writer at a time (thread vs close/flush)
        self._warned = False
        self.append = self._queue.append  # hot path: a bound C method, no Python frame
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, point: Point) -> None:
        q = self._queue
        q.append(point)
        n = len(q)
        if n >= self.batch_size:
            if n >= self.max_pending:  # the writer can't keep up: apply back-pressure
                self.flush()
            elif n == self.batch_size:  # wake the writer once per batch, not on every call
                self._wake.set()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._closed:
                break
            try:
                self.flush()
            except StoreError as e:  # keep the points; try again next tick
                self._warn(f"jupyter-mm: could not write metrics yet ({e}); will retry")
            except Exception as e:  # never let the thread die silently
                self._warn(f"jupyter-mm: metric writer error: {e}")

    def flush(self) -> None:
        with self._flush_lock:
            q = self._queue
            while q:
                pop = q.popleft  # popleft, not list()+clear(): other threads may append meanwhile
                batch = [pop() for _ in range(min(len(q), self.batch_size, MAX_WRITE))]
                try:
                    self._write(batch)
                except StoreError:
                    q.extendleft(reversed(batch))  # back to the front, order kept
                    raise
                except MMError as e:
                    self._warn(f"jupyter-mm: {len(batch)} metric points were rejected: {e}")
                    raise

    def close(self, flush: bool = True) -> None:
        """Stop the thread; flush what is left (errors propagate to the caller)."""
        self._closed = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        if flush:
            self.flush()

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(message, RuntimeWarning, stacklevel=2)
