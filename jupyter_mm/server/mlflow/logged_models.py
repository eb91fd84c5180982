"""MLflow 3 logged models, kept with the run that logged them.

jupyter-mm's core has no model entity yet, so a logged model lives inside its source run, over
ordinary Store methods:

* its files are the run's artifacts under ``models/<model_id>/`` (the model reports
  ``artifact_uri = mlflow-artifacts:/<exp>/<run>/artifacts/models/<model_id>``, so the client
  uploads and downloads them through the artifact proxy like any run artifact);
* its record (name, status, type, tags, params, metrics) is the run artifact
  ``.mlflow/models/<model_id>.json``;
* the run tag ``mm.mlflow.models`` lists ``{model_id: name}`` as JSON, so a model is found by id
  or by name with one run search.

A model needs a source run: ``log_model`` outside a run is refused with a clear message.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from ...core.entities import Run
from ...core.wire import json_number
from ...errors import InvalidInput, NotFound
from .wire import (
    Request,
    invalid,
    key_values,
    missing,
    pairs,
    run_artifact_uri,
    string_value,
    to_double,
    to_int,
)

if TYPE_CHECKING:
    from ...core.store import Store

INDEX_TAG = "mm.mlflow.models"
_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


def record_path(model_id: str) -> str:
    return f".mlflow/models/{model_id}.json"


def files_prefix(model_id: str) -> str:
    return f"models/{model_id}"


def _now() -> int:
    from ...core.store import now_ms

    return now_ms()


def _index(run: Run) -> dict[str, str]:
    try:
        data = json.loads(run.tags.get(INDEX_TAG) or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _check_model_id(model_id: str) -> str:
    if (
        not model_id.startswith("m-")
        or len(model_id) != 34
        or any(c not in "0123456789abcdef" for c in model_id[2:])
    ):
        raise NotFound(f"Logged model with ID '{model_id}' not found.")
    return model_id


def _find(store: Store, model_id: str) -> tuple[Run, dict[str, Any]]:
    _check_model_id(model_id)
    runs, _ = store.search_runs(
        filter=f"tags.`{INDEX_TAG}` LIKE '%\"{model_id}\"%'", view="all", max_results=2
    )
    for run in runs:
        if model_id in _index(run):
            record = json.loads(store.read_artifact(run.id, record_path(model_id)))
            if record.get("deleted"):
                break
            return run, record
    raise NotFound(f"Logged model with ID '{model_id}' not found.")


def _save(store: Store, run: Run, record: dict[str, Any]) -> None:
    record["last_updated_timestamp_ms"] = _now()
    store.log_artifact(
        run.id,
        record_path(record["model_id"]),
        json.dumps(record, sort_keys=True).encode(),
        media_type="application/json",
    )


def model_json(run: Run, record: dict[str, Any]) -> dict[str, Any]:
    model_id = record["model_id"]
    return {
        "info": {
            "model_id": model_id,
            "experiment_id": run.experiment_id,
            "name": record["name"],
            "artifact_uri": f"{run_artifact_uri(run.experiment_id, run.id)}/{files_prefix(model_id)}",
            "status": record["status"],
            "creation_timestamp_ms": record["creation_timestamp_ms"],
            "last_updated_timestamp_ms": record["last_updated_timestamp_ms"],
            "model_type": record.get("model_type", ""),
            "source_run_id": run.id,
            "status_message": record.get("status_message", ""),
            "tags": pairs(record.get("tags", {})),
            "registrations": [],
        },
        "data": {
            "params": pairs(record.get("params", {})),
            "metrics": [
                {**m, "value": json_number(m["value"]), "model_id": model_id, "run_id": run.id}
                for m in record.get("metrics", [])
            ],
        },
    }


def create(store: Store, req: Request) -> dict[str, Any]:
    exp_id = req.text("experiment_id", required=True)
    run_id = req.text("source_run_id")
    if not run_id:
        raise InvalidInput(
            "jupyter-mm keeps a logged model with the run that logged it: call log_model inside "
            "a run (mlflow.start_run()), or pass run_id"
        )
    run = store.get_run(run_id)
    if run.experiment_id != exp_id:
        raise InvalidInput(f"run {run_id} belongs to experiment {run.experiment_id}, not {exp_id}")
    name = req.text("name") or "model"
    if any(c in name for c in "/:.%\"'"):
        raise InvalidInput(f"Invalid model name {name!r}: it may not contain / : . % \" '")
    model_id = "m-" + uuid.uuid4().hex
    t = _now()
    record = {
        "model_id": model_id,
        "name": name,
        "model_type": req.text("model_type") or "",
        "status": "LOGGED_MODEL_PENDING",
        "status_message": "",
        "creation_timestamp_ms": t,
        "last_updated_timestamp_ms": t,
        "creator_id": run.user,
        "tags": {k: string_value("value", v) for k, v in key_values(req.items("tags"), "tags")},
        "params": {
            k: string_value("value", v) for k, v in key_values(req.items("params"), "params")
        },
        "metrics": [],
    }
    _save(store, run, record)
    index = _index(run)
    index[model_id] = name
    store.set_tag(run.id, INDEX_TAG, json.dumps(index, sort_keys=True))
    return {"model": model_json(store.get_run(run.id), record)}


def get(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    run, record = _find(store, model_id)
    return {"model": model_json(run, record)}


def finalize(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    status = req.text("status", required=True)
    if status not in _STATUSES:
        raise InvalidInput(f"Invalid value {status!r} for parameter 'status' supplied")
    run, record = _find(store, model_id)
    record["status"] = status
    _save(store, run, record)
    return {"model": model_json(run, record)}


def delete(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    run, record = _find(store, model_id)
    record["deleted"] = True
    _save(store, run, record)
    return {}


def set_tags(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    run, record = _set_key_values(store, req, model_id, "tags")
    return {"model": model_json(run, record)}


def delete_tag(store: Store, req: Request, model_id: str, key: str) -> dict[str, Any]:
    run, record = _find(store, model_id)
    if key not in record.get("tags", {}):
        raise NotFound(f"No tag with key {key!r} on logged model {model_id}")
    del record["tags"][key]
    _save(store, run, record)
    return {}


def log_params(store: Store, req: Request, model_id: str) -> dict[str, Any]:
    _set_key_values(store, req, model_id, "params")
    return {}


def _set_key_values(
    store: Store, req: Request, model_id: str, field: str
) -> tuple[Run, dict[str, Any]]:
    """Set the request's ``field`` (``tags`` or ``params``: key/value pairs) on the record."""
    run, record = _find(store, model_id)
    for k, v in key_values(req.items(field), field):
        record.setdefault(field, {})[k] = string_value("value", v)
    _save(store, run, record)
    return run, record


def record_metrics(store: Store, run_id: str, metrics: list[dict[str, Any]]) -> None:
    """Keep metrics logged with a ``model_id`` on that model's record too."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for m in metrics:
        by_model.setdefault(str(m["model_id"]), []).append(m)
    for model_id, points in by_model.items():
        try:
            run, record = _find(store, model_id)
        except NotFound:
            continue
        if run.id != run_id:
            continue
        kept = record.setdefault("metrics", [])
        seen = {(m["key"], m["step"], m["timestamp"]) for m in kept}
        for m in points:
            point = {
                "key": m["key"],
                "value": to_double("value", m["value"]),
                "step": to_int("step", m.get("step", 0) or 0),
                "timestamp": to_int("timestamp", m["timestamp"]),
            }
            if (point["key"], point["step"], point["timestamp"]) not in seen:
                kept.append(point)
        _save(store, run, record)


def search(store: Store, req: Request) -> dict[str, Any]:
    """Models of the given experiments, filtered on ``name = '...'`` / ``source_run_id = '...'``."""
    import re

    wanted: dict[str, str] = {}
    text = (req.text("filter") or "").strip()
    if text:
        for clause in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE):
            m = re.match(r"^\s*(name|source_run_id)\s*=\s*'([^']*)'\s*$", clause)
            if m is None:
                raise InvalidInput(
                    f"Unsupported logged-model filter {clause!r}: jupyter-mm understands "
                    "name = '...' and source_run_id = '...'"
                )
            wanted[m.group(1)] = m.group(2)
    experiment_ids = [str(e) for e in req.items("experiment_ids") if str(e).strip().isdigit()]
    if not experiment_ids:
        raise missing("experiment_ids")
    max_results = req.integer("max_results")
    if max_results is not None and max_results <= 0:
        raise invalid("max_results", max_results)
    if req.text("page_token"):
        # every match comes in one page, so no token of ours is ever sent back
        raise invalid("page_token", req.text("page_token"))
    flt = f"tags.`{INDEX_TAG}` IS NOT NULL"
    if "source_run_id" in wanted:
        flt += f" AND attributes.run_id = '{wanted['source_run_id']}'"
    models = []
    token = None
    while True:
        runs, token = store.search_runs(
            experiment_ids=experiment_ids, filter=flt, view="all", page_token=token
        )
        for run in runs:
            for model_id, name in _index(run).items():
                if "name" in wanted and name != wanted["name"]:
                    continue
                try:
                    record = json.loads(store.read_artifact(run.id, record_path(model_id)))
                except NotFound:
                    continue
                if not record.get("deleted"):
                    models.append(model_json(run, record))
        if not token:
            break
    models.sort(key=lambda m: -m["info"]["creation_timestamp_ms"])
    return {"models": models}


def log_outputs(store: Store, req: Request) -> dict[str, Any]:
    """``runs/outputs``: the run produced these models. Ours already belong to their run."""
    run_id = req.run_id() or ""
    store.get_run(run_id)
    for item in req.items("models"):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise missing("model_id")
    return {}


def dispatch(store: Store, req: Request, method: str, rest: str) -> dict[str, Any]:
    """``logged-models/<rest>`` for the routes with the model id in the path."""
    parts = rest.split("/")
    model_id = parts[0]
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
    raise NotFound(f"no MLflow endpoint logged-models/{rest} for {method}")
