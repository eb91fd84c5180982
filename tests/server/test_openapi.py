"""``jupyter_mm/server/openapi.yaml`` is the contract of the REST API.

(a) the spec is valid OpenAPI 3.0; (b) it describes exactly the routes and verbs the extension
registers under ``jupyter-mm/api/``; (c) the responses of a scripted session validate against its
schemas (``jsonschema``); (d) schemathesis fuzzes a live server: no 5xx, every response in the spec.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest
import yaml

import jupyter_mm.server
from jupyter_mm.core import records
from jupyter_mm.core.store import Store

from .helpers import implemented_verbs, is_public_by_design, mm_routes, parquet_bytes
from .test_api_common import open_store

SPEC_PATH = Path(jupyter_mm.server.__file__).parent / "openapi.yaml"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


# --- (a) ----------------------------------------------------------------------------------------


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    try:
        from openapi_spec_validator import validate
    except ImportError:  # pragma: no cover - structural checks only
        validate = None
    if validate is not None:
        validate(spec)
    assert spec["openapi"].startswith("3.0")
    refs = set(re.findall(r"#/components/(\w+)/(\w+)", json.dumps(spec)))
    for kind, name in refs:
        assert name in spec["components"][kind], f"dangling $ref {kind}/{name}"
    for path, item in spec["paths"].items():
        params = set(re.findall(r"\{(\w+)\}", path))
        for method in set(item) & set(METHODS):
            op = item[method]
            assert op.get("operationId"), (path, method)
            assert op["x-auth-resource"].startswith("jupyter_mm:"), (path, method)
            assert "responses" in op and "401" in op["responses"], (path, method)
            declared = {
                _resolve(spec, p)["name"]
                for p in item.get("parameters", []) + op.get("parameters", [])
                if _resolve(spec, p)["in"] == "path"
            }
            assert declared == params, (path, method, declared, params)


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, kind, name = node["$ref"].lstrip("#/").split("/")
        node = spec["components"][kind][name]
    return node


# --- (b) ----------------------------------------------------------------------------------------


def route_template(pattern: str) -> str:
    """``/base/jupyter-mm/api/runs/(?P<run_id>[^/]+)/x$`` -> ``/runs/{run_id}/x``."""
    path = pattern.rstrip("$").split("/jupyter-mm/api", 1)[1]
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)


def test_every_route_is_in_the_spec_and_vice_versa(jp_web_app, spec: dict[str, Any]) -> None:
    registered: dict[tuple[str, str], str] = {}
    for pattern, handler in mm_routes(jp_web_app):
        if "/jupyter-mm/api/" not in pattern:
            continue  # the MLflow routes follow MLflow's own protocol
        template = route_template(pattern)
        for verb in implemented_verbs(handler):
            if is_public_by_design(handler, verb):
                continue  # jupyter_server's CORS preflight
            registered[(template, verb.lower())] = handler.auth_resource
    described = {
        (path, method): op["x-auth-resource"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }
    assert sorted(set(registered) - set(described)) == [], "routes missing from openapi.yaml"
    assert sorted(set(described) - set(registered)) == [], "openapi.yaml describes missing routes"
    assert registered == described, "x-auth-resource differs from the handler's auth_resource"


# --- (c) ----------------------------------------------------------------------------------------


def _jsonschema(schema: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable`` becomes a ``null`` type."""
    if isinstance(schema, list):
        return [_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _jsonschema(v) for k, v in schema.items() if k not in ("nullable", "example")}
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        for key in ("oneOf", "anyOf"):
            if key in out:
                out[key] = [*out[key], {"type": "null"}]
    if out.get("format") == "binary":
        out.pop("format")
    return out


class Contract:
    """Validates responses against the spec and records which operations were seen."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = _jsonschema(copy.deepcopy(spec["components"]))
        self.seen: set[tuple[str, str, int]] = set()

    def check(self, method: str, template: str, code: int, headers: Any, body: bytes) -> None:
        op = self.spec["paths"][template][method.lower()]
        responses = op["responses"]
        assert str(code) in responses, f"{method} {template} answered {code}, not in the spec"
        response = _resolve(self.spec, responses[str(code)])
        content = response.get("content", {})
        ctype = headers.get("Content-Type", "").split(";")[0]
        if "application/json" in content:
            assert ctype == "application/json", (method, template, code, ctype)
            schema = {**content["application/json"]["schema"], "components": self.components}
            jsonschema.validate(json.loads(body), _jsonschema(schema))
        else:
            assert ctype in content or "*/*" in content or not content, (method, template, code)
        for name in response.get("headers", {}):
            assert name in headers, (method, template, code, name)
        self.seen.add((template, method.lower(), code))


async def test_scripted_responses_match_the_spec(
    jp_fetch, jp_serverapp, spec: dict[str, Any]
) -> None:
    contract = Contract(spec)

    async def req(method: str, template: str, *parts: str, body: Any = None, **kw: Any) -> Any:
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        r = await jp_fetch(
            "jupyter-mm", "api", *parts, method=method, body=body, raise_error=False, **kw
        )
        contract.check(method, template, r.code, r.headers, r.body)
        return (
            json.loads(r.body)
            if r.body and r.headers.get("Content-Type", "").startswith("application/json")
            else r.body
        )

    await req("GET", "/status", "status", params={"version": "0.0.1"})
    await req("GET", "/experiments", "experiments", params={"view": "all"})
    await req("GET", "/experiments", "experiments", params={"view": "bad"})
    exp = await req("POST", "/experiments", "experiments", body={"name": "e", "tags": {"a": 1}})
    await req("POST", "/experiments", "experiments", body={"name": "e"})
    await req("POST", "/experiments", "experiments", body="x" * (2 * 1024 * 1024))
    eid = exp["id"]
    await req("GET", "/experiments/{experiment_id}", "experiments", eid)
    await req("GET", "/experiments/{experiment_id}", "experiments", "777")
    await req("GET", "/experiments/{experiment_id}", "experiments", "x")
    await req("PATCH", "/experiments/{experiment_id}", "experiments", eid, body={"name": "f"})
    goc = "/experiments/get-or-create"
    await req("POST", goc, "experiments", "get-or-create", body={"name": "f"})
    await req("POST", goc, "experiments", "get-or-create", body={"name": "g"})
    await req("POST", goc, "experiments", "get-or-create", body={})
    await req("DELETE", "/experiments/{experiment_id}", "experiments", eid)
    await req("POST", "/experiments/{experiment_id}/restore", "experiments", eid, "restore")

    with open_store() as store:
        parent = store.create_run(eid, name="parent").id
        rid = store.create_run(
            eid, name="child", parent_run_id=parent, params={"p": 1}, tags={"t": "v"}
        ).id
        store.log_batch(rid, metrics=[("m", float("nan"), 0, 1), ("m", 1.0, 1, 2)])
        store.log_artifact(rid, "a/b.txt", b"hello")
        store.log_artifact(rid, records.GIT, json.dumps({"commit": "abc"}).encode())
    await req("GET", "/runs", "runs", params={"max_results": "1", "columns": "name,metrics.m"})
    made = await req(
        "POST",
        "/runs",
        "runs",
        body={"experiment_name": "remote", "run_id": "ab" * 16, "params": {"p": 2}, "user": "u"},
    )
    await req("POST", "/runs", "runs", body={"run_id": made["id"]})  # a repeat: 400
    await req("POST", "/runs", "runs", body={"experiment_id": "424242"})  # 404
    await req("POST", "/runs/{run_id}/heartbeat", "runs", made["id"], "heartbeat", body=b"")
    await req("POST", "/runs/{run_id}/heartbeat", "runs", "0" * 32, "heartbeat", body=b"")
    dataset = {"name": "train", "digest": "c" * 64, "schema": {"x": "int64"}, "row_count": 3}
    await req("POST", "/runs/{run_id}/datasets", "runs", made["id"], "datasets", body=dataset)
    await req("POST", "/runs/{run_id}/datasets", "runs", made["id"], "datasets", body={})
    end = "/runs/{run_id}/end"
    final = {"metrics": [{"key": "m", "value": "NaN"}], "batch_id": "end-1", "status": "KILLED"}
    await req("POST", end, "runs", made["id"], "end", body=final)
    await req("POST", end, "runs", made["id"], "end", body=final)  # a repeat: applied false
    await req("POST", end, "runs", made["id"], "end", body={"status": "DONE"})
    await req("GET", "/runs/{run_id}", "runs", made["id"])
    await req("GET", "/runs", "runs", params={"filter": "params.p = '1'"})
    await req("GET", "/runs", "runs", params={"filter": "params.p =="})
    page = await req("POST", "/runs/search", "runs", "search", body={"max_results": 1})
    await req(
        "POST", "/runs/search", "runs", "search", body={"page_token": page["next_page_token"]}
    )
    await req("POST", "/runs/search", "runs", "search", body={"columns": "x"})
    await req("GET", "/runs/{run_id}", "runs", rid)
    await req("GET", "/runs/{run_id}", "runs", "0" * 32)
    await req("GET", "/runs/{run_id}", "runs", "zzz")
    await req("PATCH", "/runs/{run_id}", "runs", rid, body={"notes": "n", "status": "FAILED"})
    await req(
        "POST",
        "/runs/{run_id}/log-batch",
        "runs",
        rid,
        "log-batch",
        body={"metrics": [{"key": "m", "value": "Infinity", "step": 2}], "params": {"q": "x"}},
    )
    await req(
        "POST",
        "/runs/{run_id}/log-batch",
        "runs",
        rid,
        "log-batch",
        body={"metrics": [{"key": "m", "value": 3}], "batch_id": "b-1"},
    )
    await req(
        "POST", "/runs/{run_id}/log-batch", "runs", rid, "log-batch", body={"batch_id": "b/1"}
    )
    await req("POST", "/runs/{run_id}/log-batch", "runs", rid, "log-batch", body={"params": 1})
    await req("DELETE", "/runs/{run_id}/tags/{key}", "runs", rid, "tags", "t")
    await req("DELETE", "/runs/{run_id}/tags/{key}", "runs", rid, "tags", "t")
    await req("GET", "/runs/{run_id}/datasets", "runs", rid, "datasets")
    await req("GET", "/runs/{run_id}/models", "runs", rid, "models")
    await req(
        "POST", "/metrics/history", "metrics", "history", body={"run_ids": [rid], "max_points": 5}
    )
    await req("POST", "/metrics/history", "metrics", "history", body={"run_ids": []})
    await req("POST", "/metrics/history", "metrics", "history", body={"run_ids": ["0" * 32]})
    await req("GET", "/runs/{run_id}/artifacts", "runs", rid, "artifacts")
    await req("GET", "/runs/{run_id}/artifacts", "runs", rid, "artifacts", params={"path": "a"})
    await req("GET", "/runs/{run_id}/artifacts/{path}", "runs", rid, "artifacts", "a/b.txt")
    await req(
        "GET",
        "/runs/{run_id}/artifacts/{path}",
        "runs",
        rid,
        "artifacts",
        "a/b.txt",
        headers={"Range": "bytes=1-2"},
    )
    await req(
        "GET",
        "/runs/{run_id}/artifacts/{path}",
        "runs",
        rid,
        "artifacts",
        "a/b.txt",
        headers={"Range": "bytes=9-"},
    )
    await req("GET", "/runs/{run_id}/artifacts/{path}", "runs", rid, "artifacts", "nope")
    rows = "/runs/{run_id}/artifact-rows/{path}"
    with open_store() as store:
        store.log_artifact(rid, "t.parquet", parquet_bytes({"x": [1, 2, 3]}))
    await req("GET", rows, "runs", rid, "artifact-rows", "t.parquet", params={"max_rows": "2"})
    await req("GET", rows, "runs", rid, "artifact-rows", "a/b.txt")  # 400: not Parquet
    await req("GET", rows, "runs", rid, "artifact-rows", "nope")  # 404
    await req("PUT", "/runs/{run_id}/artifacts/{path}", "runs", rid, "artifacts", "c", body=b"1")
    await req("PUT", "/runs/{run_id}/artifacts/{path}", "runs", rid, "artifacts", "a", body=b"1")
    blob = hashlib.sha256(b"blob").hexdigest()
    await req("HEAD", "/blobs/{digest}", "blobs", blob)
    await req("POST", "/blobs/missing", "blobs", "missing", body={"digests": [blob, "0" * 64]})
    await req("POST", "/blobs/missing", "blobs", "missing", body={"digests": ["ABC"]})
    await req("HEAD", "/blobs/{digest}", "blobs", "ABC")
    await req("PUT", "/blobs/{digest}", "blobs", "ABC", body=b"blob")
    await req("PUT", "/blobs/{digest}", "blobs", blob, body=b"not the blob")
    await req("PUT", "/blobs/{digest}", "blobs", blob, body=b"blob")
    await req("HEAD", "/blobs/{digest}", "blobs", blob)
    index = "/runs/{run_id}/artifacts"
    await req(
        "POST", index, "runs", rid, "artifacts", body={"artifacts": [{"path": "d", "digest": blob}]}
    )
    await req(
        "POST",
        index,
        "runs",
        rid,
        "artifacts",
        body={"artifacts": [{"path": "e", "digest": "0" * 64}]},
    )
    await req(
        "POST",
        index,
        "runs",
        "f" * 32,
        "artifacts",
        body={"artifacts": [{"path": "e", "digest": blob}]},
    )
    await req("GET", "/runs/{run_id}/records/{kind}", "runs", rid, "records", "git")
    await req("GET", "/runs/{run_id}/records/{kind}", "runs", rid, "records", "cell")
    await req("GET", "/runs/{run_id}/snapshot", "runs", rid, "snapshot")
    await req("POST", "/runs/{run_id}/snapshot", "runs", rid, "snapshot", body={"phase": "x"})
    diff = "/runs/{run_id}/snapshot/diff"
    await req(
        "GET", diff, "runs", rid, "snapshot", "diff", params={"other": rid}
    )  # no snapshot: 404
    await req("GET", diff, "runs", rid, "snapshot", "diff", params={"other": "x"})  # bad id: 400
    await req("DELETE", "/runs/{run_id}", "runs", rid)
    await req("POST", "/runs/{run_id}/restore", "runs", rid, "restore")

    # the registry
    with open_store() as store:
        store.log_artifact(rid, "models/m/MLmodel", b"flavors: {}\n")
    models, model = "/registry/models", "/registry/models/{name}"
    versions, version = f"{model}/versions", f"{model}/versions/{{version}}"
    await req("POST", models, "registry", "models", body={"name": "cr", "tags": {"t": "v"}})
    await req("POST", models, "registry", "models", body={"name": "cr"})  # exists: 400
    await req("GET", models, "registry", "models", params={"filter": "name LIKE 'c%'"})
    await req("GET", models, "registry", "models", params={"filter": "name ="})
    await req("GET", model, "registry", "models", "cr")
    await req("GET", model, "registry", "models", "nope")
    await req("PATCH", model, "registry", "models", "cr", body={"description": "d"})
    await req("PATCH", model, "registry", "models", "cr", body={"name": "cr-2026"})  # a rename
    await req("PATCH", model, "registry", "models", "cr-2026", body={"name": "cr"})  # and back
    await req("PATCH", model, "registry", "models", "cr", body={"name": "c/r"})  # 400
    await req("PATCH", model, "registry", "models", "nope", body={"name": "n"})  # 404
    src = {"source": f"runs:/{rid}/models/m"}
    await req("POST", versions, "registry", "models", "cr", "versions", body=src)
    await req("POST", versions, "registry", "models", "cr", "versions", body={"source": ""})
    await req("GET", versions, "registry", "models", "cr", "versions")
    await req("GET", version, "registry", "models", "cr", "versions", "1")
    await req("GET", version, "registry", "models", "cr", "versions", "x")
    await req(
        "PATCH", version, "registry", "models", "cr", "versions", "1", body={"tags": {"k": 1}}
    )
    decide = f"{version}/approval/{{decision}}"
    path = ("registry", "models", "cr", "versions", "1", "approval")
    await req("POST", decide, *path, "request", body={"comment": "c", "evidence": ["e"]})
    await req("POST", decide, *path, "approve", body={"comment": "own"})  # four eyes: 403
    with open_store() as store:
        store.create_model_version("cr", "s3://b/m", actor="someone-else")
        store.request_approval("cr", 2, actor="someone-else", comment="please")
    path2 = ("registry", "models", "cr", "versions", "2", "approval")
    await req("POST", decide, *path2, "approve", body={"comment": "ok"})
    await req("POST", decide, *path2, "reject", body={})  # no comment: 400
    await req("POST", decide, *path2, "reject", body={"comment": "revoked"})
    alias, vpath = f"{model}/aliases/{{alias}}", ("registry", "models", "cr")
    await req("PUT", alias, *vpath, "aliases", "champion", body={"version": 1})
    await req("PUT", alias, *vpath, "aliases", "champion", body={"version": 9})  # 404
    await req("GET", alias, *vpath, "aliases", "champion", params={"at": "2020-01-01"})
    await req("GET", alias, *vpath, "aliases", "champion", params={"at": "never"})
    await req("GET", f"{alias}/history", *vpath, "aliases", "champion", "history")
    await req("DELETE", alias, *vpath, "aliases", "champion", params={"comment": "c"})
    await req("DELETE", alias, *vpath, "aliases", "champion")  # not set: 400
    await req("GET", f"{version}/lineage", *vpath, "versions", "1", "lineage")
    await req("GET", f"{version}/lineage", *vpath, "versions", "2", "lineage")
    repro = f"{version}/reproducibility"
    await req("GET", repro, *vpath, "versions", "1", "reproducibility")  # never checked: nulls
    with open_store() as store:
        from jupyter_mm.core.registry.reproducibility import record_reproducibility

        record_reproducibility(
            store, "cr", 1, {"passed": True, "tolerance": 1e-9}, {"metrics": []}, actor="a"
        )
    await req("GET", repro, *vpath, "versions", "1", "reproducibility")
    await req("GET", repro, *vpath, "versions", "9", "reproducibility")  # 404
    card = f"{version}/card"
    for fmt in ("markdown", "html", "json", "pdf"):
        await req("GET", card, *vpath, "versions", "1", "card", params={"format": fmt})
    await req("PATCH", card, *vpath, "versions", "1", "card", body={"intended_use": "<b>x</b>"})
    await req("PATCH", card, *vpath, "versions", "1", "card", body={"colour": "x"})
    life = f"{version}/lifecycle"
    await req("PUT", life, *vpath, "versions", "2", "lifecycle",
              body={"lifecycle": "deprecated", "reason": "v1 is better"})  # fmt: skip
    await req("PUT", life, *vpath, "versions", "2", "lifecycle", body={"lifecycle": "archived"})
    await req("PUT", life, *vpath, "versions", "9", "lifecycle", body={"lifecycle": "active"})
    ref = f"{version}/reference"
    await req("GET", ref, *vpath, "versions", "1", "reference")  # none yet: nulls
    prof = {"schema": "jupyter-mm.reference-profile", "schema_version": 1, "rows": 1}
    await req("PUT", ref, *vpath, "versions", "1", "reference", body={"profile": prof})
    await req("GET", ref, *vpath, "versions", "1", "reference")
    await req("PUT", ref, *vpath, "versions", "1", "reference", body={"profile": {"a": 1}})
    await req("PUT", ref, *vpath, "versions", "9", "reference", body={"profile": prof})  # 404
    mon = f"{model}/monitoring"  # evaluated monitors: tests/server/test_api_monitoring.py
    await req("GET", mon, *vpath, "monitoring")  # nothing evaluated: no-data
    await req("GET", mon, *vpath, "monitoring", params={"history": "0"})  # 400
    await req("GET", mon, "registry", "models", "nope", "monitoring")  # 404
    vmon = f"{version}/monitoring"  # evaluated: tests/server/test_api_monitoring.py
    await req("GET", vmon, *vpath, "versions", "1", "monitoring")  # nothing evaluated: nulls
    await req("GET", vmon, *vpath, "versions", "9", "monitoring")  # 404
    await req("GET", "/registry/audit", "registry", "audit", params={"model": "cr", "limit": "5"})
    await req("GET", "/registry/audit", "registry", "audit", params={"since": "x"})
    await req("GET", "/registry/audit/export", "registry", "audit", "export")
    await req("GET", "/registry/audit/verify", "registry", "audit", "verify")
    await req("GET", "/registry/policy", "registry", "policy")
    strict = {"approved_aliases_only": True, "comment": "validated models only"}
    await req("PUT", "/registry/policy", "registry", "policy", body=strict)
    await req("PUT", "/registry/policy", "registry", "policy", body={"four_eyes": "yes"})  # 400
    await req(
        "PUT", "/registry/policy", "registry", "policy", body={"approved_aliases_only": False}
    )
    policy = f"{model}/policy"
    await req("GET", policy, "registry", "models", "cr", "policy")
    await req("GET", policy, "registry", "models", "nope", "policy")  # 404
    await req("PUT", policy, "registry", "models", "cr", "policy", body={"four_eyes": False})
    await req("PUT", policy, "registry", "models", "cr", "policy", body={"colour": 1})  # 400
    rpolicy, rts = f"{model}/retraining-policy", f"{model}/retrainings"
    rp = ("registry", "models", "cr", "retraining-policy")
    await req("GET", rpolicy, *rp)  # no policy: null
    await req("GET", rpolicy, "registry", "models", "nope", "retraining-policy")  # 404
    ok_policy = {"triggers": ["manual"], "run_id": rid, "gate": [{"metric": "m", "threshold": 1}]}
    await req("PUT", rpolicy, *rp, body={"policy": ok_policy, "comment": "c"})
    await req("PUT", rpolicy, *rp, body={"policy": {"triggers": ["weekly"]}})  # 400
    await req("PUT", rpolicy, *rp, body={"policy": None})  # 400
    await req("POST", rts, "registry", "models", "cr", "retrainings", body={})  # 400: no snapshot
    await req("POST", rts, "registry", "models", "nope", "retrainings", body={})  # 404
    with open_store() as store:
        made, _ = store.create_retraining(
            "cr", event_key="manual:x", trigger={"kind": "manual", "by": "a"}, actor="a",
            policy=store.retraining_policy("cr") or {}, source_run_id=rid, params={},
            champion_version=None, state="handed_off",
        )  # fmt: skip
    await req("GET", rts, "registry", "models", "cr", "retrainings", params={"max_results": "5"})
    await req("GET", rts, "registry", "models", "cr", "retrainings", params={"max_results": "0"})
    one = "/registry/retrainings/{retraining_id}"
    await req("GET", one, "registry", "retrainings", made.id)
    await req("GET", one, "registry", "retrainings", "0" * 32)  # 404
    await req("DELETE", rpolicy, *rp)
    await req("DELETE", version, *vpath, "versions", "2", params={"comment": "revoked"})
    await req("DELETE", version, *vpath, "versions", "2")  # gone: 404
    await req("DELETE", version, *vpath, "versions", "x")  # 400
    await req("DELETE", model, "registry", "models", "cr", params={"comment": "gone"})
    await req("DELETE", model, "registry", "models", "cr")  # 404
    await req("GET", "/predictions", "predictions", params={"name": "cr", "version": "1"})
    await req("GET", "/predictions", "predictions", params={"name": "cr", "start": "soon"})  # 400
    await req("GET", "/predictions", "predictions")  # no name: 400
    pq_type = {"headers": {"Content-Type": "application/vnd.apache.parquet"}}
    post_q = {"name": "cr", "version": "1"}
    await req("POST", "/predictions", "predictions", body=b"PAR1", params=post_q, **pq_type)  # 400
    await req("POST", "/predictions", "predictions", body=b"x", params={"name": "cr"})  # 400
    await req("GET", "/labels", "labels", params={"name": "cr"})  # none: an empty file
    await req("GET", "/labels", "labels")  # no name: 400
    await req("POST", "/labels", "labels", body=b"x", params={"name": "cr"}, **pq_type)  # 400
    # serving: the error answers here; started models in tests/server/test_serve_mount.py
    await req("GET", "/serve", "serve")
    await req("POST", "/serve", "serve", body={"model_uri": "/etc"})  # 400
    await req("POST", "/serve", "serve", body={"model_uri": "models:/nope@champion"})  # 404
    await req("GET", "/serve/{name}", "serve", "nope")  # 404
    await req("DELETE", "/serve/{name}", "serve", "nope")  # 404
    # webhooks: deliveries and receivers in tests/server/test_webhooks_api.py
    hooks, hook = "/webhooks", "/webhooks/{webhook_id}"
    await req("GET", hooks, "webhooks", params={"model": "cr"})
    local = {"name": "h", "url": "http://127.0.0.1:9/h", "events": ["approval.decided"]}
    await req("POST", hooks, "webhooks", body=local)  # private target: 400
    await req("POST", hooks, "webhooks", body={**local, "events": ["nope"]})  # 400
    with open_store() as store:
        wid = store.create_webhook(
            "h", "http://127.0.0.1:9/h", ["approval.decided"], actor="a", allow_private=True
        ).webhook_id
    await req("GET", hook, "webhooks", wid)
    await req("GET", hook, "webhooks", "nope")  # 404
    await req("PATCH", hook, "webhooks", wid, body={"description": "d", "secret": "s"})
    await req("PATCH", hook, "webhooks", wid, body={"status": "PAUSED"})  # 400
    await req("PATCH", hook, "webhooks", "nope", body={})  # 404
    deliveries = f"{hook}/deliveries"
    await req("GET", deliveries, "webhooks", wid, "deliveries", params={"limit": "5"})
    await req("GET", deliveries, "webhooks", wid, "deliveries", params={"limit": "0"})  # 400
    await req("GET", deliveries, "webhooks", "nope", "deliveries")  # 404
    await req("POST", f"{hook}/test", "webhooks", "nope", "test")  # 404
    await req("POST", f"{hook}/test", "webhooks", wid, "test", body={"event": "x"})  # 400
    await req("POST", f"{hook}/test", "webhooks", wid, "test")  # refused: success false
    await req("DELETE", hook, "webhooks", wid)
    await req("DELETE", hook, "webhooks", wid)  # 404

    await req("POST", "/jobs/reruns", "jobs", "reruns", body={"run_id": rid})  # 400: no snapshot
    await req("POST", "/jobs/reruns", "jobs", "reruns", body={"run_id": "0" * 32})  # 404
    await req(
        "POST",
        "/jobs/reproducibility",
        "jobs",
        "reproducibility",
        body={"name": "nope", "version": 1},
    )
    with open_store() as store:
        job = store.create_job("rerun", {"run_id": rid}, created_by="u", run_id=rid)
    await req("GET", "/jobs", "jobs", params={"state": "queued"})
    await req("GET", "/jobs", "jobs", params={"state": "bad"})  # 400
    await req("GET", "/jobs/{job_id}", "jobs", job.id, params={"log_offset": "0"})
    await req("GET", "/jobs/{job_id}", "jobs", "0" * 32)  # 404
    await req("POST", "/jobs/{job_id}/cancel", "jobs", job.id, "cancel", body=b"")
    await req("POST", "/jobs/{job_id}/cancel", "jobs", job.id, "cancel", body=b"")  # 400: ended

    exercised = {(t, m) for t, m, _ in contract.seen}
    described = {(p, m) for p, item in spec["paths"].items() for m in item if m in METHODS}
    assert described - exercised == set(), "operations the script does not exercise"


async def test_unauthenticated_replies_match_the_spec(
    jp_serverapp, http_server_client, jp_base_url, spec: dict[str, Any]
) -> None:
    contract = Contract(spec)
    r = await http_server_client.fetch(
        f"{jp_base_url}jupyter-mm/api/runs", raise_error=False, follow_redirects=False
    )
    contract.check("GET", "/runs", r.code, r.headers, r.body)


# --- (d) ----------------------------------------------------------------------------------------

FUZZ_TOKEN = "fuzz-token"
KNOWN_RUN = "0123456789abcdef0123456789abcdef"
#: Examples per operation and generation mode (positive, negative).
FUZZ_EXAMPLES = int(os.environ.get("MM_FUZZ_EXAMPLES", "12"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``jupyter server`` process with the extension, on its own port."""
    root = tmp_path_factory.mktemp("fuzz")
    store_dir = root / "store"
    with Store.open(str(store_dir)) as store:
        store.create_run(name="known", run_id=KNOWN_RUN, params={"p": "1"})
        store.log_batch(KNOWN_RUN, metrics=[("m", 0.5, 0, 1)])
        store.log_artifact(KNOWN_RUN, "dir/file.txt", b"hello")
    config_dir = root / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {
                        "jupyter_mm": True,
                        "jupyterlab": False,
                        "jupyter_lsp": False,
                        "notebook_shim": False,
                        "jupyter_server_terminals": False,
                    },
                    "open_browser": False,
                    "allow_root": True,
                    "root_dir": str(root),
                },
                "IdentityProvider": {"token": FUZZ_TOKEN},
                "JupyterMM": {"tracking_uri": str(store_dir)},
            }
        )
    )
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    env.update(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1"],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                req = urllib.request.Request(
                    f"{base}/jupyter-mm/api/status",
                    headers={"Authorization": f"token {FUZZ_TOKEN}"},
                )
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    "the fuzz server did not start:\n" + (root / "server.log").read_text()[-3000:]
                )
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
        log.close()
        server_log = (root / "server.log").read_text(errors="replace")
        # no unexpected exception reached the server log while fuzzing
        assert "Traceback" not in server_log, server_log[-5000:]


def _malformed_headers(headers: Any) -> bool:
    """Header values HTTP/1.1 does not allow: control characters (but tab)."""
    return any(
        any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in str(value))
        for value in (headers or {}).values()
    )


def test_fuzz_with_schemathesis(live_server: str, spec: dict[str, Any]) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    import requests
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    base_url = f"{live_server}/jupyter-mm/api"
    session = requests.Session()
    session.headers["Authorization"] = f"token {FUZZ_TOKEN}"
    failures: list[str] = []
    calls = 0
    codes: dict[int, int] = {}

    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ]
        if "{run_id}" in operation.path:
            strategies.append(
                operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE,
                    path_parameters={"run_id": KNOWN_RUN},
                )
            )
        for strategy in strategies:

            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal calls
                response = case.call(base_url=base_url, session=session, timeout=30)
                calls += 1
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
                if _malformed_headers(case.headers):
                    # tornado's HTTP parser answers these itself (a bare 400), before any handler
                    assert response.status_code == 400, response.status_code
                    return
                case.validate_response(response, checks=checks)

            try:
                run()
            except Exception as e:  # collect every operation's failure, then report them all
                failures.append(f"{operation.method.upper()} {operation.path}: {e}"[:3000])
    print(f"schemathesis: {calls} requests, status codes {sorted(codes.items())}")
    assert calls > 0 and set(codes) - {401, 403}, codes
    assert not failures, "\n\n".join(failures)


def _page_token(offset: int) -> str:
    """A well-formed page token (base64 JSON, as the servers write them) holding ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"phase": 0, "offset": offset}).encode()).decode()


#: What the schema-driven generation does not reach: a lone UTF-16 surrogate (a JSON "\ud800"
#: escape) as a value or a key, JSON nested past MAX_JSON_DEPTH or past the interpreter's
#: recursion limit, integers past 64 bits and past the largest double, a page token holding such
#: an offset. Every value is tried in every field of each operation (see _spoiled_bodies).
_DEEP = b"[" * 100_000
_DEEP_OBJECT = b'{"a":' * 50_000
HOSTILE_VALUES: list[Any] = [
    "\ud800",
    "a\udfffb",
    {"k": "\udc00"},
    {"\udc00": "v"},
    [{"key": "k", "value": "a\ud800"}],
    2**63,
    -(2**63) - 1,
    int("9" * 400),
    json.loads("[" * 150 + "]" * 150),  # past MAX_JSON_DEPTH, within json.dumps'
    _page_token(10**23),
]
#: Raw bodies no encoder writes, each sent once per JSON operation.
HOSTILE_BODIES = [_DEEP, _DEEP_OBJECT]
#: For query and path parameters (a surrogate cannot be percent-encoded: invalid UTF-8 instead).
HOSTILE_QUERY: list[str | bytes] = [
    "9" * 400,
    "-" + "9" * 30,
    "1e400",
    _page_token(10**23),
    b"\xed\xa0\x80",
]
#: Valid cases hypothesis generates per operation; the hostile values are spread over them.
HOSTILE_CASES = int(os.environ.get("MM_FUZZ_HOSTILE_CASES", "2"))
#: Nested positions (inside a generated body's lists and objects) spoiled per value.
HOSTILE_NESTED = 4


def _describe(value: Any) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else json.dumps(value)
    kind = "deep" if len(text) > 300 and text[:2] in ("[[", '{"') else type(value).__name__
    return f"{kind} {text[:40]}{'…' if len(text) > 40 else ''}"


def _nested_positions(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position below the top level of a generated body: the fields of objects in lists,
    the values of tags maps, where a top-level replacement does not reach."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in sorted(items, key=lambda kv: str(kv[0])):
        if len(at) >= 1:
            yield (*at, key)
        yield from _nested_positions(child, (*at, key))


def _put(body: Any, at: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``body`` with the node at ``at`` replaced by ``value``."""
    if not at:
        return value
    out = copy.copy(body)
    out[at[0]] = _put(body[at[0]], at[1:], value)
    return out


def _spoiled_bodies(body: Any, fields: list[str], value: Any) -> Iterator[tuple[str, Any]]:
    """``value`` in each declared top-level field in turn (present in the case or not), then in a
    few nested positions; a body that is not an object is replaced whole."""
    if not isinstance(body, dict):
        yield "(body)", value
        return
    for field in sorted(set(fields) | set(body)) or ["x"]:
        yield field, {**body, field: value}
    for at in list(_nested_positions(body))[:HOSTILE_NESTED]:
        yield "/".join(map(str, at)), _put(body, at, value)


class Declared(NamedTuple):
    """What the spec says an operation takes."""

    fields: list[str]  # top-level JSON body fields
    required: set[str]
    query: list[str]
    required_query: set[str]
    takes_json: bool


def _declared(spec: dict[str, Any], path: str, method: str) -> Declared:
    item = spec["paths"][path]
    op = item[method]
    content = op.get("requestBody", {}).get("content", {})
    schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
    query = [
        _resolve(spec, p)
        for p in item.get("parameters", []) + op.get("parameters", [])
        if _resolve(spec, p)["in"] == "query"
    ]
    return Declared(
        fields=sorted(schema.get("properties", {})),
        required=set(schema.get("required", [])),
        query=[q["name"] for q in query],
        required_query={q["name"] for q in query if q.get("required")},
        takes_json="application/json" in content,
    )


def _bases(case: Any, declared: Declared) -> list[tuple[Any, dict[str, Any]]]:
    """(body, query) to spoil: the generated case's, and the same cut to its required fields.
    The schema lets generated values be valid for the spec yet refused by the server (an
    experiment id that is not a number), which would answer 400 before the spoiled field is
    read; the cut case reaches the spoiled field."""
    body, query = case.body, dict(case.query or {})
    cut_body = (
        {k: v for k, v in body.items() if k in declared.required}
        if isinstance(body, dict)
        else body
    )
    cut_query = {k: v for k, v in query.items() if k in declared.required_query}
    if (cut_body, cut_query) == (body, query):
        return [(body, query)]
    return [(body, query), (cut_body, cut_query)]


def test_fuzz_with_hostile_values(live_server: str, spec: dict[str, Any]) -> None:
    """A targeted phase after the schema-driven one, systematic where that one samples: for every
    operation, hypothesis generates a few valid requests, and each HOSTILE_VALUES entry is put in
    each body field (and a few nested ones), each HOSTILE_BODIES entry is the body, each
    HOSTILE_QUERY entry is each query and path parameter. No 5xx, every error a JSON
    ``{error_code, message}`` (the fixture also checks the log for tracebacks)."""
    schemathesis = pytest.importorskip("schemathesis")
    import requests
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    base_url = f"{live_server}/jupyter-mm/api"
    session = requests.Session()
    session.headers["Authorization"] = f"token {FUZZ_TOKEN}"
    failures: list[str] = []
    sent: dict[str, int] = {"body": 0, "raw": 0, "query": 0, "path": 0}
    codes: dict[int, int] = {}

    def send(case: Any, where: str, what: str, **change: Any) -> None:
        """Send ``case`` with ``change`` applied (``body`` as raw JSON bytes), check the reply."""
        saved = {name: getattr(case, name) for name in ("body", "query", "path_parameters")}
        raw = change.pop("raw", None)
        query = change.pop("query", None)  # set on the request: schemathesis refuses bytes
        if raw is None and case.media_type == "application/json" and case.body is not None:
            raw = json.dumps(case.body).encode()
        for name, value in change.items():
            setattr(case, name, value)
        case.body = None  # sent as bytes: schemathesis must not re-encode the value
        kwargs = case.as_transport_kwargs(base_url=base_url)
        for name, value in saved.items():
            setattr(case, name, value)
        kwargs.pop("json", None)
        if query is not None:
            kwargs["params"] = query
        # the session's token, not the empty one schemathesis may generate for the security scheme
        kwargs["headers"] = {
            k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"
        }
        if raw is not None:
            kwargs["data"] = raw
            kwargs["headers"] = {
                **(kwargs.get("headers") or {}),
                "Content-Type": "application/json",
            }
        response = session.request(**kwargs, timeout=30)
        sent[where] += 1
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
        code, method = response.status_code, case.method.upper()
        problem = ""
        if code >= 500:
            problem = response.text[:300]
        elif code >= 400 and method != "HEAD":
            ctype = response.headers.get("Content-Type", "").split(";")[0]
            try:
                shape = ctype == "application/json" and {"error_code", "message"} <= set(
                    response.json()
                )
            except ValueError:
                shape = False
            if not shape:
                problem = f"not a JSON error: {ctype} {response.text[:200]}"
        if problem:
            failures.append(f"{method} {case.path} [{what}]: {code} {problem}")

    for result in schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.lower(), operation.path
        declared = _declared(spec, path, method)
        path_parameters = {"run_id": KNOWN_RUN} if "{run_id}" in path else None
        pool: list[Any] = []

        @settings(
            max_examples=HOSTILE_CASES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE, path_parameters=path_parameters
            )
        )
        def collect(case: Any) -> None:
            if _malformed_headers(case.headers):
                case.headers = None  # tornado answers those itself
            pool.append(case)  # noqa: B023 - collect() runs right below, in this iteration

        collect()
        assert pool, f"no valid case for {method} {path}"
        for i, value in enumerate(HOSTILE_VALUES if declared.takes_json else []):
            case = pool[i % len(pool)]
            for base, query in _bases(case, declared):
                for field, body in _spoiled_bodies(base, declared.fields, value):
                    raw = json.dumps(body).encode()
                    send(case, "body", f"{_describe(value)} in {field}", raw=raw, query=query)
        for i, raw in enumerate(HOSTILE_BODIES if declared.takes_json else []):
            send(pool[i % len(pool)], "raw", f"{_describe(raw)} as the body", raw=raw)
        for i, value in enumerate(HOSTILE_QUERY):
            case = pool[i % len(pool)]
            for base, query in _bases(case, declared):
                json_body = case.media_type == "application/json" and base is not None
                raw = json.dumps(base).encode() if json_body else None
                for name in declared.query:
                    spoiled = {**query, name: value}
                    what = f"{_describe(value)} in ?{name}"
                    send(case, "query", what, raw=raw, query=spoiled)
                if isinstance(value, bytes):
                    continue  # percent-encoding would quote it again
                for name in sorted(case.path_parameters or {}):
                    params = {**case.path_parameters, name: value}
                    what = f"{_describe(value)} in {{{name}}}"
                    send(case, "path", what, raw=raw, query=query, path_parameters=params)
    print(f"hostile phase: {sum(sent.values())} requests {sent}, codes {sorted(codes.items())}")
    assert all(sent.values()), sent
    operations = len({f.split(" [")[0] for f in failures})
    assert not failures, f"{len(failures)} failures in {operations} operations:\n" + "\n".join(
        failures[:80]
    )
