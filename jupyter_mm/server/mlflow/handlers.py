"""Tornado handlers of the MLflow-compatible routes.

* :class:`MlflowRPCHandler`: ``{api,ajax-api}/2.0/mlflow/<rpc>``, dispatched by method and path
  through :data:`.tracking.ROUTES`;
* :class:`MlflowArtifactsHandler`: the artifact proxy ``api/2.0/mlflow-artifacts/artifacts/<path>``
  (``PUT`` uploads, ``GET`` downloads or, without a path, lists ``?path=<dir>``, ``DELETE``
  removes a file outside runs);
* :class:`MlflowServerInfoHandler`, :class:`MlflowHealthHandler`, :class:`MlflowVersionHandler`;
* :class:`MlflowNotFoundHandler`: every other path under the MLflow prefix, a JSON 404.

Every verb is authenticated and authorized (resource ``jupyter_mm:mlflow``); errors are MLflow's
``{"error_code", "message"}`` with its HTTP statuses (see :class:`MMHandler`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import tornado.httputil
import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.web import HTTPError

from ...errors import IntegrityError, InvalidInput, NotFound
from ..handlers.base import WEBHOOKS_ALLOW_PRIVATE_SETTING, MMHandler
from ..handlers.common import check_body_size
from . import artifacts, logged_models, registry, tracking, webhooks
from .wire import Request, dumps

if TYPE_CHECKING:
    from ...core.store import Store

#: What /version reports: the MLflow release whose protocol we speak.
MLFLOW_PROTOCOL_VERSION = "3.17.2"
#: Largest JSON body of an RPC (MLflow caps log-batch at 1 MB; this leaves room for the rest).
MAX_RPC_BODY_BYTES = 16 * 1024 * 1024
#: Artifacts up to this size are read and verified whole before sending; larger ones stream.
WHOLE_READ_BYTES = 8 * 1024 * 1024
#: Most fields a query string may have. Tornado's default (1,000) refuses MLflow's own requests
#: (``get-history-bulk`` with 1,000 ``run_id``s) with a bare 400 before any handler, so the
#: client never sees MLflow's JSON error. The query is still bounded by the header size limit.
MAX_QUERY_FIELDS = 10_000


def allow_query_fields(limit: int = MAX_QUERY_FIELDS) -> None:
    """Raise tornado's (process-wide) cap on query and form fields to ``limit``; never lower it."""
    set_config = getattr(tornado.httputil, "set_parse_body_config", None)
    current: Any = getattr(tornado.httputil, "_DEFAULT_PARSE_BODY_CONFIG", None)
    urlencoded: Any = getattr(current, "urlencoded", None)
    if set_config is None or urlencoded is None:  # tornado < 6.5.8: no cap on query fields
        return
    if urlencoded.max_arguments < limit:
        set_config(
            dataclasses.replace(
                current, urlencoded=dataclasses.replace(urlencoded, max_arguments=limit)
            )
        )


def _verb(handle: Callable[..., Awaitable[None]]) -> Any:
    """One HTTP verb, authenticated and authorized, answered by ``handle(self, <path args>)``.

    Make one per verb, never share one between verbs (``post = get``): jupyter_server's
    ``authorized`` fixes its action (read, write) on the first call of each function it wraps."""

    @tornado.web.authenticated
    @authorized
    async def method(self: MlflowHandler, *args: Any, **kwargs: Any) -> None:
        await handle(self, *args, **kwargs)

    return method


class MlflowHandler(MMHandler):
    auth_resource = "jupyter_mm:mlflow"
    error_details = False  # MLflow's error shape exactly: {error_code, message}

    def reply(self, obj: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(obj))

    def request_message(self) -> Request:
        if self.request.method == "GET":
            return Request.from_query(self.request.query_arguments)
        return Request.from_body(self.request.body)

    async def send_artifact(self, where: artifacts.Location) -> None:
        """Download a run's, a logged model's or a proxy file with MLflow's headers."""
        info = await self.call_store(lambda store: artifacts.info(store, where))
        # MLflow's download headers: the type from the file name, always an attachment, no sniffing
        name = where[2].rsplit("/", 1)[-1]
        media_type = artifacts.download_type(name)
        self.set_header("Content-Type", media_type)
        self.set_header("Content-Disposition", artifacts.content_disposition(name))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        self.set_header("Content-Length", str(info.size))
        self.set_header("ETag", f'"{info.digest}"')
        if info.size <= WHOLE_READ_BYTES:  # verified before the first byte is sent
            data = await self.call_store(lambda store: artifacts.read(store, where))
            self.finish(data, set_content_type=media_type)  # APIHandler would say JSON
            return
        # Larger files stream; the digest is checked at the end, and a mismatch drops the
        # connection so the client sees a truncated download rather than a complete wrong file.
        blocks = await self.call_store(lambda store: artifacts.iterate(store, where))
        try:
            while True:
                block = await asyncio.to_thread(next, blocks, None)
                if block is None:
                    break
                self.write(block)
                await self.flush()
        except IntegrityError:
            owner = where[1] or "the artifact proxy (outside runs)"
            self.log.error("jupyter-mm: artifact %s of %s is corrupt", where[2], owner)
            stream = getattr(self.request.connection, "stream", None)
            if stream is not None:
                stream.close()
            return
        self.finish(set_content_type=media_type)


class MlflowRPCHandler(MlflowHandler):
    """One tracking RPC, looked up in :data:`tracking.ROUTES`."""

    async def _dispatch(self, rpc: str) -> None:
        method = self.request.method or "GET"
        if (method, rpc) == ("POST", "upload-artifact"):
            await self._upload_artifact()
            return
        if method == "GET" and rpc.startswith("logged-models/"):
            parts = rpc.split("/")
            if len(parts) == 4 and parts[2:] == ["artifacts", "files"]:
                await self._send_model_file(parts[1])
                return
        endpoint = tracking.ROUTES.get((method, rpc))
        if endpoint is None and rpc.startswith("logged-models/"):
            rest = rpc[len("logged-models/") :]

            def endpoint(store: Store, req: Request) -> dict[str, Any]:
                return logged_models.dispatch(store, req, method, rest)

        if endpoint is None and (rpc == "webhooks" or rpc.startswith("webhooks/")):
            actor = self.audit_actor()
            allow_private = bool(self.settings.get(WEBHOOKS_ALLOW_PRIVATE_SETTING, False))

            def endpoint(store: Store, req: Request) -> dict[str, Any]:
                return webhooks.dispatch(store, req, method, rpc, actor, allow_private)

        if endpoint is None and (method, rpc) in registry.ROUTES:
            # the audit trail records who acts (see MMHandler.audit_actor)
            endpoint = registry.bind(registry.ROUTES[(method, rpc)], self.audit_actor())
        if endpoint is None:
            if any(path == rpc for _, path in (*tracking.ROUTES, *registry.ROUTES)):
                raise HTTPError(405, f"{method} is not allowed for {rpc}")
            raise HTTPError(404, f"no MLflow endpoint {rpc!r} on this server")
        check_body_size(self, MAX_RPC_BODY_BYTES, advice="split the batch")
        req = self.request_message()
        run_user = self.run_user if endpoint is tracking.create_run else None

        def call(store: Store) -> dict[str, Any]:
            try:
                if run_user is not None:  # a team server records the authenticated identity
                    return tracking.create_run(store, req, run_user)
                return endpoint(store, req)
            except (TypeError, ValueError, KeyError, AttributeError) as e:
                # A malformed field must never become a 500: the client retries those for minutes.
                raise InvalidInput(f"Invalid request for {rpc}: {e}") from e

        self.reply(await self.call_store(call))

    async def _upload_artifact(self) -> None:
        """``upload-artifact`` (the UI's): the body is the file, ``run_uuid`` and ``path`` are in
        the query string; MLflow's refusals, in its order and words."""
        run_id = self.get_query_argument("run_uuid", default="") or ""
        if not run_id:
            raise InvalidInput("Request must specify run_uuid.")
        path = self.get_query_argument("path", default="") or ""
        if not path:
            raise InvalidInput("Request must specify path.")
        if artifacts.escapes(path):
            raise InvalidInput("Invalid path")
        body = self.request.body or b""
        if not body:
            raise InvalidInput("Request must specify data.")
        check_body_size(self, MAX_RPC_BODY_BYTES, advice="upload large files with log_artifact")
        run = artifacts.known_run(run_id)
        logical = artifacts.logical(path)
        await self.call_store(lambda store: store.log_artifact(run, logical, body))
        self.reply({})

    async def _send_model_file(self, model_id: str) -> None:
        """``logged-models/<id>/artifacts/files?artifact_file_path=``: one file of the model."""
        path = self.get_query_argument("artifact_file_path", default="") or ""
        if not path:
            raise InvalidInput('Request must include the "artifact_file_path" query parameter.')
        logical = artifacts.safe_relative(path)
        if not logical:
            raise InvalidInput("Invalid path")
        model_id = logged_models.check_model_id(model_id)
        await self.call_store(lambda store: store.get_logged_model(model_id))
        await self.send_artifact(("model", model_id, logical))

    get = _verb(_dispatch)
    post = _verb(_dispatch)
    patch = _verb(_dispatch)
    delete = _verb(_dispatch)


class MlflowArtifactsHandler(MlflowHandler):
    """The artifact proxy: ``<exp>/<run>/artifacts/<logical path>`` (and a logged model's
    location) in the run's index, any other path a file outside runs (``artifacts.py``)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, path: str | None = None) -> None:
        if not path:
            listing = self.get_query_argument("path", default="") or ""
            self.reply(await self.call_store(artifacts.list_dir, listing))
            return
        await self.send_artifact(artifacts.locate(path))

    @tornado.web.authenticated
    @authorized
    async def put(self, path: str | None = None) -> None:
        if not path:
            raise InvalidInput("Invalid path: an artifact upload needs a file path")
        where = artifacts.locate(path)
        body = self.request.body or b""
        media_type = self.request.headers.get("Content-Type") or None
        if media_type and media_type.split(";")[0].strip() in ("", "application/octet-stream"):
            media_type = None
        actor = self.audit_actor()
        await self.call_store(lambda store: artifacts.put(store, where, body, media_type, actor))
        self.reply({})

    @tornado.web.authenticated
    @authorized
    async def delete(self, path: str | None = None) -> None:
        """MLflow's delete of a file (or folder) outside runs; runs' files stay (403)."""
        if not path:
            raise InvalidInput("Invalid path: name the file or folder to delete")
        await self.call_store(artifacts.delete, path)
        self.reply({})


class MlflowGetArtifactHandler(MlflowHandler):
    """The UI's downloads: ``get-artifact?run_id=&path=`` (a run's file) and
    ``model-versions/get-artifact?name=&version=&path=`` (a file of a version's model, through
    its download URI); the same headers as the artifact proxy."""

    @tornado.web.authenticated
    @authorized
    async def get(self, kind: str = "") -> None:
        path = self.get_query_argument("path", default="") or ""
        if artifacts.escapes(path):
            raise InvalidInput("Invalid path")
        if kind:
            name = self.get_query_argument("name", default="") or ""
            version = self.get_query_argument("version", default="") or ""
            uri = await self.call_store(
                lambda store: registry.download_uri(store, store.get_model_version(name, version))
            )
            if not uri.startswith(artifacts.PROXY_SCHEME):
                raise NotFound(f"the files of {name} version {version} are not on this server")
            base = uri[len(artifacts.PROXY_SCHEME) :].strip("/")
            run_id, logical = artifacts.split(f"{base}/{path}")
        else:
            run_id = artifacts.known_run(
                self.get_query_argument("run_id", default="")
                or self.get_query_argument("run_uuid", default="")
                or ""
            )
            logical = artifacts.logical(path)
        await self.send_artifact(("run", run_id, logical))


class MlflowServerInfoHandler(MlflowHandler):
    """``GET /api/3.0/mlflow/server-info``: the capabilities the client probes."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(
            {
                "store_type": "JupyterMMStore",
                "workspaces_enabled": False,
                "multipart_uploads_enabled": False,
                "multipart_downloads_enabled": False,
                "presigned_upload_run_id_supported": False,
            }
        )


async def _not_found(self: MlflowHandler, rest: str = "") -> None:
    raise HTTPError(404, f"no MLflow endpoint {self.request.path!r} on this server")


class MlflowNotFoundHandler(MlflowHandler):
    """Any other path under the MLflow routes (``api/3.0/...``, ``ajax-api/...``, an unknown
    version): MLflow's JSON ``ENDPOINT_NOT_FOUND`` 404 (which the client maps every 404 to)
    instead of Jupyter's HTML page, after authentication like every other MLflow route."""

    get = _verb(_not_found)
    head = _verb(_not_found)
    post = _verb(_not_found)
    put = _verb(_not_found)
    patch = _verb(_not_found)
    delete = _verb(_not_found)


class MlflowHealthHandler(MlflowHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.finish("OK")


class MlflowVersionHandler(MlflowHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.finish(MLFLOW_PROTOCOL_VERSION)


__all__ = [
    "MlflowArtifactsHandler",
    "MlflowGetArtifactHandler",
    "MlflowHealthHandler",
    "MlflowNotFoundHandler",
    "MlflowRPCHandler",
    "MlflowServerInfoHandler",
    "MlflowVersionHandler",
]
