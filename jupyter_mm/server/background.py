"""The background task the server's pollers share: started once on the running event loop,
cancelled and awaited on stop (the store watcher of :mod:`.events`, the monitor scheduler of
:mod:`.monitor_events`)."""

from __future__ import annotations

import asyncio


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
