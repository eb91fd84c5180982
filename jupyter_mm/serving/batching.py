"""Adaptive batching: small requests that arrive together are scored by one ``predict``.

Per model version: a request that finds the model idle (no ``predict`` running, none waiting)
is scored at once, so a lone client never waits. Requests that arrive while a ``predict`` runs
wait; when it returns, everything waiting is stacked into one DataFrame, scored by one
``predict``, and the result is split back by row counts, so batches grow with the load, as
MLServer's adaptive batching. A waiting request is never held longer than the window
(``batch_window_ms``): then its batch starts beside the one running. ``max_batch_rows`` rows
waiting start a batch at once. ``batch_window_ms=0`` turns batching off: every request is
scored alone.

Each request was checked against the signature on its own before, so one bad request never
spoils a batch; if the stacked ``predict`` fails, each request is scored alone so the error
reaches only the request that caused it. Requests with ``params`` are never stacked. The batcher
lives on the event loop; every ``predict`` runs in the thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .metrics import ServingMetrics
from .models import ServedModel

_log = logging.getLogger(__name__)


@dataclass
class _Queue:
    """One model version's waiting requests and how many of its ``predict`` calls run."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    futures: list[asyncio.Future[Any]] = field(default_factory=list)
    rows: int = 0
    running: int = 0
    timer: asyncio.TimerHandle | None = None


class Batcher:
    def __init__(
        self, window_ms: float, max_rows: int, executor: Executor, metrics: ServingMetrics
    ) -> None:
        self.window = window_ms / 1000.0
        self.max_rows = max_rows
        self.executor = executor
        self.metrics = metrics
        self._queues: weakref.WeakKeyDictionary[ServedModel, _Queue] = weakref.WeakKeyDictionary()

    def waiting_rows(self, model: ServedModel) -> int:
        """Rows waiting for ``model`` (for tests and diagnostics)."""
        q = self._queues.get(model)
        return q.rows if q is not None else 0

    async def score(
        self, model: ServedModel, data: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """The model's predictions for ``data`` (already enforced), alone or in a batch."""
        n = len(data) if isinstance(data, pd.DataFrame) else 0
        if self.window <= 0 or params or not n or n >= self.max_rows:
            return await self._run(model, data, params, n or None)
        q = self._queues.get(model)
        if q is None:
            q = self._queues[model] = _Queue()
        if q.running == 0 and not q.frames:  # idle: score now, wait for nobody
            q.running += 1
            try:
                return await self._run(model, data, None, n)
            finally:
                q.running -= 1
                self._next(model, q)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        q.frames.append(data)
        q.futures.append(future)
        q.rows += n
        if q.timer is None:
            q.timer = loop.call_later(self.window, self._flush, model, q)
        if q.rows >= self.max_rows:
            self._flush(model, q)
        return await future

    def _next(self, model: ServedModel, q: _Queue) -> None:
        """A ``predict`` returned: what waited meanwhile goes now, as one batch."""
        if q.frames and q.running == 0:
            self._flush(model, q)

    def _flush(self, model: ServedModel, q: _Queue) -> None:
        if q.timer is not None:
            q.timer.cancel()
            q.timer = None
        if not q.frames:
            return
        frames, futures, rows = q.frames, q.futures, q.rows
        q.frames, q.futures, q.rows = [], [], 0
        q.running += 1

        def done(_: Any) -> None:
            q.running -= 1
            self._next(model, q)

        task = asyncio.ensure_future(self._score_batch(model, frames, futures, rows))
        task.add_done_callback(done)

    async def _run(
        self, model: ServedModel, data: Any, params: dict[str, Any] | None, n: int | None
    ) -> Any:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.executor, model.predict, data, params)
        self._count(model, n if n is not None else _length(data))
        return result

    def _count(self, model: ServedModel, n: int) -> None:
        self.metrics.predict_calls.labels(model.name, model.version).inc()
        self.metrics.batch_rows.labels(model.name, model.version).observe(n)

    async def _score_batch(
        self, model: ServedModel, frames: list[Any], futures: list[Any], rows: int
    ) -> None:
        if len(frames) == 1:
            await self._settle(model, frames[0], futures[0])
            return
        sizes = [len(f) for f in frames]
        try:
            stacked = pd.concat(frames, ignore_index=True)
            result = await self._run(model, stacked, None, rows)
            parts = _split(result, sizes)
        except Exception:  # each request then fails (or succeeds) on its own, with its own error
            _log.debug("a batch of %d requests failed as a whole", len(frames), exc_info=True)
            parts = None
        if parts is None:  # the batch failed, or its output has no rows to split: one by one
            await asyncio.gather(
                *(self._settle(model, f, fut) for f, fut in zip(frames, futures, strict=True))
            )
            return
        for fut, part in zip(futures, parts, strict=True):
            if not fut.done():
                fut.set_result(part)

    async def _settle(self, model: ServedModel, frame: pd.DataFrame, fut: Any) -> None:
        try:
            result = await self._run(model, frame, None, len(frame))
        except Exception as e:
            if not fut.done():
                fut.set_exception(e)
            return
        if not fut.done():
            fut.set_result(result)


def _length(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 1


def _split(result: Any, sizes: list[int]) -> list[Any] | None:
    """``result`` cut back into one part per request, or None when it is not one row per input
    row (then each request is scored alone)."""
    total = sum(sizes)
    if isinstance(result, (pd.DataFrame, pd.Series)):
        if len(result) != total:
            return None
        bounds = np.cumsum([0, *sizes])
        return [
            result.iloc[a:b].reset_index(drop=True)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    if isinstance(result, list):
        result = np.asarray(result)
    if not isinstance(result, np.ndarray) or result.ndim == 0 or len(result) != total:
        return None
    bounds = np.cumsum([0, *sizes])
    return [result[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
