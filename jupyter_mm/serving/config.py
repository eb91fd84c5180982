"""What a model server serves and how: :class:`ServeConfig`, shared by the CLI, ``python -m
jupyter_mm.serving`` and the Jupyter extension."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

#: Largest request body accepted (bytes); bigger ones are refused before they are read.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
#: How often a model served by alias asks the registry where the alias points (seconds).
DEFAULT_ALIAS_POLL_SECONDS = 2.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ModelSpec:
    """One model to serve: a URI (``models:/NAME@ALIAS``, ``models:/NAME/V``, ``runs:/…``) or a
    model directory, with the name / version / digest to report (None: derived)."""

    uri: str
    name: str | None = None
    version: str | None = None
    digest: str | None = None


@dataclass
class ServeConfig:
    """Everything :func:`jupyter_mm.serving.app.make_app` needs.

    ``store_uri`` None means: the client's store (``MM_TRACKING_URI``, else the nearest
    ``.mm/``) when a URI needs one; model directories never open a store.
    """

    models: Sequence[ModelSpec]
    store_uri: str | None = None
    trust: bool = False
    token: str | None = None
    users_file: str | None = None
    open: bool = False
    #: /metrics without a token (Prometheus' pod scraping sends none); off by default
    open_metrics: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    batch_window_ms: float = 2.0
    max_batch_rows: int = 1024
    threads: int = 4
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    alias_poll_seconds: float = DEFAULT_ALIAS_POLL_SECONDS
    log_predictions: float = 0.0
    prediction_log_uri: str | None = None
    #: the prediction log's ``drop``, ``hash`` and ``retention_days`` (see ``PredictionLog``):
    #: columns left out, columns hashed with ``MM_PREDICTION_LOG_SALT``, days kept
    log_drop: Sequence[str] = ()
    log_hash: Sequence[str] = ()
    log_retention_days: int | None = None
    #: how often the log writes what it holds: the most a killed server loses
    log_flush_seconds: float = 10.0
    #: the Jupyter extension authenticates itself: the app then checks no token
    external_auth: bool = False
    #: an open store to read models from, owned by the embedding process (the Jupyter
    #: extension passes its own, so a custom artifact location is honoured); never closed here
    store: Any = None

    def check(self) -> None:
        """Refuse a configuration that cannot be served safely, before anything is loaded."""
        if not self.models:
            raise InvalidInput("serve at least one model (a models:/ or runs:/ URI or a directory)")
        names = [m.name for m in self.models if m.name]
        if len(names) != len(set(names)):
            raise InvalidInput(f"two models share a name: {names}")
        if not 0.0 <= self.log_predictions <= 1.0:
            raise InvalidInput("--log-predictions is a fraction between 0 and 1")
        if (self.log_drop or self.log_hash or self.log_retention_days) and not self.log_predictions:
            raise InvalidInput(
                "--log-drop, --log-hash and --log-retention-days shape the prediction log: "
                "give --log-predictions RATE too (or drop them)"
            )
        overlap = set(self.log_drop) & set(self.log_hash)
        if overlap:
            raise InvalidInput(f"columns both dropped and hashed: {sorted(overlap)}")
        if not self.log_flush_seconds > 0:
            raise InvalidInput("--log-flush-seconds must be positive")
        if self.log_retention_days is not None and self.log_retention_days < 1:
            raise InvalidInput("--log-retention-days must be a whole number of days >= 1")
        if self.batch_window_ms < 0 or self.max_batch_rows < 1:
            raise InvalidInput("--batch-window-ms must be >= 0 and --max-batch-rows >= 1")
        if self.workers < 1 or self.threads < 1:
            raise InvalidInput("--workers and --threads must be at least 1")
        if self.external_auth:
            return
        if self.open:
            if self.token or self.users_file:
                raise InvalidInput(
                    "--open serves without authentication: drop --token/--users-file"
                )
            if self.host not in LOOPBACK_HOSTS:
                raise InvalidInput(
                    f"--open is allowed only on a loopback address (127.0.0.1, ::1), not "
                    f"{self.host!r}: give --token or --users-file to listen there"
                )
        elif not self.token and not self.users_file:
            raise InvalidInput(
                "the model server needs --token (or MM_SERVE_TOKEN) or --users-file; "
                "--open serves without authentication, on a loopback address only"
            )


def env_token() -> str | None:
    return os.environ.get("MM_SERVE_TOKEN") or None
