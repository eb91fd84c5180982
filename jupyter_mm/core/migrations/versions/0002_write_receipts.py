"""write receipts: idempotent batches for retrying and spooling clients"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mm.core.migrations._helpers import cascade_fk

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "write_receipts",
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        cascade_fk("write_receipts", "run_uuid", "runs"),
        sa.PrimaryKeyConstraint("run_uuid", "batch_id", name=op.f("pk_write_receipts")),
    )


def downgrade() -> None:
    op.drop_table("write_receipts")
