"""registry policy: who may approve (a per-model override of ``approvers``)

The store-wide value lives in ``registry_settings`` (no schema needed); a model's override is a
nullable JSON list, NULL meaning "the store-wide setting", like the other ``policy_*`` columns.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("registered_models", sa.Column("policy_approvers", sa.Text(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35), not a batch rebuild: recreating registered_models
    # would cascade-delete every version with foreign keys on.
    op.drop_column("registered_models", "policy_approvers")
