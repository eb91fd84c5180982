"""MMHandler answers every error as JSON ``{error_code, message}`` with a stable code, plus the
error's ``details`` when it has some."""

from __future__ import annotations

import json

import pytest
import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError

from jupyter_mm.errors import FilterSyntaxError, InvalidInput, NotFound, StoreError
from jupyter_mm.server.handlers.base import MMHandler

RAISED = {
    "not-found": NotFound("run 'abc' does not exist"),
    "invalid": InvalidInput("metric value must be a number, got 'x'"),
    "store": StoreError("database is unreachable"),
    "http": tornado.web.HTTPError(400, "missing 'name'"),
    "bug": RuntimeError("secret internal detail"),
    "filter": FilterSyntaxError("expected a value at position 4", "a = ", 4),
}


class RaisingHandler(MMHandler):
    auth_resource = "jupyter_mm:test"

    @tornado.web.authenticated
    @authorized
    async def get(self, what: str) -> None:
        raise RAISED[what]


class PlainErrorsHandler(RaisingHandler):
    error_details = False


@pytest.fixture
def raising_route(jp_web_app, jp_base_url: str) -> None:
    pattern = url_path_join(jp_base_url, "jupyter-mm", "api", "test-raise", "(?P<what>[^/]+)")
    plain = url_path_join(jp_base_url, "jupyter-mm", "api", "test-plain", "(?P<what>[^/]+)")
    jp_web_app.add_handlers(".*$", [(pattern, RaisingHandler), (plain, PlainErrorsHandler)])


@pytest.mark.parametrize(
    ("what", "status", "code", "message"),
    [
        ("not-found", 404, "RESOURCE_DOES_NOT_EXIST", "run 'abc' does not exist"),
        ("invalid", 400, "INVALID_PARAMETER_VALUE", "metric value must be a number, got 'x'"),
        ("store", 503, "TEMPORARILY_UNAVAILABLE", "database is unreachable"),
        ("http", 400, "BAD_REQUEST", "missing 'name'"),
    ],
)
async def test_errors_are_json_with_stable_codes(
    raising_route: None, jp_fetch, what: str, status: int, code: str, message: str
) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "test-raise", what)
    assert e.value.code == status
    assert e.value.response.headers["Content-Type"].startswith("application/json")
    assert json.loads(e.value.response.body) == {"error_code": code, "message": message}


async def test_unexpected_errors_do_not_leak_details(raising_route: None, jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "test-raise", "bug")
    assert e.value.code == 500
    body = json.loads(e.value.response.body)
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "secret internal detail" not in e.value.response.body.decode()
    assert "traceback" not in body


async def test_error_details_are_data(raising_route: None, jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "test-raise", "filter")
    assert e.value.code == 400
    body = json.loads(e.value.response.body)
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert body["details"] == {"position": 4}
    assert body["message"].startswith("expected a value at position 4\n")
    # a handler family with its own wire format (MLflow's) can leave them out
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "test-plain", "filter")
    assert set(json.loads(e.value.response.body)) == {"error_code", "message"}


async def test_an_unavailable_store_is_logged_in_one_line_and_a_bug_with_its_traceback(
    raising_route: None, jp_fetch, caplog: pytest.LogCaptureFixture
) -> None:
    # The store unreachable, full or without an artifact location is anticipated and its message
    # says it all: one error line, no "Uncaught exception" traceback. A bug keeps its traceback.
    with caplog.at_level("ERROR"):
        with pytest.raises(HTTPClientError):
            await jp_fetch("jupyter-mm", "api", "test-raise", "store")
    store_lines = [r for r in caplog.records if "database is unreachable" in r.getMessage()]
    assert [r.levelname for r in store_lines] == ["ERROR"]
    assert store_lines[0].exc_info is None
    assert "TEMPORARILY_UNAVAILABLE" in store_lines[0].getMessage()
    assert not [r for r in caplog.records if "Uncaught exception" in r.getMessage()]
    caplog.clear()
    with caplog.at_level("ERROR"):
        with pytest.raises(HTTPClientError):
            await jp_fetch("jupyter-mm", "api", "test-raise", "bug")
    bugs = [r for r in caplog.records if "Uncaught exception" in r.getMessage()]
    assert len(bugs) == 1 and bugs[0].exc_info is not None
