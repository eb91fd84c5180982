"""``mm.serve(MODEL_URI)``: a registered model behind a REST endpoint, from a notebook.

In a kernel started by a Jupyter server with jupyter-mm, the server serves the model under
``<base_url>jupyter-mm/serve/{name}/`` (both protocols, Jupyter's auth): the extension exports
``MM_JUPYTER_SERVER_INFO``, the path of the server's runtime file, which holds its URL and token
(readable by the server's own user only; the kernel runs as that user). Elsewhere (a plain
Python process, a kernel whose server lacks the extension), the model is served from this
process by the same serving layer, on a free loopback port with a random token. Either way the
answer is a :class:`ModelEndpoint`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
from typing import Any
from urllib.parse import quote

from ..errors import InvalidInput, MMError, ServerError

SERVER_INFO_ENV = "MM_JUPYTER_SERVER_INFO"


def _pool() -> Any:
    from .remote.http import pool

    return pool()


class ModelEndpoint:
    """A served model: its URLs for both protocols, ``predict(df)`` through
    ``/invocations`` and ``stop()``.

    ``url`` is the root both protocols live under; ``invocations_url`` is MLflow's scoring
    route, ``oip_infer_url`` the Open Inference Protocol's; ``headers`` authenticate a request
    (``Authorization: token …``).
    """

    def __init__(self, info: dict[str, Any], origin: str, token: str, stopper: Any) -> None:
        self.name: str = info["name"]
        self.model_uri: str = info["model_uri"]
        self.version: str = info.get("version") or ""
        self.digest: str = info.get("digest") or ""
        self.url = origin + info["url"]
        self.invocations_url = origin + info["invocations_url"]
        self.oip_infer_url = origin + info["oip_infer_url"]
        self.headers = {"Authorization": f"token {token}"} if token else {}
        self._stop = stopper
        self.stopped = False

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "serving"
        return (
            f"<ModelEndpoint {self.name!r} ({self.model_uri}, version {self.version}) {state}: "
            f"MLflow {self.invocations_url}, OIP {self.oip_infer_url}>"
        )

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Score ``data`` (a DataFrame, a dict of columns or a list of records) through
        ``/invocations``: a NumPy array, or a DataFrame when the model answers with records."""
        import numpy as np
        import pandas as pd

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        body: dict[str, Any] = {"dataframe_split": json.loads(frame.to_json(orient="split"))}
        body["dataframe_split"].pop("index", None)
        if params:
            body["params"] = params
        r = _pool().request(
            "POST",
            self.invocations_url,
            body=json.dumps(body).encode(),
            headers={**self.headers, "Content-Type": "application/json"},
            retries=False,
        )
        doc = _json(r)
        if r.status != 200:
            raise _error(r.status, doc)
        predictions = doc["predictions"]
        if predictions and isinstance(predictions[0], dict):
            return pd.DataFrame(predictions)
        return np.asarray(predictions)

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if not self.stopped:
            self._stop()
            self.stopped = True


def _json(r: Any) -> Any:
    try:
        return json.loads(r.data or b"null")
    except ValueError:
        return {"message": r.data.decode("utf-8", "replace")[:500]}


def _error(status: int, doc: Any) -> MMError:
    message = (doc or {}).get("message") or (doc or {}).get("error") or f"HTTP {status}"
    code = (doc or {}).get("error_code")
    if status == 400:
        return InvalidInput(message)
    if status == 404:
        from ..errors import NotFound

        return NotFound(message)
    error = ServerError(f"{code or status}: {message}")
    return error


def jupyter_server() -> tuple[str, str] | None:
    """(root URL with base_url, token) of the Jupyter server that started this kernel, or
    None when there is none to ask."""
    path = os.environ.get(SERVER_INFO_ENV)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    url = info.get("url")
    if not isinstance(url, str) or not url:
        return None
    return url.rstrip("/") + "/", str(info.get("token") or "")


def serve(model_uri: str, name: str | None = None, trust: bool = False) -> ModelEndpoint:
    """Serve ``model_uri`` (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/…``) and
    return its :class:`ModelEndpoint`; ``.stop()`` ends it. Through the Jupyter server that
    started this kernel when there is one (the model then shows as served in JupyterLab),
    else from this process."""
    server = jupyter_server()
    if server is None:
        return _serve_here(model_uri, name, trust)
    root, token = server
    from urllib.parse import urlsplit

    parts = urlsplit(root)
    origin = f"{parts.scheme}://{parts.netloc}"
    headers = {"Authorization": f"token {token}"} if token else {}
    body: dict[str, Any] = {"model_uri": model_uri, "trust": trust}
    if name is not None:
        body["name"] = name
    r = _pool().request(
        "POST",
        root + "jupyter-mm/api/serve",
        body=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        retries=False,
    )
    doc = _json(r)
    if r.status not in (200, 201):
        raise _error(r.status, doc)
    served_as = doc["name"]

    def stop() -> None:
        s = _pool().request(
            "DELETE",
            root + "jupyter-mm/api/serve/" + quote(served_as, safe=""),
            headers=headers,
            retries=False,
        )
        if s.status not in (200, 404):
            raise _error(s.status, _json(s))

    return ModelEndpoint(doc, origin, token, stop)


def _serve_here(model_uri: str, name: str | None, trust: bool) -> ModelEndpoint:
    """The model server in a daemon thread of this process, on 127.0.0.1:<free port>."""
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from ..serving.app import close_app, make_app
    from ..serving.config import ModelSpec, ServeConfig
    from .backend import get_store

    token = secrets.token_urlsafe(24)
    config = ServeConfig(
        models=[ModelSpec(model_uri, name=name)],
        store=get_store(),
        trust=trust,
        token=token,
        batch_window_ms=0.0,
        threads=2,
    )
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            app = make_app(config)
            sockets = bind_sockets(0, "127.0.0.1")
            server = HTTPServer(app)
            server.add_sockets(sockets)
        except BaseException as e:  # reported to the caller below
            box["error"] = e
            ready.set()
            return
        box["port"] = sockets[0].getsockname()[1]
        box["app"] = app
        stopping = asyncio.Event()
        box["stop"] = (asyncio.get_running_loop(), stopping)
        ready.set()
        await stopping.wait()
        server.stop()
        close_app(app)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True,
                              name="mm-serve")  # fmt: skip
    thread.start()
    ready.wait()
    if "error" in box:
        raise box["error"]
    slot = box["app"].settings["mm_serving"].default
    m = slot.current
    root = "/"
    oip = f"/v2/models/{quote(m.name, safe='')}"
    info = {
        "name": m.name,
        "model_uri": model_uri,
        "version": m.version,
        "digest": m.digest,
        "url": root,
        "invocations_url": "/invocations",
        "oip_infer_url": oip + "/infer",
    }

    def stop() -> None:
        loop, stopping = box["stop"]
        loop.call_soon_threadsafe(stopping.set)
        thread.join(60)

    return ModelEndpoint(info, f"http://127.0.0.1:{box['port']}", token, stop)
