"""Helpers shared by the REST API tests, and unit tests of the handlers' parsing helpers."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput
from jupyter_mm.server.handlers.artifacts import parse_range
from jupyter_mm.server.handlers.common import Columns, json_number, json_numbers, string_map


def open_store() -> Store:
    """The server's store, opened the way a kernel would (straight into SQLite)."""
    return Store.open(os.environ["MM_TRACKING_URI"])


async def call(jp_fetch, method: str, *path: str, body: Any = None, **kw: Any) -> Any:
    """``(status, JSON)`` of a request that must succeed."""
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    r = await jp_fetch("jupyter-mm", "api", *path, method=method, body=body, **kw)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers["Content-Type"]
    return r.code, json.loads(r.body)


async def fail(jp_fetch, method: str, *path: str, body: Any = None, **kw: Any) -> Any:
    """``(status, JSON)`` of a request that must fail with a JSON error."""
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", *path, method=method, body=body, **kw)
    assert e.value.response is not None
    reply = json.loads(e.value.response.body)
    assert set(reply) - {"details"} == {"error_code", "message"}, reply
    return e.value.code, reply


def test_json_numbers() -> None:
    assert json_number(math.nan) == "NaN"
    assert json_number(math.inf) == "Infinity"
    assert json_number(-math.inf) == "-Infinity"
    assert json_number(1.5) == 1.5
    assert json_numbers([1.0, math.nan, -math.inf]) == [1.0, "NaN", "-Infinity"]


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-3", 10, (0, 4)),
        ("bytes=5-", 10, (5, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-30", 10, (0, 10)),
        ("bytes=8-100", 10, (8, 10)),
        ("bytes=10-12", 10, "unsatisfiable"),
        ("bytes=0-0", 0, "unsatisfiable"),
        ("bytes=5-2", 10, None),  # invalid: ignored
        ("bytes=0-1,4-5", 10, None),  # several ranges: the whole file
        ("items=0-1", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: Any) -> None:
    assert parse_range(header, size) == expected


def test_columns() -> None:
    cols = Columns("name,params.lr,metrics.*,tags.team")
    assert cols.attributes == {"name"}
    assert cols.pick("params", {"lr": "1", "x": "2"}) == {"lr": "1"}
    assert cols.pick("metrics", {"a": 1}) == {"a": 1}
    assert cols.pick("tags", {"other": "x"}) == {}
    assert Columns(None).pick("tags", {"a": "b"}) == {"a": "b"}
    assert Columns(["status"]).pick("params", {"a": "b"}) is None
    with pytest.raises(InvalidInput, match="unknown column"):
        Columns("nope")


def test_string_map() -> None:
    assert string_map({"a": 1, "b": 0.5, "c": True, "d": "x"}, "params") == {
        "a": "1",
        "b": "0.5",
        "c": "true",
        "d": "x",
    }
    assert string_map([{"key": "a", "value": "1"}], "tags") == {"a": "1"}
    for bad in ({"a": None}, {"a": [1]}, [{"key": "a"}], "x"):
        with pytest.raises(InvalidInput):
            string_map(bad, "params")
