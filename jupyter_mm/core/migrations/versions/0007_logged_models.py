"""logged models: MLflow 3's model entity, its tags, params, metrics, files and run links

Models the MLflow adapter kept inside their source run before this revision (the run tag
``mm.mlflow.models`` = ``{model_id: name}``, files under the run's ``models/<model_id>/``) become
rows here, READY, with their files left where they are; the store completes their tags, params
and status from the run's ``.mlflow/models/<model_id>.json`` record on first open
(``LoggedModelsMixin.adopt_run_records``: a migration cannot read the artifact store).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from jupyter_mm.core.migrations._helpers import (
    BigInt,
    cascade_fk,
    key_value_table,
    stored_file_columns,
    update_times,
)

revision = "0007"
down_revision = "0006"

_LEGACY_TAG = "mm.mlflow.models"


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(34), nullable=False),
        sa.Column("experiment_id", BigInt, nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("model_type", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("artifact_run_uuid", sa.String(32), nullable=True),
        sa.Column("creator", sa.String(250), nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        *update_times(),
        sa.PrimaryKeyConstraint("model_id", name="pk_logged_models"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_logged_models_experiment_id_experiments",
        ),
    )
    op.create_index(
        "ix_logged_models_experiment_creation", "logged_models", ["experiment_id", "creation_time"]
    )
    op.create_index("ix_logged_models_source_run", "logged_models", ["source_run_id"])
    for name in ("logged_model_tags", "logged_model_params"):
        key_value_table(name, "model_id", sa.String(34), "logged_models")
    op.create_table(
        "logged_model_metrics",
        sa.Column("model_id", sa.String(34), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("dataset_name", sa.String(250), nullable=True),
        sa.Column("dataset_digest", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint(
            "model_id", "key", "timestamp", "step", "run_uuid", name="pk_logged_model_metrics"
        ),
        cascade_fk("logged_model_metrics", "model_id", "logged_models"),
    )
    op.create_index("ix_logged_model_metrics_key_value", "logged_model_metrics", ["key", "value"])
    op.create_table(
        "logged_model_artifacts",
        sa.Column("model_id", sa.String(34), nullable=False),
        *stored_file_columns(),
        sa.PrimaryKeyConstraint("model_id", "path", name="pk_logged_model_artifacts"),
        cascade_fk("logged_model_artifacts", "model_id", "logged_models"),
    )
    op.create_index("ix_logged_model_artifacts_digest", "logged_model_artifacts", ["digest"])
    op.create_table(
        "run_model_links",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(34), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", "model_id", "direction", name="pk_run_model_links"),
        cascade_fk("run_model_links", "run_uuid", "runs"),
        cascade_fk("run_model_links", "model_id", "logged_models"),
    )
    op.create_index("ix_run_model_links_model", "run_model_links", ["model_id"])
    _import_run_models()


def _import_run_models() -> None:
    """A row for each model listed in a run's ``mm.mlflow.models`` tag (files stay in the run)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT t.run_uuid, t.value, r.experiment_id, r.user_id, r.start_time "
            "FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid WHERE t.key = :key"
        ),
        {"key": _LEGACY_TAG},
    ).all()
    seen: set[str] = set()
    for run_uuid, value, experiment_id, user_id, start_time in rows:
        try:
            index = json.loads(value or "{}")
        except ValueError:
            continue
        if not isinstance(index, dict):
            continue
        for model_id, name in index.items():
            if not isinstance(model_id, str) or len(model_id) != 34 or model_id in seen:
                continue
            seen.add(model_id)
            conn.execute(
                sa.text(
                    "INSERT INTO logged_models (model_id, experiment_id, name, model_type, "
                    "status, status_message, source_run_id, artifact_run_uuid, creator, "
                    "lifecycle_stage, creation_time, last_update_time) VALUES (:id, :exp, "
                    ":name, '', 'READY', 'mm:adopt-run-record', :run, :run, :user, 'active', :t, :t)"
                ),
                {
                    "id": model_id,
                    "exp": experiment_id,
                    "name": str(name)[:250] or "model",
                    "run": run_uuid,
                    "user": user_id or "",
                    "t": start_time,
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO run_model_links (run_uuid, model_id, direction, step, "
                    "created_time) VALUES (:run, :id, 'output', 0, :t)"
                ),
                {"run": run_uuid, "id": model_id, "t": start_time},
            )


def downgrade() -> None:
    op.drop_index("ix_run_model_links_model", table_name="run_model_links")
    op.drop_table("run_model_links")
    op.drop_index("ix_logged_model_artifacts_digest", table_name="logged_model_artifacts")
    op.drop_table("logged_model_artifacts")
    op.drop_index("ix_logged_model_metrics_key_value", table_name="logged_model_metrics")
    op.drop_table("logged_model_metrics")
    op.drop_table("logged_model_params")
    op.drop_table("logged_model_tags")
    op.drop_index("ix_logged_models_source_run", table_name="logged_models")
    op.drop_index("ix_logged_models_experiment_creation", table_name="logged_models")
    op.drop_table("logged_models")
