"""The server's background loops stop cleanly: nothing of theirs touches the store once stopped."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from jupyter_mm.server.background import TickLoop


class SlowTick(TickLoop):
    """A tick that takes as long as the test says, as a slow store read does."""

    tick = 0.01

    def __init__(self) -> None:
        super().__init__(provider=None, event_logger=None, log=logging.getLogger(__name__))  # type: ignore[arg-type]
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished: list[str] = []

    def run_once(self) -> Any:
        self.started.set()
        self.release.wait(10)
        self.finished.append("tick")


async def test_stop_waits_for_the_tick_running_in_a_worker_thread() -> None:
    # Cancelling the loop's task does not stop its worker thread: stop() must wait for it, or
    # the tick goes on reading the store after the server closed it.
    loop = SlowTick()
    loop.start()
    assert await asyncio.to_thread(loop.started.wait, 10)
    releaser = threading.Timer(0.2, loop.release.set)
    releaser.start()
    await loop.stop()
    assert loop.finished == ["tick"]
    releaser.join()


async def test_a_stopped_loop_runs_no_further_tick() -> None:
    loop = SlowTick()
    loop.release.set()
    loop.start()
    assert await asyncio.to_thread(loop.started.wait, 10)
    await loop.stop()
    ticks = len(loop.finished)
    loop.started.clear()
    assert not await asyncio.to_thread(loop.started.wait, 0.1)
    assert len(loop.finished) == ticks
