"""The store's tables (SQLAlchemy Core). One schema for SQLite and PostgreSQL, migrated by Alembic.

Times are integer milliseconds since the epoch, as in MLflow's wire format. Run ids are 32-hex strings.
A NULL ``value`` in a metric table means NaN: SQLite cannot store NaN, so both dialects agree on NULL.
Metric histories live in compressed chunks (see ``metric_chunks.py``); ``latest_metrics`` keeps the
newest value per key for search and sort.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
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
