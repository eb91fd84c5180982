"""REST handlers of the server extension, all under ``<base_url>/jupyter-mm/api/``."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .base import API_PREFIX, MMHandler
from .snapshots import SnapshotHandler
from .status import StatusHandler

__all__ = ["API_PREFIX", "MMHandler", "SnapshotHandler", "StatusHandler", "api_handlers"]


def api_handlers() -> list[tuple[Any, ...]]:
    """Route table relative to the server's base URL (the extension app prepends it)."""
    return [
        (url_path_join(API_PREFIX, "status"), StatusHandler),
        (url_path_join(API_PREFIX, "runs", r"(?P<run_id>[^/]+)", "snapshot"), SnapshotHandler),
    ]
