"""The artifact proxy's paths: ``<experiment id>/<run id>/artifacts/<logical path>``.

Runs report ``artifact_uri = mlflow-artifacts:/<exp>/<run>/artifacts``; the client turns that into
``.../api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<file>``. The logical path after
``artifacts/`` is the run's artifact path in our content-addressed store.
"""

from __future__ import annotations

import mimetypes
import unicodedata
import urllib.parse
from typing import TYPE_CHECKING, Any

from ...core.artifacts import normalize_path, normalize_prefix
from ...core.store.base import check_run_id
from ...errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ...core.store import Store


def _parts(path: str) -> list[str]:
    if "\x00" in path or "\\" in path or any(p == ".." for p in path.split("/")):
        raise InvalidInput("Invalid path")
    return [p for p in path.split("/") if p not in ("", ".")]


def _run_of(parts: list[str], path: str) -> str:
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[0].isdigit():
        if len(parts) >= 3 and parts[1] == "models":
            raise NotFound(
                "logged-model artifacts (mlflow-artifacts:/<exp>/models/...) are not supported "
                "by jupyter-mm yet"
            )
        raise NotFound(f"no artifact location {path!r}: expected <experiment>/<run>/artifacts/...")
    try:
        return check_run_id(parts[1])
    except InvalidInput:
        raise NotFound(f"Run with id={parts[1]} not found") from None


PROXY_SCHEME = "mlflow-artifacts:"


def escapes(path: str) -> bool:
    """MLflow's "Invalid path": a path that could leave the run's artifact root."""
    parts = path.replace("\\", "/").split("/")
    return path.startswith("/") or "\x00" in path or ".." in parts


def known_run(run_id: str) -> str:
    """A run id as the store takes it; any other string names no run (MLflow's 404)."""
    try:
        return check_run_id(run_id)
    except InvalidInput:
        raise NotFound(f"Run with id={run_id} not found") from None


def logical(path: str) -> str:
    """A file path inside a run, normalised; anything that escapes is "Invalid path"."""
    if escapes(path):
        raise InvalidInput("Invalid path")
    try:
        return normalize_path(path)
    except InvalidInput:
        raise InvalidInput("Invalid path") from None


def split(path: str) -> tuple[str, str]:
    """(run id, normalised logical path) of a file path under the proxy."""
    parts = _parts(path)
    run_id = _run_of(parts, path)
    if "//" in path or path.endswith("/"):  # an absolute or empty name inside the run
        raise InvalidInput("Invalid path")
    if len(parts) == 3:
        raise InvalidInput("Invalid path: name a file under the run's artifacts")
    try:
        return run_id, normalize_path("/".join(parts[3:]))
    except InvalidInput:
        raise InvalidInput("Invalid path") from None


def list_dir(store: Store, path: str) -> dict[str, Any]:
    """``{"files": [...]}`` directly under ``path``, paths relative to it (MLflow's listing)."""
    parts = _parts(path)
    if len(parts) < 3:
        return {"files": []}
    run_id = _run_of(parts, path)
    try:
        prefix = normalize_prefix("/".join(parts[3:]))
    except InvalidInput:
        raise InvalidInput("Invalid path") from None
    files = []
    for info in store.list_artifacts(run_id, prefix=prefix or None):
        rel = info.path[len(prefix) + 1 :] if prefix else info.path
        entry: dict[str, Any] = {"path": rel, "is_dir": info.is_dir}
        if not info.is_dir:
            entry["file_size"] = info.size
        files.append(entry)
    return {"files": files}


#: Files MLflow sends as text/plain (its ``mime_type_utils.get_text_extensions``, MLmodel too).
_TEXT_EXTENSIONS = frozenset(
    "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv "
    "tsv md rst ipynb MLmodel MLproject".split()
)
#: Types a browser would run as a page (scripts included): sent as text/plain instead, on top of
#: ``attachment`` and ``nosniff``, so an uploaded page never runs on the server's origin.
_ACTIVE_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml"})
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def download_type(name: str) -> str:
    """The Content-Type of a download, decided from the file name as MLflow decides it: never the
    type the uploader claimed nor the one the client asks for, so nobody can have a file served
    as ``text/html`` on the server's origin by naming that type; pages and SVG go as text."""
    stem, dot, ext = name.rpartition(".")
    if (ext if dot and stem else name) in _TEXT_EXTENSIONS:
        return "text/plain"
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return "text/plain" if guessed in _ACTIVE_TYPES else guessed


def _quoted(value: str) -> str:
    """A header parameter value: a token as is, else a quoted-string (``\\`` and ``"`` escaped)."""
    if value and all(c in _TOKEN_CHARS for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def content_disposition(name: str) -> str:
    """``attachment`` with the file name per RFC 6266: an ASCII ``filename`` (quoted and escaped)
    and, for any other name, its UTF-8 form in ``filename*`` (RFC 5987), as MLflow sends it."""
    if name.isascii():
        return f"attachment; filename={_quoted(name)}"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "download"
    encoded = urllib.parse.quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename={_quoted(fallback)}; filename*=UTF-8''{encoded}"
