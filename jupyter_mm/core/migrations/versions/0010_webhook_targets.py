"""webhook targets: a webhook may deliver to an orchestrator (an Airflow 3 DAG) instead of a
plain HTTP receiver; ``target`` holds it as JSON (kind, DAG id, credentials), NULL for HTTP.
"""

from __future__ import annotations

import sqlalchemy as sa

from jupyter_mm.core.migrations._helpers import added_columns

revision = "0010"
down_revision = "0009"

upgrade, downgrade = added_columns("webhooks", sa.Column("target", sa.Text(), nullable=True))
