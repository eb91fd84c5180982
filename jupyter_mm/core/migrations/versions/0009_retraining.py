"""retraining policies and retraining records

``retraining_policies`` holds one policy per registered model (changes are audited);
``retrainings`` one row per retraining, unique per (model, event key) so that one event starts at
most one retraining whichever server process hears it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mm.core.migrations._helpers import BigInt, cascade_fk

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "retraining_policies",
        sa.Column("model_id", BigInt, nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(250), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        cascade_fk("retraining_policies", "model_id", "registered_models"),
        sa.PrimaryKeyConstraint("model_id", name="pk_retraining_policies"),
    )
    op.create_table(
        "retrainings",
        sa.Column("retraining_id", sa.String(32), nullable=False),
        sa.Column("model_id", BigInt, nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("champion_version", sa.Integer(), nullable=True),
        sa.Column("gate", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        cascade_fk("retrainings", "model_id", "registered_models"),
        sa.PrimaryKeyConstraint("retraining_id", name="pk_retrainings"),
        sa.UniqueConstraint("model_id", "event_key", name="uq_retrainings_model_id_event_key"),
    )
    op.create_index(
        "ix_retrainings_model_id_created_time", "retrainings", ["model_id", "created_time"]
    )


def downgrade() -> None:
    op.drop_table("retrainings")
    op.drop_table("retraining_policies")
