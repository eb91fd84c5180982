"""The store's tables (SQLAlchemy Core). One schema for SQLite and PostgreSQL, migrated by Alembic.

Times are integer milliseconds since the epoch, as in MLflow's wire format. Run ids are 32-hex strings.
A NULL ``value`` in a metric table means NaN: SQLite cannot store NaN, so both dialects agree on NULL.
Metric histories live in compressed chunks (see ``metric_chunks.py``); ``latest_metrics`` keeps the
newest value per key for search and sort.
"""

from __future__ import annotations

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

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        BigInt,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

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

params = Table(
    "params",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_params_key_value", "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key_value", "key", "value"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Float(precision=53), nullable=True),  # NULL = NaN
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
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
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("digest", String(64), ForeignKey("datasets.digest"), primary_key=True),
    Column("context", String(64), primary_key=True),
    Column("name", String(250), nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False, default="application/octet-stream"),
    Column("created_time", BigInteger, nullable=False),
    Index("ix_artifacts_digest", "digest"),
)

# Idempotent writes: a client that retries or replays a spooled batch sends the same batch id,
# and a batch whose receipt exists is acknowledged without being applied twice.
write_receipts = Table(
    "write_receipts",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
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
    Column("policy_require_reproduced", Boolean, nullable=True),  # migration 0006
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column(
        "model_id",
        BigInt,
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "model_id",
        BigInt,
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
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
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column(
        "model_id",
        BigInt,
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("alias", String(250), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
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
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
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
