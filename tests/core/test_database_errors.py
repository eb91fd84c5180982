"""``core.database.classify`` and ``run_write``: which database failures can pass (retryable
StoreFull / StoreError, so that writers keep their points and retry) and which are bugs or bad
input (raised as they are). Real exceptions from real databases wherever they are cheap to cause;
the rest (a PostgreSQL disk full, a SQLite I/O error) are the driver's own exception classes with
the codes those conditions carry."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from jupyter_mm.core import database
from jupyter_mm.errors import MMError, StoreError, StoreFull
from tests.client.test_remote_support import free_port


def failure(engine: Engine, sql: str) -> DBAPIError:
    """The SQLAlchemy exception ``sql`` raises on ``engine``."""
    with pytest.raises(DBAPIError) as e, engine.begin() as conn:
        conn.execute(text(sql))
    return e.value


def wrapped(orig: Exception) -> OperationalError:
    """A driver exception as SQLAlchemy hands it over."""
    return OperationalError("INSERT ...", {}, orig)


def retryable(err: MMError | None) -> MMError:
    assert err is not None and err.retryable
    return err


# --- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = database.create(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)"))
    yield engine
    engine.dispose()


def test_sqlite_full_is_store_full(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:  # a real SQLITE_FULL: the file may not grow
        conn.exec_driver_sql("PRAGMA max_page_count = 3")
        with pytest.raises(OperationalError) as e:
            conn.exec_driver_sql("INSERT INTO t VALUES ('a', zeroblob(100000))")
    err = retryable(database.classify(sqlite_engine, e.value))
    assert isinstance(err, StoreFull) and err.http_status == 507
    assert err.details == {"location": "database", "path": str(sqlite_engine.url.database)}


def test_sqlite_cannot_open_and_io_errors_are_store_errors(tmp_path: Path) -> None:
    missing = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'db.sqlite'}")
    with pytest.raises(OperationalError) as e:  # a real SQLITE_CANTOPEN
        missing.connect()
    err = retryable(database.classify(missing, e.value))
    assert type(err) is StoreError and "cannot be written now" in err.message
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = 10 | (3 << 8)  # type: ignore[attr-defined] # SQLITE_IOERR_WRITE
    assert type(retryable(database.classify(missing, wrapped(io)))) is StoreError


def test_sqlite_bugs_and_bad_input_are_not_classified(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('a', NULL)"))
    for sql in ("INSERT INTO t VALUES ('a', NULL)", "SELECT * FROM nowhere", "SELEC 1"):
        assert database.classify(sqlite_engine, failure(sqlite_engine, sql)) is None


def test_a_sqlite_lock_held_too_long_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(database, "WRITE_RETRY_SECONDS", 0.3)
    path = tmp_path / "locked.sqlite"
    engine = database.create(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, and not letting go
    try:
        with pytest.raises(StoreError, match="stayed locked") as e:
            database.run_write(engine, lambda c: c.execute(text("INSERT INTO t VALUES ('x')")))
        assert e.value.retryable
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    database.run_write(engine, lambda c: c.execute(text("INSERT INTO t VALUES ('x')")))
    with engine.connect() as conn:  # the lock gone, the same write goes through
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------


def test_postgres_refused_connection_is_a_store_error() -> None:
    engine = database.create(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with pytest.raises(OperationalError) as e:  # a real "connection refused"
        engine.connect()
    err = retryable(database.classify(engine, e.value))
    assert type(err) is StoreError and "unavailable" in err.message
    engine.dispose()


def test_postgres_disk_full_is_store_full() -> None:
    engine = database.create("postgresql://u@db.example:5432/mm")  # no connection is made
    full = psycopg.errors.DiskFull('could not extend file "base/16384/16385"')
    assert full.sqlstate == "53100"
    err = retryable(database.classify(engine, wrapped(full)))
    assert isinstance(err, StoreFull)
    assert err.details == {"location": "database", "path": "postgresql://db.example:5432/mm"}


@pytest.mark.postgres
def test_postgres_lost_connection_is_a_store_error_and_bugs_are_not(postgres_url: str) -> None:
    engine = database.create(postgres_url)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as a:  # the server ends this session (a restart, a failover)
            a.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as e:
            conn.execute(text("SELECT 1"))
    err = retryable(database.classify(engine, e.value))
    assert type(err) is StoreError and "unavailable" in err.message
    for sql in (
        "SELECT * FROM nowhere",  # 42P01
        "SELEC 1",  # 42601
        "SELECT 1/0",  # 22012
        "INSERT INTO experiments (experiment_id, name, lifecycle_stage) VALUES (0, 'x', 'active')",
    ):
        assert database.classify(engine, failure(engine, sql)) is None, sql
    admin.dispose()
    engine.dispose()
