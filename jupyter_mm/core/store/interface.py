"""The store interface: what the client, the notebook layer, and the serving and monitoring layers
may ask of a store, whether it is the local :class:`~jupyter_mm.core.store.Store` or a tracking
server reached through :class:`~jupyter_mm.client.remote.store.RemoteStore`.

Both are checked against it by mypy (``Store`` here, ``RemoteStore`` in its module), so a method
one of them lacks is a type error, not a surprise in a user's notebook. Code above core that may
run against either store takes a :class:`TrackingStore`; the server, which always owns a local
store, uses ``Store`` and its extra methods (deletion, restore, experiment edits, stages) directly.
The one-item writes that are a single batch write (:class:`BatchShortcuts`) are written here once,
for both stores.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from ..entities import ArtifactInfo, DatasetInput, Experiment, Metric, Run
    from ..registry.entities import (
        AuditEntry,
        AuditReport,
        ModelVersion,
        Policy,
        PolicyChange,
        RegisteredModel,
    )
    from ..webhooks import Webhook, WebhookChange, WebhookDelivery
    from .base import MetricPoint
    from .jobs import Job


#: An artifact's content: bytes, or the path of a file to copy.
ArtifactData = bytes | str | os.PathLike[str]
#: ``(path, data, media_type)``: one artifact of a ``log_artifacts`` call.
ArtifactItem = tuple[str, ArtifactData, str | None]


class StoreLocationLike(Protocol):
    """What callers read of a store's location: ``db_url`` keys per-store caches."""

    @property
    def db_url(self) -> str: ...


class TrackingStore(Protocol):
    """Experiments, runs and their data, artifacts and the model registry (see the mixins of
    :class:`~jupyter_mm.core.store.Store` for each method's contract)."""

    @property
    def location(self) -> StoreLocationLike: ...

    @property
    def kind(self) -> str: ...

    @property
    def display_uri(self) -> str: ...

    # ------------------------------------------------------------ the store itself

    def close(self) -> None: ...

    # ------------------------------------------------------------ experiments

    def get_experiment(self, experiment_id: str | int) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def get_or_create_experiment(self, name: str) -> str: ...

    def list_experiments(self, view: str = "active") -> list[Experiment]: ...

    # ------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str | int = ...,
        name: str | None = None,
        user: str = "",
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        status: str = "RUNNING",
        heartbeat: bool = True,
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def heartbeat(self, run_id: str) -> None: ...

    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: str = "active",
    ) -> tuple[list[Run], str | None]: ...

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
        notes: str | None = None,
    ) -> None: ...

    # ------------------------------------------------------------ params, metrics, tags, run end

    def end_run(
        self,
        run_id: str,
        status: str = "FINISHED",
        end_time: int | None = None,
        metrics: Sequence[MetricPoint | Metric] = (),
        tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint | Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool: ...

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int = 0,
        timestamp: int | None = None,
    ) -> None: ...

    def log_param(self, run_id: str, key: str, value: Any) -> None: ...

    def set_tag(self, run_id: str, key: str, value: Any) -> None: ...

    # ------------------------------------------------------------ metric histories

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        step_range: tuple[int | None, int | None] | None = None,
        time_range: tuple[int | None, int | None] | None = None,
    ) -> dict[str, np.ndarray]: ...

    def metric_keys(self, run_id: str) -> list[str]: ...

    # ------------------------------------------------------------ datasets

    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None: ...

    # ------------------------------------------------------------ artifacts

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo: ...

    def iter_artifact(
        self, run_id: str, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]: ...

    def list_artifacts(
        self, run_id: str, prefix: str | None = None, recursive: bool = False
    ) -> list[ArtifactInfo]: ...

    def log_artifact(
        self, run_id: str, path: str, data: ArtifactData, media_type: str | None = None
    ) -> ArtifactInfo: ...

    def log_artifacts(self, run_id: str, items: Sequence[ArtifactItem]) -> list[ArtifactInfo]: ...

    def read_artifact(self, run_id: str, path: str) -> bytes: ...

    # ------------------------------------------------------------ registered models

    def create_registered_model(
        self,
        name: str,
        *,
        actor: str,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        comment: str = "",
    ) -> RegisteredModel: ...

    def delete_registered_model(self, name: str, *, actor: str, comment: str = "") -> None: ...

    def delete_registered_model_tag(
        self, name: str, key: str, *, actor: str, comment: str = ""
    ) -> None: ...

    def get_registered_model(self, name: str) -> RegisteredModel: ...

    def list_registered_models(self) -> list[RegisteredModel]: ...

    def rename_registered_model(
        self, name: str, new_name: str, *, actor: str, comment: str = ""
    ) -> RegisteredModel: ...

    def search_registered_models(
        self,
        filter: str | None = None,
        order_by: list[str] | tuple[str, ...] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]: ...

    def set_registered_model_tag(
        self, name: str, key: str, value: Any, *, actor: str, comment: str = ""
    ) -> None: ...

    def update_registered_model(
        self, name: str, *, actor: str, description: str, comment: str = ""
    ) -> RegisteredModel: ...

    # ------------------------------------------------------------ model versions

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        actor: str,
        run_id: str | None = None,
        logged_model_id: str | None = None,
        model_path: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        comment: str = "",
    ) -> ModelVersion: ...

    def delete_model_version(
        self, name: str, version: int | str, *, actor: str, comment: str = ""
    ) -> None: ...

    def delete_model_version_tag(
        self, name: str, version: int | str, key: str, *, actor: str, comment: str = ""
    ) -> None: ...

    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

    def list_model_versions(self, name: str) -> list[ModelVersion]: ...

    def set_model_version_tag(
        self,
        name: str,
        version: int | str,
        key: str,
        value: Any,
        *,
        actor: str,
        comment: str = "",
    ) -> None: ...

    def update_model_version(
        self, name: str, version: int | str, *, actor: str, description: str, comment: str = ""
    ) -> ModelVersion: ...

    def set_model_version_lifecycle(
        self, name: str, version: int | str, state: str, *, actor: str, reason: str = ""
    ) -> ModelVersion: ...

    # ------------------------------------------------------------ aliases

    def delete_registered_model_alias(
        self, name: str, alias: str, *, actor: str, comment: str = ""
    ) -> None: ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, actor: str, comment: str = ""
    ) -> None: ...

    # ------------------------------------------------------------ approvals and policies

    def approve(
        self, name: str, version: int | str, *, actor: str, comment: str
    ) -> ModelVersion: ...

    def registry_policy(self, name: str | None = None) -> Policy: ...

    def reject(
        self, name: str, version: int | str, *, actor: str, comment: str
    ) -> ModelVersion: ...

    def request_approval(
        self,
        name: str,
        version: int | str,
        *,
        actor: str,
        comment: str = "",
        evidence: Iterable[str] | None = None,
    ) -> ModelVersion: ...

    def set_registry_policy(
        self, change: PolicyChange, *, actor: str, name: str | None = None, comment: str = ""
    ) -> Policy: ...

    # ------------------------------------------------------------ the audit trail

    def alias_history(self, name: str, alias: str) -> list[AuditEntry]: ...

    def audit_log(
        self,
        name: str | None = None,
        *,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
    ) -> list[AuditEntry]: ...

    def export_audit(self, out: str | IO[str]) -> int: ...

    def iter_audit_jsonl(self) -> Iterator[str]: ...

    def resolve(self, name: str, alias: str, at: Any = None) -> int | None: ...

    def verify_audit(self, expected_head: str | None = None) -> AuditReport: ...

    # ------------------------------------------------------------ derived registry views

    def lineage(self, name: str, version: int | str) -> dict[str, Any]: ...

    def model_card(self, name: str, version: int | str, format: str = "markdown") -> Any: ...

    def update_model_card(
        self, name: str, version: int | str, *, actor: str, comment: str = "", **fields: str | None
    ) -> dict[str, str]: ...

    def set_reference_profile(
        self,
        name: str,
        version: int | str,
        profile: Mapping[str, Any],
        *,
        actor: str,
        comment: str = "",
    ) -> str: ...

    def reference_profile(self, name: str, version: int | str) -> dict[str, Any] | None: ...

    # ------------------------------------------------------------ the prediction log

    def predictions(
        self, name: str, version: int | str | None = None, start: Any = None, end: Any = None
    ) -> pd.DataFrame: ...

    # ------------------------------------------------------------ webhooks

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Iterable[str],
        *,
        actor: str,
        model: str | None = None,
        secret: str | None = None,
        description: str | None = None,
        status: str = "ACTIVE",
        allow_private: bool | None = None,
    ) -> Webhook: ...

    def get_webhook(self, webhook_id: str) -> Webhook: ...

    def list_webhooks(self, model: str | None = None) -> list[Webhook]: ...

    def update_webhook(
        self,
        webhook_id: str,
        change: WebhookChange,
        *,
        actor: str,
        allow_private: bool | None = None,
    ) -> Webhook: ...

    def delete_webhook(self, webhook_id: str, *, actor: str) -> None: ...

    def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 100, status: str | None = None
    ) -> list[WebhookDelivery]: ...

    def log_prediction_table(
        self, name: str, version: int | str, table: pa.Table, *, batch: str | None = None
    ) -> int | None:
        """Rows written; None when a remote store kept the batch in its spool (sent later)."""
        ...

    def log_label_table(
        self, name: str, table: pa.Table, *, batch: str | None = None
    ) -> int | None: ...

    def labels(self, name: str) -> pd.DataFrame: ...

    # ------------------------------------------------------------ background jobs

    def get_job(self, job_id: str, log_offset: int = 0, log_limit: int = ...) -> Job:
        """The job, with its log from ``log_offset`` (characters)."""
        ...

    def cancel_job(self, job_id: str) -> Job: ...


class BatchShortcuts:
    """The one-item writes, each a single call of its batch write: the same for every store, so
    written once here (:class:`~jupyter_mm.core.store.Store` and ``RemoteStore`` inherit them)."""

    def log_param(self: TrackingStore, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, params={key: value})

    def set_tag(self: TrackingStore, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags={key: value})

    def log_artifact(
        self: TrackingStore,
        run_id: str,
        path: str,
        data: ArtifactData,
        media_type: str | None = None,
    ) -> ArtifactInfo:
        """Store ``data`` (bytes, or the path of a file to copy) as the run's artifact ``path``."""
        return self.log_artifacts(run_id, [(path, data, media_type)])[0]
