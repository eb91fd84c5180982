"""Model URIs resolved against a store to the run artifacts that hold the model.

* ``runs:/RUN_ID/PATH``: the model whose ``MLmodel`` is the run's artifact ``PATH/MLmodel``;
  failing that, ``PATH`` may name a model logged into the run by name, with ``mm.log_model``
  (under ``models/<name>``) or by the ``mlflow`` client through our server (MLflow 3 resolves
  ``runs:/<run>/<name>`` to that run's logged model ``<name>``);
* ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME/latest``: through the model
  registry to the version's source;
* ``models:/m-<32 hex>``: an MLflow 3 logged model, found by id.

Models the ``mlflow`` client logs through our server are logged-model entities
(``core/store/logged_models.py``); one created with a run keeps its files under that run's
``models/<model_id>/``, and the MLflow adapter also lists it in the run tag
``mm.mlflow.models`` = ``{model_id: name}``, so a store without logged models (the remote
client's) still finds it. A model created without a run keeps its files apart from any run:
``mlflow.pyfunc.load_model("models:/<model_id>")`` loads it, ``mm.load_model`` does not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput, NotFound
from ..artifacts import normalize_path
from .mlmodel import MLMODEL

if TYPE_CHECKING:
    from ..store import TrackingStore

#: run tag listing models logged with ``mm.log_model``: ``{name: {"artifact_path", "flavor"}}``
MODELS_TAG = "mm.models"
#: run tag the MLflow adapter keeps for MLflow 3 logged models: ``{model_id: name}``
MLFLOW_MODELS_TAG = "mm.mlflow.models"
_LOGGED_ID = re.compile(r"^m-[0-9a-f]{32}$")


@dataclass(frozen=True)
class ModelLocation:
    """A model's directory: a run's artifact prefix, or a local directory (``run_id`` None)."""

    run_id: str | None
    path: str

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.path}" if self.run_id else self.path


def _json_tag(run: Any, key: str) -> dict[str, Any]:
    try:
        data = json.loads(run.tags.get(key) or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def resolve(store: TrackingStore, uri: str) -> ModelLocation:
    """Where the model ``uri`` names lives; InvalidInput for a malformed URI, NotFound when
    nothing is there."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInput("model URI must be a non-empty string")
    if uri.startswith("runs:/"):
        run_id, _, path = uri[len("runs:/") :].partition("/")
        if not run_id or not path.strip("/"):
            raise InvalidInput(f"{uri!r}: a runs URI is runs:/RUN_ID/PATH")
        return in_run(store, run_id, path)
    if uri.startswith("models:/"):
        return _registry(store, uri[len("models:/") :], uri)
    scheme = uri.split(":", 1)[0] if re.match(r"^[A-Za-z][\w+.-]*:", uri) else ""
    if scheme and len(scheme) > 1:  # one letter: a Windows drive
        raise InvalidInput(
            f"unsupported model URI scheme {scheme + ':'!r}; use runs:/RUN_ID/PATH, "
            "models:/NAME/VERSION, models:/NAME@ALIAS or a local directory"
        )
    raise NotFound(f"no model at {uri!r}")  # a local path that is not a directory


def in_run(store: TrackingStore, run_id: str, path: str) -> ModelLocation:
    """The model at ``path`` in the run: its own ``MLmodel``, or an MLflow logged model named
    by the path's first segment."""
    path = normalize_path(path)
    run = store.get_run(run_id)
    try:
        store.artifact_info(run.id, f"{path}/{MLMODEL}")
        return ModelLocation(run.id, path)
    except NotFound:
        pass
    head, _, rest = path.partition("/")
    # a model logged by name: mm.log_model keeps it under models/<name>, as MLflow 3 keeps its
    # logged models apart from the run's files, and runs:/<run>/<name> names either the same way
    logged = _json_tag(run, MODELS_TAG).get(head)
    if isinstance(logged, dict) and isinstance(logged.get("artifact_path"), str):
        prefix = logged["artifact_path"] + (f"/{rest}" if rest else "")
        try:
            store.artifact_info(run.id, f"{prefix}/{MLMODEL}")
            return ModelLocation(run.id, normalize_path(prefix))
        except (NotFound, InvalidInput):
            pass
    index = dict(_json_tag(run, MLFLOW_MODELS_TAG))
    search = getattr(store, "search_logged_models", None)
    if search is not None and not any(c in head for c in "'\\"):
        found, _ = search(
            [run.experiment_id], filter=f"source_run_id = '{run.id}' AND name = '{head}'"
        )
        index.update({m.model_id: m.name for m in found if m.artifact_run_id == run.id})
    for model_id, name in index.items():
        if name == head or model_id == head:
            prefix = f"models/{model_id}" + (f"/{rest}" if rest else "")
            try:
                store.artifact_info(run.id, f"{prefix}/{MLMODEL}")
            except NotFound:
                continue
            return ModelLocation(run.id, prefix)
    raise NotFound(f"run {run.id} has no model at {path!r} (no {path}/MLmodel among its artifacts)")


def logged_model(store: TrackingStore, model_id: str) -> ModelLocation:
    """An MLflow 3 logged model (``m-…``) kept by the MLflow adapter inside its source run."""
    if not _LOGGED_ID.match(model_id):
        raise NotFound(f"Logged model with ID '{model_id}' not found.")
    getter = getattr(store, "get_logged_model", None)
    if getter is not None:
        model = getter(model_id)
        if model.artifact_run_id is None:
            raise InvalidInput(
                f"logged model {model_id} keeps its files apart from any run; load it with "
                f"mlflow.pyfunc.load_model('models:/{model_id}')"
            )
        return ModelLocation(model.artifact_run_id, model.files_prefix)
    runs, _ = store.search_runs(
        filter=f"tags.`{MLFLOW_MODELS_TAG}` LIKE '%\"{model_id}\"%'", view="all", max_results=2
    )
    for run in runs:
        if model_id in _json_tag(run, MLFLOW_MODELS_TAG):
            return ModelLocation(run.id, f"models/{model_id}")
    raise NotFound(f"Logged model with ID '{model_id}' not found.")


def _registry(store: TrackingStore, rest: str, uri: str) -> ModelLocation:
    if _LOGGED_ID.match(rest):
        return logged_model(store, rest)
    if not hasattr(store, "get_model_version_by_alias"):
        raise InvalidInput(
            f"{uri!r}: this store ({type(store).__name__}) has no model registry; load the "
            "version's runs:/ URI instead"
        )
    return version_location(store, registered_version(store, rest, uri))


def registered_version(store: TrackingStore, rest: str, uri: str) -> Any:
    """The registry's version ``rest`` names (``NAME/VERSION``, ``NAME/latest`` or
    ``NAME@ALIAS``, from ``uri``): one spelling for loading and for serving a model."""
    if "@" in rest and "/" not in rest:
        name, alias = rest.split("@", 1)
        if not name or not alias:
            raise InvalidInput(f"{uri!r}: use models:/NAME@ALIAS")
        return store.get_model_version_by_alias(name, alias)
    name, sep, number = rest.rpartition("/")
    if not sep or not name or not number:
        raise InvalidInput(f"{uri!r}: use models:/NAME/VERSION or models:/NAME@ALIAS")
    if number.lower() == "latest":
        versions = store.list_model_versions(name)
        if not versions:
            raise NotFound(f"registered model {name!r} has no versions")
        return max(versions, key=lambda v: v.version)
    if not number.isdigit():
        raise InvalidInput(f"{uri!r}: the version must be a number, or 'latest'")
    return store.get_model_version(name, int(number))


def version_location(store: TrackingStore, version: Any) -> ModelLocation:
    """Where a registered model version's files are: its run and model path, or its MLflow
    logged model. The stored source is checked again first (:func:`.registry.sources.parse`):
    a version from an older database whose source escapes its root is refused, never followed."""
    from ..registry.sources import check_stored

    source = version.source or ""
    src = check_stored(version.name, version.version, source)
    if version.run_id and version.model_path:
        return in_run(store, version.run_id, version.model_path)
    if version.logged_model_id:
        return logged_model(store, version.logged_model_id)
    if src.run_id is not None and src.path:
        return in_run(store, src.run_id, src.path)
    if src.logged_model_id is not None:
        return logged_model(store, src.logged_model_id)
    raise NotFound(
        f"model version {version.name} {version.version}: its source {source!r} is not a model "
        "this store can load"
    )
