"""The jupyter-mm server extension app: configuration, store lifecycle and routes.

Config (``jupyter_server_config.py``)::

    c.JupyterMM.tracking_uri = "postgresql://mm@db/mm"   # or a directory, or sqlite:///file.db
    c.JupyterMM.artifact_uri = "s3://bucket/mm"          # optional

Without config the store is ``$MM_TRACKING_URI``, else ``.mm/`` under the server's root directory.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, CaselessStrEnum, Float, Int, Integer, Unicode

from ..core.webhooks.addresses import allow_private_default
from .event_socket import event_socket_handlers
from .events import start_store_events, stop_store_events
from .handlers import api_handlers
from .handlers.base import (
    AUDIT_AS_SERVER_USER_SETTING,
    STORE_SETTING,
    WEBHOOKS_ALLOW_PRIVATE_SETTING,
    WEBHOOKS_SETTING,
)
from .jobs import start_jobs, stop_jobs
from .mlflow import mlflow_handlers
from .mlflow.handlers import allow_query_fields
from .mlflow_link import mlflow_link_handlers
from .monitor_events import start_monitors, stop_monitors
from .retraining import start_retraining, stop_retraining
from .serve import SERVED_SETTING, SERVER_INFO_ENV, ServedModels, serve_handlers
from .store_provider import (
    ARTIFACT_URI_ENV,
    TRACKING_URI_ENV,
    StoreProvider,
    export_to_kernels,
    resolve_tracking_uri,
)


class JupyterMM(ExtensionApp):
    """Model tracking for Jupyter: the REST API behind the jupyter-mm sidebar."""

    name = "jupyter_mm"
    description = "Notebook-native model tracking: REST API for the jupyter-mm frontend."
    load_other_extensions = True

    tracking_uri = Unicode(
        "",
        config=True,
        help=(
            "Tracking store of the server: a directory, sqlite:///path/to/mm.db or "
            "postgresql://user:password@host/db. Relative paths are relative to the server's "
            "root_dir. Empty: $MM_TRACKING_URI, else the nearest .mm directory at or above "
            "root_dir (created as <root_dir>/.mm). Exported to kernels as MM_TRACKING_URI "
            "unless that is already set."
        ),
    )

    artifact_uri = Unicode(
        "",
        config=True,
        help=(
            "Where artifact blobs go (a directory or an fsspec URL such as s3://bucket/prefix). "
            "Empty: $MM_ARTIFACT_URI, else beside the database for SQLite stores. Exported to "
            "kernels as MM_ARTIFACT_URI unless that is already set."
        ),
    )

    live_events = Bool(
        True,
        config=True,
        help=(
            "Poll the store for changes and emit them on the server's event bus (for the "
            "JupyterLab sidebar and the {base_url}jupyter-mm/events WebSocket)."
        ),
    )

    events_on_demand = Bool(
        False,
        config=True,
        help=(
            "With live_events: poll the store only from the first subscriber of "
            "{base_url}jupyter-mm/events on. The team server (`jupyter mm server`) sets it: it "
            "has no frontend, so most of its processes are never followed and spare the shared "
            "database a query every half second."
        ),
    )

    monitors = Bool(
        True,
        config=True,
        help=(
            "Evaluate the store's monitors (mm.monitor) on schedule and emit "
            "monitor.drift_detected events. Several processes over one store share the work: "
            "each monitor is evaluated by one of them per period."
        ),
    )

    monitor_tick = Float(
        30.0,
        config=True,
        help="Seconds between two looks for due monitors ($MM_MONITOR_TICK overrides it).",
    )

    webhooks = Bool(
        True,
        config=True,
        help=(
            "Deliver the store's webhooks (mm.create_webhook, the MLflow client's "
            "create_webhook): registry changes and monitor alarms become signed POSTs. Several "
            "processes over one store share the work; each delivery is sent by one of them."
        ),
    )

    webhooks_allow_private = Bool(
        False,
        config=True,
        help=(
            "Let webhooks target private, loopback and link-local addresses (refused by "
            "default: a webhook must not reach the server's own network). "
            "$MM_WEBHOOK_ALLOW_PRIVATE=1 allows them too."
        ),
    )

    webhook_max_attempts = Int(
        5, config=True, help="Attempts per webhook delivery before it is recorded as failed."
    )

    webhook_backoff = Float(
        1.0,
        config=True,
        help="Seconds before a failed delivery's first retry; doubled per retry, at most 60.",
    )

    jobs = Bool(
        True,
        config=True,
        help=(
            "Run notebook re-runs and reproducibility checks as background jobs (jupyter-mm/api/"
            "jobs): each executes notebook code in a fresh kernel on this machine. At start, "
            "jobs of processes that are gone are marked lost."
        ),
    )

    retraining = Bool(
        True,
        config=True,
        help=(
            "Start the retrainings models' retraining policies ask for: on monitor alarms "
            "(monitor.drift_detected, monitor.performance_degraded) and on schedule (looked at "
            "every monitor_tick seconds). One event starts at most one retraining, whatever the "
            "number of server processes; with jobs off, a local retraining is recorded failed."
        ),
    )

    max_concurrent_jobs = Integer(2, config=True, help="Jobs this process runs at once.")

    job_timeout = Float(
        3600.0,
        config=True,
        help="Seconds a job may run before it is stopped and failed ($MM_JOB_TIMEOUT overrides it).",
    )

    audit_identity = CaselessStrEnum(
        ["auto", "jupyter", "server-user"],
        default_value="auto",
        config=True,
        help=(
            "Who the registry's audit trail records as acting. 'jupyter': the authenticated "
            "Jupyter identity (JupyterHub users, a custom IdentityProvider). 'server-user': the "
            "OS user running this server. 'auto': 'server-user' when Jupyter's own token or "
            "password login is in use (it signs everyone in as a random anonymous user, who "
            "names nobody; a personal server's person is its owner), else 'jupyter'. The team "
            "server (`jupyter mm server`) always records the identity."
        ),
    )

    serve_models = Bool(
        True,
        config=True,
        help=(
            "Let users serve registered models from this server, under "
            "{base_url}jupyter-mm/serve/{name}/ (started through jupyter-mm/api/serve, the "
            "version view's Try it, or mm.serve). Nothing is served until a user asks. The team "
            "server (`jupyter mm server`) turns it off: served models live in one worker "
            "process and run model code inside the shared server."
        ),
    )

    serve_allow_trust = Bool(
        True,
        config=True,
        help=(
            "Let users serve models whose loading runs code from their files (pickle, "
            "cloudpickle) by asking with trust=true. Off: such models are refused."
        ),
    )

    store_provider: StoreProvider | None = None
    served: ServedModels | None = None

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        allow_query_fields()  # MLflow's requests may carry 1,000 run ids (see MAX_QUERY_FIELDS)
        root_dir = self.serverapp.root_dir
        resolved = resolve_tracking_uri(self.tracking_uri, root_dir)
        self.store_provider = StoreProvider(resolved.uri, self.artifact_uri or None)
        self.settings[STORE_SETTING] = self.store_provider
        self.settings[AUDIT_AS_SERVER_USER_SETTING] = self._audit_as_server_user()
        if self.serve_models:
            self.served = ServedModels(self.store_provider, self.serve_allow_trust)
            self.settings[SERVED_SETTING] = self.served
            # always this server's own file (one started from another's terminal inherits its)
            os.environ[SERVER_INFO_ENV] = self.serverapp.info_file
        if self.live_events:
            start_store_events(self, on_demand=self.events_on_demand)
        if self.monitors:
            start_monitors(self, tick=self.monitor_tick)
        self.settings[WEBHOOKS_ALLOW_PRIVATE_SETTING] = (
            self.webhooks_allow_private or allow_private_default()
        )
        if self.webhooks:
            self._start_webhooks()
        if self.jobs:
            start_jobs(self, self.max_concurrent_jobs, self.job_timeout)
        if self.retraining:
            start_retraining(self, self.monitor_tick)

        for name, value in (
            (TRACKING_URI_ENV, resolved.uri),
            (ARTIFACT_URI_ENV, self.artifact_uri),
        ):
            other = export_to_kernels(name, value)
            if other is not None:
                self.log.warning(
                    "jupyter-mm: the server uses %s=%s from its config, but the environment "
                    "already sets %s for kernels; notebooks may log elsewhere than the sidebar shows",
                    name,
                    self.store_provider.display_uri if name == TRACKING_URI_ENV else value,
                    name,
                )
        self.log.info(
            "jupyter-mm: tracking store %s (from %s)",
            self.store_provider.display_uri,
            resolved.source,
        )

    def _start_webhooks(self) -> None:
        """The dispatcher (:mod:`jupyter_mm.loop.webhooks`) in its thread, woken by registry
        events and handed this process's monitor alarms."""
        import asyncio

        from ..loop.webhooks import WebhookDispatcher
        from .background import register_event_schemas
        from .jobs import JOB_EVENT_SCHEMA, JOB_EVENT_SCHEMA_ID
        from .monitor_events import MONITOR_EVENT_SCHEMA_ID
        from .registry_events import REGISTRY_EVENT_SCHEMA_ID

        assert self.serverapp is not None and self.store_provider is not None
        dispatcher = WebhookDispatcher(
            self.store_provider.get,
            allow_private=self.settings[WEBHOOKS_ALLOW_PRIVATE_SETTING],
            max_attempts=self.webhook_max_attempts,
            backoff=self.webhook_backoff,
            log=self.log,
        )
        self.settings[WEBHOOKS_SETTING] = dispatcher
        event_logger = self.serverapp.event_logger
        assert event_logger is not None

        async def on_registry(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
            dispatcher.wake()

        async def publish(data: dict[str, Any], key: str) -> None:
            action = str(data.get("action"))
            try:
                await asyncio.to_thread(
                    dispatcher.publish, action, data, key=key, model=data.get("model")
                )
            except Exception:
                self.log.exception("jupyter-mm webhooks: queueing %s failed", action)

        async def on_monitor(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
            await publish(data, f"{data.get('action')}:{data.get('evaluation_id')}")

        async def on_job(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
            await publish(data, f"rerun.finished:{data.get('job_id')}")

        if REGISTRY_EVENT_SCHEMA_ID in event_logger.schemas:
            event_logger.add_listener(schema_id=REGISTRY_EVENT_SCHEMA_ID, listener=on_registry)
        if MONITOR_EVENT_SCHEMA_ID in event_logger.schemas:
            event_logger.add_listener(schema_id=MONITOR_EVENT_SCHEMA_ID, listener=on_monitor)
        if self.jobs:  # registered here: the runner starts after the webhooks
            register_event_schemas(self, JOB_EVENT_SCHEMA)
            event_logger.add_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=on_job)
        # once the server runs (the team server checks its store before that)
        self.serverapp.io_loop.add_callback(dispatcher.start)

    def _audit_as_server_user(self) -> bool:
        if self.audit_identity != "auto":
            return bool(self.audit_identity == "server-user")
        from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

        # exact types: a subclass (JupyterHub's, ours) authenticates named people
        provider = getattr(self.serverapp, "identity_provider", None)
        return type(provider) in (IdentityProvider, PasswordIdentityProvider)

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_handlers())
        self.handlers.extend(mlflow_link_handlers())  # before the MLflow routes' catch-all
        self.handlers.extend(mlflow_handlers())
        self.handlers.extend(event_socket_handlers())
        if self.serve_models:
            self.handlers.extend(serve_handlers())

    async def stop_extension(self) -> None:
        await stop_monitors(self)
        await stop_retraining(self)
        dispatcher = self.settings.pop(WEBHOOKS_SETTING, None)
        if dispatcher is not None:
            import asyncio

            await asyncio.to_thread(dispatcher.stop)
        stop_jobs(self)
        await stop_store_events(self)
        if self.served is not None:
            await self.served.stop_all()
        if self.store_provider is not None:
            self.store_provider.close()


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_mm.server.extension", "app": JupyterMM}]


# Jupyter finds the app through ``jupyter_mm._jupyter_server_extension_points``; these aliases
# let ``jupyter server extension`` tooling and tests load this module directly as well.
_load_jupyter_server_extension = JupyterMM._load_jupyter_server_extension
