"""Where a store lives: tracking-URI forms and their database and artifact locations.

Accepted tracking URIs:
- ``sqlite:///path/to/mm.db``: that database; artifacts in ``artifacts/`` beside it;
- ``postgresql://user:pass@host/db``: that database; artifacts from ``MM_ARTIFACT_URI`` (required);
- a plain directory path (or ``file://`` URL): ``mm.db`` and ``artifacts/`` inside it;
- ``http(s)://...``: a remote server (handled by the client, not here).
When nothing is configured, the nearest ``.mm/`` directory up from the working directory is used,
else ``./.mm/``, created on first write.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput

STORE_DIRNAME = ".mm"
DB_FILENAME = "mm.db"
ARTIFACTS_DIRNAME = "artifacts"


@dataclass(frozen=True)
class StoreLocation:
    uri: str  # as given (or as resolved from defaults)
    db_url: str
    artifact_url: str | None
    kind: str  # "sqlite" | "postgresql"

    @property
    def display_uri(self) -> str:
        return mask_password(self.uri)


def mask_password(uri: str) -> str:
    """``postgresql://me:secret@host/db`` -> ``postgresql://me:***@host/db``."""
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", uri)


def find_store_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest ``.mm`` directory at or above ``start``, else ``start/.mm`` (not created here)."""
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / STORE_DIRNAME
        if candidate.is_dir():
            return candidate
    return here / STORE_DIRNAME


def spool_root() -> Path:
    """Where writes wait that could not be made yet: ``$MM_SPOOL_DIR``, by default
    ``~/.cache/jupyter-mm/spool/`` (the remote client's and the local fallback's spools, and the
    prediction logs' in a served model)."""
    root = os.environ.get("MM_SPOOL_DIR")
    if root:
        return Path(root).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "jupyter-mm" / "spool"


def default_tracking_uri() -> str:
    return os.environ.get("MM_TRACKING_URI") or str(find_store_dir())


def resolve(uri: str | None = None, artifact_uri: str | None = None) -> StoreLocation:
    uri = uri or default_tracking_uri()
    artifact_uri = artifact_uri or os.environ.get("MM_ARTIFACT_URI") or None
    scheme = uri.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][\w+.-]*://", uri) else ""
    if scheme.startswith("sqlite"):
        db_path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not db_path or db_path == ":memory:":
            raise InvalidInput(
                f"tracking URI {uri!r} needs a database file: sqlite:///path/to/mm.db"
            )
        default_art = str(Path(db_path).resolve().parent / ARTIFACTS_DIRNAME)
        return StoreLocation(uri, uri, artifact_uri or default_art, "sqlite")
    if scheme.startswith("postgres"):
        return StoreLocation(uri, uri, artifact_uri, "postgresql")
    if scheme in ("", "file"):
        directory = Path(uri[len("file://") :] if scheme == "file" else uri).expanduser().resolve()
        if directory.suffix == ".db":
            raise InvalidInput(f"{uri!r} looks like a database file: use sqlite:///{directory}")
        db_url = f"sqlite:///{directory / DB_FILENAME}"
        return StoreLocation(
            str(directory), db_url, artifact_uri or str(directory / ARTIFACTS_DIRNAME), "sqlite"
        )
    if scheme in ("http", "https"):
        raise InvalidInput(
            f"{uri!r} is a server URL; open it with the client (jupyter_mm.client), not the store"
        )
    raise InvalidInput(
        f"unsupported tracking URI {uri!r}: use a directory, sqlite:///file.db, postgresql://... "
        "or http(s)://server"
    )
