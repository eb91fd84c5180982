"""Where the server extension's store comes from, and the one store object it shares.

Resolution order of the tracking URI (first that is set wins):

1. ``c.JupyterMM.tracking_uri`` in the Jupyter server config;
2. the ``MM_TRACKING_URI`` environment variable of the server process;
3. the nearest ``.mm`` directory at or above the server's ``root_dir``, else ``<root_dir>/.mm``.

The resolved URI is exported to ``MM_TRACKING_URI`` (unless already set) so the kernels the
server starts log into the store the sidebar shows.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MMError, StoreError

if TYPE_CHECKING:
    from ..core.store import Store

TRACKING_URI_ENV = "MM_TRACKING_URI"
ARTIFACT_URI_ENV = "MM_ARTIFACT_URI"

_SCHEME = re.compile(r"^([A-Za-z][\w+.-]*)://")


@dataclass(frozen=True)
class ResolvedURI:
    uri: str
    source: str  # "config", "environment" or "default"


def absolutize(uri: str, base: str | os.PathLike[str]) -> str:
    """Make a directory path or a ``sqlite:///relative.db`` URI absolute against ``base``.

    Kernels start in the notebook's directory, so a relative store location would point each of
    them somewhere else.
    """
    m = _SCHEME.match(uri)
    if m is None:
        return str((Path(base) / Path(uri).expanduser()).resolve())
    scheme = m.group(1).lower()
    if scheme == "file":
        return str((Path(base) / Path(uri[len("file://") :]).expanduser()).resolve())
    if scheme.startswith("sqlite") and ":///" in uri:
        prefix, path = uri.split(":///", 1)
        if path and path != ":memory:" and not path.startswith("/"):
            return f"{prefix}:///{(Path(base) / Path(path).expanduser()).resolve()}"
    return uri


def resolve_tracking_uri(configured: str, root_dir: str | os.PathLike[str]) -> ResolvedURI:
    """The tracking URI the server uses (see the module docstring for the order)."""
    if configured:
        return ResolvedURI(absolutize(configured, root_dir), "config")
    from_env = os.environ.get(TRACKING_URI_ENV, "")
    if from_env:
        # A relative value means relative to where the server was started.
        return ResolvedURI(absolutize(from_env, os.getcwd()), "environment")
    from ..core.locations import find_store_dir

    return ResolvedURI(str(find_store_dir(Path(root_dir).expanduser())), "default")


def export_to_kernels(name: str, value: str) -> str | None:
    """Set ``os.environ[name] = value`` unless it holds another non-relative value already.

    Returns the value that was there and differs (for a warning), else None. A relative path in
    the environment is replaced by its absolute form, since kernels start in other directories.
    """
    if not value:
        return None
    current = os.environ.get(name, "")
    if not current:
        os.environ[name] = value
        return None
    if current != value and absolutize(current, os.getcwd()) == value:
        os.environ[name] = value
        return None
    return current if current != value else None


def mask_password(uri: str) -> str:
    """``postgresql://me:secret@host/db`` -> ``postgresql://me:***@host/db``."""
    return re.sub(r"^([A-Za-z][\w+.-]*://[^:/?#@]*):[^@/?#]*@", r"\1:***@", uri)


class StoreProvider:
    """Opens the store on first use (off the event loop), shares it, and closes it at shutdown.

    A failed open is not cached: the next request tries again, so a database that was down at
    start-up is picked up once it is back.
    """

    def __init__(self, uri: str, artifact_uri: str | None = None) -> None:
        self.uri = uri
        self.artifact_uri = artifact_uri or None
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def display_uri(self) -> str:
        """The tracking URI with any password masked."""
        return mask_password(self.uri)

    @property
    def kind(self) -> str:
        """``sqlite``, ``postgresql``, or ``unknown`` for a URI the store does not accept."""
        if self._store is not None:
            return self._store.kind
        from ..core import locations

        try:
            return locations.resolve(self.uri, self.artifact_uri).kind
        except MMError:
            return "unknown"

    def get(self) -> Store:
        """The open store. Blocks (opening, migrating): call it from a worker thread."""
        with self._lock:
            if self._closed:
                raise StoreError("the jupyter-mm server extension is shutting down")
            if self._store is None:
                from ..core.store import Store

                self._store = Store.open(self.uri, artifact_uri=self.artifact_uri)
            return self._store

    def close(self) -> None:
        with self._lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            store.close()
