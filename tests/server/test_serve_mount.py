"""Registered models served by the Jupyter server under ``<base_url>jupyter-mm/serve/{name}/``:
started, listed and stopped through ``jupyter-mm/api/serve``, both protocols behind Jupyter's
auth, and ``mm.serve`` from a real kernel the server started. A real Jupyter server and a real
SQLite store holding the credit models of ``tests/serving``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from tests.server.test_openapi import SPEC_PATH, Contract
from tests.serving.support import COLUMNS, Models, credit_frame, credit_store, expected


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("serve-mount")) as m:
        yield m


@pytest.fixture
def jp_server_config(mm_clean_env: None, models: Models) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "JupyterMM": {"tracking_uri": models.store_uri, "live_events": False},
        }
    )


ROWS = credit_frame(5, seed=3)[0]


def split_body() -> bytes:
    return json.dumps(
        {
            "dataframe_split": {
                "columns": COLUMNS,
                "data": json.loads(ROWS[COLUMNS].to_json(orient="values")),
            }
        }
    ).encode()


def oip_body() -> bytes:
    return json.dumps(
        {
            "id": "loan-42",
            "inputs": [
                {
                    "name": "income",
                    "shape": [5],
                    "datatype": "FP64",
                    "data": ROWS["income"].tolist(),
                },
                {"name": "age", "shape": [5], "datatype": "INT64", "data": ROWS["age"].tolist()},
                {
                    "name": "utilisation",
                    "shape": [5],
                    "datatype": "FP64",
                    "data": ROWS["utilisation"].tolist(),
                },
            ],
        }  # fmt: skip
    ).encode()


async def start(jp_fetch: Any, uri: str, **extra: Any) -> Any:
    return await jp_fetch(
        "jupyter-mm", "api", "serve", method="POST", body=json.dumps({"model_uri": uri, **extra})
    )


async def fails(call: Any) -> Any:
    with pytest.raises(HTTPClientError) as e:
        await call
    assert e.value.response is not None
    return e.value.code, json.loads(e.value.response.body)


async def test_start_predict_list_stop(jp_fetch: Any, jp_base_url: str, models: Models) -> None:
    import yaml

    contract = Contract(yaml.safe_load(SPEC_PATH.read_text()))  # answers as openapi.yaml says
    r = await start(jp_fetch, "models:/credit@champion")
    assert r.code == 201
    contract.check("POST", "/serve", r.code, r.headers, r.body)
    info = json.loads(r.body)
    assert (info["name"], info["version"], info["alias"]) == ("credit", "1", "champion")
    assert info["invocations_url"] == f"{jp_base_url}jupyter-mm/serve/credit/invocations"
    assert info["oip_infer_url"] == f"{jp_base_url}jupyter-mm/serve/credit/v2/models/credit/infer"
    want = expected(models.directory, ROWS)

    # MLflow's scoring protocol under the prefix: mm.load_model's predictions
    r = await jp_fetch("jupyter-mm", "serve", "credit", "invocations", method="POST",
                       body=split_body(), headers={"Content-Type": "application/json"})  # fmt: skip
    assert json.loads(r.body) == {"predictions": want}
    assert r.headers["X-MM-Model-Version"] == "1"
    assert r.headers["X-Request-Id"]
    # OIP v2, with the client's id echoed
    r = await jp_fetch("jupyter-mm", "serve", "credit", "v2", "models", "credit", "infer",
                       method="POST", body=oip_body())  # fmt: skip
    doc = json.loads(r.body)
    assert doc["id"] == "loan-42" and doc["model_version"] == "1"
    assert doc["outputs"][0]["data"] == want
    r = await jp_fetch("jupyter-mm", "serve", "credit", "v2", "models", "credit", "ready")
    assert json.loads(r.body) == {"name": "credit", "ready": True}
    # a body that does not fit the signature: the serving layer's 400, not a 500
    code, doc = await fails(jp_fetch("jupyter-mm", "serve", "credit", "invocations",
                                     method="POST", body=b'{"dataframe_records": [{"age": 3}]}',
                                     headers={"Content-Type": "application/json"}))  # fmt: skip
    assert code == 400 and "income" in doc["message"]

    # asking again returns what serves; the list holds it
    r = await start(jp_fetch, "models:/credit@champion")
    assert r.code == 200 and json.loads(r.body)["name"] == "credit"
    contract.check("POST", "/serve", r.code, r.headers, r.body)
    r = await jp_fetch("jupyter-mm", "api", "serve")
    contract.check("GET", "/serve", r.code, r.headers, r.body)
    r = await jp_fetch("jupyter-mm", "api", "serve", "credit")
    contract.check("GET", "/serve/{name}", r.code, r.headers, r.body)
    listed = json.loads((await jp_fetch("jupyter-mm", "api", "serve")).body)["served"]
    assert [(s["name"], s["model_uri"]) for s in listed] == [("credit", "models:/credit@champion")]
    # another URI under a served name is refused
    code, doc = await fails(start(jp_fetch, "models:/credit/2"))
    assert code == 400 and doc["error_code"] == "RESOURCE_ALREADY_EXISTS"
    # ... and is served under its own name, side by side, answering as version 2
    r = await start(jp_fetch, "models:/credit/2", name="credit-v2")
    assert r.code == 201
    r = await jp_fetch("jupyter-mm", "serve", "credit-v2", "invocations", method="POST",
                       body=split_body(), headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.headers["X-MM-Model-Version"] == "2"
    assert json.loads(r.body)["predictions"] == [1 - p for p in want]

    r = await jp_fetch("jupyter-mm", "api", "serve", "credit", method="DELETE")
    assert json.loads(r.body)["stopped"]["name"] == "credit"
    contract.check("DELETE", "/serve/{name}", r.code, r.headers, r.body)
    code, doc = await fails(jp_fetch("jupyter-mm", "serve", "credit", "invocations",
                                     method="POST", body=split_body(),
                                     headers={"Content-Type": "application/json"}))  # fmt: skip
    assert code == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    code, doc = await fails(jp_fetch("jupyter-mm", "api", "serve", "credit"))
    assert code == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    listed = json.loads((await jp_fetch("jupyter-mm", "api", "serve")).body)["served"]
    assert [s["name"] for s in listed] == ["credit-v2"]


async def test_a_model_not_started_is_a_json_404(jp_fetch: Any) -> None:
    code, doc = await fails(jp_fetch("jupyter-mm", "serve", "credit", "invocations",
                                     method="POST", body=split_body(),
                                     headers={"Content-Type": "application/json"}))  # fmt: skip
    assert code == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "POST jupyter-mm/api/serve" in doc["message"]
    code, doc = await fails(jp_fetch("jupyter-mm", "serve", "credit", "v2", "models", "credit",
                                     "infer", method="POST", body=oip_body()))  # fmt: skip
    assert code == 404 and "credit" in doc["error"]  # OIP's error shape
    code, doc = await fails(jp_fetch("jupyter-mm", "api", "serve", "credit", method="DELETE"))
    assert code == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("body", "code", "error_code"),
    [
        ({"model_uri": "/etc"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"model_uri": "models:/credit"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"model_uri": ""}, 400, "INVALID_PARAMETER_VALUE"),
        ({"model_uri": "models:/credit@champion", "trust": "yes"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"model_uri": "models:/credit@champion", "name": "a/b"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"model_uri": "models:/credit@champion", "colour": 1}, 400, "INVALID_PARAMETER_VALUE"),
        ({"model_uri": "models:/no-such-model@champion"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ({"model_uri": "models:/credit/3"}, 403, "UNTRUSTED_MODEL"),  # cloudpickle, no trust
        (["models:/credit@champion"], 400, "INVALID_PARAMETER_VALUE"),
    ],
)
async def test_bad_start_requests(jp_fetch: Any, body: Any, code: int, error_code: str) -> None:
    got, doc = await fails(
        jp_fetch("jupyter-mm", "api", "serve", method="POST", body=json.dumps(body))
    )
    assert (got, doc["error_code"]) == (code, error_code), doc
    listed = json.loads((await jp_fetch("jupyter-mm", "api", "serve")).body)["served"]
    assert listed == []


async def test_not_json_is_a_400(jp_fetch: Any) -> None:
    code, doc = await fails(jp_fetch("jupyter-mm", "api", "serve", method="POST", body=b"{"))
    assert code == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE"


async def test_trust_serves_a_pickled_model(jp_fetch: Any, models: Models) -> None:
    r = await start(jp_fetch, "models:/credit/3", trust=True)
    assert json.loads(r.body)["version"] == "3"
    await jp_fetch("jupyter-mm", "api", "serve", "credit", method="DELETE")


async def test_unauthenticated_requests_are_refused_while_served(
    jp_fetch: Any, http_server_client: Any, jp_base_url: str
) -> None:
    await start(jp_fetch, "models:/credit@champion")
    paths = [
        ("POST", "invocations", split_body()),
        ("POST", "v2/models/credit/infer", oip_body()),
        ("GET", "ping", None),
        ("GET", "v2/health/ready", None),
        ("GET", "metrics", None),
    ]
    for headers in ({}, {"Authorization": "token not-the-token"}):
        for verb, path, body in paths:
            r = await http_server_client.fetch(
                f"{jp_base_url}jupyter-mm/serve/credit/{path}", method=verb, body=body,
                headers=headers, raise_error=False, follow_redirects=False,
            )  # fmt: skip
            assert r.code == 403, (verb, path, r.code)
            assert b"predictions" not in r.body and b"outputs" not in r.body
    for verb, body in (("GET", None), ("POST", b'{"model_uri": "models:/credit/2"}')):
        r = await http_server_client.fetch(
            f"{jp_base_url}jupyter-mm/api/serve", method=verb, body=body,
            raise_error=False, follow_redirects=False,
        )  # fmt: skip
        assert r.code == 403
    # the same request with the token answers
    r = await jp_fetch("jupyter-mm", "serve", "credit", "ping")
    assert r.code == 200


async def test_mm_serve_from_a_kernel(
    jp_serverapp: Any, jp_fetch: Any, models: Models, tmp_path: Path
) -> None:
    """A kernel started by this Jupyter server serves through it: mm.serve asks the server,
    the model shows as served there, predictions equal mm.load_model's, stop() ends it."""
    import os

    assert os.environ.get("MM_JUPYTER_SERVER_INFO") == jp_serverapp.info_file
    jp_serverapp.write_server_info_file()  # what ServerApp.start does
    km = jp_serverapp.kernel_manager
    kernel_id = await km.start_kernel(kernel_name="python3", path=str(tmp_path))
    kc = km.get_kernel(kernel_id).client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        code = (
            "import json, pandas as pd, jupyter_mm as mm\n"
            f"rows = pd.DataFrame({ROWS.to_dict(orient='list')!r})\n"
            "ep = mm.serve('models:/credit@champion')\n"
            "print(json.dumps({'url': ep.invocations_url, 'oip': ep.oip_infer_url,\n"
            "                  'version': ep.version, 'pred': ep.predict(rows).tolist()}))\n"
        )
        out = await run(kc, code)
        doc = json.loads(out.strip().splitlines()[-1])
        port = jp_serverapp.port
        assert doc["url"].startswith("http://") and f":{port}/" in doc["url"]
        assert doc["url"].endswith("jupyter-mm/serve/credit/invocations")
        assert doc["oip"].endswith("jupyter-mm/serve/credit/v2/models/credit/infer")
        assert doc["version"] == "1"
        assert doc["pred"] == expected(models.directory, ROWS)
        listed = json.loads((await jp_fetch("jupyter-mm", "api", "serve")).body)["served"]
        assert [s["name"] for s in listed] == ["credit"]
        await run(kc, "ep.stop(); print(ep)")
        listed = json.loads((await jp_fetch("jupyter-mm", "api", "serve")).body)["served"]
        assert listed == []
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(kernel_id, now=True)


async def run(kc: Any, code: str) -> str:
    """Run ``code`` in the kernel; its stdout (an error fails the test)."""
    out: list[str] = []
    errors: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

    reply = await kc.execute_interactive(code, output_hook=hook, timeout=120)
    assert reply["content"]["status"] == "ok", errors
    return "".join(out)
