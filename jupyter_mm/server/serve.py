"""Registered models served inside the Jupyter server, under ``<base_url>jupyter-mm/serve/{name}/``.

Nothing is served until a user asks (``POST jupyter-mm/api/serve``, the version view's Try it,
``mm.serve``). Each served model is one :class:`~jupyter_mm.serving.app.ServingState` of the
Jupyter-free model server, and its routes are the model server's own handlers
(:func:`~jupyter_mm.serving.app.serving_routes`), mounted with :func:`jupyter_serving_handler`:
a subclass that authenticates like every other jupyter-mm route (token, cookie and XSRF,
``@authenticated``/``@authorized`` on ``jupyter_mm:serve``) and then runs the handler unchanged.
Health and readiness routes are not open here, unlike on the standalone server: they answer
Jupyter's users only.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async, url_path_join

from ..errors import AlreadyExists, InvalidInput, MMError, NotFound
from ..serving.app import ServingState, serving_routes
from ..serving.config import ModelSpec, ServeConfig
from ..serving.handlers import BaseHandler as ServingBaseHandler
from .handlers.base import error_code_for_status
from .store_provider import StoreProvider

log = logging.getLogger("jupyter_mm.server")

#: Where served models answer, relative to the server's base URL.
SERVE_PREFIX = "jupyter-mm/serve"
#: Tornado setting holding the :class:`ServedModels`.
SERVED_SETTING = "jupyter_mm_served"
#: Exported to kernels: the Jupyter server's runtime file (its URL and token), so ``mm.serve``
#: in a notebook can ask the server that started the kernel.
SERVER_INFO_ENV = "MM_JUPYTER_SERVER_INFO"
_SERVED = r"(?P<served>[^/]+)"


@dataclass
class Served:
    """One model served by this Jupyter server."""

    name: str
    model_uri: str
    state: ServingState
    started: int = field(default_factory=lambda: int(time.time() * 1000))

    def describe(self, base_url: str) -> dict[str, Any]:
        slot = self.state.default
        m = slot.current
        root = url_path_join(base_url, SERVE_PREFIX, _quote(self.name)) + "/"
        oip = url_path_join(root, "v2/models", _quote(m.name))
        return {
            "name": self.name,
            "model_uri": self.model_uri,
            "model_name": m.name,
            "version": m.version,
            "digest": m.digest,
            "alias": m.alias,
            "ready": slot.ready,
            "error": slot.error,
            "started": self.started,
            "url": root,
            "invocations_url": url_path_join(root, "invocations"),
            "oip_model_url": oip,
            "oip_infer_url": url_path_join(oip, "infer"),
        }


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def served_name(model_uri: str) -> str:
    """The name a URI is served under by default: the registered model's name
    (``models:/NAME@ALIAS``, ``models:/NAME/V``), or the artifact path's last segment
    (``runs:/ID/PATH``). Other URIs (a directory on the server's disk) are refused."""
    uri = model_uri.strip()
    if uri.startswith("models:/"):
        rest = uri[len("models:/") :]
        name = rest.split("@", 1)[0] if "@" in rest and "/" not in rest else rest.split("/", 1)[0]
        if name and (("@" in rest and rest.split("@", 1)[1]) or "/" in rest):
            return name
    elif uri.startswith("runs:/"):
        parts = [p for p in uri[len("runs:/") :].split("/") if p]
        if len(parts) >= 2:
            return parts[-1]
    raise InvalidInput(
        f"cannot serve {model_uri!r}: give models:/NAME@ALIAS, models:/NAME/VERSION or "
        "runs:/RUN_ID/PATH"
    )


class ServedModels:
    """The models this server serves, by name. Loading runs off the event loop; registering,
    listing and stopping on it."""

    def __init__(self, provider: StoreProvider, allow_trust: bool) -> None:
        self.provider = provider
        self.allow_trust = allow_trust
        self.by_name: dict[str, Served] = {}

    def get(self, name: str | None) -> Served | None:
        return self.by_name.get(name or "")

    async def start(self, model_uri: Any, name: Any, trust: bool) -> tuple[Served, bool]:
        """Serve ``model_uri`` as ``name``; (the served model, whether it was started now).
        Asking again for what is already served returns it; another URI under a served name
        is refused."""
        if not isinstance(model_uri, str) or not model_uri.strip():
            raise InvalidInput("'model_uri' is required: models:/NAME@ALIAS or models:/NAME/V")
        model_uri = model_uri.strip()
        default = served_name(model_uri)
        if name is not None and (not isinstance(name, str) or not name.strip() or "/" in name):
            raise InvalidInput("'name' must be a non-empty string without '/'")
        if trust and not self.allow_trust:
            raise InvalidInput(
                "this server does not load models that need trust (JupyterMM.serve_allow_trust)"
            )
        name = (name or default).strip()
        existing = self.by_name.get(name)
        if existing is not None:
            if existing.model_uri == model_uri:
                return existing, False
            raise AlreadyExists(
                f"{name!r} already serves {existing.model_uri}; stop it first or give another name"
            )

        def load() -> ServingState:
            config = ServeConfig(
                models=[ModelSpec(model_uri, name=name)],
                store=self.provider.get(),  # the extension's store and artifact location
                trust=bool(trust),
                external_auth=True,
                # the notebook's users share one process: a small pool, no batching delay
                threads=2,
                batch_window_ms=0.0,
            )
            return ServingState(config)

        state = await asyncio.to_thread(load)
        if name in self.by_name:  # another request served it while this one loaded
            await asyncio.to_thread(state.close)
            raise AlreadyExists(f"{name!r} is already served")
        state.start_polls()
        served = Served(name, model_uri, state)
        self.by_name[name] = served
        log.info("jupyter-mm: serving %s as %s", model_uri, name)
        return served, True

    async def stop(self, name: str) -> Served:
        served = self.by_name.pop(name, None)
        if served is None:
            raise NotFound(f"no model is served as {name!r}")
        await asyncio.to_thread(served.state.close)
        log.info("jupyter-mm: stopped serving %s", name)
        return served

    async def stop_all(self) -> None:
        for name in list(self.by_name):
            await self.stop(name)


def served_models(handler: tornado.web.RequestHandler) -> ServedModels:
    registry: ServedModels | None = handler.settings.get(SERVED_SETTING)
    if registry is None:  # off by configuration (and on the team server): not a passing state
        raise NotFound(
            "model serving is off on this server (c.JupyterMM.serve_models = False; the team "
            "server never serves models: run `jupyter mm serve` beside it)"
        )
    return registry


class _NoChain(tornado.web.RequestHandler):
    """Ends Jupyter's ``prepare`` chain: the serving handler's own ``prepare`` runs after
    authentication, explicitly, once the served model is known."""

    def prepare(self) -> None:
        return None


class _JupyterServing(APIHandler):
    """Jupyter's authentication in front of a model-server handler (see the module doc)."""

    auth_resource = "jupyter_mm:serve"
    serving_class: type[Any]  # the model-server handler this one runs

    def initialize(self, **_: Any) -> None:
        self.serving_class.initialize(self, None)

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # Jupyter: who is asking, XSRF, origin
        if self._finished:
            return
        # authorize before anything else answers (the verbs' @authorized checks again)
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "", "write")
        message = f"User is not authorized to {action} on resource: {self.auth_resource}."
        if self.current_user is None or not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, action, self.auth_resource)
        ):
            raise tornado.web.HTTPError(403, message)
        served = served_models(self).get(self.path_kwargs.get("served"))
        if served is None:
            # answered in the protocol's error shape, after authentication (no name leaks)
            ServingBaseHandler.fail(
                self,  # type: ignore[arg-type]
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"no model is served as {self.path_kwargs.get('served')!r}; start it with "
                "POST jupyter-mm/api/serve",
            )
            return
        self.state = served.state
        result = self.serving_class.prepare(self)
        if inspect.isawaitable(result):
            await result

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        # APIHandler.finish forces application/json; the model server sets its own types
        # (text/plain for MLflow's 415, Prometheus' for /metrics)
        kwargs.setdefault("set_content_type", self._headers.get("Content-Type", "application/json"))
        return super().finish(*args, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MMError):  # e.g. the team server's authorizer saying why not
            ServingBaseHandler.fail(self, exc.http_status, exc.code, exc.message)  # type: ignore[arg-type]
        elif isinstance(exc, tornado.web.HTTPError) and status_code < 500:
            # Jupyter's refusals (403), in the protocol's error shape
            message = exc.log_message or self._reason
            ServingBaseHandler.fail(
                self,  # type: ignore[arg-type]
                status_code,
                error_code_for_status(status_code),
                message,
            )
        else:
            self.serving_class.write_error(self, status_code, **kwargs)

    def on_finish(self) -> None:
        if getattr(self, "state", None) is not None:
            self.serving_class.on_finish(self)


def _verb(verb: str) -> Any:
    async def call(self: Any, served: str, *args: Any, **kwargs: Any) -> None:
        if self._finished:
            return
        result = getattr(self.serving_class, verb)(self, *args, **kwargs)
        if inspect.isawaitable(result):
            await result

    call.__name__ = verb
    return tornado.web.authenticated(authorized(call))


def jupyter_serving_handler(
    handler: type[tornado.web.RequestHandler],
) -> type[tornado.web.RequestHandler]:
    """``handler`` (a model-server route) behind Jupyter's authentication."""
    attrs: dict[str, Any] = {"serving_class": handler, "__module__": __name__}
    for verb in ("get", "post"):
        if getattr(handler, verb) is not tornado.web.RequestHandler._unimplemented_method:
            attrs[verb] = _verb(verb)
    cls = type(f"Jupyter{handler.__name__}", (_JupyterServing, _NoChain, handler), attrs)
    return cls


class ServeNotFoundHandler(_JupyterServing, _NoChain, ServingBaseHandler):  # type: ignore[misc]
    """Any other path under a served model's prefix: the model server's JSON 404."""

    serving_class = ServingBaseHandler

    @tornado.web.authenticated
    @authorized
    def get(self, served: str, rest: str = "") -> None:
        self._not_found()

    @tornado.web.authenticated
    @authorized
    def post(self, served: str, rest: str = "") -> None:
        self._not_found()

    def _not_found(self) -> None:
        if not self._finished:
            self.fail(404, "ENDPOINT_NOT_FOUND", f"no route {self.request.path}")


def serve_handlers() -> list[tuple[Any, ...]]:
    """Routes under ``<base_url>jupyter-mm/serve/{name}/``, relative to the base URL."""
    routes: list[tuple[Any, ...]] = [
        (url_path_join(SERVE_PREFIX, _SERVED, pattern), jupyter_serving_handler(handler))
        for pattern, handler in serving_routes()
    ]
    routes.append((url_path_join(SERVE_PREFIX, _SERVED, "(?P<rest>.*)"), ServeNotFoundHandler))
    return routes
