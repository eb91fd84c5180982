"""model versions: a deprecation reason (retirement's first step; archiving is the Archived stage)

NULL means "not deprecated". Archiving needs no column: it is MLflow's ``Archived`` stage, so an
MLflow client archiving a version and ``mm.archive_version`` are the same act.
"""

from __future__ import annotations

import sqlalchemy as sa

from jupyter_mm.core.migrations._helpers import added_columns

revision = "0005"
down_revision = "0004"

upgrade, downgrade = added_columns(
    "model_versions", sa.Column("deprecation", sa.Text(), nullable=True)
)
