"""HTTP to the tracking server: one keep-alive connection pool per process, timeouts, and retries
with exponential backoff and jitter on connection errors, 429 and every 5xx but 501.

Retrying any request is safe because every write the client makes is idempotent (client-made run
ids and batch ids). Failures become :class:`~jupyter_mm.errors.MMError` subclasses: the server's
JSON ``{error_code, message}`` maps back to the error it came from; a server that stays
unreachable is :class:`~jupyter_mm.errors.Unavailable`; a refused token is
:class:`~jupyter_mm.errors.PermissionDenied`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from ...errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    MMError,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    ServerError,
    StoreError,
    StoreFull,
    Unavailable,
)

_log = logging.getLogger(__name__)

#: Statuses worth retrying: the server or a proxy in front of it is busy or restarting. After
#: the last attempt these are :class:`Unavailable`.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Any other answer whose error is ``retryable`` (a full store's 507, a 500 the server did not
# explain) is retried too, then raised as that error; a 500 DATA_LOSS is not (it will not pass).
_ERRORS: dict[str, type[MMError]] = {
    "INVALID_PARAMETER_VALUE": InvalidInput,
    "BAD_REQUEST": InvalidInput,
    "REQUEST_LIMIT_EXCEEDED": InvalidInput,
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "RESOURCE_ALREADY_EXISTS": AlreadyExists,
    "DATA_LOSS": IntegrityError,
}

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None


def pool() -> urllib3.PoolManager:
    """The process's connection pool (kept alive between requests; a new one after fork)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = urllib3.PoolManager(num_pools=4, maxsize=4, block=False, retries=False)
    return _pool


def _forget_pool() -> None:
    global _pool
    _pool = None  # a child must not share its parent's sockets


os.register_at_fork(after_in_child=_forget_pool)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class Response:
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data

    def json(self) -> Any:
        return json.loads(self.data)


class Transport:
    """Requests to ``<base_url>jupyter-mm/api/`` with the token, timeouts and retries.

    Tuning (environment): ``MM_HTTP_TIMEOUT`` (seconds to wait for an answer, default 60),
    ``MM_HTTP_RETRIES`` (retries after the first attempt, default 5), ``MM_HTTP_BACKOFF`` (first
    wait, default 0.5 s; doubling, with jitter, up to ``MM_HTTP_BACKOFF_MAX``, default 8 s).
    """

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.api_url = self.base_url + "jupyter-mm/api/"
        self.headers = {"Accept": "application/json", "User-Agent": "jupyter-mm-client"}
        if token:
            self.headers["Authorization"] = f"token {token}"
        self.timeout = urllib3.Timeout(
            connect=min(10.0, _env_float("MM_HTTP_TIMEOUT", 60.0)),
            read=_env_float("MM_HTTP_TIMEOUT", 60.0),
        )
        self.retries = int(_env_float("MM_HTTP_RETRIES", 5))
        self.backoff = _env_float("MM_HTTP_BACKOFF", 0.5)
        self.backoff_max = _env_float("MM_HTTP_BACKOFF_MAX", 8.0)

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = self.api_url + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | os.PathLike[str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
    ) -> Response:
        """Send a request and read the whole answer; raise the MMError a failure stands for.

        ``body`` may be the path of a file: it is streamed from disk (read again from the start
        on each attempt), never held in memory."""
        resp = self._send(method, path, json_body, body, params, headers, retries, stream=False)
        return Response(resp.status, resp.headers, resp.data)

    def stream(
        self,
        path: str,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """A GET whose body is read by the caller (``.stream()``, then ``.release_conn()``)."""
        return self._send("GET", path, None, None, None, headers, retries, stream=True)

    def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        body: bytes | os.PathLike[str] | None,
        params: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None,
        retries: int | None,
        stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        headers = dict(self.headers)
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if extra_headers:
            headers.update(extra_headers)
        url = self.url(path, params)
        attempts = 1 + (self.retries if retries is None else retries)
        problem = ""
        retry_after: str | None = None
        for attempt in range(attempts):
            if attempt:
                self._wait(attempt, retry_after)
                retry_after = None
            try:
                with _opened(body) as (payload, length):
                    if length is not None:
                        headers["Content-Length"] = str(length)
                    resp = pool().request(
                        method,
                        url,
                        body=payload,
                        headers=headers,
                        timeout=self.timeout,
                        retries=False,
                        redirect=False,
                        preload_content=not stream,
                    )
            except urllib3.exceptions.HTTPError as e:  # refused, reset, timed out, TLS...
                problem = f"{type(e).__name__}: {e}"
                continue
            if resp.status in RETRY_STATUSES:
                problem = f"HTTP {resp.status}"
                retry_after = resp.headers.get("Retry-After")
                _drain(resp)
                continue
            if resp.status >= 400:
                data = resp.data if not stream else resp.read()
                _drain(resp)
                error = self._error(resp.status, data, method, path)
                if error.retryable and attempt + 1 < attempts:
                    problem = f"HTTP {resp.status}"
                    continue
                raise error
            return resp
        raise Unavailable(
            f"the tracking server {self.base_url} is unreachable ({problem}; "
            f"{attempts} attempt{'s' if attempts > 1 else ''})"
        )

    def _wait(self, attempt: int, after: str | None) -> None:
        """Exponential backoff with jitter (half fixed, half random), or the server's
        ``Retry-After`` when it gave one (capped)."""
        delay = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        delay = delay / 2 + random.uniform(0, delay / 2)
        if after and after.isdigit():
            delay = min(float(after), self.backoff_max)
        time.sleep(delay)

    def _error(self, status: int, data: bytes, method: str, path: str) -> MMError:
        details: dict[str, Any] = {}
        try:
            reply = json.loads(data)
            code, message = reply.get("error_code"), reply.get("message") or ""
            if isinstance(reply.get("details"), dict):
                details = reply["details"]
        except (ValueError, AttributeError):
            code, message = None, data[:200].decode("utf-8", "replace")
        # 403s that name their reason: the token was right, so no hint about it
        if status == 403 and isinstance(details.get("policy"), str):
            return PolicyViolation(message, policy=details["policy"])
        if status == 403 and isinstance(details.get("role"), str):
            return PermissionDenied(
                f"the tracking server {self.base_url} refused: {message}", details
            )
        if status in (401, 403):
            return PermissionDenied(
                f"the tracking server {self.base_url} refused the request ({status}"
                f"{': ' + message if message else ''}); set MM_TRACKING_TOKEN to its token"
            )
        if status == 404 and code in (None, "ENDPOINT_NOT_FOUND"):
            return InvalidInput(
                f"{self.base_url} does not serve the jupyter-mm API ({method} {path}: 404); "
                "check the URL (with the server's base URL) and that the jupyter_mm server "
                "extension is enabled there"
            )
        message = message or f"{method} {path}: HTTP {status}"
        if code == "INSUFFICIENT_STORAGE" or status == 507:
            full = StoreFull(
                str(details.get("location") or "database"), str(details.get("path", ""))
            )
            full.message = full.args[0] if not message else f"the tracking server: {message}"
            full.args = (full.message,)
            return full
        if code == "TEMPORARILY_UNAVAILABLE" and status >= 500:
            return StoreError(f"the tracking server's store: {message}")
        cls = _ERRORS.get(code or "", MMError)
        if cls is MMError:
            cls = InvalidInput if status < 500 else ServerError
        return cls(message)


@contextlib.contextmanager
def _opened(body: bytes | os.PathLike[str] | None) -> Iterator[tuple[Any, int | None]]:
    """The body to send and, for a file, its length (the file is open for the block)."""
    if body is None or isinstance(body, (bytes, bytearray)):
        yield body, None
        return
    with open(body, "rb") as f:
        yield f, os.fstat(f.fileno()).st_size


def _drain(resp: urllib3.BaseHTTPResponse) -> None:
    try:
        resp.drain_conn()
    except Exception:
        _log.debug("draining a response failed", exc_info=True)
    resp.release_conn()


def quote_path(path: str) -> str:
    """A logical artifact path as URL path segments."""
    return "/".join(quote(part, safe="") for part in path.split("/"))


def iter_body(resp: urllib3.BaseHTTPResponse, block: int = 1 << 20) -> Iterator[bytes]:
    """The body in blocks; a connection lost half-way is :class:`Unavailable`."""
    try:
        yield from resp.stream(block)
    except urllib3.exceptions.HTTPError as e:
        raise Unavailable(f"the download was cut off: {type(e).__name__}: {e}") from None
    finally:
        resp.release_conn()
