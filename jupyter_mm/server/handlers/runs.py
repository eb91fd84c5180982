"""``jupyter-mm/api/runs``: search, read, update, delete/restore runs; batch logging; tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core import limits
from ...errors import InvalidInput
from .base import MMHandler
from .common import (
    DEFAULT_MAX_RESULTS,
    MAX_BATCH_JSON_BYTES,
    NON_FINITE_STRINGS,
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


class RunsHandler(MMHandler):
    """``GET runs?experiment_ids=&filter=&order_by=&max_results=&page_token=&view=&columns=``."""

    auth_resource = "jupyter_mm:runs"

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


class RunsSearchHandler(MMHandler):
    """``POST runs/search`` with the query of ``GET runs`` as a JSON body (lists as lists)."""

    auth_resource = "jupyter_mm:runs"

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


def _set_stage(store: Store, rid: str, deleted: bool) -> dict[str, Any]:
    if deleted:
        store.delete_run(rid)
    else:
        store.restore_run(rid)
    return run_json(store.get_run(rid))


class RunHandler(MMHandler):
    """One run: ``GET``; ``PATCH {name, notes, status, end_time, tags}``; ``DELETE`` (marks it
    deleted; ``POST runs/{id}/restore`` undoes it)."""

    auth_resource = "jupyter_mm:runs"

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        rid = parse_run(run_id)
        self.send_json(run_json(await self.call_store(lambda store: store.get_run(rid))))

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
        rid = parse_run(run_id)
        self.send_json(await self.call_store(_set_stage, rid, True))


class RunRestoreHandler(MMHandler):
    auth_resource = "jupyter_mm:runs"

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        rid = parse_run(run_id)
        self.send_json(await self.call_store(_set_stage, rid, False))


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


def metric_points(metrics: Any, now: int) -> list[tuple[str, float, int, int]]:
    if metrics is None:
        return []
    if not isinstance(metrics, list):
        raise InvalidInput("'metrics' must be a list of {key, value, step, timestamp}")
    if len(metrics) > limits.MAX_BATCH_METRICS:
        raise InvalidInput(
            f"too many metric points in one batch: {len(metrics)}; the limit is "
            f"{limits.MAX_BATCH_METRICS}"
        )
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


class LogBatchHandler(MMHandler):
    """``POST runs/{id}/log-batch {metrics: [{key, value, step, timestamp}], params, tags}``.

    All or nothing. ``value`` may be ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; ``step``
    defaults to 0 and ``timestamp`` to now (ms).
    """

    auth_resource = "jupyter_mm:runs"

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        from ...core.store import now_ms

        rid = parse_run(run_id)
        body = json_object(self, ("metrics", "params", "tags"), limit=MAX_BATCH_JSON_BYTES)
        points = metric_points(body.get("metrics"), now_ms())
        params = string_map(body.get("params"), "params")
        tags = string_map(body.get("tags"), "tags")

        def write(store: Store) -> dict[str, Any]:
            store.log_batch(rid, metrics=points, params=params, tags=tags)
            if not (points or params or tags):
                store.get_run(rid)  # an empty batch still says whether the run exists
            return {"run_id": rid, "metrics": len(points), "params": len(params), "tags": len(tags)}

        self.send_json(await self.call_store(write))


class RunTagHandler(MMHandler):
    """``DELETE runs/{id}/tags/{key}``."""

    auth_resource = "jupyter_mm:runs"

    @tornado.web.authenticated
    @authorized
    async def delete(self, run_id: str, key: str) -> None:
        rid = parse_run(run_id)
        await self.call_store(lambda store: store.delete_tag(rid, key))
        self.send_json({"run_id": rid, "deleted": key})


class DatasetsHandler(MMHandler):
    """``GET runs/{id}/datasets``: the datasets the run used."""

    auth_resource = "jupyter_mm:datasets"

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        rid = parse_run(run_id)
        found = await self.call_store(lambda store: store.get_run(rid))
        self.send_json({"run_id": rid, "datasets": [dataset_json(d) for d in found.datasets]})
