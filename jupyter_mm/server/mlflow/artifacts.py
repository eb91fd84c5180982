"""The artifact proxy's paths: ``<experiment id>/<run id>/artifacts/<logical path>``,
``<experiment id>/models/<model id>/artifacts/<logical path>`` for a logged model's own files, and
any other path for a file outside runs (MLflow's proxy stores any path under its destination).

Runs report ``artifact_uri = mlflow-artifacts:/<exp>/<run>/artifacts``; the client turns that into
``.../api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<file>``. The logical path after
``artifacts/`` is the run's (or the model's) artifact path in our content-addressed store. Those
two shapes are the runs' and models' namespace: a path of either shape is always read and written
through the run's (the model's) index, an unknown run being a 404. Every other path is a "proxy
file" (``core/store/proxy_files.py``): a content-addressed blob named by the normalised path.
"""

from __future__ import annotations

import mimetypes
import unicodedata
import urllib.parse
from typing import TYPE_CHECKING, Any, TypeVar

from ...core.artifacts import normalize_path, normalize_prefix
from ...core.entities import ArtifactInfo
from ...core.store.base import check_run_id
from ...core.store.logged_models import check_model_id
from ...errors import InvalidInput, NotFound, PermissionDenied

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ...core.store import Store

#: Where a file is: ("run", run id, path), ("model", logged model id, path) or ("proxy", "",
#: path) for a file outside runs.
Location = tuple[str, str, str]
T = TypeVar("T")


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


def _in_runs_namespace(parts: list[str]) -> bool:
    """``<exp>/<run>/artifacts[/...]`` or ``<exp>/models/<model>/artifacts[/...]``."""
    return (len(parts) >= 3 and parts[0].isdigit() and parts[2] == "artifacts") or _is_model_path(
        parts
    )


def _fully_decoded(path: str) -> str:
    """``path`` percent-decoded until it stops changing, as MLflow checks it: a name that would
    read as ``..`` once more decoded (``%252e%252e``) is refused like ``..`` itself."""
    for _ in range(10):
        decoded = urllib.parse.unquote(path)
        if decoded == path:
            return path
        path = decoded
    raise InvalidInput("Invalid path")


def _proxy_path(path: str, allow_root: bool = False) -> str:
    """The logical path of a file (or, for a listing, a folder) outside runs."""
    if path.startswith("/") or "//" in path or escapes(_fully_decoded(path)):
        raise InvalidInput("Invalid path")
    try:
        return normalize_prefix(path) if allow_root else normalize_path(path)
    except InvalidInput:
        raise InvalidInput("Invalid path") from None


def locate(path: str) -> Location:
    """Where the proxy's file ``path`` is: a run's artifact, a logged model's own file or a file
    outside runs."""
    parts = _parts(path)
    if not _in_runs_namespace(parts):
        if path.endswith("/"):
            raise InvalidInput("Invalid path")
        return "proxy", "", _proxy_path(path)
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


def _by_kind(
    store: Store,
    where: Location,
    run: Callable[[str, str], T],
    proxy: Callable[[str], T],
    model: Callable[[str, str], T],
) -> T:
    """``run(run_id, path)``, ``proxy(path)`` or ``model(model_id, path)``, by where the file is."""
    kind, owner, logical = _resolved(store, where)
    if kind == "run":
        return run(owner, logical)
    if kind == "proxy":
        return proxy(logical)
    return model(owner, logical)


def info(store: Store, where: Location) -> ArtifactInfo:
    return _by_kind(
        store, where, store.artifact_info, store.proxy_file_info, store.model_artifact_info
    )


def read(store: Store, where: Location) -> bytes:
    return _by_kind(
        store, where, store.read_artifact, store.read_proxy_file, store.read_model_artifact
    )


def iterate(store: Store, where: Location) -> Iterator[bytes]:
    return _by_kind(
        store, where, store.iter_artifact, store.iter_proxy_file, store.iter_model_artifact
    )


def put(
    store: Store, where: Location, body: bytes, media_type: str | None, created_by: str = ""
) -> None:
    kind, owner, logical = _resolved(store, where)
    if kind == "run":
        store.log_artifact(owner, logical, body, media_type=media_type)
    elif kind == "proxy":
        store.put_proxy_file(logical, body, created_by=created_by)
    else:
        store.log_model_artifacts(owner, [(logical, body, media_type)])


def delete(store: Store, path: str) -> None:
    """MLflow's ``DELETE``: the file outside runs at ``path``, or every such file below the
    folder ``path`` (nothing there is not an error, as in MLflow). A run's or a logged model's
    files are never deleted: jupyter-mm keeps accepted data."""
    parts = _parts(path)
    if _in_runs_namespace(parts):
        raise PermissionDenied(
            "the files of runs and logged models cannot be deleted: jupyter-mm never erases "
            "accepted data (delete the run or the model instead; its files are kept)"
        )
    store.delete_proxy_files(_proxy_path(path.rstrip("/")))


def _listing(infos: list[ArtifactInfo], strip: int) -> dict[str, Any]:
    files = []
    for i in infos:
        entry: dict[str, Any] = {"path": i.path[strip:], "is_dir": i.is_dir}
        if not i.is_dir:
            entry["file_size"] = i.size
        files.append(entry)
    return {"files": files}


def list_dir(store: Store, path: str) -> dict[str, Any]:
    """``{"files": [...]}`` directly under ``path``, paths relative to it (MLflow's listing)."""
    parts = _parts(path)
    if not _in_runs_namespace(parts):
        prefix = _proxy_path(path.rstrip("/"), allow_root=True)
        return _listing(store.list_proxy_files(prefix), len(prefix) + 1 if prefix else 0)
    if _is_model_path(parts):
        return _list_model_dir(store, check_model_id(parts[2]), "/".join(parts[4:]))
    run_id = _run_of(parts, path)
    try:
        prefix = normalize_prefix("/".join(parts[3:]))
    except InvalidInput:
        raise InvalidInput("Invalid path") from None
    infos = store.list_artifacts(run_id, prefix=prefix or None)
    return _listing(infos, len(prefix) + 1 if prefix else 0)


#: Files MLflow sends as text/plain (its ``mime_type_utils.get_text_extensions``, MLmodel too).
_TEXT_EXTENSIONS = frozenset(
    "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv "
    "tsv md rst ipynb MLmodel mlproject MLproject".split()
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
    return _listing(infos, strip)
