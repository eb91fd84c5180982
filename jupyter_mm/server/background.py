"""The background task the server's pollers share: started once on the running event loop,
cancelled and awaited on stop (the store watcher of :mod:`.events`, the monitor scheduler of
:mod:`.monitor_events`, the retraining schedules of :mod:`.retraining`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any


class BackgroundLoop:
    """Runs :meth:`_loop` as one task until :meth:`stop`; ``_stopping`` tells the loop to end."""

    _task: asyncio.Task[None] | None = None
    _stopping = False

    def start(self) -> None:
        """Start the loop on the running event loop (a second call does nothing)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """End the loop: cancel its task and wait until it has ended."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        raise NotImplementedError


class TickLoop(BackgroundLoop):
    """Every ``tick`` seconds, :meth:`run_once` in a worker thread (it reads the store), then
    :meth:`after` with its result on the event loop. A failing tick (the store is unreachable)
    is logged once until a tick succeeds again."""

    tick: float
    log: logging.Logger
    #: what the log says when a tick fails
    failure = "jupyter-mm: a background tick failed"

    def run_once(self) -> Any:
        raise NotImplementedError

    def after(self, result: Any) -> None:
        """What to do with a successful tick's result (nothing by default)."""

    async def _loop(self) -> None:
        failing = False
        while not self._stopping:
            try:
                result = await asyncio.to_thread(self.run_once)
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is unreachable: try again next tick
                if not failing:
                    self.log.exception(self.failure)
                failing = True
            else:
                self.after(result)
            await asyncio.sleep(self.tick)
