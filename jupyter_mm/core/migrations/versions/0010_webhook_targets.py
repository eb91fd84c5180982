"""webhook targets: a webhook may deliver to an orchestrator (an Airflow 3 DAG) instead of a
plain HTTP receiver; ``target`` holds it as JSON (kind, DAG id, credentials), NULL for HTTP.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("target", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhooks", "target")
