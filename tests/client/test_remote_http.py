"""The remote client's HTTP transport against a scripted HTTP server: which answers are retried
(connection errors, 429, 502-504, honouring Retry-After), which become which error, and that a
keep-alive connection is reused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jupyter_mm.client.remote.http import Transport
from jupyter_mm.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServerError,
    StoreFull,
    Unavailable,
)


class Scripted(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple[int, Any, dict[str, str]]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.connections: set[tuple[str, int]] = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: Scripted

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        self.server.connections.add(self.client_address)
        status, reply, headers = self.server.script.pop(0) if self.server.script else (200, {}, {})
        data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Scripted, Transport]]:
    monkeypatch.setenv("MM_HTTP_RETRIES", "3")
    monkeypatch.setenv("MM_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("MM_HTTP_BACKOFF_MAX", "0.05")
    srv = Scripted()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv, Transport(f"http://127.0.0.1:{srv.server_address[1]}/base/", token="t0k")
    finally:
        srv.shutdown()
        srv.server_close()


def test_busy_answers_are_retried(scripted: tuple[Scripted, Transport]) -> None:
    srv, http = scripted
    srv.script = [
        (503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "locked"}, {}),
        (429, {}, {"Retry-After": "0"}),
        (502, b"bad gateway", {}),
        (200, {"ok": True}, {}),
    ]
    assert http.request("POST", "runs/x/log-batch", json_body={"batch_id": "b"}).json() == {
        "ok": True
    }
    assert len(srv.requests) == 4
    method, path, headers, body = srv.requests[-1]
    assert (method, path) == ("POST", "/base/jupyter-mm/api/runs/x/log-batch")
    assert headers["Authorization"] == "token t0k" and json.loads(body) == {"batch_id": "b"}
    assert len({bodies for *_, bodies in srv.requests}) == 1  # the very same request each time
    assert len(srv.connections) == 1  # one keep-alive connection throughout


def test_giving_up_is_unavailable(scripted: tuple[Scripted, Transport]) -> None:
    srv, http = scripted
    srv.script = [(504, {}, {})] * 4
    with pytest.raises(Unavailable, match="HTTP 504; 4 attempts"):
        http.request("GET", "runs/x")
    srv.script = [(503, {}, {})]
    with pytest.raises(Unavailable, match="1 attempt"):
        http.request("GET", "runs/x", retries=0)


@pytest.mark.parametrize(
    ("reply", "error", "location"),
    [
        (
            {
                "error_code": "INSUFFICIENT_STORAGE",
                "message": "the store's artifact root is full",
                "details": {"location": "artifacts", "path": "/srv/a"},
            },
            StoreFull,
            "artifacts",
        ),
        ({"error_code": "INTERNAL_ERROR", "message": "internal error"}, ServerError, None),
    ],
)
def test_a_full_store_and_a_server_error_are_retried_then_retryable(
    scripted: tuple[Scripted, Transport], reply: Any, error: type[Exception], location: Any
) -> None:
    """A 507 or a 500 is the server's trouble, never a refusal of the request: retried, and
    raised as a ``retryable`` error (which the store spools) once the retries are spent."""
    srv, http = scripted
    status = 507 if location else 500
    srv.script = [(status, reply, {}), (200, {"ok": True}, {})]
    assert http.request("POST", "runs/x/log-batch", json_body={}).json() == {"ok": True}
    srv.script = [(status, reply, {})] * 4
    with pytest.raises(error) as e:
        http.request("POST", "runs/x/log-batch", json_body={})
    assert type(e.value) is error and e.value.retryable and len(srv.requests) == 6
    assert reply["message"] in str(e.value)
    if location:
        assert e.value.http_status == 507 and e.value.details["location"] == location


def test_a_refused_connection_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("MM_HTTP_RETRIES", "1")
    monkeypatch.setenv("MM_HTTP_BACKOFF", "0.01")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Unavailable, match="unreachable"):
        Transport(f"http://127.0.0.1:{port}/").request("GET", "status")


@pytest.mark.parametrize(
    ("status", "reply", "error"),
    [
        (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad key"}, InvalidInput),
        (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run"}, NotFound),
        (400, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}, AlreadyExists),
        (500, {"error_code": "DATA_LOSS", "message": "hash"}, IntegrityError),
        (403, {"message": "Forbidden"}, PermissionDenied),
        (401, b"", PermissionDenied),
        (404, b"<html>not found</html>", InvalidInput),  # no jupyter-mm API at this URL
        (413, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "too big"}, InvalidInput),
    ],
)
def test_errors_map_back(
    scripted: tuple[Scripted, Transport], status: int, reply: Any, error: type[Exception]
) -> None:
    srv, http = scripted
    srv.script = [(status, reply, {})]
    with pytest.raises(error) as e:
        http.request("GET", "runs/x")
    assert type(e.value) is error
    assert len(srv.requests) == 1  # a client's mistake is not retried
    if isinstance(reply, dict) and "error_code" in reply:
        assert reply["message"] in str(e.value)


def test_both_stores_answer_the_declared_interface() -> None:
    """mypy proves the signatures (``_implements_interface``); this proves at run time that no
    interface method is missing or takes other parameter names on either store, and that the
    remote store no longer pretends to have the local store's other methods."""
    import inspect

    from jupyter_mm.client.remote.store import RemoteStore
    from jupyter_mm.core.store import Store, TrackingStore

    members = [n for n in vars(TrackingStore) if not n.startswith("_")]
    assert len(members) > 50
    for name in members:
        declared = getattr(TrackingStore, name)
        if not callable(declared):  # attributes (location, kind...): set per instance
            continue
        want = [p for p in inspect.signature(declared).parameters if p != "fields"]
        for cls in (Store, RemoteStore):
            impl = getattr(cls, name, None)
            assert impl is not None, f"{cls.__name__} lacks {name}"
            got = list(inspect.signature(impl).parameters)
            assert got[: len(want)] == want, (cls.__name__, name, got, want)
    assert not hasattr(RemoteStore, "delete_experiment") and not hasattr(RemoteStore, "blobs")


def test_renaming_a_model_and_deleting_a_version_are_sent_once(
    scripted: tuple[Scripted, Transport], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not idempotent (repeated after the server acted, each would answer 404): a busy answer
    is not retried, and nothing is spooled."""
    from jupyter_mm.client.remote.store import RemoteStore

    srv, _ = scripted
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path))
    api = "/base/jupyter-mm/api/registry/models"
    busy: tuple[int, Any, dict[str, str]] = (
        503,
        {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "locked"},
        {},
    )
    with RemoteStore(f"http://127.0.0.1:{srv.server_address[1]}/base/") as store:
        for call, sent in (
            (
                lambda: store.rename_registered_model("m a", "m2", comment="why"),
                ("PATCH", f"{api}/m%20a", b'{"name":"m2","comment":"why"}'),
            ),
            (
                lambda: store.delete_model_version("m", 2, comment="why"),
                ("DELETE", f"{api}/m/versions/2?comment=why", b""),
            ),
        ):
            srv.requests.clear()
            srv.script = [busy, busy, busy, busy]
            with pytest.raises(Unavailable, match="not spooled"):
                call()
            assert [(method, path, body) for method, path, _, body in srv.requests] == [sent]
            assert not store.spool.pending()
