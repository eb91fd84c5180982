"""Alembic environment: runs against the connection the store hands over in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from jupyter_mm.core.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for ALTER
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Several servers may open a fresh store at once; only one migrates, the others wait.
        connection.execute(text("SELECT pg_advisory_xact_lock(7425113)"))
    context.run_migrations()
