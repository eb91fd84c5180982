"""The artifact proxy's paths: ``<experiment id>/<run id>/artifacts/<logical path>``, and
``<experiment id>/models/<model id>/artifacts/<logical path>`` for a logged model's own files.

Runs report ``artifact_uri = mlflow-artifacts:/<exp>/<run>/artifacts``; the client turns that into
``.../api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<file>``. The logical path after
``artifacts/`` is the run's (or the model's) artifact path in our content-addressed store.
"""

from __future__ import annotations

import mimetypes
import unicodedata
import urllib.parse
from typing import TYPE_CHECKING, Any

from ...core.artifacts import normalize_path, normalize_prefix
from ...core.entities import ArtifactInfo
from ...core.store.base import check_run_id
from ...core.store.logged_models import check_model_id
from ...errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ...core.store import Store

#: Where a file is: ("run", run id, path) or ("model", logged model id, path).
Location = tuple[str, str, str]


def _parts(path: str) -> list[str]:
    if "\x00" in path or "\\" in path or any(p == ".." for p in path.split("/")):
        raise InvalidInput("Invalid path")
    return [p for p in path.split("/") if p not in ("", ".")]


def _run_of(parts: list[str], path: str) -> str:
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[0].isdigit():
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


def _is_model_path(parts: list[str]) -> bool:
    return (
        len(parts) >= 4 and parts[0].isdigit() and parts[1] == "models" and parts[3] == "artifacts"
    )


def locate(path: str) -> Location:
    """Where the proxy's file ``path`` is: a run's artifact or a logged model's own file."""
    parts = _parts(path)
    if not _is_model_path(parts):
        return ("run", *split(path))
    model_id = check_model_id(parts[2])
    if "//" in path or path.endswith("/") or len(parts) == 4:
        raise InvalidInput("Invalid path")
    try:
        return "model", model_id, normalize_path("/".join(parts[4:]))
    except InvalidInput:
        raise InvalidInput("Invalid path") from None


def safe_relative(path: str) -> str:
    """A relative directory or file path a request names (``Invalid path`` for an escape)."""
    parts = _parts(path)
    if path.startswith("/"):
        raise InvalidInput("Invalid path")
    return "/".join(parts)


def _resolved(store: Store, where: Location) -> Location:
    """A model created with a run keeps its files among the run's artifacts."""
    kind, owner, logical = where
    if kind == "model":
        model = store.get_logged_model(owner, allow_deleted=True)
        if model.artifact_run_id is not None:
            return "run", model.artifact_run_id, f"{model.files_prefix}/{logical}"
    return where


def info(store: Store, where: Location) -> ArtifactInfo:
    kind, owner, logical = _resolved(store, where)
    if kind == "run":
        return store.artifact_info(owner, logical)
    return store.model_artifact_info(owner, logical)


def read(store: Store, where: Location) -> bytes:
    kind, owner, logical = _resolved(store, where)
    if kind == "run":
        return store.read_artifact(owner, logical)
    return store.read_model_artifact(owner, logical)


def iterate(store: Store, where: Location) -> Iterator[bytes]:
    kind, owner, logical = _resolved(store, where)
    if kind == "run":
        return store.iter_artifact(owner, logical)
    return store.iter_model_artifact(owner, logical)


def put(store: Store, where: Location, body: bytes, media_type: str | None) -> None:
    kind, owner, logical = _resolved(store, where)
    if kind == "run":
        store.log_artifact(owner, logical, body, media_type=media_type)
    else:
        store.log_model_artifacts(owner, [(logical, body, media_type)])


def list_dir(store: Store, path: str) -> dict[str, Any]:
    """``{"files": [...]}`` directly under ``path``, paths relative to it (MLflow's listing)."""
    parts = _parts(path)
    if len(parts) < 3:
        return {"files": []}
    if _is_model_path(parts):
        return _list_model_dir(store, check_model_id(parts[2]), "/".join(parts[4:]))
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


def _list_model_dir(store: Store, model_id: str, sub: str) -> dict[str, Any]:
    try:
        prefix = normalize_prefix(sub)
    except InvalidInput:
        raise InvalidInput("Invalid path") from None
    model = store.get_logged_model(model_id, allow_deleted=True)
    if model.artifact_run_id is not None:
        root = model.files_prefix
        infos = store.list_artifacts(
            model.artifact_run_id, prefix=f"{root}/{prefix}" if prefix else root
        )
        strip = len(f"{root}/{prefix}" if prefix else root) + 1
    else:
        infos = store.list_model_artifacts(model_id, prefix=prefix or None)
        strip = len(prefix) + 1 if prefix else 0
    files = []
    for i in infos:
        entry: dict[str, Any] = {"path": i.path[strip:], "is_dir": i.is_dir}
        if not i.is_dir:
            entry["file_size"] = i.size
        files.append(entry)
    return {"files": files}
