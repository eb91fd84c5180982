"""MLflow model registry RPCs (``registered-models/*``, ``model-versions/*``) over the core
registry (:mod:`jupyter_mm.core.registry`).

Each endpoint takes the store, the request and the acting user (the authenticated Jupyter
identity, which the audit trail records) and returns the response message. They block: the
handler runs them in a worker thread.

A version's files are where its source says: a logged model (``models:/m-...``, MLflow 3) has
its own artifact URI (:mod:`.logged_models`: among its run's artifacts when it was created with
one), which is the version's download URI; ``runs:/<run>/<path>`` and ``mlflow-artifacts:/<exp>/<run>/artifacts/<path>``
sources name a run and a directory among its artifacts; any other URI is handed back as is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...core.registry import ModelVersion, RegisteredModel
from ...core.registry.sources import check_stored
from ...core.registry.sources import parse as parse_source
from ...errors import InvalidInput, NotFound
from . import logged_models
from .wire import (
    Request,
    invalid,
    key_values,
    missing,
    paged,
    pairs,
    run_artifact_uri,
    string_value,
)

if TYPE_CHECKING:
    from ...core.store import Store

RegistryEndpoint = Callable[["Store", Request, str], dict[str, Any]]

#: MLflow's page sizes: registered models 100 (at most 1,000), versions 10,000 (at most 200,000).
DEFAULT_MODEL_RESULTS = 100
DEFAULT_VERSION_RESULTS = 10_000

# -- wire format ------------------------------------------------------------------------------


def version_json(v: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.creation_time,
        "last_updated_timestamp": v.last_update_time,
        "user_id": v.user_id,
        "current_stage": v.stage,
        "description": v.description,
        "source": v.source,
        "status": v.status,
        "status_message": v.status_message,
        "tags": pairs(v.tags),
        "run_link": "",
        "aliases": list(v.aliases),
    }
    if v.run_id:
        out["run_id"] = v.run_id
    if v.logged_model_id:
        out["model_id"] = v.logged_model_id
    return out


def model_json(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.creation_time,
        "last_updated_timestamp": m.last_update_time,
        "user_id": m.owner,
        "description": m.description,
        "latest_versions": [version_json(v) for v in m.latest_versions],
        "tags": pairs(m.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(m.aliases.items())],
    }


def _name(req: Request, field: str = "name") -> str:
    return req.text(field, required=True) or ""


def _version(req: Request) -> str:
    value = req.given("version", required=True)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip().isdigit():
        raise InvalidInput(f"Parameter 'version' must be an integer, got '{value}'.")  # MLflow's
    return value.strip()


def _description(req: Request) -> str | None:
    """The new description; ``""`` clears it, absent leaves it."""
    value = req.raw("description")
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("description", value)
    return value


def _tags(req: Request) -> dict[str, str]:
    return {k: string_value("value", v) for k, v in key_values(req.items("tags"), "tags")}


def _page(req: Request, default: int) -> tuple[int, list[str], str | None]:
    max_results = req.integer("max_results", default=default)
    if max_results is None or max_results <= 0:
        raise invalid("max_results", max_results)
    order_by = [str(o) for o in req.items("order_by")]
    return max_results, order_by, req.text("page_token")


def _search(
    search: Callable[..., tuple[list[Any], str | None]],
    req: Request,
    default: int,
    field: str,
    to_json: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """A ``search`` RPC of the registry (models or versions) over the store's paged search."""
    max_results, order_by, token = _page(req, default)
    found, next_token = search(
        req.text("filter"), order_by=order_by, max_results=max_results, page_token=token
    )
    return paged(field, [to_json(x) for x in found], next_token)


# -- registered models ------------------------------------------------------------------------


def create_registered_model(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name = _name(req)
    model = store.create_registered_model(
        name, actor=actor, description=req.text("description") or "", tags=_tags(req)
    )
    return {"registered_model": model_json(model)}


def get_registered_model(store: Store, req: Request, actor: str) -> dict[str, Any]:
    return {"registered_model": model_json(store.get_registered_model(_name(req)))}


def rename_registered_model(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name = _name(req)
    new_name = req.text("new_name")
    if not new_name:
        raise missing("new_name")
    return {
        "registered_model": model_json(store.rename_registered_model(name, new_name, actor=actor))
    }


def update_registered_model(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name = _name(req)
    description = _description(req)
    if description is None:
        return {"registered_model": model_json(store.get_registered_model(name))}
    model = store.update_registered_model(name, actor=actor, description=description)
    return {"registered_model": model_json(model)}


def delete_registered_model(store: Store, req: Request, actor: str) -> dict[str, Any]:
    store.delete_registered_model(_name(req), actor=actor)
    return {}


def search_registered_models(store: Store, req: Request, actor: str) -> dict[str, Any]:
    return _search(
        store.search_registered_models, req, DEFAULT_MODEL_RESULTS, "registered_models", model_json
    )


def get_latest_versions(store: Store, req: Request, actor: str) -> dict[str, Any]:
    stages = [str(x) for x in req.items("stages")]
    versions = store.get_latest_versions(_name(req), stages or None)
    return {"model_versions": [version_json(v) for v in versions]}


def set_registered_model_tag(store: Store, req: Request, actor: str) -> dict[str, Any]:
    key = req.text("key", required=True) or ""
    value = string_value("value", req.raw("value"))
    store.set_registered_model_tag(_name(req), key, value, actor=actor)
    return {}


def delete_registered_model_tag(store: Store, req: Request, actor: str) -> dict[str, Any]:
    key = req.text("key", required=True) or ""
    store.delete_registered_model_tag(_name(req), key, actor=actor)
    return {}


# -- model versions ---------------------------------------------------------------------------


def create_model_version(store: Store, req: Request, actor: str) -> dict[str, Any]:
    """The core checks the source (MLflow's rules, :mod:`jupyter_mm.core.registry.sources`) and
    finds the run of ``runs:/`` and ``mlflow-artifacts:/`` sources; a logged model's files are
    its run's ``models/<model_id>/``."""
    name = _name(req)
    source = req.text("source", required=True) or ""
    model_id = req.text("model_id")
    run_id = req.text("run_id") or None
    model_path = None
    if model_id is None:
        model_id = parse_source(source).logged_model_id
    if model_id:
        run_id, model_path = logged_model_lineage(store, model_id, run_id)
    version = store.create_model_version(
        name,
        source,
        actor=actor,
        run_id=run_id,
        logged_model_id=model_id,
        model_path=model_path,
        description=req.text("description") or "",
        tags=_tags(req),
    )
    if model_id:
        record_registration(store, model_id, version)
    return {"model_version": version_json(version)}


MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def record_registration(store: Store, model_id: str, version: ModelVersion) -> None:
    """Add the version to the logged model's ``mlflow.modelVersions`` tag (a JSON list of
    ``{"name", "version"}``), as MLflow's server does after registering from a logged model;
    MLflow's UI reads it to show a logged model's registrations."""
    entry = {"name": version.name, "version": version.version}
    entries: list[Any] = [entry]
    existing = store.get_logged_model(model_id).tags.get(MODEL_VERSIONS_TAG)
    if existing:
        try:
            found = json.loads(existing)
        except ValueError:
            found = None  # unreadable (set by hand): replaced, where MLflow's server fails
        if isinstance(found, list):
            entries = found if entry in found else [*found, entry]
    store.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(entries)})


def logged_model_lineage(
    store: Store, model_id: str, run_id: str | None
) -> tuple[str | None, str | None]:
    """(run, model directory in it) a version registered from a logged model leads back to:
    the run whose artifacts hold its files, else the run given, its source run or the run
    that logged it as an output (for its notebook, environment and datasets)."""
    model = store.get_logged_model(model_id)
    if model.artifact_run_id is not None:
        if run_id and run_id != model.artifact_run_id:
            raise InvalidInput(
                f"run_id {run_id} is not the run of the logged model {model_id} "
                f"({model.artifact_run_id})"
            )
        return model.artifact_run_id, model.files_prefix
    candidates = [run_id, model.source_run_id, *store.model_runs(model_id)]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return store.get_run(candidate).id, None
        except (NotFound, InvalidInput):
            if candidate == run_id:
                raise
    return None, None


def get_model_version(store: Store, req: Request, actor: str) -> dict[str, Any]:
    return {"model_version": version_json(store.get_model_version(_name(req), _version(req)))}


def update_model_version(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name, version = _name(req), _version(req)
    description = _description(req)
    if description is None:
        return {"model_version": version_json(store.get_model_version(name, version))}
    updated = store.update_model_version(name, version, actor=actor, description=description)
    return {"model_version": version_json(updated)}


def delete_model_version(store: Store, req: Request, actor: str) -> dict[str, Any]:
    store.delete_model_version(_name(req), _version(req), actor=actor)
    return {}


def search_model_versions(store: Store, req: Request, actor: str) -> dict[str, Any]:
    return _search(
        store.search_model_versions, req, DEFAULT_VERSION_RESULTS, "model_versions", version_json
    )


def transition_stage(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name, version = _name(req), _version(req)
    stage = req.text("stage", required=True) or ""
    archive = req.raw("archive_existing_versions")
    if isinstance(archive, str):
        archive = archive.lower() == "true"
    version_out = store.transition_model_version_stage(
        name, version, stage, actor=actor, archive_existing_versions=bool(archive)
    )
    return {"model_version": version_json(version_out)}


def get_download_uri(store: Store, req: Request, actor: str) -> dict[str, Any]:
    return {"artifact_uri": download_uri(store, store.get_model_version(_name(req), _version(req)))}


def download_uri(store: Store, v: ModelVersion, _depth: int = 0) -> str:
    """Where the client downloads the version's files: through our artifact proxy when the
    files are a run's artifacts. A stored source that the registry would refuse now (from an
    older database) is refused here too, never handed out.

    A ``models:/<name>/<version>`` source (``copy_model_version`` registers one) leads to that
    version's files, as MLflow's registry resolves it (its ``storage_location``); MLflow fixes
    the location when the copy is made, we follow the chain when asked, so a copy of a version
    since deleted gives its own source back.
    """
    check_stored(v.name, v.version, v.source)
    target = _registered_source(v.source)
    if target is not None and _depth < _MAX_SOURCE_CHAIN:
        try:
            return download_uri(store, store.get_model_version(*target), _depth + 1)
        except (NotFound, InvalidInput):
            pass
    if v.logged_model_id:
        try:
            model = store.get_logged_model(v.logged_model_id, allow_deleted=True)
            return logged_models.artifact_uri(model)
        except NotFound:
            pass
    if v.run_id and v.model_path is not None:
        run = store.get_run(v.run_id)
        base = run_artifact_uri(run.experiment_id, run.id)
        return f"{base}/{v.model_path}" if v.model_path else base
    return v.source


_MAX_SOURCE_CHAIN = 16


def _registered_source(source: str) -> tuple[str, str] | None:
    """(name, version) of a ``models:/<name>/<version>`` source; None for any other (a logged
    model's ``models:/m-...``, an alias or stage: MLflow resolves those in the client)."""
    if not source.startswith("models:/"):
        return None
    name, _, version = source[len("models:/") :].strip("/").rpartition("/")
    return (name, version) if name and version.isdigit() else None


def set_model_version_tag(store: Store, req: Request, actor: str) -> dict[str, Any]:
    key = req.text("key", required=True) or ""
    value = string_value("value", req.raw("value"))
    store.set_model_version_tag(_name(req), _version(req), key, value, actor=actor)
    return {}


def delete_model_version_tag(store: Store, req: Request, actor: str) -> dict[str, Any]:
    key = req.text("key", required=True) or ""
    store.delete_model_version_tag(_name(req), _version(req), key, actor=actor)
    return {}


# -- aliases ----------------------------------------------------------------------------------


def set_alias(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name = _name(req)
    alias = req.text("alias", required=True) or ""
    store.set_registered_model_alias(name, alias, _version(req), actor=actor)
    return {}


def get_by_alias(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name = _name(req)
    alias = req.text("alias", required=True) or ""
    return {"model_version": version_json(store.get_model_version_by_alias(name, alias))}


def delete_alias(store: Store, req: Request, actor: str) -> dict[str, Any]:
    name = _name(req)
    alias = req.text("alias", required=True) or ""
    store.delete_registered_model_alias(name, alias, actor=actor)
    return {}


#: (HTTP method, path under /api/2.0/mlflow/) -> endpoint; MLflow 3.17's methods, plus GET for
#: get-latest-versions and POST for the searches (both appear in MLflow's docs and server).
ROUTES: dict[tuple[str, str], RegistryEndpoint] = {
    ("POST", "registered-models/create"): create_registered_model,
    ("GET", "registered-models/get"): get_registered_model,
    ("POST", "registered-models/rename"): rename_registered_model,
    ("PATCH", "registered-models/update"): update_registered_model,
    ("DELETE", "registered-models/delete"): delete_registered_model,
    ("GET", "registered-models/search"): search_registered_models,
    ("POST", "registered-models/search"): search_registered_models,
    ("POST", "registered-models/get-latest-versions"): get_latest_versions,
    ("GET", "registered-models/get-latest-versions"): get_latest_versions,
    ("POST", "registered-models/set-tag"): set_registered_model_tag,
    ("DELETE", "registered-models/delete-tag"): delete_registered_model_tag,
    ("POST", "registered-models/alias"): set_alias,
    ("GET", "registered-models/alias"): get_by_alias,
    ("DELETE", "registered-models/alias"): delete_alias,
    ("POST", "model-versions/create"): create_model_version,
    ("GET", "model-versions/get"): get_model_version,
    ("PATCH", "model-versions/update"): update_model_version,
    ("DELETE", "model-versions/delete"): delete_model_version,
    ("GET", "model-versions/search"): search_model_versions,
    ("POST", "model-versions/search"): search_model_versions,
    ("POST", "model-versions/transition-stage"): transition_stage,
    ("GET", "model-versions/get-download-uri"): get_download_uri,
    ("POST", "model-versions/set-tag"): set_model_version_tag,
    ("DELETE", "model-versions/delete-tag"): delete_model_version_tag,
}


def bind(endpoint: RegistryEndpoint, actor: str) -> Callable[[Store, Request], dict[str, Any]]:
    """The endpoint as a tracking-style ``(store, request)`` call, acting as ``actor``."""
    return lambda store, req: endpoint(store, req, actor)
