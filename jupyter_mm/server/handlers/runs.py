"""``jupyter-mm/api/runs``: create, search, read, update, end, delete/restore runs; batch
logging; heartbeats; tags; datasets.

The writes a remote client makes (create, log-batch, end, datasets) are idempotent so that it can
retry a request whose answer was lost and replay its spool: run ids come from the client, and
batches carry a client-made ``batch_id`` (see ``Store.log_batch``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core import limits, validation
from ...core.wire import NON_FINITE_STRINGS, json_number
from ...errors import InvalidInput
from .base import MMHandler
from .common import (
    DEFAULT_MAX_RESULTS,
    MAX_BATCH_JSON_BYTES,
    Columns,
    dataset_json,
    int_field,
    json_object,
    parse_experiment,
    parse_run,
    run_json,
    string_field,
    string_map,
    view_arg,
)

if TYPE_CHECKING:
    from ...core.entities import DatasetInput, Run
    from ...core.store import Store

SEARCH_FIELDS = (
    "experiment_ids",
    "filter",
    "order_by",
    "max_results",
    "page_token",
    "view",
    "columns",
)


class SearchRequest:
    """A checked run search, from query arguments or a JSON body."""

    def __init__(self, raw: dict[str, Any]) -> None:
        ids = raw.get("experiment_ids")
        if ids is None or ids == "" or ids == []:
            self.experiment_ids: list[str] | None = None
        else:
            if isinstance(ids, str):
                ids = [i.strip() for i in ids.split(",") if i.strip()]
            if not isinstance(ids, list):
                raise InvalidInput("'experiment_ids' must be a list of experiment ids")
            self.experiment_ids = [
                parse_experiment(str(i) if isinstance(i, int) and not isinstance(i, bool) else i)
                for i in ids
            ]
        flt = raw.get("filter")
        if flt is not None and not isinstance(flt, str):
            raise InvalidInput("'filter' must be a string")
        self.filter = flt or None
        order = raw.get("order_by")
        if order is None:
            order = []
        elif isinstance(order, str):
            order = [order]
        if not isinstance(order, list) or not all(isinstance(o, str) for o in order):
            raise InvalidInput("'order_by' must be a list of strings such as 'metrics.auc DESC'")
        self.order_by: list[str] = order
        mr = int_field(raw.get("max_results"), "max_results", 1, limits.MAX_RESULTS)
        self.max_results = DEFAULT_MAX_RESULTS if mr is None else mr
        token = raw.get("page_token")
        if token is not None and not isinstance(token, str):
            raise InvalidInput("'page_token' must be a string")
        self.page_token = token or None
        self.view = view_arg(raw.get("view"))
        self.columns = Columns(raw.get("columns"))

    def run(self, store: Store) -> dict[str, Any]:
        runs, token = store.search_runs(
            experiment_ids=self.experiment_ids,
            filter=self.filter,
            order_by=self.order_by,
            max_results=self.max_results,
            page_token=self.page_token,
            view=self.view,
        )
        return {"runs": [run_json(r, self.columns) for r in runs], "next_page_token": token}


CREATE_FIELDS = (
    "experiment_id",
    "experiment_name",
    "name",
    "run_id",
    "start_time",
    "tags",
    "params",
    "parent_run_id",
    "user",
)


def _create_run(store: Store, body: dict[str, Any], user: str) -> dict[str, Any]:
    exp_name = string_field(body, "experiment_name")
    raw_exp = body.get("experiment_id")
    if exp_name is not None and raw_exp is not None:
        raise InvalidInput("give 'experiment_id' or 'experiment_name', not both")
    if exp_name is not None:
        exp_id = store.get_or_create_experiment(exp_name)
    elif raw_exp is None:
        exp_id = "0"
    else:
        exp_id = parse_experiment(str(raw_exp) if type(raw_exp) is int else raw_exp)
    run = store.create_run(
        exp_id,
        name=string_field(body, "name"),
        user=user,
        start_time=int_field(body.get("start_time"), "start_time", 0, limits.MAX_STEP),
        tags=string_map(body.get("tags"), "tags"),
        params=string_map(body.get("params"), "params"),
        parent_run_id=optional_run(body.get("parent_run_id"), "parent_run_id"),
        run_id=optional_run(body.get("run_id"), "run_id"),
    )
    return run_json(store.get_run(run.id))


def optional_run(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'{what}' must be a run id (32 lowercase hex characters)")
    return parse_run(value)


def batch_id_field(body: dict[str, Any]) -> str | None:
    from ...core.store.base import check_batch_id

    return check_batch_id(body.get("batch_id"))


class RunsAPIHandler(MMHandler):
    """What the ``runs`` routes share: their auth resource, and the reply of a soft delete or a
    restore."""

    auth_resource = "jupyter_mm:runs"

    async def send_stage(self, run_id: str, deleted: bool) -> None:
        """Mark the path's run deleted (or active again); answer it as it now is."""
        rid = parse_run(run_id)
        self.send_json(await self.call_store(_set_stage, rid, deleted))


class RunsHandler(RunsAPIHandler):
    """``GET runs?experiment_ids=&filter=&order_by=&max_results=&page_token=&view=&columns=``;
    ``POST runs {experiment_id | experiment_name, name, run_id, start_time, tags, params,
    parent_run_id, user}`` creates a run (201). A client that picks ``run_id`` itself can retry:
    a repeat answers 400 ``RESOURCE_ALREADY_EXISTS``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        raw: dict[str, Any] = {}
        for name in SEARCH_FIELDS:
            values = self.get_query_arguments(name)
            if not values:
                continue
            if name == "order_by":
                raw[name] = values
            elif len(values) > 1:
                raise InvalidInput(f"query argument '{name}' given {len(values)} times")
            else:
                raw[name] = values[0]
        request = SearchRequest(raw)
        self.send_json(await self.call_store(request.run))

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self, CREATE_FIELDS)
        for key in ("experiment_name", "name", "user"):
            string_field(body, key)
        user = self.run_user(string_field(body, "user"))
        self.send_json(await self.call_store(_create_run, body, user), status=201)


class RunsSearchHandler(RunsAPIHandler):
    """``POST runs/search`` with the query of ``GET runs`` as a JSON body (lists as lists)."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        request = SearchRequest(json_object(self, SEARCH_FIELDS, required=False))
        self.send_json(await self.call_store(request.run))


def _update_run(store: Store, rid: str, body: dict[str, Any]) -> dict[str, Any]:
    from ...core.store.base import run_update_values

    status = string_field(body, "status")
    end_time = int_field(body.get("end_time"), "end_time", 0, limits.MAX_STEP)
    name = string_field(body, "name")
    notes = string_field(body, "notes")
    run_update_values(status, end_time, name, notes)  # every check before the first write
    tags = string_map(body.get("tags"), "tags")
    store.get_run(rid)  # NotFound first
    if tags:  # validated whole by the store; refused (nothing written) on a deleted run
        store.log_batch(rid, tags=tags)
    store.update_run(rid, status=status, end_time=end_time, name=name, notes=notes)
    return run_json(store.get_run(rid))


def full_run_json(run: Run) -> dict[str, Any]:
    """A run with what only a single-run read carries: each latest metric's step and time, and
    the datasets (what a remote client's ``get_run`` needs to equal a local one)."""
    out = run_json(run)
    out["latest_metrics"] = {
        k: {"value": json_number(m.value), "step": m.step, "timestamp": m.timestamp}
        for k, m in run.latest_metrics.items()
    }
    out["datasets"] = [dataset_json(d) for d in run.datasets]
    return out


def _set_stage(store: Store, rid: str, deleted: bool) -> dict[str, Any]:
    if deleted:
        store.delete_run(rid)
    else:
        store.restore_run(rid)
    return run_json(store.get_run(rid))


class RunHandler(RunsAPIHandler):
    """One run: ``GET``; ``PATCH {name, notes, status, end_time, tags}``; ``DELETE`` (marks it
    deleted; ``POST runs/{id}/restore`` undoes it)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        rid = parse_run(run_id)
        self.send_json(full_run_json(await self.call_store(lambda store: store.get_run(rid))))

    @tornado.web.authenticated
    @authorized
    async def patch(self, run_id: str) -> None:
        rid = parse_run(run_id)
        body = json_object(self, ("name", "notes", "status", "end_time", "tags"))
        for key in ("name", "notes", "status"):
            string_field(body, key)
        string_map(body.get("tags"), "tags")
        int_field(body.get("end_time"), "end_time", 0, limits.MAX_STEP)
        self.send_json(await self.call_store(_update_run, rid, body))

    @tornado.web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        await self.send_stage(run_id, deleted=True)


class RunRestoreHandler(RunsAPIHandler):
    """``POST runs/{id}/restore``: a deleted run becomes active again."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        await self.send_stage(run_id, deleted=False)


def metric_value(key: Any, value: Any) -> float:
    if isinstance(value, str):
        if value in NON_FINITE_STRINGS:
            return NON_FINITE_STRINGS[value]
        raise InvalidInput(
            f"metric {key!r}: value must be a number or one of 'NaN', 'Infinity', '-Infinity'; "
            f"got {value!r}"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"metric {key!r}: value must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise InvalidInput(f"metric {key!r}: value {value} is out of range") from None


def batch_fields(
    body: dict[str, Any],
) -> tuple[list[tuple[str, float, int, int]], dict[str, str], str | None]:
    """The ``metrics`` points (a point without a timestamp is stamped now), ``tags`` and
    ``batch_id`` of a ``log-batch`` or ``end`` body."""
    from ...core.store import now_ms

    return (
        metric_points(body.get("metrics"), now_ms()),
        string_map(body.get("tags"), "tags"),
        batch_id_field(body),
    )


def metric_points(metrics: Any, now: int) -> list[tuple[str, float, int, int]]:
    if metrics is None:
        return []
    if not isinstance(metrics, list):
        raise InvalidInput("'metrics' must be a list of {key, value, step, timestamp}")
    validation.metric_batch(len(metrics))
    points = []
    for m in metrics:
        if not isinstance(m, dict) or "key" not in m or "value" not in m:
            raise InvalidInput("each metric must be an object with 'key' and 'value'")
        extra = set(m) - {"key", "value", "step", "timestamp"}
        if extra:
            raise InvalidInput(f"unknown metric field(s) {', '.join(sorted(map(repr, extra)))}")
        key = m["key"]
        if not isinstance(key, str):
            raise InvalidInput(f"metric key must be a string, got {key!r}")
        step = int_field(m.get("step"), f"step of metric {key!r}", limits.MIN_STEP, limits.MAX_STEP)
        ts = int_field(m.get("timestamp"), f"timestamp of metric {key!r}", 0, limits.MAX_STEP)
        points.append(
            (
                key,
                metric_value(key, m["value"]),
                0 if step is None else step,
                now if ts is None else ts,
            )
        )
    return points


class BatchHandler(RunsAPIHandler):
    """What the batch writes of a run (``log-batch``, ``end``) share: a body that may be as
    large as :data:`MAX_BATCH_JSON_BYTES`, whose points, tags and ``batch_id`` are read by
    :func:`batch_fields`."""

    def batch_body(self, allowed: Iterable[str]) -> dict[str, Any]:
        """The request's JSON object, with only the ``allowed`` fields."""
        return json_object(self, allowed, limit=MAX_BATCH_JSON_BYTES)


class LogBatchHandler(BatchHandler):
    """``POST runs/{id}/log-batch {metrics: [{key, value, step, timestamp}], params, tags,
    batch_id}``.

    All or nothing. ``value`` may be ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; ``step``
    defaults to 0 and ``timestamp`` to now (ms). A ``batch_id`` already applied to the run is
    acknowledged with ``applied: false`` and not written again.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        rid = parse_run(run_id)
        body = self.batch_body(("metrics", "params", "tags", "batch_id"))
        params = string_map(body.get("params"), "params")
        points, tags, batch_id = batch_fields(body)

        def write(store: Store) -> dict[str, Any]:
            applied = store.log_batch(
                rid, metrics=points, params=params, tags=tags, batch_id=batch_id
            )
            if not (points or params or tags or batch_id):
                store.get_run(rid)  # an empty batch still says whether the run exists
            return {
                "run_id": rid,
                "metrics": len(points),
                "params": len(params),
                "tags": len(tags),
                "applied": applied,
            }

        self.send_json(await self.call_store(write))


class EndRunHandler(BatchHandler):
    """``POST runs/{id}/end {status, end_time, metrics, tags, batch_id}``: the last metric points,
    tags and the final status in one transaction (``status`` defaults to FINISHED, ``end_time``
    to now). Idempotent with a ``batch_id`` as ``log-batch``."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        from ...core.store.base import check_status

        rid = parse_run(run_id)
        body = self.batch_body(("status", "end_time", "metrics", "tags", "batch_id"))
        status = check_status(string_field(body, "status") or "FINISHED")
        end_time = int_field(body.get("end_time"), "end_time", 0, limits.MAX_STEP)
        points, tags, batch_id = batch_fields(body)

        def write(store: Store) -> dict[str, Any]:
            applied = store.end_run(
                rid, status, end_time=end_time, metrics=points, tags=tags, batch_id=batch_id
            )
            return {"run_id": rid, "status": status, "metrics": len(points), "applied": applied}

        self.send_json(await self.call_store(write))


class HeartbeatHandler(RunsAPIHandler):
    """``POST runs/{id}/heartbeat``: the writer of a RUNNING run is alive (a run whose heartbeat
    is over a minute old is shown KILLED)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        rid = parse_run(run_id)
        await self.call_store(lambda store: store.heartbeat(rid))
        self.send_json({"run_id": rid})


class RunTagHandler(RunsAPIHandler):
    """``DELETE runs/{id}/tags/{key}``."""

    @tornado.web.authenticated
    @authorized
    async def delete(self, run_id: str, key: str) -> None:
        rid = parse_run(run_id)
        await self.call_store(lambda store: store.delete_tag(rid, key))
        self.send_json({"run_id": rid, "deleted": key})


DATASET_FIELDS = (
    "name",
    "digest",
    "context",
    "source",
    "source_type",
    "schema",
    "row_count",
    "profile",
)


def dataset_input(body: dict[str, Any]) -> DatasetInput:
    """A dataset record from JSON; the store checks names, digest and sizes (the body limit
    bounds ``schema`` and ``profile``)."""
    from ...core.entities import DatasetInput

    name = string_field(body, "name", required=True)
    digest = string_field(body, "digest", required=True)
    assert name is not None and digest is not None
    return DatasetInput(
        name=name,
        digest=digest,
        context=string_field(body, "context") or "training",
        source=string_field(body, "source") or "",
        source_type=string_field(body, "source_type") or "",
        schema=body.get("schema"),
        row_count=int_field(body.get("row_count"), "row_count", 0, limits.MAX_STEP),
        profile=body.get("profile"),
    )


class DatasetsHandler(MMHandler):
    """``GET runs/{id}/datasets``: the datasets the run used; ``POST`` records one
    (``{name, digest, context, source, source_type, schema, row_count, profile}``; again is a
    no-op)."""

    auth_resource = "jupyter_mm:datasets"

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        rid = parse_run(run_id)
        found = await self.call_store(lambda store: store.get_run(rid))
        self.send_json({"run_id": rid, "datasets": [dataset_json(d) for d in found.datasets]})

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        rid = parse_run(run_id)
        dataset = dataset_input(json_object(self, DATASET_FIELDS))
        await self.call_store(lambda store: store.log_dataset(rid, dataset))
        self.send_json({"run_id": rid, "dataset": dataset_json(dataset)}, status=201)


class RunModelsHandler(RunsAPIHandler):
    """``GET runs/{id}/models``: the models the run holds, both kinds (``mm.log_model``'s and
    the ``mlflow`` client's logged models), each with the ``source`` that registers it, and the
    model versions registered from the run, newest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        rid = parse_run(run_id)
        self.send_json(await self.call_store(_run_models, rid))


def _run_models(store: Store, run_id: str) -> dict[str, Any]:
    import dataclasses

    from ...core.models.run_models import run_models
    from ...core.registry.lineage import version_json

    models = run_models(store, run_id)
    versions, _ = store.search_model_versions(
        filter=f"run_id = '{run_id}'", order_by=["creation_timestamp DESC"]
    )
    return {
        "run_id": run_id,
        "models": [dataclasses.asdict(m) for m in models],
        "versions": [version_json(v) for v in versions],
    }
