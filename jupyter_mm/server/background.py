"""What the server's event sources share: the background task of its pollers, started once on
the running event loop, cancelled and awaited on stop (the store watcher of :mod:`.events`; the
monitor scheduler of :mod:`.monitor_events` and the retraining schedules of :mod:`.retraining`,
both a :class:`TickLoop`), and the registration and emission of their events on
jupyter_server's event bus (also the job runner's, :mod:`.jobs`); the events' schemas are
files, ``event_schemas/<name>/v1.yaml``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

if TYPE_CHECKING:
    from jupyter_events import EventLogger

    from .store_provider import StoreProvider


def register_event_schemas(app: Any, *schemas: dict[str, Any]) -> EventLogger:
    """The event logger of the extension ``app``'s server, with ``schemas`` registered (each once:
    the logger refuses a second registration, and the extension may be loaded again)."""
    event_logger: EventLogger = app.serverapp.event_logger
    for schema in schemas:
        if schema["$id"] not in event_logger.schemas:
            event_logger.register_event_schema(schema)
    return event_logger


def emit_event(
    event_logger: EventLogger,
    log: logging.Logger,
    schema_id: str,
    data: dict[str, Any],
    what: object,
) -> None:
    """Emit one event on the event loop's thread (from another thread: hand this to
    ``io_loop.add_callback``). A failure (a bad event, a listener raising) is logged, not raised:
    one bad event must not stop the poller or the job runner that emits it."""
    try:
        event_logger.emit(schema_id=schema_id, data=data)
    except Exception:
        log.exception("jupyter-mm: emitting %s failed", what)


class BackgroundLoop:
    """Runs :meth:`_loop` as one task until :meth:`stop`; ``_stopping`` tells the loop to end.

    It polls the store of ``provider`` and emits what it finds with :meth:`emit`."""

    _task: asyncio.Task[None] | None = None
    _stopping = False
    #: The store call running in a worker thread, if any (see :meth:`in_thread`).
    _in_flight: asyncio.Future[Any] | None = None

    def __init__(
        self,
        provider: StoreProvider,
        event_logger: EventLogger,
        log: logging.Logger | None = None,
    ) -> None:
        self.provider = provider
        self.event_logger = event_logger
        self.log = log or logging.getLogger(__name__)

    def emit(self, schema_id: str, data: dict[str, Any], what: object) -> None:
        emit_event(self.event_logger, self.log, schema_id, data, what)

    def start(self) -> None:
        """Start the loop on the running event loop (a second call does nothing)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, as ``asyncio.to_thread``, but :meth:`stop` waits for
        it: cancelling the loop's task does not stop the thread, which would go on reading the
        store after the server closed it (and hold table locks a later reset waits on)."""
        future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        self._in_flight = future
        return await asyncio.shield(future)

    async def stop(self) -> None:
        """End the loop: cancel its task and wait until it, and the store call it had running
        in a worker thread, have ended."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            await asyncio.wait([in_flight])
            failure = None if in_flight.cancelled() else in_flight.exception()
            if failure is not None:  # retrieved, so asyncio does not report it as never seen
                self.log.debug("jupyter-mm: the last store call before stop failed: %r", failure)

    async def _loop(self) -> None:
        raise NotImplementedError


class TickLoop(BackgroundLoop):
    """A :class:`BackgroundLoop` that calls :meth:`run_once` in a worker thread every ``tick``
    seconds and gives what it returns to :meth:`handle`. A failing tick (the store unreachable)
    is logged once per outage with ``failure``; the next tick tries again."""

    tick: float
    failure = "jupyter-mm: a background tick failed"

    def run_once(self) -> Any:
        raise NotImplementedError

    def handle(self, result: Any) -> None:
        """What to do on the event loop with a tick's result (default: nothing)."""

    async def _loop(self) -> None:
        failing = False
        while not self._stopping:
            try:
                result = await self.in_thread(self.run_once)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is unreachable: try again next tick
                if not failing:
                    self.log.exception(self.failure)
                failing = True
            else:
                failing = False
                self.handle(result)
            await asyncio.sleep(self.tick)
