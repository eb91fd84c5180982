"""Bring a database to the current schema with Alembic.

Opening a store calls :func:`ensure_schema`; the cheap path (already at head) reads one row and does
not import Alembic at all.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from .database import is_sqlite, write_conn

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest revision in migrations/versions; bump with each new migration.
HEAD = "0011"
# Alembic's ``context`` is a module-level proxy: two threads of one process migrating at once
# would run each other's environment. Processes are kept apart by the database's own locks.
_UPGRADE_LOCK = threading.Lock()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(connection: object | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def ensure_schema(engine: Engine) -> None:
    if current_revision(engine) == HEAD:
        return
    upgrade(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with _UPGRADE_LOCK:
        _upgrade(engine, revision, command)


def _upgrade(engine: Engine, revision: str, command) -> None:  # type: ignore[no-untyped-def]
    # SQLite: BEGIN IMMEDIATE first, so of several processes opening a new store only one migrates
    # and the others then find the schema current.
    if is_sqlite(engine):
        with write_conn(engine) as conn:
            command.upgrade(alembic_config(conn), revision)
    else:
        with engine.connect() as conn:
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
