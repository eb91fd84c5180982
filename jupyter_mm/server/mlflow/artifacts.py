"""The artifact proxy's paths: ``<experiment id>/<run id>/artifacts/<logical path>``.

Runs report ``artifact_uri = mlflow-artifacts:/<exp>/<run>/artifacts``; the client turns that into
``.../api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<file>``. The logical path after
``artifacts/`` is the run's artifact path in our content-addressed store.
"""

from __future__ import annotations

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
