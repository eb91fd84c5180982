"""MLflow tracking RPCs (``/api/2.0/mlflow/...``) over the core store.

Each function takes the open :class:`Store` and the :class:`~.wire.Request` and returns the
response message as a dict. They block: the handler runs them in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...core.entities import DatasetInput
from ...core.store.base import check_run_id, random_run_name
from ...core.wire import json_number
from ...errors import InvalidInput, NotFound
from . import experiment_search, logged_models
from .wire import (
    PARENT_RUN_TAG,
    RUN_NAME_TAG,
    USER_TAG,
    Request,
    experiment_json,
    invalid,
    key_values,
    missing,
    paged,
    run_artifact_uri,
    run_info_json,
    run_json,
    string_value,
    to_double,
    to_int,
)

if TYPE_CHECKING:
    from ...core.store import Store

Endpoint = Callable[["Store", Request], dict[str, Any]]

#: MLflow's default and largest page of runs/search; of metrics/get-history.
DEFAULT_RUN_RESULTS = 1000
MAX_RUN_RESULTS = 50_000
MAX_HISTORY_RESULTS = 25_000
#: experiments/search default page.
DEFAULT_EXPERIMENT_RESULTS = 1000


# -- experiments ------------------------------------------------------------------------------


def create_experiment(store: Store, req: Request) -> dict[str, Any]:
    name = req.text("name", required=True)
    tags = dict(key_values(req.items("tags"), "tags"))
    # ``artifact_location`` is not honoured: artifacts always go through our proxy into the
    # content-addressed store (see docs/mlflow-compat.md).
    return {"experiment_id": store.create_experiment(name or "", tags=tags)}


def get_experiment(store: Store, req: Request) -> dict[str, Any]:
    exp_id = req.text("experiment_id", required=True)
    return {"experiment": experiment_json(store.get_experiment(_experiment_id(exp_id)))}


def get_experiment_by_name(store: Store, req: Request) -> dict[str, Any]:
    name = req.text("experiment_name", required=True)
    exp = store.get_experiment_by_name(name or "")
    if exp is None:
        raise NotFound(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment_json(exp)}


def search_experiments(store: Store, req: Request) -> dict[str, Any]:
    max_results = req.integer("max_results", default=DEFAULT_EXPERIMENT_RESULTS) or 0
    if not 0 < max_results <= MAX_RUN_RESULTS:
        raise invalid("max_results", max_results)
    conditions = experiment_search.parse_filter(req.text("filter"))
    order_by = req.items("order_by") if not req.is_query else req.fields.get("order_by", [])
    exps = [
        e
        for e in store.list_experiments(view=req.view("view_type"))
        if all(c(e) for c in conditions)
    ]
    exps = experiment_search.order(exps, [str(o) for o in order_by])
    offset = experiment_search.decode_offset(req.text("page_token"))
    page = exps[offset : offset + max_results]
    reply: dict[str, Any] = {"experiments": [experiment_json(e) for e in page]}
    if offset + max_results < len(exps):
        reply["next_page_token"] = experiment_search.encode_offset(offset + max_results)
    return reply


def update_experiment(store: Store, req: Request) -> dict[str, Any]:
    exp_id = _experiment_id(req.text("experiment_id", required=True))
    new_name = req.text("new_name")
    if new_name:
        store.rename_experiment(exp_id, new_name)
    else:
        store.get_experiment(exp_id)
    return {}


def delete_experiment(store: Store, req: Request) -> dict[str, Any]:
    store.delete_experiment(_experiment_id(req.text("experiment_id", required=True)))
    return {}


def restore_experiment(store: Store, req: Request) -> dict[str, Any]:
    store.restore_experiment(_experiment_id(req.text("experiment_id", required=True)))
    return {}


def set_experiment_tag(store: Store, req: Request) -> dict[str, Any]:
    exp_id = _experiment_id(req.text("experiment_id", required=True))
    key = req.text("key", required=True)
    value = string_value("value", req.raw("value"))
    if store.get_experiment(exp_id).lifecycle_stage != "active":
        raise InvalidInput(f"The experiment {exp_id} must be in the 'active' state.")
    store.set_experiment_tag(exp_id, key or "", value)
    return {}


def _experiment_id(value: str | None) -> str:
    if value is None or not value.strip().isdigit():
        # MLflow ids are strings; ours are integers, so any other id names no experiment.
        raise NotFound(f"No Experiment with id={value} exists")
    return value.strip()


# -- runs -------------------------------------------------------------------------------------


def create_run(
    store: Store, req: Request, run_user: Callable[[str | None], str] | None = None
) -> dict[str, Any]:
    """``runs/create``. ``run_user`` (the handler's :meth:`MMHandler.run_user`) turns the user the
    client claims into the one recorded: on a team server, the authenticated identity."""
    exp_id = _experiment_id(req.text("experiment_id", default="0"))
    tags: dict[str, str] = {}
    for k, v in key_values(req.items("tags"), "tags"):
        tags[k] = string_value("value", v)
    name = req.text("run_name")
    tag_name = tags.get(RUN_NAME_TAG)
    if name and tag_name and name != tag_name:
        raise InvalidInput(
            f"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
            f"different values (run_name='{name}', mlflow.runName='{tag_name}')."
        )
    name = name or tag_name or random_run_name()
    tags[RUN_NAME_TAG] = name  # the tag mirrors the run name, as in MLflow
    claimed = req.text("user_id") or tags.get(USER_TAG) or None
    user = (run_user(claimed) if run_user is not None else claimed) or "unknown"
    if tags.get(USER_TAG, user) != user:
        tags[USER_TAG] = user  # the tag MLflow's UI shows must not contradict the run's user
    parent = tags.get(PARENT_RUN_TAG) or None
    run = store.create_run(
        exp_id,
        name=name,
        user=user,
        start_time=req.integer("start_time"),
        tags=tags,
        parent_run_id=parent,
        heartbeat=False,  # the MLflow client beats none: its runs stay RUNNING until ended
    )
    return {"run": run_json(store.get_run(run.id))}


def _runs_json(store: Store, runs: list[Any]) -> list[dict[str, Any]]:
    """Runs as MLflow messages, with their model inputs and outputs (one query for all)."""
    links = store.run_model_links([r.id for r in runs])
    return [run_json(r, links.get(r.id, [])) for r in runs]


def get_run(store: Store, req: Request) -> dict[str, Any]:
    return {"run": _runs_json(store, [store.get_run(_run_id(req))])[0]}


def update_run(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    status = req.text("status")
    end_time = req.integer("end_time")
    name = req.text("run_name")
    run = store.get_run(run_id)
    if status is not None or end_time is not None or name is not None:
        store.update_run(run_id, status=status, end_time=end_time, name=name)
        if name is not None and run.lifecycle_stage == "active":
            store.set_tag(run_id, RUN_NAME_TAG, name)
        run = store.get_run(run_id)
    return {"run_info": run_info_json(run)}


def delete_run(store: Store, req: Request) -> dict[str, Any]:
    store.delete_run(_run_id(req))
    return {}


def restore_run(store: Store, req: Request) -> dict[str, Any]:
    store.restore_run(_run_id(req))
    return {}


def log_metric(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    key = req.text("key", required=True) or ""
    if req.raw("value") is None:
        raise missing("value")
    value = to_double("value", req.raw("value"))
    timestamp = req.integer("timestamp", required=True) or 0
    step = req.integer("step", default=0) or 0
    model_id = req.text("model_id")
    if model_id:
        store.check_logged_models([model_id])
    store.log_batch(run_id, metrics=[(key, value, step, _timestamp(timestamp))])
    if model_id:
        ds = (req.text("dataset_name"), req.text("dataset_digest"))
        store.log_logged_model_metrics(run_id, [(model_id, key, value, step, timestamp, *ds)])
    return {}


def log_param(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    key = req.text("key", required=True) or ""
    value = string_value("value", req.raw("value"))
    store.log_batch(run_id, params={key: value})
    return {}


def set_tag(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    key = req.text("key", required=True) or ""
    value = string_value("value", req.raw("value"))
    _log_tags(store, run_id, {key: value})
    return {}


def delete_tag(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    key = req.text("key", required=True) or ""
    store.delete_tag(run_id, key)
    return {}


def log_batch(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    metrics: list[tuple[str, float, int, int]] = []
    model_points: list[dict[str, Any]] = []
    for m in req.items("metrics"):
        if not isinstance(m, dict):
            raise invalid("metrics", m)
        if not m.get("key"):
            raise missing("key")
        if m.get("value") is None:
            raise missing("value")
        if m.get("timestamp") is None:
            raise missing("timestamp")
        metrics.append(
            (
                m["key"],
                to_double("value", m["value"]),
                to_int("step", m.get("step", 0) or 0),
                _timestamp(to_int("timestamp", m["timestamp"])),
            )
        )
        if m.get("model_id"):
            model_points.append(m)
    params: dict[str, str] = {}
    for k, v in key_values(req.items("params"), "params"):
        v = string_value("value", v)
        if k in params and params[k] != v:
            raise InvalidInput(
                f"Duplicate parameter keys have been submitted: ['{k}']. Please ensure the "
                "request contains only one param value per param key."
            )
        params[k] = v
    tags = {k: string_value("value", v) for k, v in key_values(req.items("tags"), "tags")}
    if len(metrics) > 1000 or len(params) > 100 or len(tags) > 100:
        raise InvalidInput(
            "A batch logging request can contain at most 1000 metrics, 100 params and 100 tags. "
            f"Got {len(metrics)} metrics, {len(params)} params and {len(tags)} tags."
        )
    model_metrics = [
        (
            str(m["model_id"]),
            m["key"],
            to_double("value", m["value"]),
            to_int("step", m.get("step", 0) or 0),
            to_int("timestamp", m["timestamp"]),
            m.get("dataset_name") or None,
            m.get("dataset_digest") or None,
        )
        for m in model_points
    ]
    if model_points:
        store.check_logged_models([m[0] for m in model_metrics])
        metrics = _without_repeats(store, run_id, metrics)
    store.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    if RUN_NAME_TAG in tags:
        store.update_run(run_id, name=tags[RUN_NAME_TAG])
    store.log_logged_model_metrics(run_id, model_metrics)
    return {}


def _without_repeats(
    store: Store, run_id: str, metrics: list[tuple[str, float, int, int]]
) -> list[tuple[str, float, int, int]]:
    """Drop points the run already has, identical in key, value, step and timestamp.

    ``log_model`` re-logs all of the run's metrics with the new model's id; MLflow de-duplicates
    identical rows, while our store keeps every point it is given, so the repeats stop here.
    """
    have: dict[str, set[tuple[int, int, float | str]]] = {}
    out = []
    for key, value, step, ts in metrics:
        if key not in have:
            hist = store.get_metric_history(run_id, key)
            have[key] = {
                (s, t, json_number(v))
                for s, t, v in zip(
                    hist["step"].tolist(),
                    hist["timestamp"].tolist(),
                    hist["value"].tolist(),
                    strict=True,
                )
            }
        if (step, ts, json_number(value)) not in have[key]:
            out.append((key, value, step, ts))
    return out


def _log_tags(store: Store, run_id: str, tags: dict[str, str]) -> None:
    store.log_batch(run_id, tags=tags)
    if RUN_NAME_TAG in tags:  # the tag mirrors the run name, as in MLflow
        store.update_run(run_id, name=tags[RUN_NAME_TAG])


def log_inputs(store: Store, req: Request) -> dict[str, Any]:
    """Datasets: kept as our dataset records, with MLflow's own dataset message in the profile.

    Our digests are SHA-256 of the content; MLflow's are short (≤36 characters) and computed by
    the client, so the record's digest is a SHA-256 over MLflow's name, digest and source.
    """
    run_id = _run_id(req)
    models = []
    for item in req.items("models"):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise missing("model_id")
        models.append((str(item["model_id"]), 0))
    records = []
    for item in req.items("datasets"):
        if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
            raise invalid("datasets", item)
        ds = item["dataset"]
        for field in ("name", "digest"):
            if not ds.get(field):
                raise missing(field)
        context = dict(key_values(item.get("tags") or [], "tags")).get("mlflow.data.context")
        profile: dict[str, Any] = {"mlflow": {k: ds.get(k, "") for k in _DATASET_FIELDS}}
        rows = None
        try:
            rows = json.loads(ds.get("profile") or "{}").get("num_rows")
        except (ValueError, AttributeError):
            pass
        digest = hashlib.sha256(
            "\0".join(str(ds.get(k, "")) for k in ("name", "digest", "source")).encode()
        ).hexdigest()
        records.append(
            DatasetInput(
                name=str(ds["name"]),
                digest=digest,
                context=str(context or "training"),
                source=str(ds.get("source") or ""),
                source_type=str(ds.get("source_type") or "")[:32],
                schema=None,
                row_count=rows if isinstance(rows, int) else None,
                profile=profile,
            )
        )
    store.get_run(run_id)
    if models:
        store.check_logged_models([m for m, _ in models])
    for record in records:
        store.log_dataset(run_id, record)
    if models:
        store.link_run_models(run_id, models, "input")
    return {}


_DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


def search_runs(store: Store, req: Request) -> dict[str, Any]:
    max_results = req.integer("max_results", default=DEFAULT_RUN_RESULTS) or 0
    if not 0 < max_results <= MAX_RUN_RESULTS:
        raise invalid("max_results", max_results)
    experiment_ids = [str(e) for e in req.items("experiment_ids")]
    known = [e for e in experiment_ids if e.strip().isdigit()]
    order_by = [str(o) for o in req.items("order_by")]
    runs, token = store.search_runs(
        experiment_ids=known,
        filter=req.text("filter"),
        order_by=order_by,
        max_results=max_results,
        page_token=req.text("page_token"),
        view=req.view("run_view_type"),
    )
    return paged("runs", _runs_json(store, runs), token)


def get_metric_history(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    key = req.text("metric_key", required=True) or ""
    max_results = req.integer("max_results", default=MAX_HISTORY_RESULTS) or MAX_HISTORY_RESULTS
    offset = experiment_search.decode_offset(req.text("page_token"))
    hist = store.get_metric_history(run_id, key)
    steps, stamps, values = (hist[k].tolist() for k in ("step", "timestamp", "value"))
    end = min(len(values), offset + max_results)
    reply: dict[str, Any] = {
        "metrics": [
            {"key": key, "value": json_number(values[i]), "timestamp": stamps[i], "step": steps[i]}
            for i in range(offset, end)
        ]
    }
    if end < len(values):
        reply["next_page_token"] = experiment_search.encode_offset(end)
    return reply


def get_metric_history_bulk_interval(store: Store, req: Request) -> dict[str, Any]:
    run_ids = [str(r) for r in req.items("run_ids")]
    if not run_ids:
        raise missing("run_ids")
    if len(run_ids) > 100:
        raise InvalidInput(
            f"GetMetricHistoryBulkInterval accepts at most 100 runs, got {len(run_ids)}"
        )
    key = req.text("metric_key", required=True) or ""
    max_results = req.integer("max_results", default=2500) or 2500
    if not 0 < max_results <= 2500:
        raise invalid("max_results", max_results)
    lo, hi = req.integer("start_step"), req.integer("end_step")
    metrics: list[dict[str, Any]] = []
    for run_id in run_ids:
        hist = store.get_metric_history(run_id, key, max_points=max_results, step_range=(lo, hi))
        steps, stamps, values = (hist[k].tolist() for k in ("step", "timestamp", "value"))
        metrics.extend(
            {
                "key": key,
                "value": json_number(v),
                "timestamp": t,
                "step": s,
                "run_id": run_id,
            }
            for s, t, v in zip(steps, stamps, values, strict=True)
        )
    return {"metrics": metrics}


def list_artifacts(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    run = store.get_run(run_id)
    path = req.text("path") or ""
    infos = store.list_artifacts(run_id, prefix=path or None)
    files = []
    for info in infos:
        entry: dict[str, Any] = {"path": info.path, "is_dir": info.is_dir}
        if not info.is_dir:
            entry["file_size"] = info.size
        files.append(entry)
    return {"root_uri": run_artifact_uri(run.experiment_id, run.id), "files": files}


def _run_id(req: Request) -> str:
    value = req.run_id() or ""
    try:
        return check_run_id(value)
    except InvalidInput:
        raise NotFound(f"Run with id={value} not found") from None


def _timestamp(value: int) -> int:
    if value < 0:
        raise InvalidInput("Timestamp must be a nonnegative long")
    return value


#: (HTTP method, path under /api/2.0/mlflow/) -> endpoint.
ROUTES: dict[tuple[str, str], Endpoint] = {
    ("POST", "experiments/create"): create_experiment,
    ("GET", "experiments/get"): get_experiment,
    ("GET", "experiments/get-by-name"): get_experiment_by_name,
    ("POST", "experiments/search"): search_experiments,
    ("GET", "experiments/search"): search_experiments,
    ("POST", "experiments/update"): update_experiment,
    ("POST", "experiments/delete"): delete_experiment,
    ("POST", "experiments/restore"): restore_experiment,
    ("POST", "experiments/set-experiment-tag"): set_experiment_tag,
    ("POST", "runs/create"): create_run,
    ("GET", "runs/get"): get_run,
    ("POST", "runs/update"): update_run,
    ("POST", "runs/delete"): delete_run,
    ("POST", "runs/restore"): restore_run,
    ("POST", "runs/log-metric"): log_metric,
    ("POST", "runs/log-parameter"): log_param,
    ("POST", "runs/set-tag"): set_tag,
    ("POST", "runs/delete-tag"): delete_tag,
    ("POST", "runs/log-batch"): log_batch,
    ("POST", "runs/log-inputs"): log_inputs,
    ("POST", "runs/search"): search_runs,
    ("GET", "metrics/get-history"): get_metric_history,
    ("GET", "metrics/get-history-bulk-interval"): get_metric_history_bulk_interval,
    ("GET", "artifacts/list"): list_artifacts,
    ("POST", "logged-models"): logged_models.create,
    ("POST", "logged-models/search"): logged_models.search,
    ("POST", "runs/outputs"): logged_models.log_outputs,
}
