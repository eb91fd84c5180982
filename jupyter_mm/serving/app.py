"""``make_app``: the model server as a plain tornado ``Application`` (no FastAPI, no Jupyter).

``make_app`` loads every model before it returns (a model that cannot load, or needs ``--trust``
it was not given, stops start-up with its error), starts one registry poll per alias served
(``alias_poll_seconds``) and returns the application; :func:`close_app` stops the polls, the
thread pool and the prediction log. Call both on the event loop that will serve.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tornado.web
from tornado.ioloop import PeriodicCallback

from ..errors import InvalidInput
from .auth import Authenticator
from .batching import Batcher
from .config import ServeConfig
from .metrics import ServingMetrics
from .models import ModelSlot, ModelSource

log = logging.getLogger("jupyter_mm.serving")


class ServingState:
    """What every handler of one app shares: the slots, the pool, the batcher, the metrics."""

    def __init__(self, config: ServeConfig) -> None:
        config.check()
        self.config = config
        self.started = time.time()
        self.metrics = ServingMetrics()
        self.auth = (
            None
            if config.open or config.external_auth
            else Authenticator(config.token, config.users_file)
        )
        self.source = ModelSource(config)
        self.slots: dict[str, ModelSlot] = {}
        for spec in config.models:
            model = self.source.load(spec)
            if model.name in self.slots:
                raise InvalidInput(
                    f"two models are both named {model.name!r}; give one another name"
                )
            self.slots[model.name] = ModelSlot(spec, model)
            self.metrics.loads.labels(model.name, model.version, "ok").inc()
            log.info("serving %s version %s (%s) from %s", model.name, model.version,
                     model.digest, model.source)  # fmt: skip
        self.default = next(iter(self.slots.values()))
        self.executor = ThreadPoolExecutor(config.threads, thread_name_prefix="mm-score")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="mm-load")
        self.batcher = Batcher(
            config.batch_window_ms, config.max_batch_rows, self.executor, self.metrics
        )
        self.prediction_log = self._prediction_log()
        self._polls: list[PeriodicCallback] = []
        self.refresh_gauges()

    def _prediction_log(self) -> Any:
        rate = self.config.log_predictions
        if not rate:
            return None
        from . import prediction_log as module  # loaded only when predictions are logged

        root = self.config.prediction_log_uri
        if root is None:
            import os

            root = os.environ.get("MM_PREDICTION_LOG_URI") or None
        if root is None:
            if all(s.current.source.startswith("runs:/") for s in self.slots.values()):
                artifact_url = getattr(getattr(self.source.store, "location", None),
                                       "artifact_url", None)  # fmt: skip
                from ..client.backend import is_remote

                if artifact_url and not is_remote(artifact_url):  # a tracking server's is not ours
                    root = artifact_url.rstrip("/") + "/predictions/"
        if root is None:
            raise InvalidInput(
                "--log-predictions needs somewhere to write: --prediction-log-uri or "
                "MM_PREDICTION_LOG_URI (a directory or fsspec URL)"
            )
        c = self.config
        return module.PredictionLog(root, rate, drop=tuple(c.log_drop), hash=tuple(c.log_hash),
                                    retention_days=c.log_retention_days,
                                    flush_seconds=c.log_flush_seconds)  # fmt: skip

    def start_polls(self) -> None:
        for slot in self.slots.values():
            if slot.follow:
                poll = PeriodicCallback(
                    functools.partial(self._poll, slot), self.config.alias_poll_seconds * 1000
                )
                poll.start()
                self._polls.append(poll)

    def _poll(self, slot: ModelSlot) -> None:
        future = asyncio.get_running_loop().run_in_executor(
            self.loader, slot.check_alias, self.source, self.metrics
        )
        future.add_done_callback(lambda _: self.refresh_gauges())

    def refresh_gauges(self) -> None:
        self.metrics.serving.clear()
        for slot in self.slots.values():
            m = slot.current
            self.metrics.ready.labels(slot.name).set(1 if slot.ready else 0)
            self.metrics.serving.labels(slot.name, m.version, m.digest).set(1)

    def slot(self, name: str) -> ModelSlot | None:
        return self.slots.get(name)

    def close(self) -> None:
        for poll in self._polls:
            poll.stop()
        self.executor.shutdown(wait=True)
        self.loader.shutdown(wait=False, cancel_futures=True)
        if self.prediction_log is not None:
            self.prediction_log.close()
        self.source.close()


def serving_routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """(pattern relative to the base path, handler) of every route; the Jupyter extension
    mounts the same handlers under its own prefix and auth."""
    from . import handlers as h

    name = r"(?P<name>[^/]+)"
    version = r"(?:/versions/(?P<version>[^/]+))?"
    return [
        (r"ping", h.PingHandler),
        (r"health", h.PingHandler),
        (r"version", h.VersionHandler),
        (r"invocations", h.InvocationsHandler),
        (r"metrics", h.MetricsHandler),
        (r"v2/?", h.ServerMetadataHandler),
        (r"v2/health/live", h.LiveHandler),
        (r"v2/health/ready", h.ReadyHandler),
        (rf"v2/models/{name}{version}/ready", h.ModelReadyHandler),
        (rf"v2/models/{name}{version}/infer", h.InferHandler),
        (rf"v2/models/{name}{version}/?", h.ModelMetadataHandler),
    ]


def make_app(config: ServeConfig, base_path: str = "/") -> tornado.web.Application:
    """The model server's application, every model loaded, with routes under ``base_path``."""
    from . import handlers as h

    state = ServingState(config)
    state.start_polls()
    base = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    app = tornado.web.Application(
        [(base + pattern, handler, {"state": state}) for pattern, handler in serving_routes()],
        default_handler_class=h.NotFoundHandler,
        default_handler_args={"state": state},
    )
    app.settings["mm_serving"] = state
    return app


def close_app(app: tornado.web.Application) -> None:
    state = app.settings.get("mm_serving")
    if state is not None:
        state.close()
