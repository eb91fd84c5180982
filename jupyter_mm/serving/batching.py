"""Adaptive batching: small requests that arrive together are scored by one ``predict``.

As MLServer's adaptive batching: the first table-shaped request to a model version opens a
window (``batch_window_ms``); requests for the same version that arrive before it closes, or
until ``max_batch_rows`` rows wait, are stacked into one DataFrame, scored once, and the result
is split back by row counts. Each request was checked against the signature on its own before,
so one bad request never spoils a batch; if the stacked ``predict`` fails, each request is
scored alone so the error reaches only the request that caused it. ``batch_window_ms=0`` turns
batching off. The batcher lives on the event loop; every ``predict`` runs in the thread pool.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .metrics import ServingMetrics
from .models import ServedModel


@dataclass
class _Pending:
    frames: list[pd.DataFrame] = field(default_factory=list)
    futures: list[asyncio.Future[Any]] = field(default_factory=list)
    rows: int = 0
    timer: asyncio.TimerHandle | None = None


class Batcher:
    def __init__(
        self, window_ms: float, max_rows: int, executor: Executor, metrics: ServingMetrics
    ) -> None:
        self.window = window_ms / 1000.0
        self.max_rows = max_rows
        self.executor = executor
        self.metrics = metrics
        self._pending: dict[int, tuple[ServedModel, _Pending]] = {}

    async def score(
        self, model: ServedModel, data: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """The model's predictions for ``data`` (already enforced), alone or in a batch."""
        n = len(data) if isinstance(data, pd.DataFrame) else 0
        if self.window <= 0 or params or not n or n >= self.max_rows:
            return await self._run(model, data, params, n or None)
        loop = asyncio.get_running_loop()
        key = id(model)
        entry = self._pending.get(key)
        if entry is None:
            entry = (model, _Pending())
            self._pending[key] = entry
            entry[1].timer = loop.call_later(self.window, self._flush, key)
        pending = entry[1]
        future: asyncio.Future[Any] = loop.create_future()
        pending.frames.append(data)
        pending.futures.append(future)
        pending.rows += n
        if pending.rows >= self.max_rows:
            self._flush(key)
        return await future

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

    def _flush(self, key: int) -> None:
        entry = self._pending.pop(key, None)
        if entry is None:
            return
        model, pending = entry
        if pending.timer is not None:
            pending.timer.cancel()
        asyncio.ensure_future(self._score_batch(model, pending))

    async def _score_batch(self, model: ServedModel, pending: _Pending) -> None:
        if len(pending.frames) == 1:
            await self._settle(model, pending.frames[0], pending.futures[0])
            return
        sizes = [len(f) for f in pending.frames]
        try:
            stacked = pd.concat(pending.frames, ignore_index=True)
            result = await self._run(model, stacked, None, pending.rows)
            parts = _split(result, sizes)
        except Exception:
            parts = None
        if parts is None:  # the batch failed, or its output has no rows to split: one by one
            await asyncio.gather(
                *(
                    self._settle(model, f, fut)
                    for f, fut in zip(pending.frames, pending.futures, strict=True)
                )
            )
            return
        for fut, part in zip(pending.futures, parts, strict=True):
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
