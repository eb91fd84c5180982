"""``GET jupyter-mm/api/status``: which store the server uses, what it holds, and our version."""

from __future__ import annotations

import os
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...errors import MMError
from .base import MMHandler


def server_version() -> str:
    from ... import __version__

    return str(__version__)


def versions_match(server: str, frontend: str) -> bool:
    """Same release? Compares PEP 440 and semver spellings (``0.1.0a1`` == ``0.1.0-alpha.1``)."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(server) == Version(frontend)
    except InvalidVersion:
        return server == frontend


class StatusHandler(MMHandler):
    """Store summary for the sidebar, and the version handshake with the frontend.

    ``?version=<frontend version>`` adds ``frontend_version`` and ``version_match``. A store that
    cannot be opened still answers 200, with ``counts: null`` and the ``error``, so the sidebar can
    say which store is failing.
    """

    auth_resource = "jupyter_mm:status"

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        provider = self.store_provider
        reply: dict[str, Any] = {"version": server_version(), "pid": os.getpid()}
        try:
            counts = await self.call_store(lambda store: store.counts())
            error = None
        except MMError as e:
            counts = None
            error = {"error_code": e.code, "message": e.message}
            self.log.warning("jupyter-mm: store %s: %s", provider.display_uri, e.message)
        reply["store"] = {"uri": provider.display_uri, "kind": provider.kind}
        reply["counts"] = counts
        if error is not None:
            reply["error"] = error
        frontend = self.get_query_argument("version", default=None)
        if frontend is not None:
            reply["frontend_version"] = frontend
            reply["version_match"] = versions_match(reply["version"], frontend)
        self.finish(reply)
