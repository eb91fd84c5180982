"""A client's mistake is a 400 in the route's own error shape, never a 5xx, on both servers.

The route tables come from the contracts, not from a hand-written list: the REST routes from
``openapi.yaml`` (fields from each operation's request schema and query parameters), the MLflow
routes from the ``mlflow`` package's own protobuf descriptors (the fields the real client sends),
restricted to the RPCs this server implements. Each route gets the payload classes that used to
reach the store unchecked: JSON nested 100,000 deep, a lone UTF-16 surrogate in any string,
integers past 64 bits (page-token offsets, times, steps, metric values), and values of the wrong
JSON type. Every reply is a 400 (or another 4xx) with ``{error_code, message}``, and the server log
holds no traceback.

Both servers are started once per module: a Jupyter server with the extension on SQLite, and the
team server on PostgreSQL.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

import jupyter_mm.server
from jupyter_mm.core import limits
from jupyter_mm.server.mlflow import registry as mlflow_registry
from jupyter_mm.server.mlflow import tracking as mlflow_tracking
from tests.support.postgres import create_database

from .live import LiveServer, jupyter_server, team_server

SPEC = yaml.safe_load((Path(jupyter_mm.server.__file__).parent / "openapi.yaml").read_text())
TOKEN = "bad-input-token"
SURROGATE = "\ud800"
#: 400 digits: past every integer column and every float.
HUGE = int("9" * 400)
DEEP_ARRAY = b"[" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000
#: Values of the wrong kind or size for any field.
BAD_VALUES: list[Any] = [SURROGATE, 2**63, -(2**63) - 1, HUGE, [], {}, True, [[[[SURROGATE]]]]]
MLFLOW_CODES = {"INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST"}


@dataclass
class Seeded:
    """A server and the records the cases point at, so each bad field is reached with every
    other field valid."""

    server: LiveServer
    experiment_id: str
    run_id: str
    model: str
    logged_model: str

    @property
    def kind(self) -> str:
        return self.server.kind


def _ok(r: requests.Response) -> Any:
    assert r.status_code in (200, 201), (r.request.method, r.request.url, r.status_code, r.text)
    return r.json()


def _seed(server: LiveServer) -> Seeded:
    api, mlf = server.api, f"{server.mlflow}api/2.0/mlflow/"
    eid = _ok(server.request("POST", f"{api}experiments", {"name": "bad-input"}))["id"]
    run = _ok(server.request("POST", f"{api}runs", {"experiment_id": eid, "name": "r"}))
    rid = run["id"]
    batch = {"metrics": [{"key": "m", "value": 1.0, "step": 0}], "params": {"p": "1"}}
    _ok(server.request("POST", f"{api}runs/{rid}/log-batch", batch))
    mlmodel = f"{api}runs/{rid}/artifacts/models/m/MLmodel"
    assert server.request("PUT", mlmodel, raw=b"flavors: {}\n").status_code in (200, 201)
    _ok(server.request("POST", f"{api}registry/models", {"name": "bm"}))
    source = {"source": f"runs:/{rid}/models/m"}
    _ok(server.request("POST", f"{api}registry/models/bm/versions", source))
    _ok(server.request("PUT", f"{api}registry/models/bm/aliases/champion", {"version": 1}))
    logged = _ok(
        server.request(
            "POST",
            f"{mlf}logged-models",
            {"experiment_id": eid, "name": "lm", "source_run_id": rid},
        )
    )["model"]["info"]["model_id"]
    return Seeded(server, eid, rid, "bm", logged)


@pytest.fixture(
    scope="module", params=["jupyter", pytest.param("team", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    root = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    if request.param == "jupyter":
        cm = jupyter_server(root, str(root / "store"), TOKEN)
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        cm = team_server(root, create_database(admin, "mm_bad_input"), TOKEN)
    with cm as server:
        yield _seed(server)
        out = server.output()
    assert "Traceback" not in out, out[-5000:]


class NoTraceback:
    """Asserts that the server logged no traceback while the block ran."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    def __enter__(self) -> None:
        self.start = self.server.log_size()

    def __exit__(self, *exc: Any) -> None:
        logged = self.server.log_since(self.start)
        assert "Traceback" not in logged, logged[-4000:]


def _refused(r: requests.Response, family: str, what: Any) -> None:
    """A 400 in the family's error shape."""
    assert r.status_code == 400, (what, r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/json"), what
    body = r.json()
    if family == "mlflow":
        assert set(body) == {"error_code", "message"}, (what, body)
        assert body["error_code"] in MLFLOW_CODES, (what, body)
    else:
        assert {"error_code", "message"} <= set(body), (what, body)
        assert body["error_code"] in ("INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST"), (what, body)


def _not_a_server_error(r: requests.Response) -> str | None:
    """What is wrong with a reply to bad input, or None."""
    if r.status_code >= 500:
        return f"{r.status_code} {r.text[:300]}"
    if r.status_code >= 400:
        try:
            body = r.json()
        except ValueError:
            return f"{r.status_code} not JSON: {r.text[:200]}"
        if not isinstance(body, dict) or not {"error_code", "message"} <= set(body):
            return f"{r.status_code} not an error object: {r.text[:200]}"
    return None


# --- the route tables ------------------------------------------------------------------------

_METHODS = ("get", "put", "post", "patch", "delete")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, kind, name = node["$ref"].lstrip("#/").split("/")
        node = SPEC["components"][kind][name]
    return node


@dataclass(frozen=True)
class Route:
    family: str  # "rest" or "mlflow"
    method: str
    path: str  # a template: {run_id}, {experiment_id}, {name}, ... filled from Seeded
    body_fields: tuple[str, ...] = ()
    query_fields: tuple[str, ...] = ()
    json_body: bool = False

    @property
    def id(self) -> str:
        return f"{self.family}:{self.method} {self.path}"


def _rest_routes() -> list[Route]:
    out = []
    for path, item in SPEC["paths"].items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [_resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
            query = tuple(p["name"] for p in params if p["in"] == "query")
            content = op.get("requestBody", {}).get("content", {})
            fields: tuple[str, ...] = ()
            if "application/json" in content:
                schema = _resolve(content["application/json"]["schema"])
                fields = tuple(schema.get("properties", {}))
            out.append(
                Route("rest", method.upper(), path, fields, query, "application/json" in content)
            )
    return out


def _mlflow_fields() -> dict[tuple[str, str], tuple[str, ...]]:
    """(method, rpc) -> the request message's fields, from mlflow's protobuf descriptors."""
    from mlflow.protos import databricks_pb2, model_registry_pb2, service_pb2

    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for service in (service_pb2.MlflowService, model_registry_pb2.ModelRegistryService):
        for method in service.DESCRIPTOR.methods:
            rpc = method.GetOptions().Extensions[databricks_pb2.rpc]
            fields = tuple(f.name for f in method.input_type.fields)
            for endpoint in rpc.endpoints:
                if endpoint.path.startswith("/mlflow/"):
                    out[(endpoint.method, endpoint.path[len("/mlflow/") :])] = fields
    return out


def _mlflow_routes() -> list[Route]:
    fields = _mlflow_fields()
    implemented = [*mlflow_tracking.ROUTES, *mlflow_registry.ROUTES]
    implemented += [
        ("GET", "logged-models/{model_id}"),
        ("PATCH", "logged-models/{model_id}"),
        ("PATCH", "logged-models/{model_id}/tags"),
        ("POST", "logged-models/{model_id}/params"),
        ("DELETE", "logged-models/{model_id}/tags/{tag_key}"),
        ("DELETE", "logged-models/{model_id}"),  # last: it deletes the seeded logged model
    ]
    # MLflow's UI-only routes (handlers without a protobuf message): their refusals are tested in
    # tests/server/test_mlflow_compat.py
    ui_only = {("POST", "experiments/search-datasets"), ("GET", "metrics/get-history-bulk")}
    out = []
    for method, rpc in implemented:
        if (method, rpc) in ui_only:
            continue
        names = fields.get((method, rpc)) or fields.get(("POST", rpc)) or fields.get(("GET", rpc))
        assert names is not None, f"mlflow has no message for {method} {rpc}"
        names = tuple(n for n in names if f"{{{n}}}" not in rpc)
        get = method == "GET"
        out.append(
            Route("mlflow", method, rpc, () if get else names, names if get else (), not get)
        )
    return out


REST_ROUTES = _rest_routes()
MLFLOW_ROUTES = _mlflow_routes()
ROUTES = REST_ROUTES + MLFLOW_ROUTES
JSON_ROUTES = [r for r in ROUTES if r.json_body]

#: A valid value of each field name, so a case reaches the field it spoils.
GOOD: dict[str, Any] = {
    "key": "k",
    "value": "v",
    "metric_key": "m",
    "timestamp": 1,
    "step": 0,
    "max_results": 5,
    "alias": "champion",
    "version": "1",
    "stage": "Staging",
    "status": "FINISHED",
    "comment": "c",
    "description": "d",
    "filter": "",
    "decision": "request",
    "kind": "git",
    "path": "models/m/MLmodel",
    "digest": "0" * 64,
}


def _good(seeded: Seeded, name: str) -> Any:
    ids = {
        "run_id": seeded.run_id,
        "run_uuid": seeded.run_id,
        "source_run_id": seeded.run_id,
        "experiment_id": seeded.experiment_id,
        "experiment_ids": [seeded.experiment_id],
        "run_ids": [seeded.run_id],
        "name": seeded.model,
        "model_id": seeded.logged_model,
        "source": f"runs:/{seeded.run_id}/models/m",
    }
    return ids.get(name, GOOD.get(name, "x"))


def _url(seeded: Seeded, route: Route) -> str:
    if route.family == "mlflow":
        path = route.path.replace("{model_id}", seeded.logged_model).replace("{tag_key}", "k")
        return f"{seeded.server.mlflow}api/2.0/mlflow/{path}"
    path = route.path
    for name in ("run_id", "experiment_id", "name", "version", "alias", "decision", "kind"):
        path = path.replace(f"{{{name}}}", str(_good(seeded, name)))
    path = path.replace("{key}", "t").replace("{path}", "dir/f.txt").replace("{digest}", "0" * 64)
    return seeded.server.api + path.lstrip("/")


def _send(seeded: Seeded, route: Route, field: str | None, bad: Any) -> requests.Response:
    """The route with every field valid but ``field`` set to ``bad``."""
    url = _url(seeded, route)
    if route.json_body:
        body = {f: _good(seeded, f) for f in route.body_fields if f not in ("new_name", "tags")}
        if field is not None:
            body[field] = bad
        return seeded.server.request(route.method, url, body)
    params = {f: str(_good(seeded, f)) for f in route.query_fields if f in GOOD}
    if field is not None:
        params[field] = bad
    return seeded.server.session.request(route.method, url, params=params, timeout=60)


# --- the cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.id)
def test_deeply_nested_json_is_a_400(seeded: Seeded, route: Route) -> None:
    url = _url(seeded, route)
    with NoTraceback(seeded.server):
        over = b"[" * (limits.MAX_JSON_DEPTH + 1) + b"]" * (limits.MAX_JSON_DEPTH + 1)
        for raw in (DEEP_ARRAY, DEEP_OBJECT, over):
            r = seeded.server.request(route.method, url, raw=raw)
            _refused(r, route.family, raw[:8])
            assert "nested" in r.json()["message"], r.json()


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.id)
def test_a_lone_surrogate_anywhere_in_a_body_is_a_400(seeded: Seeded, route: Route) -> None:
    with NoTraceback(seeded.server):
        for field in route.body_fields or ("anything",):
            r = _send(seeded, route, field, SURROGATE)
            _refused(r, route.family, field)
            assert "surrogate" in r.json()["message"], (field, r.json())
            # inside a structure too, and as a key
            r = _send(seeded, route, field, [{"key": "k", "value": "a" + SURROGATE}])
            _refused(r, route.family, field)
        r = seeded.server.request(route.method, _url(seeded, route), {SURROGATE: 1})
        _refused(r, route.family, "key")


def _tokens(offset: Any) -> list[str]:
    payload = json.dumps({"phase": 0, "offset": offset}).encode()
    return [base64.urlsafe_b64encode(payload).decode(), base64.b64encode(payload).decode()]


BAD_TOKENS = [
    *_tokens(10**23),
    *_tokens(-1),
    *_tokens(1e23),
    *_tokens(HUGE),
    "not a token",
    base64.b64encode(b"[1, 2]").decode(),
    base64.b64encode(b"\xff\xfe").decode(),
    "%%%",
]
PAGED = [
    r
    for r in ROUTES
    if "page_token" in r.body_fields + r.query_fields
    and r.path not in ("artifacts/list",)  # MLflow ignores it there (one page), as we do
]


@pytest.mark.parametrize("route", PAGED, ids=lambda r: r.id)
def test_bad_page_tokens_are_a_400(seeded: Seeded, route: Route) -> None:
    assert len(PAGED) >= 10
    with NoTraceback(seeded.server):
        for token in BAD_TOKENS:
            _refused(_send(seeded, route, "page_token", token), route.family, token)


def _mlflow(seeded: Seeded, rpc: str, body: dict[str, Any], method: str = "POST") -> Any:
    url = f"{seeded.server.mlflow}api/2.0/mlflow/{rpc}"
    if method == "GET":
        return seeded.server.session.get(url, params=body, timeout=60)
    return seeded.server.request(method, url, body)


def test_integers_past_64_bits_are_a_400(seeded: Seeded) -> None:
    run, exp, api = seeded.run_id, seeded.experiment_id, seeded.server.api
    point = {"run_id": run, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    mlflow_cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "runs/create", {"experiment_id": exp, "start_time": 2**63}),
        ("POST", "runs/create", {"experiment_id": exp, "start_time": -(2**63) - 1}),
        ("POST", "runs/update", {"run_id": run, "end_time": 2**63}),
        ("POST", "runs/log-metric", {**point, "value": HUGE}),
        ("POST", "runs/log-metric", {**point, "value": -HUGE}),
        ("POST", "runs/log-metric", {**point, "timestamp": 2**63}),
        ("POST", "runs/log-metric", {**point, "step": 2**63}),
        ("POST", "runs/log-metric", {**point, "step": -(2**63) - 1}),
        ("POST", "runs/log-batch", {"run_id": run, "metrics": [{**point, "value": HUGE}]}),
        ("POST", "runs/log-batch", {"run_id": run, "metrics": [{**point, "timestamp": HUGE}]}),
        ("POST", "runs/log-batch", {"run_id": run, "metrics": [{**point, "step": 2**64}]}),
        ("POST", "runs/search", {"experiment_ids": [exp], "max_results": 2**70}),
        ("POST", "experiments/search", {"max_results": HUGE}),
        ("POST", "registered-models/search", {"max_results": 2**64}),
        ("POST", "model-versions/search", {"max_results": 2**64}),
        ("POST", "logged-models/search", {"experiment_ids": [exp], "max_results": 2**64}),
        ("GET", "metrics/get-history", {"run_id": run, "metric_key": "m", "max_results": HUGE}),
        ("GET", "metrics/get-history-bulk-interval",
         {"run_ids": run, "metric_key": "m", "start_step": 2**70}),
        ("GET", "model-versions/get", {"name": seeded.model, "version": "9" * 30}),
        ("POST", "model-versions/transition-stage",
         {"name": seeded.model, "version": str(2**64), "stage": "Staging"}),
        ("POST", "registered-models/alias", {"name": seeded.model, "alias": "a", "version": HUGE}),
        ("GET", "experiments/get", {"experiment_id": "9" * 30}),
        ("POST", "experiments/delete", {"experiment_id": "9" * 30}),
    ]  # fmt: skip
    rest_cases: list[tuple[str, str, Any]] = [
        ("POST", f"runs/{run}/log-batch", {"metrics": [{"key": "m", "value": 1, "step": 2**63}]}),
        ("POST", f"runs/{run}/log-batch",
         {"metrics": [{"key": "m", "value": 1, "timestamp": 2**63}]}),
        ("POST", f"runs/{run}/log-batch", {"metrics": [{"key": "m", "value": HUGE}]}),
        ("PATCH", f"runs/{run}", {"end_time": 2**63}),
        ("POST", f"runs/{run}/end", {"end_time": 2**63}),
        ("POST", "runs", {"experiment_id": exp, "start_time": 2**63}),
        ("POST", "runs/search", {"max_results": 2**70}),
        ("GET", "runs?max_results=" + "9" * 30, None),
        ("GET", "registry/models?max_results=" + "9" * 30, None),
        ("POST", "metrics/history", {"run_ids": [run], "max_points": 2**70}),
        ("PUT", "registry/models/bm/aliases/a", {"version": 2**64}),
        ("GET", "registry/models/bm/versions/" + "9" * 30, None),
        ("GET", "registry/audit?limit=" + "9" * 30, None),
        ("GET", "experiments/" + "9" * 30, None),
    ]  # fmt: skip
    with NoTraceback(seeded.server):
        for method, rpc, body in mlflow_cases:
            r = _mlflow(seeded, rpc, body, method)
            _refused(r, "mlflow", (method, rpc, body))
        for method, path, body in rest_cases:
            r = seeded.server.request(method, api + path, body)
            assert r.status_code in (400, 404), (method, path, r.status_code, r.text[:300])
            assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    # nothing of those was stored
    got = seeded.server.request("GET", f"{api}runs/{run}").json()
    assert got["end_time"] is None and got["status"] == "RUNNING", got


def test_a_refused_batch_writes_nothing(seeded: Seeded) -> None:
    run, api = seeded.run_id, seeded.server.api
    before = seeded.server.request("GET", f"{api}runs/{run}").json()
    with NoTraceback(seeded.server):
        r = seeded.server.request(
            "POST",
            f"{api}runs/{run}/log-batch",
            {"params": {"half": "1"}, "tags": {"t": "x"}, "metrics": [{"key": "m", "value": HUGE}]},
        )
        _refused(r, "rest", "log-batch")
        r = _mlflow(
            seeded,
            "runs/log-batch",
            {
                "run_id": run,
                "params": [{"key": "half2", "value": "1"}],
                "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 2**63}],
            },
        )
        _refused(r, "mlflow", "log-batch")
        # A lone surrogate after a good param: the old code wrote nothing either, but only
        # because the SQLite write failed (a 500), so these cases are the ones that guard the fix.
        r = seeded.server.request(
            "POST",
            f"{api}runs/{run}/log-batch",
            {"params": {"half3": "1"}, "tags": {"t": SURROGATE}},
        )
        _refused(r, "rest", "log-batch surrogate")
        r = _mlflow(
            seeded,
            "runs/log-batch",
            {
                "run_id": run,
                "params": [{"key": "half4", "value": "1"}],
                "tags": [{"key": "t", "value": SURROGATE}],
            },
        )
        _refused(r, "mlflow", "log-batch surrogate")
    after = seeded.server.request("GET", f"{api}runs/{run}").json()
    assert after["params"] == before["params"] and after["tags"] == before["tags"], after
    assert after["metrics"] == before["metrics"], after


def test_wrong_json_types_for_the_whole_body_are_a_400(seeded: Seeded) -> None:
    failures = []
    with NoTraceback(seeded.server):
        for route in JSON_ROUTES:
            for raw in (b"[]", b'"x"', b"1", b"null", b"[{}]", b"1e999", b"{]"):
                r = seeded.server.request(route.method, _url(seeded, route), raw=raw)
                problem = _not_a_server_error(r)
                if problem:
                    failures.append(f"{route.id} {raw!r}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_no_bad_field_value_is_a_server_error(seeded: Seeded, route: Route) -> None:
    """Every field of every route, spoiled one at a time with each of BAD_VALUES."""
    failures = []
    fields = route.body_fields if route.json_body else route.query_fields
    values = BAD_VALUES if route.json_body else ["9" * 400, "-" + "9" * 30, "x", "", "[]"]
    with NoTraceback(seeded.server):
        for field in fields:
            for bad in values:
                r = _send(seeded, route, field, copy.deepcopy(bad))
                problem = _not_a_server_error(r)
                if problem:
                    failures.append(f"{field}={str(bad)[:20]!r}: {problem}")
    assert not failures, route.id + "\n" + "\n".join(failures)
