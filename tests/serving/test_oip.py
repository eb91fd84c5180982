"""The Open Inference Protocol v2 routes on a real server: metadata, health, readiness and
inference with one tensor per column or one 2-D tensor, good and bad bodies."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import requests

import jupyter_mm

from .support import (
    COLUMNS,
    PROBE,
    Models,
    ServerThread,
    credit_frame,
    credit_store,
    expected,
    serving,
)

pytest.importorskip("sklearn")
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("oip")) as m:
        yield m


@pytest.fixture(scope="module")
def server(models: Models) -> Iterator[ServerThread]:
    with serving(models=["models:/credit@champion"], store_uri=models.store_uri,
                 max_body_bytes=LIMIT, alias_poll_seconds=3600) as s:  # fmt: skip
        yield s


ROWS = credit_frame(20, seed=5)[0].head(4)


def columns_request(frame: pd.DataFrame = ROWS, **extra: Any) -> dict[str, Any]:
    types = {"income": "FP64", "age": "INT64", "utilisation": "FP64"}
    return {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": c, "shape": [len(frame)], "datatype": types[c], "data": frame[c].tolist()}
            for c in frame.columns
        ],
        **extra,
    }


def infer(server: ServerThread, doc: Any, path: str = "credit", **kw: Any) -> requests.Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return requests.post(f"{server.url}/v2/models/{path}/infer", data=body, **kw)


def test_server_metadata_live_and_ready(server: ServerThread) -> None:
    assert requests.get(f"{server.url}/v2").json() == {
        "name": "jupyter-mm", "version": jupyter_mm.__version__, "extensions": []
    }  # fmt: skip
    assert requests.get(f"{server.url}/v2/health/live").json() == {"live": True}
    assert requests.get(f"{server.url}/v2/health/ready").json() == {"ready": True}
    for path in ("credit/ready", "credit/versions/1/ready"):
        r = requests.get(f"{server.url}/v2/models/{path}")
        assert r.status_code == 200 and r.json() == {"name": "credit", "ready": True}


def test_model_metadata_from_the_signature(server: ServerThread) -> None:
    doc = requests.get(f"{server.url}/v2/models/credit").json()
    assert doc["name"] == "credit" and doc["versions"] == ["1"]
    assert doc["platform"] == "mlflow_sklearn"
    assert doc["inputs"] == [
        {"name": "income", "datatype": "FP64", "shape": [-1]},
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "utilisation", "datatype": "FP64", "shape": [-1]},
    ]
    assert doc["parameters"]["alias"] == "champion"
    assert doc == requests.get(f"{server.url}/v2/models/credit/versions/1").json()


def test_one_tensor_per_column(server: ServerThread, models: Models) -> None:
    r = infer(server, columns_request(id="loan-7"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["model_name"] == "credit" and doc["model_version"] == "1"
    assert doc["id"] == "loan-7" == r.headers["X-Request-Id"]
    assert doc["parameters"]["model_digest"] == r.headers["X-MM-Model-Digest"]
    assert doc["outputs"] == [
        {"name": "predict", "shape": [4], "datatype": "INT64",
         "data": expected(models.directory, ROWS)}
    ]  # fmt: skip


def test_one_2d_tensor_for_an_all_numeric_model(server: ServerThread, models: Models) -> None:
    tensor = {"name": "input-0", "shape": [4, 3], "datatype": "FP64",
              "data": ROWS[COLUMNS].astype(float).to_numpy().tolist()}  # fmt: skip
    r = infer(server, {"inputs": [tensor]}, path="credit/versions/1",
              headers={"X-Request-Id": "batch-1"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "batch-1"
    assert r.json()["outputs"][0]["data"] == expected(models.directory, ROWS)


def _with(change: Any) -> dict[str, Any]:
    doc = columns_request()
    change(doc)
    return doc


BAD: dict[str, tuple[Any, int, str]] = {
    "missing column": (_with(lambda d: d["inputs"].pop()), 400, "['utilisation']"),
    "wrong type": (
        _with(lambda d: d["inputs"][0].update(datatype="BYTES", data=["a", "b", "c", "d"])),
        400, "input column 'income' has type string; the model expects double",
    ),
    "data not of its datatype": (
        _with(lambda d: d["inputs"][1].update(data=[1, 2, "x", 4])), 400, "'age' is INT64"
    ),
    "wrong shape": (_with(lambda d: d["inputs"][0].update(shape=[3])), 400, "shape [3]"),
    "rows disagree": (
        _with(lambda d: d["inputs"][2].update(shape=[3], data=[0.1, 0.2, 0.3])), 400, "3 rows"
    ),
    "2-D tensor of the wrong width": (
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}]},
        400, "[-1, 3]",
    ),
    "unknown datatype": (_with(lambda d: d["inputs"][0].update(datatype="FP128")), 400, "FP128"),
    "no inputs": ({"inputs": []}, 400, "'inputs'"),
    "id with a line break": (columns_request(id="a\r\nX-Evil: 1"), 400, "'id' must be"),
    "not JSON": (b"{nope", 400, "valid JSON"),
    "empty body": (b"", 400, "valid JSON"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_requests_are_400s_naming_the_problem(kind: str, server: ServerThread) -> None:
    doc, status, names = BAD[kind]
    r = infer(server, doc)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert names in r.json()["error"]


def test_unknown_model_or_version_is_404(server: ServerThread) -> None:
    assert infer(server, columns_request(), path="nope").status_code == 404
    r = infer(server, columns_request(), path="credit/versions/2")
    assert r.status_code == 404 and "serves version '1'" in r.json()["error"]
    assert requests.get(f"{server.url}/v2/models/credit/versions/2/ready").status_code == 404


def test_oversized_infer_is_refused_before_it_is_read(server: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v2/models/credit/infer HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {LIMIT + 1}\r\n\r\n".encode()
        )
        head = sock.recv(65536).decode()
    assert head.startswith("HTTP/1.1 413"), head
    assert '{"error": "the request body is larger than the limit' in head


def test_several_models_on_one_port(models: Models) -> None:
    with serving(models=[models.directory, "models:/credit/2"], store_uri=models.store_uri) as s:
        one = requests.post(f"{s.url}/invocations", json={"dataframe_records": [PROBE]})
        assert one.headers["X-MM-Model-Name"] == "credit-dir"  # /invocations: the first model
        two = infer(s, columns_request(pd.DataFrame([PROBE])), path="credit")
        assert two.json()["model_version"] == "2"
        first = infer(s, columns_request(pd.DataFrame([PROBE])), path="credit-dir")
        assert first.json()["outputs"][0]["data"] == one.json()["predictions"]
        assert two.json()["outputs"][0]["data"] != one.json()["predictions"]


@pytest.mark.parametrize(
    "body,names",
    [
        (b"[" * 10_000, "nested deeper"),
        (b'{"inputs": [{"name": "income\\ud800", "shape": [1], "datatype": "FP64", "data": [1]}]}',
         "surrogate"),
        (json.dumps(_with(lambda d: d["inputs"][0].update(data=[int("9" * 400)]))).encode(),
         "income"),
    ],
    ids=["10,000-deep JSON", "lone surrogate", "400-digit integer"],
)  # fmt: skip
def test_hostile_infer_bodies_are_400s(body: bytes, names: str, server: ServerThread) -> None:
    r = infer(server, body)
    assert r.status_code == 400, r.text
    assert names in r.json()["error"]
