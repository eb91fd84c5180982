"""MLflow's wire rules on jupyter-mm's MLflow routes, by raw HTTP: errors, GET query arguments,
NaN as strings, run id aliases, non-proto routes, auth."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest

from jupyter_mm.core.store import Store

from .helpers import UNKNOWN_MLFLOW_PATHS

API = "jupyter-mm/mlflow/api/2.0/mlflow"


@pytest.fixture
def jp_fetch(http_server_client, jp_auth_header, jp_base_url):  # type: ignore[no-untyped-def]
    """Raw requests: the path and query string are sent exactly as given (no escaping)."""

    async def fetch(path: str, **kw: Any):  # type: ignore[no-untyped-def]
        headers = {**jp_auth_header, **kw.pop("headers", {})}
        return await http_server_client.fetch(jp_base_url + path, headers=headers, **kw)

    return fetch


async def call(jp_fetch, method: str, rpc: str, body: Any = None, query: Any = None, **kw: Any):
    """(status, parsed JSON) of one RPC, errors included."""
    path = f"{API}/{rpc}"
    if query:
        path += "?" + urlencode(query, doseq=True)
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if method in ("POST", "PUT", "PATCH") and body is None:
        body = "{}"
    r = await jp_fetch(path, method=method, body=body, raise_error=False, **kw)
    text = r.body.decode() if r.body else ""
    return r.code, (json.loads(text) if text and r.code != 405 else {})


async def new_run(jp_fetch, **fields: Any) -> str:
    code, reply = await call(jp_fetch, "POST", "runs/create", {"experiment_id": "0", **fields})
    assert code == 200, reply
    return reply["run"]["info"]["run_id"]


async def test_error_format_and_statuses(jp_fetch) -> None:
    code, reply = await call(
        jp_fetch, "GET", "experiments/get-by-name", query={"experiment_name": "x"}
    )
    assert code == 404 and reply["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert set(reply) == {"error_code", "message"}
    code, reply = await call(jp_fetch, "GET", "experiments/get", query={"experiment_id": "42"})
    assert (code, reply["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, reply = await call(jp_fetch, "POST", "experiments/create", {})
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert reply["message"] == "Missing value for required parameter 'name'."
    # a body that is not JSON counts as empty: the first missing field is named
    code, reply = await call(jp_fetch, "POST", "runs/log-parameter", "{not json")
    assert code == 400 and "'run_id'" in reply["message"]
    code, reply = await call(jp_fetch, "POST", "experiments/create", {"name": "e"})
    assert code == 200 and reply["experiment_id"]
    code, reply = await call(jp_fetch, "POST", "experiments/create", {"name": "e"})
    assert (code, reply["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    run_id = await new_run(jp_fetch)
    code, reply = await call(
        jp_fetch, "POST", "runs/log-parameter", {"run_id": run_id, "key": "p", "value": 5}
    )
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, reply = await call(
        jp_fetch,
        "POST",
        "runs/log-metric",
        {"run_id": run_id, "key": "m", "value": 1, "timestamp": -5},
    )
    assert code == 400 and "nonnegative" in reply["message"]
    code, reply = await call(jp_fetch, "POST", "runs/search", {"filter": "metrics.m <"})
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert set(reply) == {"error_code", "message"}  # MLflow's shape: no jupyter-mm details
    code, reply = await call(jp_fetch, "POST", "runs/search", {"max_results": 50001})
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, reply = await call(jp_fetch, "POST", "nothing/here")
    assert code == 404 and reply["error_code"] == "ENDPOINT_NOT_FOUND"
    code, reply = await call(jp_fetch, "GET", "runs/create")
    assert code == 405


async def test_nan_and_infinity_travel_as_strings(jp_fetch) -> None:
    run_id = await new_run(jp_fetch)
    for i, value in enumerate(["NaN", "Infinity", "-Infinity", 1.5, "2.5"]):
        code, reply = await call(
            jp_fetch,
            "POST",
            "runs/log-metric",
            {"run_uuid": run_id, "key": "m", "value": value, "timestamp": "1000", "step": str(i)},
        )
        assert code == 200, reply
    code, reply = await call(
        jp_fetch, "GET", "metrics/get-history", query={"run_id": run_id, "metric_key": "m"}
    )
    assert [m["value"] for m in reply["metrics"]] == ["NaN", "Infinity", "-Infinity", 1.5, 2.5]
    assert [m["step"] for m in reply["metrics"]] == [0, 1, 2, 3, 4]
    code, reply = await call(jp_fetch, "GET", "runs/get", query={"run_uuid": run_id})
    info = reply["run"]["info"]
    assert info["run_id"] == info["run_uuid"] == run_id
    assert reply["run"]["data"]["metrics"] == [
        {"key": "m", "value": 2.5, "timestamp": 1000, "step": 4}
    ]


async def test_bulk_interval_reads_repeated_query_keys(jp_fetch) -> None:
    runs = [await new_run(jp_fetch), await new_run(jp_fetch)]
    for run_id in runs:
        metrics = [
            {"key": "loss", "value": float(s), "timestamp": 1, "step": s} for s in range(100)
        ]
        code, reply = await call(
            jp_fetch, "POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics}
        )
        assert code == 200, reply
    code, reply = await call(
        jp_fetch,
        "GET",
        "metrics/get-history-bulk-interval",
        query={
            "run_ids": runs,
            "metric_key": "loss",
            "start_step": 10,
            "end_step": 59,
            "max_results": 10,
        },
    )
    assert code == 200, reply
    for run_id in runs:
        steps = [m["step"] for m in reply["metrics"] if m["run_id"] == run_id]
        assert steps[0] == 10 and steps[-1] == 59 and len(steps) <= 12


async def test_log_batch_tags_overwrite_and_params_are_write_once(jp_fetch) -> None:
    run_id = await new_run(jp_fetch, run_name="a")
    body = {
        "run_id": run_id,
        "params": [{"key": "p", "value": "1"}, {"key": "p", "value": "1"}],
        "tags": [{"key": "t", "value": "x"}, {"key": "t", "value": "y"}],
    }
    assert (await call(jp_fetch, "POST", "runs/log-batch", body))[0] == 200
    code, reply = await call(
        jp_fetch,
        "POST",
        "runs/log-batch",
        {
            "run_id": run_id,
            "params": [{"key": "p", "value": "2"}],
            "tags": [{"key": "u", "value": "z"}],
        },
    )
    assert code == 400
    code, reply = await call(jp_fetch, "GET", "runs/get", query={"run_id": run_id})
    data = reply["run"]["data"]
    assert data["params"] == [{"key": "p", "value": "1"}]
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert tags["t"] == "y" and "u" not in tags and tags["mlflow.runName"] == "a"
    # the mlflow.runName tag renames the run, as in MLflow
    await call(
        jp_fetch, "POST", "runs/set-tag", {"run_id": run_id, "key": "mlflow.runName", "value": "b"}
    )
    code, reply = await call(jp_fetch, "GET", "runs/get", query={"run_id": run_id})
    assert reply["run"]["info"]["run_name"] == "b"


async def test_ajax_api_and_non_proto_routes(jp_fetch) -> None:
    r = await jp_fetch("jupyter-mm/mlflow/ajax-api/2.0/mlflow/experiments/get?experiment_id=0")
    assert json.loads(r.body)["experiment"]["name"] == "Default"
    r = await jp_fetch("jupyter-mm/mlflow/api/3.0/mlflow/server-info")
    assert json.loads(r.body)["multipart_uploads_enabled"] is False
    assert (await jp_fetch("jupyter-mm/mlflow/health")).body == b"OK"
    assert (await jp_fetch("jupyter-mm/mlflow/version")).body.startswith(b"3.")


async def test_unknown_routes_under_the_prefix_answer_json_404(
    jp_fetch, http_server_client, jp_base_url
) -> None:
    """MLflow's ``{"error_code": "ENDPOINT_NOT_FOUND", "message"}`` with 404 under every prefix
    (never Jupyter's HTML page), and only after authentication."""
    for path in UNKNOWN_MLFLOW_PATHS:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            r = await jp_fetch(
                f"jupyter-mm/mlflow/{path}",
                method=method,
                body="{}" if method in ("POST", "PATCH") else None,
                raise_error=False,
            )
            assert r.code == 404, (path, method, r.code)
            assert r.headers["Content-Type"].startswith("application/json"), (path, method)
            reply = json.loads(r.body)
            assert set(reply) == {"error_code", "message"}, (path, reply)
            assert reply["error_code"] == "ENDPOINT_NOT_FOUND", (path, reply)
        r = await http_server_client.fetch(
            f"{jp_base_url}jupyter-mm/mlflow/{path}",
            headers={"Authorization": "Bearer wrong"},
            raise_error=False,
        )
        assert r.code == 403, path  # behind auth like every MLflow route
        assert json.loads(r.body)["error_code"] == "PERMISSION_DENIED"


async def test_runs_without_credentials_are_refused(http_server_client, jp_base_url) -> None:
    for path, method in [
        (f"{API}/runs/create", "POST"),
        (f"{API}/experiments/get?experiment_id=0", "GET"),
        ("jupyter-mm/mlflow/api/2.0/mlflow-artifacts/artifacts/0/x/artifacts/f", "PUT"),
    ]:
        r = await http_server_client.fetch(
            jp_base_url + path,
            method=method,
            body=b"{}" if method != "GET" else None,
            headers={"Authorization": "Bearer wrong"},
            raise_error=False,
        )
        assert r.code == 403, path
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        assert store.count_runs() == 0


@pytest.mark.parametrize(
    "view,expected", [("ACTIVE_ONLY", ["a"]), ("DELETED_ONLY", ["d"]), ("ALL", ["a", "d"])]
)
async def test_search_view_types(jp_fetch, view: str, expected: list[str]) -> None:
    await new_run(jp_fetch, run_name="a")
    deleted = await new_run(jp_fetch, run_name="d")
    await call(jp_fetch, "POST", "runs/delete", {"run_id": deleted})
    code, reply = await call(
        jp_fetch,
        "POST",
        "runs/search",
        {"experiment_ids": ["0"], "run_view_type": view, "order_by": ["attributes.run_name"]},
    )
    assert [r["info"]["run_name"] for r in reply.get("runs", [])] == expected


async def test_oversized_rpc_body_is_refused_without_a_retryable_status(jp_fetch) -> None:
    run_id = await new_run(jp_fetch)
    tags = [{"key": f"k{i}", "value": "x" * 8000} for i in range(2100)]
    code, reply = await call(jp_fetch, "POST", "runs/log-batch", {"run_id": run_id, "tags": tags})
    assert code == 413 and reply["error_code"] == "REQUEST_LIMIT_EXCEEDED"
