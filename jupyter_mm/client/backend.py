"""Which store the client talks to, opened once per process from the tracking URI: a local one
(directory, ``sqlite:///``, ``postgresql://``) or a tracking server (``http(s)://``, see
``client/remote/``), which answers the same calls."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.store import TrackingStore

_lock = threading.Lock()
_store: TrackingStore | None = None
_uri: str | None = None


def set_tracking_uri(uri: str | None) -> None:
    """Point the client at another store (None: back to ``MM_TRACKING_URI`` / the nearest ``.mm/``)."""
    global _store, _uri
    with _lock:
        if _store is not None:
            _store.close()
        _store, _uri = None, uri


def get_tracking_uri() -> str:
    from ..core.locations import default_tracking_uri

    return _uri or default_tracking_uri()


def get_store() -> TrackingStore:
    global _store
    store = _store
    if store is None:
        with _lock:
            if _store is None:
                uri = _uri or os.environ.get("MM_TRACKING_URI") or None
                if uri and is_remote(uri):
                    from .remote.store import RemoteStore

                    _store = RemoteStore(uri)
                else:
                    from ..core.store import Store

                    _store = Store.open(uri)
            store = _store
    assert store is not None
    return store


def is_remote(uri: str) -> bool:
    """An ``http(s)://`` URI names a tracking server (a Jupyter server with the extension, or
    ``jupyter mm server``), reached through :class:`~jupyter_mm.client.remote.store.RemoteStore`."""
    return uri.split(":", 1)[0].lower() in ("http", "https")


def store_exists() -> bool:
    """Whether reading makes sense: a store is open or configured, or the default ``.mm/`` exists.

    The default store is created by the first write, not by a read, so looking for runs in a
    directory where nothing was tracked leaves no ``.mm/`` behind.
    """
    if _store is not None or _uri or os.environ.get("MM_TRACKING_URI"):
        return True
    from ..core.locations import find_store_dir

    return find_store_dir().is_dir()
