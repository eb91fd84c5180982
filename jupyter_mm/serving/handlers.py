"""The HTTP routes: MLflow's scoring protocol, the Open Inference Protocol v2, health, metrics.

Errors keep each protocol's shape: MLflow's ``{"error_code", "message"}`` (no ``stack_trace``:
tracebacks stay in the server's log) and OIP's ``{"error": "..."}``. Scoring routes stream their
body: ``prepare`` refuses a declared ``Content-Length`` over the limit before a byte of the body
is read, and ``data_received`` stops a chunked body as soon as it passes the limit.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

import tornado.web

from .. import __version__
from ..errors import InvalidInput, MMError
from . import codecs
from .app import ServingState
from .codecs import ProtocolError
from .models import ModelSlot, ServedModel

log = logging.getLogger("jupyter_mm.serving")
#: bodies up to this size are parsed on the event loop; larger ones in the scoring pool
INLINE_BYTES = 32 * 1024
#: a request id we echo in a header: printable ASCII, no spaces (anything else is replaced)
_REQUEST_ID = re.compile(r"^[!-~]{1,256}$")


class BaseHandler(tornado.web.RequestHandler):
    #: health and readiness routes answer without a token (probes)
    open_route = False
    protocol = "mlflow"

    def initialize(self, state: ServingState) -> None:
        self.state = state
        self.t0 = time.perf_counter()
        self.model: ServedModel | None = None

    def prepare(self) -> None:
        auth = self.state.auth
        if self.open_route or auth is None:
            return
        if auth.user(self.request.headers.get("Authorization")) is None:
            self.set_header("WWW-Authenticate", 'Bearer realm="jupyter-mm"')
            self.fail(401, "UNAUTHENTICATED",
                      "missing or invalid token: send 'Authorization: Bearer <token>'")  # fmt: skip

    def compute_etag(self) -> None:
        return None  # predictions are not cached; hashing each answer costs time

    def fail(self, status: int, code: str, message: str, text: bool = False) -> None:
        if self._finished:
            return
        self.set_status(status)
        if text:
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(message)
        elif self.protocol == "oip":
            self.set_header("Content-Type", "application/json")
            self.finish(codecs.dumps({"error": message}))
        else:
            self.set_header("Content-Type", "application/json")
            self.finish(codecs.dumps({"error_code": code, "message": message}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or self._reason
        else:
            message = "the server failed on this request; its log says why"
        self.fail(status_code, "INTERNAL_ERROR" if status_code >= 500 else "BAD_REQUEST",
                  message)  # fmt: skip

    def send_json(self, doc: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(codecs.dumps(doc))


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        self.fail(404, "ENDPOINT_NOT_FOUND", f"no route {self.request.path}")


class PingHandler(BaseHandler):
    open_route = True

    def get(self) -> None:
        # MLflow: 200 with "\n" once the model is loaded. Models load before we listen.
        self.set_header("Content-Type", "application/json")
        self.finish("\n")


class VersionHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(__version__)


class MetricsHandler(BaseHandler):
    def prepare(self) -> None:
        if not self.state.config.open_metrics:
            super().prepare()

    def get(self) -> None:
        self.set_header("Content-Type", self.state.metrics.content_type)
        self.finish(self.state.metrics.render())


class LiveHandler(BaseHandler):
    open_route = True
    protocol = "oip"

    def get(self) -> None:
        self.send_json({"live": True})


class ReadyHandler(BaseHandler):
    """Ready while every model serves a version (a failed alias load keeps the old one serving,
    so it makes only that model not ready)."""

    open_route = True
    protocol = "oip"

    def get(self) -> None:
        self.send_json({"ready": True})


class ServerMetadataHandler(BaseHandler):
    protocol = "oip"

    def get(self) -> None:
        self.send_json({"name": "jupyter-mm", "version": __version__, "extensions": []})


class _ModelRoute(BaseHandler):
    protocol = "oip"

    def slot_for(self, name: str, version: str | None) -> ModelSlot | None:
        slot = self.state.slot(name)
        if slot is None:
            self.fail(404, "RESOURCE_DOES_NOT_EXIST", f"model {name!r} is not served here")
            return None
        if version is not None and version != slot.current.version:
            self.fail(404, "RESOURCE_DOES_NOT_EXIST",
                      f"model {name!r} serves version {slot.current.version!r}, not {version!r}")  # fmt: skip
            return None
        return slot


class ModelReadyHandler(_ModelRoute):
    open_route = True

    def get(self, name: str, version: str | None = None) -> None:
        slot = self.slot_for(name, version)
        if slot is None:
            return
        doc: dict[str, Any] = {"name": name, "ready": slot.ready}
        if slot.error:
            doc["error"] = slot.error
        self.send_json(doc, 200 if slot.ready else 503)


class ModelMetadataHandler(_ModelRoute):
    def get(self, name: str, version: str | None = None) -> None:
        slot = self.slot_for(name, version)
        if slot is None:
            return
        m = slot.current
        sig = m.signature
        doc = {
            "name": m.name,
            "versions": [m.version] if m.version else [],
            "platform": f"mlflow_{m.loaded.flavor}",
            "inputs": codecs.io_metadata(sig.inputs if sig else None, "input"),
            "outputs": codecs.io_metadata(sig.outputs if sig else None, "output"),
            "parameters": {"model_digest": m.digest, **({"alias": m.alias} if m.alias else {})},
        }
        self.send_json(doc)


def checked(m: ServedModel, data: Any) -> Any:
    """``data`` with rows, checked against (and cast to) the model's signature."""
    if codecs.rows(data) == 0:
        raise ProtocolError("the request has no rows to score")
    return m.enforce(data)


class _Scoring(BaseHandler):
    """A scoring route: streamed body under the size limit, request id, model headers,
    metrics, the prediction log."""

    def prepare(self) -> None:
        super().prepare()
        self.request_id = self._request_id(self.request.headers.get("X-Request-Id"))
        self.set_header("X-Request-Id", self.request_id)
        self._chunks: list[bytes] = []
        self._size = 0
        if self._finished:
            return
        limit = self.state.config.max_body_bytes
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # let tornado drain nothing: the connection closes once this answer is sent
            self.request.connection.set_max_body_size(int(declared))  # type: ignore[union-attr]
            self._too_large(limit)
            return
        # tornado's own ceiling sits above ours, so a chunked body that passes the limit gets
        # our 413 (data_received) rather than tornado's bare 400
        self.request.connection.set_max_body_size(2 * limit + (1 << 20))  # type: ignore[union-attr]

    def _too_large(self, limit: int) -> None:
        self.fail(413, "REQUEST_LIMIT_EXCEEDED",
                  f"the request body is larger than the limit of {limit} bytes")  # fmt: skip

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self._size += len(chunk)
        if self._size > self.state.config.max_body_bytes:
            self._chunks = []
            self._too_large(self.state.config.max_body_bytes)
            return
        self._chunks.append(chunk)

    @staticmethod
    def _request_id(given: Any) -> str:
        if isinstance(given, str) and _REQUEST_ID.match(given):
            return given
        return uuid.uuid4().hex

    def model_headers(self, m: ServedModel) -> None:
        self.model = m
        self.set_header("X-MM-Model-Name", m.name)
        self.set_header("X-MM-Model-Version", m.version)
        self.set_header("X-MM-Model-Digest", m.digest)
        if m.alias:
            self.set_header("X-MM-Model-Alias", m.alias)

    def on_finish(self) -> None:
        if self.model is None and self.get_status() in (401, 413):
            return  # refused before any model was involved
        m = self.model
        name, version = (m.name, m.version) if m else ("", "")  # e.g. an unknown model
        code = str(self.get_status())
        metrics = self.state.metrics
        metrics.requests.labels(name, version, self.protocol, code).inc()
        if self.get_status() >= 400:
            metrics.errors.labels(name, version, self.protocol, code).inc()
        metrics.latency.labels(name, version).observe(time.perf_counter() - self.t0)

    async def off_loop(self, size: int, fn: Any, *args: Any) -> Any:
        """``fn(*args)``: on the loop for a small body (a thread hop costs more than the work),
        in the scoring pool for a large one, so parsing never stalls other requests."""
        if size <= INLINE_BYTES:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.state.executor, fn, *args)

    async def score(self, m: ServedModel, data: Any, params: dict[str, Any] | None) -> Any:
        """Score input already checked (:func:`checked`), batched when possible; count and
        log. Errors raise."""
        n = codecs.rows(data)
        started = time.time()
        result = await self.state.batcher.score(m, data, params)
        self.state.metrics.rows.labels(m.name, m.version).inc(n)
        plog = self.state.prediction_log
        if plog is not None:
            import pandas as pd

            try:
                frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(
                    {"input": list(data)} if not isinstance(data, dict) else
                    {k: list(v) for k, v in data.items()}
                )  # fmt: skip
                plog.record(
                    request_id=self.request_id, model_name=m.name, model_version=m.version,
                    model_digest=m.digest, alias=m.alias, inputs=frame, outputs=result,
                    latency_ms=(time.perf_counter() - self.t0) * 1000.0, ts=started,
                )  # fmt: skip
            except Exception:  # the log never fails a prediction
                log.exception("prediction log: could not record request %s", self.request_id)
        return result

    def scoring_failed(self, m: ServedModel, error: Exception, text_415: bool = False) -> None:
        """Answer a request whose reading or scoring raised ``error``: the protocol's or our own
        error as it says, anything else as the model's failure (call it inside the ``except``
        block, so that the traceback is logged). ``text_415``: a 415 is answered as text."""
        if isinstance(error, ProtocolError):
            self.fail(
                error.status, error.code, error.message, text=text_415 and error.status == 415
            )
        elif isinstance(error, MMError):
            self.fail(error.http_status, error.code, error.message)
        else:
            self.model_failed(m)

    def model_failed(self, m: ServedModel) -> None:
        log.exception("model %s version %s failed on request %s", m.name, m.version,
                      self.request_id)  # fmt: skip
        self.fail(400, "BAD_REQUEST",
                  "Encountered an unexpected error while evaluating the model. Verify that the "
                  "serialized input Dataframe is compatible with the model for inference.")  # fmt: skip


@tornado.web.stream_request_body
class InvocationsHandler(_Scoring):
    """``POST /invocations``: MLflow's scoring protocol, on the first model served."""

    async def post(self) -> None:
        if self._finished:
            return
        m = self.state.default.current
        self.model_headers(m)
        body = b"".join(self._chunks)
        content_type = self.request.headers.get("Content-Type")

        def read() -> tuple[Any, dict[str, Any] | None]:
            mime = codecs.check_content_type(content_type)
            data, params = codecs.parse_invocation(body, mime, m.signature)
            return checked(m, data), params

        try:
            data, params = await self.off_loop(len(body), read)
            result = await self.score(m, data, params)
            payload = await self.off_loop(
                len(body), lambda: codecs.dumps({"predictions": codecs.jsonable(result)})
            )
        except Exception as e:
            self.scoring_failed(m, e, text_415=True)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(payload)


@tornado.web.stream_request_body
class InferHandler(_Scoring, _ModelRoute):
    """``POST /v2/models/{name}[/versions/{v}]/infer``: the Open Inference Protocol v2."""

    protocol = "oip"

    async def post(self, name: str, version: str | None = None) -> None:
        if self._finished:
            return
        slot = self.slot_for(name, version)
        if slot is None:
            return
        m = slot.current
        self.model_headers(m)
        body = b"".join(self._chunks)

        def read() -> tuple[Any, Any]:
            doc = codecs.decode_json(body)
            given = doc.get("id") if isinstance(doc, dict) else None
            data, _ = codecs.parse_infer(doc, m.signature)
            return checked(m, data), given

        try:
            data, given = await self.off_loop(len(body), read)
            if given is not None:
                if not isinstance(given, str) or not _REQUEST_ID.match(given):
                    raise InvalidInput(
                        "'id' must be a string of up to 256 printable ASCII characters, no spaces"
                    )
                self.request_id = given
                self.set_header("X-Request-Id", self.request_id)
            result = await self.score(m, data, None)
        except Exception as e:
            self.scoring_failed(m, e)
            return
        out: dict[str, Any] = {
            "model_name": m.name,
            "model_version": m.version,
            "id": self.request_id,
            "parameters": {"model_digest": m.digest, **({"alias": m.alias} if m.alias else {})},
            "outputs": codecs.infer_outputs(result),
        }
        if not m.version:
            del out["model_version"]
        self.send_json(out)
