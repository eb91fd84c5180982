"""model versions: a deprecation reason (retirement's first step; archiving is the Archived stage)

NULL means "not deprecated". Archiving needs no column: it is MLflow's ``Archived`` stage, so an
MLflow client archiving a version and ``mm.archive_version`` are the same act.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("deprecation", sa.Text(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35): a batch rebuild of model_versions would cascade.
    op.drop_column("model_versions", "deprecation")
