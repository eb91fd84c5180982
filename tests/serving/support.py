"""Shared helpers for the model server tests: a store holding credit models, and a real server
(``make_app`` behind tornado's HTTPServer on a free port) running on its own event loop in a
thread, so a module starts its server once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.client import tracking
from jupyter_mm.serving.config import ModelSpec, ServeConfig

COLUMNS = ["income", "age", "utilisation"]
#: a row v1 and v2 of the credit model answer differently (v2 learnt the opposite labels)
PROBE = {"income": 75.0, "age": 30, "utilisation": 0.2}


def credit_frame(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "age": rng.integers(18, 80, n),
            "utilisation": rng.random(n),
        }
    )
    return X, (X["income"] > 50).astype(int).to_numpy()


class Recorder:
    """A model (cloudpickled: needs trust) that scores ``income > 50``."""

    def predict(self, X: Any) -> Any:
        return (np.asarray(X["income"], dtype=float) > 50).astype(int)


#: the Gated model's switches: predict records its batch size, says it entered, then waits
GATE = threading.Event()
ENTERED = threading.Event()
BATCHES: list[int] = []


class Gated:
    """A model (cloudpickled by reference, so the server in this process shares the events
    above) whose ``predict`` holds until the test opens ``GATE``: requests that arrive
    meanwhile must wait and go together."""

    def predict(self, X: Any) -> Any:
        BATCHES.append(len(X))
        ENTERED.set()
        if not GATE.wait(120):
            raise RuntimeError("the test never opened the gate")
        return (np.asarray(X["income"], dtype=float) > 50).astype(int)


@dataclass
class Models:
    """A store with ``credit`` v1 (LogisticRegression), v2 (opposite labels), v3 (cloudpickle,
    needs trust); alias ``champion`` → v1; v1 also as a plain directory."""

    store_uri: str
    directory: str
    untrusted_dir: str
    uris: dict[int, str]


@contextmanager
def credit_store(root: Path) -> Iterator[Models]:
    from sklearn.linear_model import LogisticRegression

    X, y = credit_frame()
    with pytest.MonkeyPatch.context() as mp:
        for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
            mp.delenv(var, raising=False)
        mp.setattr(tracking, "_experiment", None)
        mp.setattr(tracking, "_last", None)
        store_uri = str(root / "store")
        mm.set_tracking_uri(store_uri)
        try:
            uris = {}
            with mm.start_run():
                one = mm.log_model(LogisticRegression().fit(X, y), "credit", input_example=X[:3])
                two = mm.log_model(
                    LogisticRegression().fit(X, 1 - y), "credit-v2", input_example=X[:3]
                )
                three = mm.log_model(Recorder(), "credit-v3", input_example=X[:3])
            for info in (one, two, three):
                uris[mm.register_model(info.model_uri, "credit").version] = info.model_uri
            mm.set_alias("credit", "champion", 1)
            directory = mm.download_model(one.model_uri, root / "credit-dir")
            untrusted = mm.download_model(three.model_uri, root / "untrusted-dir")
            yield Models(store_uri, directory, untrusted, uris)
        finally:
            while mm.active_run() is not None:
                mm.end_run()
            mm.set_tracking_uri(None)


def expected(model_dir: str, rows: pd.DataFrame) -> list[Any]:
    return mm.load_model(model_dir).predict(rows).tolist()


class ServerThread:
    """``make_app(config)`` served on 127.0.0.1:<free port> from a thread with its own loop."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.app: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(120):
            raise RuntimeError("the model server did not start within 120 s")
        if self._error is not None:
            raise self._error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state(self) -> Any:
        return self.app.settings["mm_serving"]

    def _run(self) -> None:
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets

        from jupyter_mm.serving.app import close_app, make_app

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                self.app = make_app(self.config)
            except BaseException as e:
                self._error = e
                self._ready.set()
                return
            server = HTTPServer(self.app, max_body_size=1 << 30)
            sockets = bind_sockets(0, "127.0.0.1")
            server.add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()
            server.stop()
            await server.close_all_connections()
            close_app(self.app)

        asyncio.run(main())

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@contextmanager
def serving(**kwargs: Any) -> Iterator[ServerThread]:
    models = kwargs.pop("models")
    specs = [m if isinstance(m, ModelSpec) else ModelSpec(m) for m in models]
    kwargs.setdefault("open", True)
    server = ServerThread(ServeConfig(models=specs, **kwargs))
    try:
        yield server
    finally:
        server.stop()
