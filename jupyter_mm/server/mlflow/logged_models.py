"""MLflow 3 logged models (``logged-models/*``, ``runs/outputs``) over the core's logged-model
entity (:mod:`jupyter_mm.core.store.logged_models`).

A model's ``artifact_uri`` is where its files are: among its source run's artifacts
(``mlflow-artifacts:/<exp>/<run>/artifacts/models/<model_id>``) when it was created with a run of
this store, else its own location, MLflow's ``mlflow-artifacts:/<exp>/models/<model_id>/artifacts``;
the client uploads and downloads both through the artifact proxy (:mod:`.artifacts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.entities import LoggedModel
from ...core.models.uris import MLFLOW_MODELS_TAG
from ...core.store.logged_models import check_model_id
from ...core.wire import json_number
from ...errors import InvalidInput, NotFound
from .wire import (
    ARTIFACTS_SCHEME,
    Request,
    invalid,
    key_values,
    missing,
    pairs,
    run_artifact_uri,
    string_value,
    to_int,
)

if TYPE_CHECKING:
    from ...core.store import Store

#: stored status -> MLflow's enum name, and the enum's numbers (proto3 JSON may send either)
WIRE_STATUS = {
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
}
_STATUS_NUMBERS = {1: "PENDING", 2: "READY", 3: "FAILED"}


def artifact_uri(model: LoggedModel) -> str:
    if model.artifact_run_id is not None:
        base = run_artifact_uri(model.experiment_id, model.artifact_run_id)
        return f"{base}/{model.files_prefix}"
    return f"{ARTIFACTS_SCHEME}/{model.experiment_id}/models/{model.model_id}/artifacts"


def model_json(model: LoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "artifact_uri": artifact_uri(model),
        "status": WIRE_STATUS.get(model.status, "LOGGED_MODEL_STATUS_UNSPECIFIED"),
        "creation_timestamp_ms": model.creation_time,
        "last_updated_timestamp_ms": model.last_update_time,
        "model_type": model.model_type,
        "status_message": model.status_message,
        "tags": pairs(model.tags),
        "registrations": [],
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    metrics = []
    for m in model.metrics:
        point: dict[str, Any] = {
            "key": m.key,
            "value": json_number(m.value),
            "timestamp": m.timestamp,
            "step": m.step,
            "run_id": m.run_id,
            "model_id": model.model_id,
        }
        if m.dataset_name:
            point["dataset_name"] = m.dataset_name
        if m.dataset_digest:
            point["dataset_digest"] = m.dataset_digest
        metrics.append(point)
    return {"info": info, "data": {"params": pairs(model.params), "metrics": metrics}}


def create(store: Store, req: Request) -> dict[str, Any]:
    exp_id = req.text("experiment_id", required=True) or ""
    if not exp_id.strip().isdigit():
        raise NotFound(f"No Experiment with id={exp_id} exists")
    model = store.create_logged_model(
        exp_id,
        req.text("name"),
        source_run_id=req.text("source_run_id"),
        model_type=req.text("model_type"),
        tags={k: string_value("value", v) for k, v in key_values(req.items("tags"), "tags")},
        params={k: string_value("value", v) for k, v in key_values(req.items("params"), "params")},
        creator=_creator(store, req.text("source_run_id")),
    )
    if model.artifact_run_id is not None:
        _list_in_run(store, model)
    return {"model": model_json(model)}


def _list_in_run(store: Store, model: LoggedModel) -> None:
    """Name the model in its run's ``mm.mlflow.models`` tag, so stores that know no logged
    models (the remote client's) still resolve ``runs:/<run>/<name>`` and ``models:/<id>``."""
    import json

    run = store.get_run(model.artifact_run_id or "")
    if run.lifecycle_stage != "active":
        return
    try:
        index = json.loads(run.tags.get(MLFLOW_MODELS_TAG) or "{}")
    except ValueError:
        index = {}
    if not isinstance(index, dict):
        index = {}
    index[model.model_id] = model.name
    store.set_tag(run.id, MLFLOW_MODELS_TAG, json.dumps(index, sort_keys=True))


def _creator(store: Store, run_id: str | None) -> str:
    if not run_id:
        return ""
    try:
        return store.get_run(run_id).user
    except (NotFound, InvalidInput):
        return ""


def get(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    allow_deleted = str(req.raw("allow_deleted") or "").lower() == "true"
    return {"model": model_json(store.get_logged_model(model_id, allow_deleted=allow_deleted))}


def finalize(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    status = req.raw("status")
    if status is None or status == "":
        raise missing("status")
    if isinstance(status, int) and not isinstance(status, bool):
        if status not in _STATUS_NUMBERS:
            raise invalid("status", status)
        status = _STATUS_NUMBERS[status]
    elif not isinstance(status, str):
        raise invalid("status", status)
    model = store.finalize_logged_model(model_id, status)
    return {"model": model_json(model)}


def delete(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    store.delete_logged_model(model_id)
    return {}


def set_tags(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    tags = {k: string_value("value", v) for k, v in key_values(req.items("tags"), "tags")}
    store.set_logged_model_tags(model_id, tags)
    return {}


def delete_tag(store: Store, req: Request, model_id: str, key: str) -> dict[str, Any]:
    store.delete_logged_model_tag(model_id, key)
    return {}


def log_params(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    params: dict[str, str] = {}
    for k, v in key_values(req.items("params"), "params"):
        params[k] = string_value("value", v)
    store.log_logged_model_params(model_id, params)
    return {}


def search(store: Store, req: Request) -> dict[str, Any]:
    experiment_ids = req.items("experiment_ids")
    if not experiment_ids:
        raise missing("experiment_ids")
    for e in experiment_ids:
        if not isinstance(e, str):
            raise invalid("experiment_ids", experiment_ids)
    max_results = req.integer("max_results")
    if max_results is not None and max_results <= 0:
        raise invalid("max_results", max_results)
    datasets = req.items("datasets")
    order_by = req.items("order_by")
    if req.is_query:  # GET: order_by as JSON objects or "field [ASC|DESC]" strings
        import json

        parsed = []
        for item in order_by:
            try:
                parsed.append(json.loads(item))
            except ValueError:
                parsed.append(item)
        order_by = parsed
    models, token = store.search_logged_models(
        [str(e) for e in experiment_ids],
        filter=req.text("filter"),
        datasets=datasets,
        order_by=order_by,
        max_results=max_results,
        page_token=req.text("page_token"),
    )
    reply: dict[str, Any] = {"models": [model_json(m) for m in models]}
    if token:
        reply["next_page_token"] = token
    return reply


def log_outputs(store: Store, req: Request) -> dict[str, Any]:
    """``runs/outputs``: the run produced these models."""
    run_id = req.run_id() or ""
    models = []
    for item in req.items("models"):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise missing("model_id")
        models.append((str(item["model_id"]), to_int("step", item.get("step", 0) or 0)))
    store.get_run(run_id)
    store.link_run_models(run_id, models, "output")
    return {}


def list_artifacts(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    """``logged-models/<id>/artifacts/directories``: the files directly under a directory of
    the model, paths relative to its root."""
    from .artifacts import safe_relative

    model = store.get_logged_model(model_id)
    path = safe_relative(req.text("artifact_directory_path") or "")
    if model.artifact_run_id is not None:
        root = model.files_prefix
        prefix = f"{root}/{path}" if path else root
        infos = store.list_artifacts(model.artifact_run_id, prefix=prefix)
        rel = [(i, i.path[len(root) + 1 :]) for i in infos]
    else:
        infos = store.list_model_artifacts(model.model_id, prefix=path or None)
        rel = [(i, i.path) for i in infos]
    files = []
    for info, p in rel:
        entry: dict[str, Any] = {"path": p, "is_dir": info.is_dir}
        if not info.is_dir:
            entry["file_size"] = info.size
        files.append(entry)
    return {"root_uri": artifact_uri(model), "files": files}


def dispatch(store: Store, req: Request, method: str, rest: str) -> dict[str, Any]:
    """``logged-models/<rest>`` for the routes with the model id in the path."""
    parts = rest.split("/")
    model_id = check_model_id(parts[0])
    if len(parts) == 1:
        if method == "GET":
            return get(store, req, model_id)
        if method == "PATCH":
            return finalize(store, req, model_id)
        if method == "DELETE":
            return delete(store, req, model_id)
    elif parts[1] == "tags" and len(parts) == 2 and method == "PATCH":
        return set_tags(store, req, model_id)
    elif parts[1] == "tags" and len(parts) == 3 and method == "DELETE":
        return delete_tag(store, req, model_id, parts[2])
    elif parts[1] == "params" and len(parts) == 2 and method == "POST":
        return log_params(store, req, model_id)
    elif parts[1:] == ["artifacts", "directories"] and method == "GET":
        return list_artifacts(store, req, model_id)
    raise NotFound(f"no MLflow endpoint logged-models/{rest} for {method}")
