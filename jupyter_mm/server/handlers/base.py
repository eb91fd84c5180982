"""Base handler: store access off the event loop and JSON errors with stable codes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from ...errors import InvalidInput, MMError, StoreError
from ..store_provider import StoreProvider

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ...core.store import Store

T = TypeVar("T")

#: URL prefix of the REST API, relative to the server's base URL.
API_PREFIX = "jupyter-mm/api"
#: Key of the StoreProvider in the tornado application settings.
STORE_SETTING = "jupyter_mm_store"
#: Tornado setting: true on a team server, where runs belong to the authenticated identity.
RECORD_IDENTITY_SETTING = "jupyter_mm_record_identity"
#: Tornado setting: record the OS user running the server as the registry actor. Jupyter's own
#: token and password logins authenticate a random "Anonymous <moon>" user per browser session,
#: which names nobody; on such a personal server the person is the server's owner.
AUDIT_AS_SERVER_USER_SETTING = "jupyter_mm_audit_as_server_user"
#: The running webhook dispatcher (jupyter_mm.loop.webhooks), and whether webhooks may target
#: private addresses (JupyterMM.webhooks_allow_private or $MM_WEBHOOK_ALLOW_PRIVATE).
WEBHOOKS_SETTING = "jupyter_mm_webhooks"
WEBHOOKS_ALLOW_PRIVATE_SETTING = "jupyter_mm_webhooks_allow_private"

#: Error codes (MLflow's vocabulary) for HTTP errors that are not MMErrors.
_HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "BAD_REQUEST",
    413: "REQUEST_LIMIT_EXCEEDED",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


def error_code_for_status(status: int) -> str:
    if status in _HTTP_ERROR_CODES:
        return _HTTP_ERROR_CODES[status]
    return "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR"


class MMHandler(APIHandler):
    """Base of every jupyter-mm REST handler.

    Subclasses set ``auth_resource = "jupyter_mm:<thing>"``, most through their route family's
    base (``RunsAPIHandler``, ``RegistryHandler``..., as jupyter_server's ``KernelsAPIHandler``),
    and decorate every verb with ``@tornado.web.authenticated`` then ``@authorized``. Errors are
    answered as ``{"error_code": ..., "message": ...}``: an :class:`~jupyter_mm.errors.MMError`
    with its own ``code`` and ``http_status``, an ``HTTPError`` with a code derived from its
    status. An MMError's ``details`` (e.g. a filter error's ``position``) are added as
    ``"details"``, so clients need not parse the message; a handler family bound to another wire
    format can turn that off with ``error_details = False``.
    """

    auth_resource = "jupyter_mm"
    #: Whether error replies carry an MMError's ``details``.
    error_details: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at import, a verb that would be authorized against the wrong action or resource.

        jupyter_server's ``@authorized`` fixes its action (read/write, from the HTTP method) and
        its resource (``self.auth_resource``) on the first call of the function it wraps. So one
        decorated function must serve one verb of one resource: never ``post = get``, and a verb
        a base class defines is inherited only by handlers of the base's own ``auth_resource``.
        """
        super().__init_subclass__(**kwargs)
        seen: dict[Any, str] = {}
        for verb in cls.SUPPORTED_METHODS:
            name = verb.lower()
            owner = next((c for c in cls.__mro__ if name in c.__dict__), None)
            if owner is None or not issubclass(owner, MMHandler):
                continue  # tornado's or jupyter_server's own (unimplemented, CORS preflight)
            method = owner.__dict__[name]
            if method in seen:
                raise TypeError(f"{cls.__name__}: {verb} and {seen[method]} share one function")
            seen[method] = verb
            if owner is not cls and owner.auth_resource != cls.auth_resource:
                raise TypeError(
                    f"{cls.__name__} ({cls.auth_resource}) inherits {verb} from "
                    f"{owner.__name__} ({owner.auth_resource}): define it again"
                )

    @property
    def store_provider(self) -> StoreProvider:
        provider: StoreProvider | None = self.settings.get(STORE_SETTING)
        if provider is None:
            raise HTTPError(503, "the jupyter-mm store is not configured")
        return provider

    @property
    def store(self) -> Store:
        """The open store. Opening blocks: touch it only inside :meth:`call_store`."""
        return self.store_provider.get()

    def set_cors_headers(self) -> None:
        """CORS headers only as configured (``ServerApp.allow_origin`` / ``allow_origin_pat``).

        jupyter_server, when neither is set, answers every token-authenticated request with
        ``Access-Control-Allow-Origin: <the request's Origin>``, so any web page holding a token
        could read our replies. With nothing configured we send no CORS header at all."""
        if self.allow_origin or self.allow_origin_pat:
            super().set_cors_headers()

    def run_user(self, claimed: str | None) -> str:
        """The user recorded on a run created by this request.

        A team server (``jupyter mm server``) records the authenticated identity whatever the
        client claims; a personal Jupyter server has one user, so the client's name (its OS user)
        is kept and the identity is only the fallback.
        """
        identity = self.current_user.username if self.current_user else ""
        if self.settings.get(RECORD_IDENTITY_SETTING):
            return identity
        return claimed or identity

    def audit_actor(self) -> str:
        """Who the registry's audit trail records for this request: the authenticated Jupyter
        identity, unless the server records its OS user instead
        (:data:`AUDIT_AS_SERVER_USER_SETTING`, from ``JupyterMM.audit_identity``). A team server
        always records the identity."""
        username = str(getattr(self.current_user, "username", "") or "")
        if self.settings.get(RECORD_IDENTITY_SETTING) or not self.settings.get(
            AUDIT_AS_SERVER_USER_SETTING
        ):
            return username
        return _os_user() or username

    @property
    def actor(self) -> str:
        """The named user a registry, webhook or job change is recorded as (see
        :meth:`audit_actor`); a 400 when the request names nobody, so nothing is recorded as ""."""
        actor = self.audit_actor()
        if not actor:
            raise InvalidInput("the server cannot tell who is acting: sign in with a named user")
        return actor

    async def call_store(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, *args, **kwargs)`` in a worker thread, never on the tornado loop."""
        provider = self.store_provider
        return await asyncio.to_thread(lambda: fn(provider.get(), *args, **kwargs))

    def send_json(self, obj: Any, status: int = 200) -> None:
        """Finish with ``obj`` as strict JSON (no NaN/Infinity literals)."""
        self.set_status(status)
        self.finish(json.dumps(obj, allow_nan=False, separators=(",", ":")))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reply: dict[str, Any]
        if isinstance(exc, MMError):
            status_code = exc.http_status
            self.set_status(status_code)
            reply = {"error_code": exc.code, "message": exc.message}
            if exc.details and self.error_details:
                reply["details"] = exc.details
        elif isinstance(exc, HTTPError):
            reply = {
                "error_code": error_code_for_status(status_code),
                "message": exc.log_message or exc.reason or responses.get(status_code, "Error"),
            }
        else:
            # Unexpected: the traceback is in the server log (see log_exception), not in the reply.
            reply = {
                "error_code": "INTERNAL_ERROR",
                "message": "internal error in the jupyter-mm server extension; see the server log",
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Anticipated errors say it all in their message, so one line each: the caller's mistake
        # (a warning) and the store unreachable, full or not configured (an error, its traceback
        # kept for debug level). Only the unexpected get tornado's "Uncaught exception".
        client_error = isinstance(value, MMError) and value.http_status < 500
        if client_error or isinstance(value, StoreError):
            level = logging.WARNING if client_error else logging.ERROR
            self.log.log(
                level,
                "%s %s: %s %s",
                self.request.method,
                self.request.path,
                value.code,
                value.message,
            )
            if not client_error:
                self.log.debug("%s's traceback", value.code, exc_info=(typ, value, tb))
            return
        super().log_exception(typ, value, tb)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (e.g. some containers)
        _log.debug("no user name for this process's uid", exc_info=True)
        return ""
