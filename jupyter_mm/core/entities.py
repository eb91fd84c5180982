"""Plain records the store returns. Times are milliseconds since the epoch."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")
#: A RUNNING run whose writer has not beaten its heartbeat (every 10 s) for this long is shown as
#: KILLED: its process died (a crashed or restarted kernel) without ending it.
STALE_HEARTBEAT_MS = 60_000


def shown_status(status: str, heartbeat_time: int | None, now_ms: int) -> str:
    """A RUNNING run whose heartbeat stopped is KILLED. Computed, not stored: the search compiles
    the same rule to SQL (``search.compiler.SHOWN_STATUS``), so filters, sorting and every reader
    agree, no background job is needed, and a writer that was only paused comes back RUNNING."""
    if (
        status == "RUNNING"
        and heartbeat_time is not None
        and now_ms - heartbeat_time > STALE_HEARTBEAT_MS
    ):
        return "KILLED"
    return status


def shown_end_time(
    status: str, end_time: int | None, heartbeat_time: int | None, now_ms: int
) -> int | None:
    """A run shown KILLED for its stopped heartbeat ended at its last heartbeat."""
    if end_time is None and shown_status(status, heartbeat_time, now_ms) != status:
        return heartbeat_time
    return end_time


def _to_datetime(ms: int | None) -> _dt.datetime | None:
    return None if ms is None else _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    lifecycle_stage: str
    artifact_location: str | None
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInput:
    name: str
    digest: str
    context: str
    source: str = ""
    source_type: str = ""
    schema: Any = None
    row_count: int | None = None
    profile: Any = None


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    size: int
    digest: str
    media_type: str
    created_time: int
    is_dir: bool = False


@dataclass(frozen=True)
class Run:
    id: str
    name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    lifecycle_stage: str
    parent_run_id: str | None
    heartbeat_time: int | None
    notes: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    latest_metrics: dict[str, Metric] = field(default_factory=dict)
    datasets: list[DatasetInput] = field(default_factory=list)
    experiment: str | None = None  # experiment name, when known

    @property
    def run_id(self) -> str:
        return self.id

    @property
    def started(self) -> _dt.datetime | None:
        return _to_datetime(self.start_time)

    @property
    def ended(self) -> _dt.datetime | None:
        return _to_datetime(self.end_time)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (None while running)."""
        return None if self.end_time is None else (self.end_time - self.start_time) / 1000

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, name={self.name!r}, status={self.status!r}, "
            f"experiment={self.experiment or self.experiment_id!r}, params={len(self.params)}, "
            f"metrics={self.metrics!r})"
        )


#: A logged model's statuses (MLflow's LOGGED_MODEL_PENDING / _READY / _UPLOAD_FAILED).
LOGGED_MODEL_STATUSES = ("PENDING", "READY", "FAILED")


@dataclass(frozen=True)
class LoggedModelMetric:
    key: str
    value: float
    step: int
    timestamp: int
    run_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class LoggedModel:
    """An MLflow 3 logged model: an entity of its own, optionally produced by a run.

    ``artifact_run_id`` is set when its files are that run's artifacts under
    ``models/<model_id>/`` (models created with a source run); otherwise they are the model's own
    (``list_model_artifacts``). ``run_ids`` are the runs that logged it as an output.
    """

    model_id: str
    experiment_id: str
    name: str
    model_type: str
    status: str
    status_message: str
    source_run_id: str | None
    artifact_run_id: str | None
    creator: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[LoggedModelMetric] = field(default_factory=list)

    @property
    def files_prefix(self) -> str:
        """The model's directory among its run's artifacts (when ``artifact_run_id`` is set)."""
        return f"models/{self.model_id}"


@dataclass(frozen=True)
class RunModelLink:
    """A run's model input or output (MLflow's ``log_inputs(models=)`` / ``log_outputs``)."""

    run_id: str
    model_id: str
    direction: str  # input | output
    step: int
