"""files of the MLflow artifact proxy outside runs and logged models

MLflow's proxy (``mlflow-artifacts/artifacts/<path>``) stores any path under its artifacts
destination; ``proxy_artifacts`` indexes such files by their logical path, each a
content-addressed blob of the artifact store (never a file at the path the client chose).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mm.core.migrations._helpers import blob_columns

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "proxy_artifacts",
        *blob_columns(),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_proxy_artifacts"),
    )
    op.create_index("ix_proxy_artifacts_digest", "proxy_artifacts", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_proxy_artifacts_digest", table_name="proxy_artifacts")
    op.drop_table("proxy_artifacts")
