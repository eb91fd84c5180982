"""REST handlers of the server extension, all under ``<base_url>/jupyter-mm/api/``.

The OpenAPI description of every route is ``jupyter_mm/server/openapi.yaml``; a test keeps the
two in step.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .artifacts import (
    ArtifactHandler,
    ArtifactListHandler,
    ArtifactRowsHandler,
    BlobHandler,
    MissingBlobsHandler,
    RecordHandler,
)
from .base import API_PREFIX, MMHandler
from .experiments import (
    ExperimentGetOrCreateHandler,
    ExperimentHandler,
    ExperimentRestoreHandler,
    ExperimentsHandler,
)
from .jobs import (
    JobCancelHandler,
    JobHandler,
    JobsHandler,
    ReproducibilityJobsHandler,
    RerunJobsHandler,
)
from .metrics import MetricHistoryHandler
from .predictions import LabelsHandler, PredictionsHandler
from .registry import (
    AliasHandler,
    AliasHistoryHandler,
    ApprovalHandler,
    AuditExportHandler,
    AuditHandler,
    AuditVerifyHandler,
    LifecycleHandler,
    LineageHandler,
    ModelCardHandler,
    ModelHandler,
    ModelsHandler,
    MonitoringHandler,
    PolicyHandler,
    ReferenceProfileHandler,
    ReproducibilityHandler,
    VersionHandler,
    VersionMonitoringHandler,
    VersionsHandler,
)
from .retraining import RetrainingHandler, RetrainingPolicyHandler, RetrainingsHandler
from .runs import (
    DatasetsHandler,
    EndRunHandler,
    HeartbeatHandler,
    LogBatchHandler,
    RunHandler,
    RunModelsHandler,
    RunRestoreHandler,
    RunsHandler,
    RunsSearchHandler,
    RunTagHandler,
)
from .serving import ServedHandler, ServeHandler
from .snapshots import SnapshotDiffHandler, SnapshotHandler
from .status import StatusHandler
from .webhooks import (
    WebhookDeliveriesHandler,
    WebhookHandler,
    WebhooksHandler,
    WebhookTestHandler,
)

__all__ = [
    "API_PREFIX",
    "MMHandler",
    "SnapshotDiffHandler",
    "SnapshotHandler",
    "StatusHandler",
    "api_handlers",
]

_EXP = r"(?P<experiment_id>[^/]+)"
_RUN = r"(?P<run_id>[^/]+)"
_MODEL = r"(?P<name>[^/]+)"
_VERSION = r"(?P<version>[^/]+)"
_ALIAS = r"(?P<alias>[^/]+)"
_DECISION = r"(?P<decision>[^/]+)"
_WEBHOOK = r"(?P<webhook_id>[^/]+)"


def api_handlers() -> list[tuple[Any, ...]]:
    """Route table relative to the server's base URL (the extension app prepends it)."""

    def route(*parts: str) -> str:
        return url_path_join(API_PREFIX, *parts)

    return [
        (route("status"), StatusHandler),
        (route("experiments"), ExperimentsHandler),
        (route("experiments", "get-or-create"), ExperimentGetOrCreateHandler),
        (route("experiments", _EXP), ExperimentHandler),
        (route("experiments", _EXP, "restore"), ExperimentRestoreHandler),
        (route("runs"), RunsHandler),
        (route("runs", "search"), RunsSearchHandler),
        (route("runs", _RUN), RunHandler),
        (route("runs", _RUN, "restore"), RunRestoreHandler),
        (route("runs", _RUN, "log-batch"), LogBatchHandler),
        (route("runs", _RUN, "end"), EndRunHandler),
        (route("runs", _RUN, "heartbeat"), HeartbeatHandler),
        (route("runs", _RUN, "tags", r"(?P<key>.+)"), RunTagHandler),
        (route("runs", _RUN, "datasets"), DatasetsHandler),
        (route("runs", _RUN, "models"), RunModelsHandler),
        (route("runs", _RUN, "artifacts"), ArtifactListHandler),
        (route("runs", _RUN, "artifacts", r"(?P<path>.+)"), ArtifactHandler),
        (route("runs", _RUN, "artifact-rows", r"(?P<path>.+)"), ArtifactRowsHandler),
        (route("runs", _RUN, "records", r"(?P<kind>[^/]+)"), RecordHandler),
        (route("blobs", "missing"), MissingBlobsHandler),  # before blobs/{digest}
        (route("blobs", r"(?P<digest>[^/]+)"), BlobHandler),
        (route("runs", _RUN, "snapshot"), SnapshotHandler),
        (route("runs", _RUN, "snapshot", "diff"), SnapshotDiffHandler),
        (route("metrics", "history"), MetricHistoryHandler),
        (route("registry", "models"), ModelsHandler),
        (route("registry", "models", _MODEL), ModelHandler),
        (route("registry", "models", _MODEL, "versions"), VersionsHandler),
        (route("registry", "models", _MODEL, "versions", _VERSION), VersionHandler),
        (
            route("registry", "models", _MODEL, "versions", _VERSION, "approval", _DECISION),
            ApprovalHandler,
        ),
        (route("registry", "models", _MODEL, "versions", _VERSION, "lifecycle"), LifecycleHandler),
        (route("registry", "models", _MODEL, "versions", _VERSION, "lineage"), LineageHandler),
        (route("registry", "models", _MODEL, "versions", _VERSION, "card"), ModelCardHandler),
        (
            route("registry", "models", _MODEL, "versions", _VERSION, "reproducibility"),
            ReproducibilityHandler,
        ),
        (
            route("registry", "models", _MODEL, "versions", _VERSION, "reference"),
            ReferenceProfileHandler,
        ),
        (route("registry", "models", _MODEL, "monitoring"), MonitoringHandler),
        (
            route("registry", "models", _MODEL, "versions", _VERSION, "monitoring"),
            VersionMonitoringHandler,
        ),
        (route("registry", "models", _MODEL, "aliases", _ALIAS), AliasHandler),
        (route("registry", "models", _MODEL, "aliases", _ALIAS, "history"), AliasHistoryHandler),
        (route("registry", "audit"), AuditHandler),
        (route("registry", "audit", "export"), AuditExportHandler),
        (route("registry", "audit", "verify"), AuditVerifyHandler),
        (route("registry", "policy"), PolicyHandler),
        (route("registry", "models", _MODEL, "policy"), PolicyHandler),
        (route("registry", "models", _MODEL, "retraining-policy"), RetrainingPolicyHandler),
        (route("registry", "models", _MODEL, "retrainings"), RetrainingsHandler),
        (route("registry", "retrainings", r"(?P<retraining_id>[^/]+)"), RetrainingHandler),
        (route("webhooks"), WebhooksHandler),
        (route("webhooks", _WEBHOOK), WebhookHandler),
        (route("webhooks", _WEBHOOK, "deliveries"), WebhookDeliveriesHandler),
        (route("webhooks", _WEBHOOK, "test"), WebhookTestHandler),
        (route("predictions"), PredictionsHandler),
        (route("labels"), LabelsHandler),
        (route("jobs"), JobsHandler),
        (route("jobs", "reruns"), RerunJobsHandler),
        (route("jobs", "reproducibility"), ReproducibilityJobsHandler),
        (route("jobs", r"(?P<job_id>[^/]+)"), JobHandler),
        (route("jobs", r"(?P<job_id>[^/]+)", "cancel"), JobCancelHandler),
        (route("serve"), ServeHandler),
        (route("serve", _MODEL), ServedHandler),
    ]
