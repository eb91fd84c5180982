"""registry policy: who may approve (a per-model override of ``approvers``)

The store-wide value lives in ``registry_settings`` (no schema needed); a model's override is a
nullable JSON list, NULL meaning "the store-wide setting", like the other ``policy_*`` columns.
"""

from __future__ import annotations

import sqlalchemy as sa

from jupyter_mm.core.migrations._helpers import added_columns

revision = "0004"
down_revision = "0003"

upgrade, downgrade = added_columns(
    "registered_models", sa.Column("policy_approvers", sa.Text(), nullable=True)
)
