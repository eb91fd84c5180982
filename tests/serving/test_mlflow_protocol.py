"""``/invocations`` (MLflow's scoring protocol) on a real server: every body format, good and
bad, compared with MLflow 3.17's own scoring server on the same model files and requests."""

from __future__ import annotations

import hashlib
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from .support import COLUMNS, Models, ServerThread, credit_frame, credit_store, expected, serving

pytest.importorskip("sklearn")
LIMIT = 64 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("mlflow-protocol")) as m:
        yield m


@pytest.fixture(scope="module")
def server(models: Models) -> Iterator[ServerThread]:
    with serving(models=["models:/credit/1"], store_uri=models.store_uri,
                 max_body_bytes=LIMIT) as s:  # fmt: skip
        yield s


@pytest.fixture(scope="module")
def mlflow_server(models: Models) -> Any:
    """MLflow's own scoring server (its FastAPI app, in-process) on the same model files."""
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    import warnings

    from mlflow.pyfunc import scoring_server

    with warnings.catch_warnings():  # starlette's notice about httpx, not ours
        warnings.filterwarnings("ignore", message=".*httpx.*")
        from starlette.testclient import TestClient

        return TestClient(scoring_server.init(mlflow_pyfunc.load_model(models.directory)))


def rows(n: int = 3) -> pd.DataFrame:
    return credit_frame(50, seed=7)[0].head(n)


def parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


R = rows()
GOOD: dict[str, tuple[bytes, dict[str, str]]] = {
    "dataframe_split": (
        json.dumps(
            {"dataframe_split": json.loads(R.to_json(orient="split", index=False))}
        ).encode(),
        JSON,
    ),
    "dataframe_records": (
        json.dumps({"dataframe_records": json.loads(R.to_json(orient="records"))}).encode(),
        JSON,
    ),
    "instances": (
        json.dumps({"instances": json.loads(R.to_json(orient="records"))}).encode(),
        JSON,
    ),
    "inputs": (
        json.dumps({"inputs": {c: json.loads(R[c].to_json(orient="values")) for c in R}}).encode(),
        JSON,
    ),
    "params": (
        json.dumps(
            {
                "dataframe_records": json.loads(R.to_json(orient="records")),
                "params": {"threshold": 0.5},
            }
        ).encode(),  # fmt: skip
        JSON,
    ),
    "csv": (R.to_csv(index=False).encode(), {"Content-Type": "text/csv"}),
    "parquet": (parquet(R), {"Content-Type": "application/vnd.apache.parquet"}),
    "json_charset": (
        json.dumps({"dataframe_records": json.loads(R.to_json(orient="records"))}).encode(),
        {"Content-Type": "application/json; charset=utf-8"},
    ),
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_bodies_answer_as_mlflow_does(
    kind: str, server: ServerThread, mlflow_server: Any, models: Models
) -> None:
    body, headers = GOOD[kind]
    ours = requests.post(f"{server.url}/invocations", data=body, headers=headers)
    theirs = mlflow_server.post("/invocations", content=body, headers=headers)
    assert ours.status_code == theirs.status_code == 200, ours.text
    assert ours.headers["Content-Type"].startswith("application/json")
    assert ours.json() == theirs.json() == {"predictions": expected(models.directory, R)}
    assert ours.headers["X-MM-Model-Name"] == "credit"
    assert ours.headers["X-MM-Model-Version"] == "1"
    assert ours.headers["X-MM-Model-Digest"].startswith("sha256:")
    assert len(ours.headers["X-Request-Id"]) == 32  # generated


def test_request_id_is_the_clients(server: ServerThread) -> None:
    body, headers = GOOD["dataframe_records"]
    r = requests.post(f"{server.url}/invocations", data=body,
                      headers={**headers, "X-Request-Id": "loan-42"})  # fmt: skip
    assert r.status_code == 200
    assert r.headers["X-Request-Id"] == "loan-42"


def _split(columns: list[str], data: list[list[Any]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


CSV = {"Content-Type": "text/csv"}
PARQUET = {"Content-Type": "application/vnd.apache.parquet"}


def _json(key: str, value: Any) -> bytes:
    return json.dumps({key: value}).encode()


ROW = {"income": 60.0, "age": 30, "utilisation": 0.2}
SHORT = {"income": 60.0, "age": 30}  # no utilisation
RICH = {**ROW, "income": "rich"}

# (body, headers, status, our error_code, what our message names, whether MLflow's code agrees;
# None: MLflow answers otherwise, see docs/serving.md's differences)
BAD: dict[str, tuple[bytes, dict[str, str], int, str, str, bool | None]] = {
    "missing column": (_split(["income", "age"], [[60.0, 30]]), JSON, 400,
                       "INVALID_PARAMETER_VALUE", "['utilisation']", True),
    "wrong type": (_split(COLUMNS, [["rich", 30, 0.2]]), JSON, 400,
                   "INVALID_PARAMETER_VALUE", "'income' has type string", False),
    "wrong shape": (_split(COLUMNS, [[60.0, 30]]), JSON, 400, "BAD_REQUEST", "row 0", True),
    "not JSON": (b"{nope", JSON, 400, "BAD_REQUEST", "valid JSON", True),
    "empty body": (b"", JSON, 400, "BAD_REQUEST", "valid JSON", True),
    "empty object": (b"{}", JSON, 400, "BAD_REQUEST", "exactly one of the input fields", True),
    "two input keys": (b'{"inputs": [], "instances": []}', JSON, 400, "BAD_REQUEST",
                       "['inputs', 'instances']", True),
    "bare list": (b"[[1, 2, 3]]", JSON, 400, "BAD_REQUEST", "Received a list", True),
    "no rows": (_split(COLUMNS, []), JSON, 400, "BAD_REQUEST", "no rows", True),
    "csv missing column": (b"income,age\n60,30\n", {"Content-Type": "text/csv"}, 400,
                           "INVALID_PARAMETER_VALUE", "['utilisation']", True),
    "parquet garbage": (b"PAR1 not parquet", PARQUET, 400, "BAD_REQUEST", "Parquet", None),
    "records missing column": (_json("dataframe_records", [SHORT]), JSON, 400,
                               "INVALID_PARAMETER_VALUE", "['utilisation']", True),
    "records wrong type": (_json("dataframe_records", [RICH]), JSON, 400,
                           "INVALID_PARAMETER_VALUE", "'income' has type string", False),
    "records wrong shape": (_json("dataframe_records", [[60.0, 30]]), JSON, 400,
                            "INVALID_PARAMETER_VALUE", "a list of objects, one per row", True),
    "instances missing column": (_json("instances", [SHORT]), JSON, 400,
                                 "INVALID_PARAMETER_VALUE", "['utilisation']", True),
    "instances wrong type": (_json("instances", [RICH]), JSON, 400,
                             "INVALID_PARAMETER_VALUE", "'income' has type string", False),
    "instances wrong shape": (_json("instances", [[60.0, 30]]), JSON, 400,
                              "INVALID_PARAMETER_VALUE", "shape (1, 2)", True),
    "inputs missing column": (_json("inputs", {k: [v] for k, v in SHORT.items()}), JSON, 400,
                              "INVALID_PARAMETER_VALUE", "['utilisation']", True),
    "inputs wrong type": (_json("inputs", {k: [v] for k, v in RICH.items()}), JSON, 400,
                          "INVALID_PARAMETER_VALUE", "'income' has type string", False),
    "inputs wrong shape": (_json("inputs", {**{k: [v] for k, v in ROW.items()},
                                            "income": [60.0, 70.0]}), JSON, 400,
                           "INVALID_PARAMETER_VALUE", "not of one length", True),
    "params not an object": (json.dumps({"dataframe_records": [ROW], "params": [1]}).encode(),
                             JSON, 400, "INVALID_PARAMETER_VALUE", "'params'", None),
    "csv wrong type": (b"income,age,utilisation\nrich,30,0.2\n", CSV, 400,
                       "INVALID_PARAMETER_VALUE", "'income' has type string", False),
    # one field too many on every row: not read as an index that shifts the columns
    "csv extra field": (b"income,age,utilisation\n60,30,0.2,9\n", CSV, 400, "BAD_REQUEST",
                        "header", True),
    "parquet missing column": (parquet(pd.DataFrame([SHORT])), PARQUET, 400,
                               "INVALID_PARAMETER_VALUE", "['utilisation']", True),
    "parquet wrong type": (parquet(pd.DataFrame([RICH])), PARQUET, 400,
                           "INVALID_PARAMETER_VALUE", "'income' has type string", True),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_bodies_are_400s_naming_the_problem(
    kind: str, server: ServerThread, mlflow_server: Any
) -> None:
    body, headers, status, code, names, same_code = BAD[kind]
    ours = requests.post(f"{server.url}/invocations", data=body, headers=headers)
    assert ours.status_code == status, ours.text
    doc = ours.json()
    assert doc["error_code"] == code
    assert names in doc["message"]
    assert "stack_trace" not in doc and "Traceback" not in doc["message"]
    if same_code is None:
        return  # MLflow fails garbage Parquet with a 500 and ignores params that are no object
    theirs = mlflow_server.post("/invocations", content=body, headers=headers)
    assert theirs.status_code == status
    if same_code:
        assert theirs.json()["error_code"] == code


@pytest.mark.parametrize(
    "content_type,text",
    [
        ("application/xml", "only supports the following content types"),
        ("application/json; charset=latin-1", "only supports UTF-8"),
        ("application/json; format=pandas-split", "Unrecognized content type parameters"),
    ],
)
def test_unsupported_content_types_are_415_text(
    content_type: str, text: str, server: ServerThread, mlflow_server: Any
) -> None:
    ours = requests.post(f"{server.url}/invocations", data=b"{}",
                         headers={"Content-Type": content_type})  # fmt: skip
    theirs = mlflow_server.post(
        "/invocations", content=b"{}", headers={"Content-Type": content_type}
    )
    assert ours.status_code == theirs.status_code == 415
    assert ours.headers["Content-Type"].startswith("text/plain")
    assert text in ours.text and text in theirs.text


#: a start of a body of each format, and what repeats to make it oversized
OVERSIZED = {
    "json": (JSON, b'{"dataframe_split": ', b" "),
    "csv": (CSV, b"income,age,utilisation\n", b"60.0,30,0.2\n"),
    "parquet": (PARQUET, parquet(R)[:64], b"\0"),
}


@pytest.mark.parametrize("kind", sorted(OVERSIZED))
def test_oversized_body_is_refused_before_it_is_read(kind: str, server: ServerThread) -> None:
    headers, start, _ = OVERSIZED[kind]
    # the body is announced (Content-Length) but never sent: the answer cannot come from parsing
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: {headers['Content-Type']}"
            f"\r\nContent-Length: {10 * LIMIT}\r\n\r\n".encode()
            + start
        )
        head = sock.recv(65536).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413"), head
    assert "REQUEST_LIMIT_EXCEEDED" in head


@pytest.mark.parametrize("kind", sorted(OVERSIZED))
def test_oversized_chunked_body_is_refused(kind: str, server: ServerThread) -> None:
    headers, start, filler = OVERSIZED[kind]

    def chunks() -> Iterator[bytes]:
        yield start
        for _ in range(4):
            yield filler * (LIMIT // len(filler))

    r = requests.post(f"{server.url}/invocations", data=chunks(), headers=headers)
    assert r.status_code == 413
    assert r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert f"limit of {LIMIT} bytes" in r.json()["message"]


def test_health_and_version(server: ServerThread, mlflow_server: Any) -> None:
    for path in ("/ping", "/health"):
        ours, theirs = requests.get(server.url + path), mlflow_server.get(path)
        assert ours.status_code == theirs.status_code == 200
        assert ours.text == theirs.text == "\n"
    import jupyter_mm

    assert requests.get(server.url + "/version").text == jupyter_mm.__version__


def test_a_model_directory_is_served_without_a_store(
    models: Models, server: ServerThread, tmp_path: Path
) -> None:
    body, headers = GOOD["dataframe_split"]
    from_store = requests.post(f"{server.url}/invocations", data=body, headers=headers)
    with serving(models=[models.directory], store_uri=str(tmp_path / "no-store")) as s:
        r = requests.post(f"{s.url}/invocations", data=body, headers=headers)
        assert r.json() == {"predictions": expected(models.directory, R)}
        assert r.headers["X-MM-Model-Name"] == "credit-dir"
        # the same files give the same digest, from a run's artifacts or from a directory:
        # sha256 of their SHA256SUMS listing, as a deploy bundle records it
        assert r.headers["X-MM-Model-Digest"] == from_store.headers["X-MM-Model-Digest"]
        files = sorted(p for p in Path(models.directory).rglob("*") if p.is_file())
        listing = "".join(
            f"{hashlib.sha256(p.read_bytes()).hexdigest()}  "
            f"{p.relative_to(models.directory).as_posix()}\n"
            for p in files
        )
        assert (
            r.headers["X-MM-Model-Digest"]
            == "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
        )
    assert not (tmp_path / "no-store").exists()  # nothing opened one


def test_a_large_body_is_parsed_off_the_loop_with_the_same_answers(
    server: ServerThread, models: Models
) -> None:
    from jupyter_mm.serving.handlers import INLINE_BYTES

    frame = credit_frame(1600, seed=3)[0].round(3)
    body = json.dumps({"dataframe_split": frame.to_dict(orient="split")}).encode()
    assert INLINE_BYTES < len(body) < LIMIT
    r = requests.post(f"{server.url}/invocations", data=body, headers=JSON)
    assert r.status_code == 200
    assert r.json() == {"predictions": expected(models.directory, frame)}
    bad = json.dumps({"dataframe_split": frame.drop(columns="age").to_dict(orient="split")})
    r = requests.post(f"{server.url}/invocations", data=bad, headers=JSON)
    assert r.status_code == 400 and "['age']" in r.json()["message"]


HOSTILE = {
    "10,000-deep JSON": (b"[" * 10_000, "nested deeper"),  # 100,000 is over the test limit: 413
    "lone surrogate": (b'{"dataframe_split": {"columns": ["income\\ud800"], "data": [[1]]}}',
                       "surrogate"),
    "400-digit integer": (_split(COLUMNS, [[int("9" * 400), 30, 0.2]]), "income"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_bodies_are_400s(kind: str, server: ServerThread) -> None:
    body, names = HOSTILE[kind]
    r = requests.post(f"{server.url}/invocations", data=body, headers=JSON)
    assert r.status_code == 400, r.text
    assert names in r.json()["message"]
