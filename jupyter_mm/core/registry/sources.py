"""Which model-version sources the registry accepts, as MLflow 3.17.2's server decides
(``_validate_source_run`` and ``_validate_non_local_source_contains_relative_paths`` in
``mlflow/server/handlers.py``), checked when a version is registered and again whenever a
stored version is resolved for download or loading, so a source that escapes its root (from an
older database, or written around the API) is never followed.

A version's source is later resolved and downloaded by clients (and by a model server), so:

* no ``..`` path segment, plain or percent-encoded (decoded until stable), in the path, the query
  or the fragment; no NUL; no ``.`` segment or relative path (the path must be its own normal
  form);
* no scheme that makes the reader connect to the host the URI names (``http``, ``https``,
  ``ftp``, ``sftp``, ``hdfs``, ``viewfs``, ``r2``, ``b2``, ``abfss``, ``mlflow-artifacts://host``):
  MLflow allows only its own artifact storage's host; jupyter-mm serves artifacts through its
  own proxy (``mlflow-artifacts:/...``), so none is trusted;
* no local path (bare or ``file:``): MLflow allows one only inside the artifact directory of the
  version's run, and a jupyter-mm run has none (its artifacts are content-addressed blobs);
* ``runs:/RUN_ID/PATH`` and ``mlflow-artifacts:/EXP/RUN_ID/artifacts[/PATH]`` name a run and a
  directory among its artifacts; ``models:/...`` has no host; other object-store URIs
  (``s3://``, ``gs://``, ``dbfs:/``, ``wasbs://``...) are kept as references.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from dataclasses import dataclass

from ...errors import InvalidInput

#: Schemes whose readers connect to the host in the URI (MLflow's HOST_ADDRESSED_ARTIFACT_SCHEMES).
HOST_ADDRESSED_SCHEMES = frozenset(
    {"ftp", "sftp", "hdfs", "viewfs", "http", "https", "mlflow-artifacts", "r2", "b2", "abfss"}
)
#: The artifact proxy's scheme; ``mlflow-artifacts:/<exp>/<run>/artifacts/<path>`` is a run's file.
ARTIFACTS_SCHEME = "mlflow-artifacts"
_LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
#: Where ``..`` may hide besides the path: query and fragment parts split on these.
_SEGMENT_SEPARATORS = re.compile(r"[/\\?#&=;]")


@dataclass(frozen=True)
class Source:
    """What a valid source names: the run holding its files (and, for ``mlflow-artifacts:/``,
    the experiment the URI claims), the model's directory among that run's artifacts, or an
    MLflow 3 logged model."""

    uri: str
    run_id: str | None = None
    experiment_id: str | None = None
    path: str | None = None
    logged_model_id: str | None = None


def _refuse(source: str, why: str) -> InvalidInput:
    return InvalidInput(f"Invalid model version source: '{source}'. {why}")


def _decoded(value: str) -> str:
    """``value`` percent-decoded until stable, so ``%252E%252E`` counts as ``..``."""
    for _ in range(16):
        unquoted = urllib.parse.unquote_plus(value)
        if unquoted == value:
            return value
        value = unquoted
    return value


def is_local(source: str) -> bool:
    """A bare path, a ``file:`` URI or a Windows drive path (MLflow's ``is_local_uri``)."""
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    return scheme in ("", "file") or len(scheme) == 1


def _check_relative(source: str) -> None:
    """MLflow's relative-path check, and ``..`` between any separators of query and fragment."""
    decoded = _decoded(source)
    parsed = urllib.parse.urlsplit(decoded)
    path = re.sub(r"/+", "/", parsed.path).rstrip("/")
    if "\x00" in decoded or any(p == ".." for p in _SEGMENT_SEPARATORS.split(decoded)):
        raise _refuse(
            source,
            "A source must not contain '..' path segments (plain or percent-encoded, in its "
            "path, query or fragment) or NUL characters: it could reach files outside its root.",
        )
    if path and (not path.startswith("/") or posixpath.normpath(path) != path):
        raise _refuse(
            source,
            "If supplying a source as an http, https, local file path, ftp, objectstore, or "
            "mlflow-artifacts uri, an absolute path must be provided without relative path "
            "references present. Please provide an absolute path.",
        )


def parse(source: str) -> Source:
    """Check ``source`` (see the module docstring) and say what it names; InvalidInput
    (``INVALID_PARAMETER_VALUE``) when the registry must refuse it."""
    from . import rules

    source = rules.source(source)
    if is_local(source):
        raise _refuse(
            source,
            "A local path cannot be a model version source: MLflow accepts one only inside the "
            "artifact directory of the version's run, and jupyter-mm keeps run artifacts as "
            "content-addressed blobs, not directories. Register the run's artifact URI instead "
            "(runs:/RUN_ID/PATH).",
        )
    _check_relative(source)
    parsed = urllib.parse.urlsplit(source)
    scheme = parsed.scheme.lower()
    if scheme in HOST_ADDRESSED_SCHEMES and (scheme != ARTIFACTS_SCHEME or parsed.netloc):
        raise _refuse(
            source,
            f"The '{scheme}' scheme addresses a host, and every client that downloads this "
            "version would connect to the host it names. Use the run's artifact URI "
            "(runs:/RUN_ID/PATH or mlflow-artifacts:/EXPERIMENT/RUN_ID/artifacts/PATH).",
        )
    if scheme in ("runs", "models") and parsed.netloc:
        raise _refuse(source, f"A {scheme}: URI names no host: use {scheme}:/...")
    if scheme == "runs":
        return _runs(source)
    if scheme == "models":
        rest = source[len("models:") :].strip("/")
        return Source(source, logged_model_id=rest if _LOGGED_MODEL_ID.match(rest) else None)
    if scheme == ARTIFACTS_SCHEME:
        return _proxied(source, parsed.path)
    return Source(source)


def _runs(source: str) -> Source:
    from ..artifacts import normalize_path
    from ..store.base import check_run_id

    run_id, _, path = source[len("runs:/") :].lstrip("/").partition("/")
    if not run_id:
        raise _refuse(source, "it names no run (a runs URI is runs:/RUN_ID/PATH)")
    try:
        run_id = check_run_id(run_id)
    except InvalidInput:
        # Not an id this store gives (a run of another server, an import): MLflow keeps such a
        # source as a reference, and so do we; it is never resolved into our artifacts.
        return Source(source)
    try:
        return Source(source, run_id=run_id, path=normalize_path(path) if path else "")
    except InvalidInput as e:
        raise _refuse(source, f"{e.message} (a runs URI is runs:/RUN_ID/PATH)") from None


def _proxied(source: str, path: str) -> Source:
    """``mlflow-artifacts:/<exp>/<run>/artifacts[/<path>]``: inside one run's artifact root;
    ``mlflow-artifacts:/<exp>/models/<model id>/artifacts[/<path>]``: inside a logged model's."""
    from ..artifacts import normalize_path
    from ..store.base import check_run_id

    parts = [p for p in path.split("/") if p]
    if (
        len(parts) >= 4
        and parts[0].isdigit()
        and parts[1] == "models"
        and _LOGGED_MODEL_ID.match(parts[2])
        and parts[3] == "artifacts"
    ):  # a logged model's own files (MLflow 3's artifact location of a model)
        try:
            rest = normalize_path("/".join(parts[4:])) if len(parts) > 4 else ""
        except InvalidInput as e:
            raise _refuse(source, e.message) from None
        return Source(source, None, parts[0], rest, logged_model_id=parts[2])
    try:
        if len(parts) < 3 or parts[2] != "artifacts" or not parts[0].isdigit():
            raise InvalidInput("it is not inside a run's artifact root")
        run_id = check_run_id(parts[1])
        rest = "/".join(parts[3:])
        return Source(source, run_id, parts[0], normalize_path(rest) if rest else "")
    except InvalidInput as e:
        raise _refuse(
            source,
            f"An mlflow-artifacts URI must lie within the artifact root of the version's run, "
            f"mlflow-artifacts:/EXPERIMENT_ID/RUN_ID/artifacts[/PATH] ({e.message}).",
        ) from None


def check_stored(name: str, version: int, source: str) -> Source:
    """:func:`parse` for a version already in the registry (one from an older database, or
    written around the API): the refusal names the version, so resolving it fails loudly."""
    try:
        return parse(source)
    except InvalidInput as e:
        raise InvalidInput(
            f"model version {name} {version} cannot be resolved: {e.message}",
            {"name": name, "version": version},
        ) from None
