"""background jobs (notebook re-runs, reproducibility checks) and the require_reproduced policy

``jobs`` holds every job a job runner accepted, with its state, its live log and its result, so a
server restart leaves each one finished, failed, cancelled or visibly lost. The store-wide
``require_reproduced`` lives in ``registry_settings``; a model's override is a nullable column,
NULL meaning "the store-wide setting", like the other ``policy_*`` columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mm.core.migrations._helpers import added_columns

revision = "0008"
down_revision = "0007"

_add_policy, _drop_policy = added_columns(
    "registered_models", sa.Column("policy_require_reproduced", sa.Boolean(), nullable=True)
)


def upgrade() -> None:
    _add_policy()
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("log_size", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("result_run_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("owner", sa.String(250), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("started_time", sa.BigInteger(), nullable=True),
        sa.Column("ended_time", sa.BigInteger(), nullable=True),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_index("ix_jobs_created_time", "jobs", ["created_time"])
    op.create_index("ix_jobs_run_id", "jobs", ["run_id"])


def downgrade() -> None:
    op.drop_table("jobs")
    _drop_policy()
