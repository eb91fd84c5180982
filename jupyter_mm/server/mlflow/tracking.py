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
from . import artifacts, experiment_search, logged_models
from .wire import (
    DATASET_CONTEXT_TAG,
    INPUT_TAGS_FIELD,
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
    location = req.text("artifact_location")  # type-checked first, as MLflow does
    tags = dict(key_values(req.items("tags"), "tags"))
    if location is not None:
        # Refused rather than ignored: a run's files always go through the artifact proxy into
        # the content-addressed store, never to a path the caller picks (docs/mlflow-compat.md).
        raise InvalidInput(
            f"{invalid('artifact_location', location)}: this server does not support a "
            "user-chosen artifact location. Every experiment's artifacts go through the "
            "server's artifact proxy (mlflow-artifacts:/<experiment_id>) into the store's "
            "artifact location, which the operator sets (c.JupyterMM.artifact_uri or "
            "MM_ARTIFACT_URI; the team server's --artifacts). Leave artifact_location unset."
        )
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


def delete_experiment_tag(store: Store, req: Request) -> dict[str, Any]:
    exp_id = _experiment_id(req.text("experiment_id", required=True))
    key = req.text("key", required=True) or ""
    if store.get_experiment(exp_id).lifecycle_stage != "active":
        raise InvalidInput(f"The experiment {exp_id} must be in the 'active' state.")
    store.delete_experiment_tag(exp_id, key)
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
    parent = _known_run(store, tags.get(PARENT_RUN_TAG))
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


def _known_run(store: Store, run_id: str | None) -> str | None:
    """The parent named by ``mlflow.parentRunId`` when it is a run of this store; otherwise (a
    run of another server, an import, ``"7"``) the tag keeps the value and no link is made, as
    MLflow keeps any value there."""
    if not run_id:
        return None
    try:
        return store.get_run(check_run_id(run_id)).id
    except (InvalidInput, NotFound):
        return None


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
    stage = store.get_run(run_id).lifecycle_stage
    if stage != "active":
        raise InvalidInput(
            f"The run {run_id} must be in the 'active' state. Current state is {stage}."
        )
    store.delete_tag(run_id, key)
    return {}


def log_batch(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    metrics: list[tuple[str, float, int, int]] = []
    model_points: list[dict[str, Any]] = []
    for i, m in enumerate(req.items("metrics")):
        if not isinstance(m, dict):
            raise invalid("metrics", m)
        for field in ("key", "value", "timestamp"):
            if m.get(field) is None or m.get(field) == "":
                raise missing(f"metrics[{i}].{field}")
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
        input_tags = dict(key_values(item.get("tags") or [], "tags"))
        context = input_tags.pop(DATASET_CONTEXT_TAG, None)
        # the input's other tags, and whether it named a context (ours defaults to training)
        own_tags = {"tags": sorted(input_tags.items()), "context": context is not None}
        profile: dict[str, Any] = {
            "mlflow": {k: ds.get(k, "") for k in _DATASET_FIELDS},
            INPUT_TAGS_FIELD: own_tags,
        }
        rows = None
        try:
            rows = json.loads(ds.get("profile") or "{}").get("num_rows")
        except (ValueError, AttributeError):
            pass
        identity = [str(ds.get(k, "")) for k in ("name", "digest", "source")]
        if input_tags or context is None:
            # the record keeps them, so inputs with other tags are other records (one with
            # only a context keeps the digest it had before input tags were kept)
            identity.append(json.dumps(own_tags))
        digest = hashlib.sha256("\0".join(identity).encode()).hexdigest()
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


#: MLflow's limits of the bulk history routes (its handlers' constants).
MAX_BULK_RUNS = 100
MAX_BULK_INTERVAL_RESULTS = 2500


def get_metric_history_bulk(store: Store, req: Request) -> dict[str, Any]:
    """``metrics/get-history-bulk`` (the UI's): one metric of up to 100 runs, each run's points
    in logged order, runs in id order; ``max_results`` points in all."""
    run_ids = _bulk_run_ids(
        req,
        "run_id",
        InvalidInput("GetMetricHistoryBulk request must specify at least one run_id."),
        "GetMetricHistoryBulk request cannot specify more than",
    )
    key = req.text("metric_key")
    if not key:
        raise InvalidInput("GetMetricHistoryBulk request must specify a metric_key.")
    max_results = req.integer("max_results", default=MAX_HISTORY_RESULTS) or MAX_HISTORY_RESULTS
    if not 0 < max_results <= MAX_HISTORY_RESULTS:
        raise invalid("max_results", max_results)
    metrics: list[dict[str, Any]] = []
    for run_id in sorted(set(run_ids)):
        metrics.extend(_points(store, run_id, key))
    return {"metrics": metrics[:max_results]}


def get_metric_history_bulk_interval(store: Store, req: Request) -> dict[str, Any]:
    """``metrics/get-history-bulk-interval``: the points at sampled steps. Steps are sampled
    over all the runs' steps in range, evenly (at most ``max_results``), plus each run's first
    and last step, so every line keeps its ends; every point at a sampled step is returned."""
    run_ids = _bulk_run_ids(
        req,
        "run_ids",
        missing("run_ids"),
        "GetMetricHistoryBulkInterval request must specify at most",
    )
    key = req.text("metric_key", required=True) or ""
    max_results = req.integer("max_results", default=MAX_BULK_INTERVAL_RESULTS)
    if max_results is None or not 0 < max_results <= MAX_BULK_INTERVAL_RESULTS:
        raise InvalidInput(
            f"max_results must be between 1 and {MAX_BULK_INTERVAL_RESULTS}. Received {max_results}."
        )
    lo, hi = req.integer("start_step"), req.integer("end_step")
    if (lo is None) != (hi is None):
        raise InvalidInput(
            "If either start step or end step are specified, both must be specified."
        )
    if lo is not None and hi is not None and hi < lo:
        raise InvalidInput(
            f"end_step must be greater than start_step. Found start_step={lo} and end_step={hi}."
        )
    points: dict[str, list[dict[str, Any]]] = {}
    for run_id in dict.fromkeys(run_ids):
        pts = [
            p
            for p in _points(store, run_id, key)
            if lo is None or hi is None or lo <= p["step"] <= hi
        ]
        points[run_id] = sorted(pts, key=lambda p: (p["step"], p["timestamp"]))
    steps = sorted({p["step"] for pts in points.values() for p in pts})
    sampled = set(steps)
    if len(steps) > max_results:
        stride = -(-len(steps) // max_results)  # ceil: at most max_results evenly spaced steps
        sampled = set(steps[::stride]) | {steps[-1]}
        for pts in points.values():
            if pts:
                sampled |= {pts[0]["step"], pts[-1]["step"]}
    return {"metrics": [p for pts in points.values() for p in pts if p["step"] in sampled]}


def _bulk_run_ids(req: Request, name: str, empty: InvalidInput, too_many: str) -> list[str]:
    """The run ids of a bulk history route, 1 to :data:`MAX_BULK_RUNS` of them; the refusals in
    the words of MLflow's handler of that route (``empty``; ``too_many`` begins the other)."""
    run_ids = _query_list(req, name)
    if not run_ids:
        raise empty
    if len(run_ids) > MAX_BULK_RUNS:
        raise InvalidInput(f"{too_many} {MAX_BULK_RUNS} run_ids. Received {len(run_ids)} run_ids.")
    return run_ids


def _query_list(req: Request, name: str) -> list[str]:
    value = req.fields.get(name)
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v != ""]


def _points(store: Store, run_id: str, key: str) -> list[dict[str, Any]]:
    """One metric's points of one run in logged order, as MLflow's bulk routes send them; a run
    id that names no run of this store has none."""
    try:
        hist = store.get_metric_history(check_run_id(run_id), key)
    except (InvalidInput, NotFound):
        return []
    steps, stamps, values = (hist[k].tolist() for k in ("step", "timestamp", "value"))
    return [
        {"key": key, "value": json_number(v), "timestamp": t, "step": st, "run_id": run_id}
        for st, t, v in zip(steps, stamps, values, strict=True)
    ]


def list_artifacts(store: Store, req: Request) -> dict[str, Any]:
    run_id = _run_id(req)
    run = store.get_run(run_id)
    path = req.text("path") or ""
    if artifacts.escapes(path):
        raise InvalidInput("Invalid path")
    infos = store.list_artifacts(run_id, prefix=path or None)
    files = []
    for info in infos:
        entry: dict[str, Any] = {"path": info.path, "is_dir": info.is_dir}
        if not info.is_dir:
            entry["file_size"] = info.size
        files.append(entry)
    return {"root_uri": run_artifact_uri(run.experiment_id, run.id), "files": files}


def search_datasets(store: Store, req: Request) -> dict[str, Any]:
    """``experiments/search-datasets`` (the UI's): the distinct (experiment, name, digest,
    context) of the datasets logged to runs of up to 20 experiments."""
    experiment_ids = [str(e) for e in req.items("experiment_ids")]
    if not experiment_ids:
        raise InvalidInput("SearchDatasets request must specify at least one experiment_id.")
    if len(experiment_ids) > MAX_DATASET_EXPERIMENTS:
        raise InvalidInput(
            f"SearchDatasets request cannot specify more than {MAX_DATASET_EXPERIMENTS} "
            f"experiment_ids. Received {len(experiment_ids)} experiment_ids."
        )
    known = [e for e in experiment_ids if e.strip().isdigit()]
    summaries: dict[tuple[str, str, str, str], None] = {}
    token: str | None = None
    while known:
        runs, token = store.search_runs(
            experiment_ids=known, max_results=MAX_RUN_RESULTS, page_token=token, view="all"
        )
        for run in runs:  # a search loads no datasets; get_run does
            for ds in run_json(store.get_run(run.id))["inputs"].get("dataset_inputs", []):
                context = {t["key"]: t["value"] for t in ds["tags"]}.get(DATASET_CONTEXT_TAG)
                d = ds["dataset"]
                summaries[(run.experiment_id, d["name"], d["digest"], context or "")] = None
        if not token:
            break
    return {
        "dataset_summaries": [
            # an input that named no context has none, as in MLflow's summary
            {"experiment_id": e, "name": n, "digest": d, **({"context": c} if c else {})}
            for e, n, d, c in summaries
        ]
    }


MAX_DATASET_EXPERIMENTS = 20


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
    ("POST", "experiments/delete-experiment-tag"): delete_experiment_tag,
    ("POST", "experiments/search-datasets"): search_datasets,
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
    ("GET", "metrics/get-history-bulk"): get_metric_history_bulk,
    ("GET", "metrics/get-history-bulk-interval"): get_metric_history_bulk_interval,
    ("GET", "artifacts/list"): list_artifacts,
    ("POST", "logged-models"): logged_models.create,
    ("POST", "logged-models/search"): logged_models.search,
    ("POST", "runs/outputs"): logged_models.log_outputs,
}
