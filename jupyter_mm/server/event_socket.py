"""``{base_url}jupyter-mm/events``: the live store events of :mod:`.events` over a WebSocket.

JupyterLab subscribes through jupyter_server's own ``api/events/subscribe``; the team server
serves nothing outside ``jupyter-mm/`` and has no browser frontend, so its clients (scripts,
dashboards, another service) subscribe here, authenticated like every other route (a token
header; reading is enough). The socket carries only jupyter-mm's schemas (store, registry and
monitor events; the last when the server runs monitors).

Messages, one JSON object each:

* first, once the watcher has read the store (every change committed after this message is
  sent as an event)::

      {"type": "subscribed", "stream": "3f2a9c01d4e5", "seq": 17, "registry_seq": 42}

  ``stream``/``seq``: the run events of this server process continue from ``seq + 1`` on this
  stream; ``registry_seq``: registry events continue above this audit sequence number;
* then each event as jupyter_server sends it, ``{"schema_id": "...", ...the event's fields}``.

On a server whose watcher starts on demand (the team server), the first subscriber starts it.
Behind a load balancer each process has its own stream (see :mod:`.events`): a client that
reconnects compares the new ``stream`` with the old one and reloads when they differ.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.utils import url_path_join
from tornado import web, websocket

from .events import EVENT_SCHEMA_ID, EVENTS_SETTING, StoreWatcher
from .handlers.base import MMHandler
from .monitor_events import MONITOR_EVENT_SCHEMA_ID
from .registry_events import REGISTRY_EVENT_SCHEMA_ID

#: Path of the route, relative to the server's base URL.
EVENT_SOCKET_PATH = "jupyter-mm/events"
#: How long a subscriber waits for the watcher's first read of the store.
BASELINE_TIMEOUT = 30.0
SCHEMAS = (EVENT_SCHEMA_ID, REGISTRY_EVENT_SCHEMA_ID, MONITOR_EVENT_SCHEMA_ID)


class EventSocketHandler(MMHandler, websocket.WebSocketHandler):
    """One subscriber (see the module docstring)."""

    auth_resource = "jupyter_mm:events"

    def _watcher(self) -> StoreWatcher:
        watcher = self.settings.get(EVENTS_SETTING)
        if not isinstance(watcher, StoreWatcher):
            raise web.HTTPError(404, "live events are off on this server (c.JupyterMM.live_events)")
        return watcher

    async def pre_get(self) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(403)
        watcher = self._watcher()
        watcher.start()
        if not await watcher.wait_baseline(BASELINE_TIMEOUT):
            raise web.HTTPError(503, "the store did not answer: live events are unavailable")

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        res = super().get(*args, **kwargs)
        if res is not None:
            await res

    def open(self, *args: Any, **kwargs: Any) -> None:
        watcher = self._watcher()
        # No await between reading seq and adding the listeners: the first event forwarded is
        # exactly the one after the hello.
        hello = {
            "type": "subscribed",
            "stream": watcher.stream,
            "seq": watcher.seq,
            "registry_seq": watcher.registry_seq,
        }
        for schema_id in SCHEMAS:
            if schema_id not in self.event_logger.schemas:  # monitors switched off
                continue
            self.event_logger.add_listener(schema_id=schema_id, listener=self._forward)
        self.write_message(json.dumps(hello))

    async def _forward(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        try:
            await self.write_message(json.dumps({"schema_id": schema_id, **data}))
        except websocket.WebSocketClosedError:
            self._unsubscribe()

    def on_close(self) -> None:
        self._unsubscribe()

    def _unsubscribe(self) -> None:
        for schema_id in SCHEMAS:
            try:
                self.event_logger.remove_listener(schema_id=schema_id, listener=self._forward)
            except (KeyError, ValueError):  # already removed
                pass


def event_socket_handlers() -> list[tuple[Any, ...]]:
    """The route, relative to the server's base URL (the extension app prepends it)."""
    return [(url_path_join(EVENT_SOCKET_PATH), EventSocketHandler)]
