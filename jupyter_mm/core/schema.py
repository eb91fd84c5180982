"""The store's tables (SQLAlchemy Core). One schema for SQLite and PostgreSQL, migrated by Alembic.

Times are integer milliseconds since the epoch, as in MLflow's wire format. Run ids are 32-hex strings.
A NULL ``value`` in a metric table means NaN: SQLite cannot store NaN, so both dialects agree on NULL.
Metric histories live in compressed chunks (see ``metric_chunks.py``); ``latest_metrics`` keeps the
newest value per key for search and sort.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger is INTEGER on SQLite so that autoincrement works there.
BigInt = BigInteger().with_variant(Integer(), "sqlite")


def _owned_by(referred: str, column: str, type_: Any, *, primary_key: bool = True) -> Column[Any]:
    """The id (``column``, named as in ``referred``) of the row this one belongs to and goes with."""
    return Column(
        column,
        type_,
        ForeignKey(f"{referred}.{column}", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def _of_run() -> Column[Any]:
    return _owned_by("runs", "run_uuid", String(32))


def _of_registered_model(*, primary_key: bool = True) -> Column[Any]:
    return _owned_by("registered_models", "model_id", BigInt, primary_key=primary_key)


def _of_logged_model() -> Column[Any]:
    return _owned_by("logged_models", "model_id", String(34))


def _of_model_version() -> ForeignKeyConstraint:
    """(model_id, version) name a model version; the row goes with it."""
    return ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    )


def _key_values(name: str, owner: Column[Any], *, indexed: bool = False) -> Table:
    """Tags or params: ``(owner, key) -> value``; ``indexed`` for search by key and value."""
    index = [Index(f"ix_{name}_key_value", "key", "value")] if indexed else []
    return Table(
        name,
        metadata,
        owner,
        Column("key", String(250), primary_key=True),
        Column("value", Text, nullable=False),
        *index,
    )


def _stored_files(name: str, owner: Column[Any]) -> Table:
    """An owner's files: each logical path names a content-addressed blob (``digest``)."""
    return Table(
        name,
        metadata,
        owner,
        Column("path", String(1024), primary_key=True),
        Column("digest", String(64), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("media_type", String(128), nullable=False, default="application/octet-stream"),
        Column("created_time", BigInteger, nullable=False),
        Index(f"ix_{name}_digest", "digest"),
    )


experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", BigInt, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=True),
    Column("lifecycle_stage", String(16), nullable=False, default="active"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = _key_values("experiment_tags", _owned_by("experiments", "experiment_id", BigInt))

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("name", String(250), nullable=False),
    Column("experiment_id", BigInt, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("user_id", String(250), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("heartbeat_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(16), nullable=False, default="active"),
    Column("deleted_time", BigInteger, nullable=True),
    Column("parent_run_id", String(32), nullable=True),
    Column("notes", Text, nullable=False, default=""),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_parent", "parent_run_id"),
)

params = _key_values("params", _of_run(), indexed=True)

tags = _key_values("tags", _of_run(), indexed=True)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    _of_run(),
    Column("key", String(250), primary_key=True),
    Column("value", Float(precision=53), nullable=True),  # NULL = NaN
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    _of_run(),
    Column("key", String(250), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    Column("step_min", BigInteger, nullable=False),
    Column("step_max", BigInteger, nullable=False),
    Column("ts_min", BigInteger, nullable=False),
    Column("ts_max", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the full content
    Column("name", String(250), nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("source_type", String(32), nullable=False, default=""),
    Column("schema", Text, nullable=False, default=""),  # JSON
    Column("row_count", BigInteger, nullable=True),
    Column("profile", Text, nullable=False, default=""),  # JSON
    Column("created_time", BigInteger, nullable=False),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    _of_run(),
    Column("digest", String(64), ForeignKey("datasets.digest"), primary_key=True),
    Column("context", String(64), primary_key=True),
    Column("name", String(250), nullable=False),
)

artifacts = _stored_files("artifacts", _of_run())

# Idempotent writes: a client that retries or replays a spooled batch sends the same batch id,
# and a batch whose receipt exists is acknowledged without being applied twice.
write_receipts = Table(
    "write_receipts",
    metadata,
    _of_run(),
    Column("batch_id", String(64), primary_key=True),
    Column("created_time", BigInteger, nullable=False),
)

# ------------------------------------------------------------------------------ model registry
# Registered models have a surrogate integer id so a rename touches one row; versions, tags,
# aliases and approvals hang off (model_id, version) and go with their model. The audit trail
# keeps model ids and names as they were and has no foreign keys: it outlives what it describes.

registered_models = Table(
    "registered_models",
    metadata,
    Column("model_id", BigInt, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("owner", String(250), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    # Version numbers are never reused, even after a deletion: the counter lives here.
    Column("last_version", Integer, nullable=False, default=0),
    # Per-model policy overrides; NULL = the store-wide setting (registry_settings).
    Column("policy_four_eyes", Boolean, nullable=True),
    Column("policy_approved_aliases", Boolean, nullable=True),
    Column("policy_approvers", Text, nullable=True),  # JSON list of user names (migration 0004)
    Column("policy_require_reproduced", Boolean, nullable=True),  # migration 0008
)

registered_model_tags = _key_values("registered_model_tags", _of_registered_model())

model_versions = Table(
    "model_versions",
    metadata,
    _of_registered_model(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("source", Text, nullable=False),
    Column("run_uuid", String(32), nullable=True),
    Column("logged_model_id", String(64), nullable=True),
    Column("model_path", String(1024), nullable=True),  # the model's directory in the run
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=False, default=""),
    Column("stage", String(20), nullable=False, default="None"),  # MLflow's deprecated stages
    Column("deprecation", Text, nullable=True),  # why it was deprecated; NULL: it is not
    Column("description", Text, nullable=False, default=""),
    Column("user_id", String(250), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Index("ix_model_versions_run_uuid", "run_uuid"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("model_id", BigInt, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    _of_model_version(),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    _of_registered_model(),
    Column("alias", String(250), primary_key=True),
    Column("version", Integer, nullable=False),
    _of_model_version(),
)

model_version_approvals = Table(
    "model_version_approvals",
    metadata,
    Column("model_id", BigInt, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("status", String(32), nullable=False),  # PendingManualApproval | Approved | Rejected
    Column("requested_by", String(250), nullable=False),
    Column("requested_time", BigInteger, nullable=False),
    Column("request_comment", Text, nullable=False, default=""),
    Column("evidence", Text, nullable=False, default="[]"),  # JSON list of links
    Column("decided_by", String(250), nullable=True),
    Column("decided_time", BigInteger, nullable=True),
    Column("decision_comment", Text, nullable=True),
    _of_model_version(),
)

# Store-wide registry settings (policies, the audit chain's head), one row per key.
registry_settings = Table(
    "registry_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Append-only, hash-chained: ``hash`` = SHA-256 over the entry's canonical content and
# ``prev_hash`` (see core/registry/audit.py). ``seq`` is assigned under the registry's write lock.
registry_audit = Table(
    "registry_audit",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(250), nullable=False),
    Column("action", String(64), nullable=False),
    Column("model_id", BigInteger, nullable=True),
    Column("model_name", String(250), nullable=True),
    Column("version", Integer, nullable=True),
    Column("alias", String(250), nullable=True),
    Column("from_value", Text, nullable=False),  # canonical JSON
    Column("to_value", Text, nullable=False),  # canonical JSON
    Column("comment", Text, nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_registry_audit_model_alias", "model_id", "alias", "seq"),
    Index("ix_registry_audit_model_name", "model_name", "seq"),
)

# ------------------------------------------------------------------------------ webhooks
# Subscriptions to registry and monitor events (core/webhooks/), and every delivery with each of
# its attempts. A delivery is unique per (webhook, event_key): the event_key names its cause (an
# audit entry's seq, a monitor evaluation), so two server processes can never send one twice.

webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(32), primary_key=True),
    Column("name", String(250), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event names
    Column("model_name", String(250), nullable=True),  # NULL: every model (store-wide)
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),  # ACTIVE | DISABLED
    Column("secret", Text, nullable=True),  # signs deliveries; never read back out
    # JSON: an orchestrator to deliver to (core/webhooks/targets.py), its credentials included
    # (never read back out); NULL: a plain HTTP receiver.
    Column("target", Text, nullable=True),
    Column("created_by", String(250), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    # The audit trail's head when it was created: no delivery for older entries.
    Column("created_seq", BigInteger, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),  # X-MLflow-Delivery-Id
    Column(
        "webhook_id",
        String(32),
        ForeignKey("webhooks.webhook_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event", String(64), nullable=False),
    Column("event_key", String(160), nullable=False),
    Column("model_name", String(250), nullable=True),
    Column("payload", Text, nullable=False),  # the JSON body exactly as signed and sent
    Column("status", String(16), nullable=False),  # pending | succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_time", BigInteger, nullable=False),
    Column("next_attempt_time", BigInteger, nullable=True),
    Column("claimed_until", BigInteger, nullable=True),  # a sender's lease
    Column("finished_time", BigInteger, nullable=True),
    UniqueConstraint("webhook_id", "event_key"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_time"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "created_time"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "delivery_id",
        String(36),
        ForeignKey("webhook_deliveries.delivery_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("response_status", Integer, nullable=True),  # NULL: no HTTP answer (see error)
    Column("response_body", Text, nullable=False, default=""),  # its first bytes only
    Column("error", Text, nullable=True),
)

# ------------------------------------------------------------------------------ logged models
# MLflow 3's logged models (core/store/logged_models.py): an entity of its own, with an id
# ``m-<32 hex>``, an optional source run, params, tags and metrics logged with its id. Its files
# are content-addressed blobs like every artifact: among its source run's artifacts under
# ``models/<model_id>/`` when it was created with a run (``artifact_run_uuid``, so the run's
# lineage and sidebar hold them), else indexed here in ``logged_model_artifacts``.

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(34), primary_key=True),
    Column("experiment_id", BigInt, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("model_type", String(500), nullable=False, default=""),
    Column("status", String(16), nullable=False),  # PENDING | READY | FAILED
    Column("status_message", Text, nullable=False, default=""),
    Column("source_run_id", String(32), nullable=True),  # as the client gave it
    Column("artifact_run_uuid", String(32), nullable=True),  # files are this run's artifacts
    Column("creator", String(250), nullable=False, default=""),
    Column("lifecycle_stage", String(16), nullable=False, default="active"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Index("ix_logged_models_experiment_creation", "experiment_id", "creation_time"),
    Index("ix_logged_models_source_run", "source_run_id"),
)


logged_model_tags = _key_values("logged_model_tags", _of_logged_model())
logged_model_params = _key_values("logged_model_params", _of_logged_model())

# Metrics logged with a model_id: also in the run's history; here for search and order_by.
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    _of_logged_model(),
    Column("key", String(250), primary_key=True),
    Column("timestamp", BigInteger, primary_key=True, autoincrement=False),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Column("run_uuid", String(32), primary_key=True),
    Column("value", Float(precision=53), nullable=True),  # NULL = NaN
    Column("dataset_name", String(250), nullable=True),
    Column("dataset_digest", String(64), nullable=True),
    Index("ix_logged_model_metrics_key_value", "key", "value"),
)

logged_model_artifacts = _stored_files("logged_model_artifacts", _of_logged_model())

# A run's model inputs and outputs (MLflow's log_inputs(models=) / log_outputs).
run_model_links = Table(
    "run_model_links",
    metadata,
    _of_run(),
    _of_logged_model(),
    Column("direction", String(8), primary_key=True),  # input | output
    Column("step", BigInteger, nullable=False, default=0),
    Column("created_time", BigInteger, nullable=False),
    Index("ix_run_model_links_model", "model_id"),
)

# ------------------------------------------------------------------------------ background jobs
# Notebook re-runs and reproducibility checks run by a server's (or a client's) job runner
# (``jupyter_mm/loop/jobs.py``). A row is written before the job starts and every state change is
# one conditional update, so a restart finds each job finished, failed, cancelled or visibly lost.
# ``log`` is the kernel's output as it came, appended (``log_size`` characters so far).
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("spec", Text, nullable=False),  # JSON: what to run
    Column("result", Text, nullable=True),  # JSON: what came of it
    Column("error", Text, nullable=True),
    Column("log", Text, nullable=False, default=""),
    Column("log_size", BigInteger, nullable=False, default=0),
    Column("run_id", String(32), nullable=True),  # the run re-run
    Column("result_run_id", String(32), nullable=True),  # the run the re-run made
    Column("created_by", String(250), nullable=False),
    Column("owner", String(250), nullable=True),  # "host:pid" of the process running it
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("created_time", BigInteger, nullable=False),
    Column("started_time", BigInteger, nullable=True),
    Column("ended_time", BigInteger, nullable=True),
    Column("updated_time", BigInteger, nullable=False),
    Index("ix_jobs_state", "state"),
    Index("ix_jobs_created_time", "created_time"),
    Index("ix_jobs_run_id", "run_id"),
)

# ------------------------------------------------------------------------------ retraining
# A model's retraining policy (``core/registry/retraining.py``; changes are audited) and one row per
# retraining it started. ``event_key`` names the cause (``monitor.drift_detected:<evaluation id>``,
# ``schedule:<period>``, ``manual:<uuid>``): unique per model, so one event starts at most one
# retraining however many server processes hear it.
retraining_policies = Table(
    "retraining_policies",
    metadata,
    _of_registered_model(),
    Column("policy", Text, nullable=False),  # JSON, as normalised by the core
    Column("updated_by", String(250), nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

retrainings = Table(
    "retrainings",
    metadata,
    Column("retraining_id", String(32), primary_key=True),
    _of_registered_model(primary_key=False),
    Column("event_key", String(160), nullable=False),
    Column("trigger", Text, nullable=False),  # JSON: kind, event, evaluation id, who
    Column("policy", Text, nullable=False),  # JSON: the policy as it was when it started
    Column("state", String(32), nullable=False),
    Column("source_run_id", String(32), nullable=True),  # the run re-run
    Column("params", Text, nullable=False),  # JSON: the overrides
    Column("job_id", String(32), nullable=True),
    Column("run_id", String(32), nullable=True),  # the candidate (the re-run's new run)
    Column("champion_version", Integer, nullable=True),
    Column("gate", Text, nullable=True),  # JSON: the gate's result
    Column("version", Integer, nullable=True),  # the candidate's registered version
    Column("error", Text, nullable=True),
    Column("created_by", String(250), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    UniqueConstraint("model_id", "event_key", name="uq_retrainings_model_id_event_key"),
    Index("ix_retrainings_model_id_created_time", "model_id", "created_time"),
)

# Files the MLflow artifact proxy holds outside any run or logged model (``PUT
# mlflow-artifacts/artifacts/dir/b.pkl``): a logical path (normalised, it cannot escape) to a
# content-addressed blob, like ``artifacts`` without a run (``core/store/proxy_files.py``).
proxy_artifacts = Table(
    "proxy_artifacts",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False, default=""),
    Index("ix_proxy_artifacts_digest", "digest"),
)
