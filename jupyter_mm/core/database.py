"""Opening a database engine for the store: SQLite tuned for several writer processes, or PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so a
reader never has to upgrade its lock (the upgrade is what surfaces "database is locked" to users),
and a write that still meets a lock is retried with backoff before giving up with a StoreError.
Other failures that are the store's condition, not a bug (a full disk, a lost connection), are
turned into retryable MMErrors by :func:`classify`, here only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from ..errors import MMError, StoreError, StoreFull

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
WRITE_RETRY_SECONDS = 120.0


def create(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return _create_sqlite(url)
    if u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        try:
            return create_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=10)
        except ImportError as e:
            raise StoreError(
                f"PostgreSQL stores need a driver: pip install 'jupyter-mm[postgres]' ({e})"
            ) from None
    raise StoreError(
        f"unsupported database {u.get_backend_name()!r}: use sqlite:/// or postgresql://"
    )


def _create_sqlite(url: str) -> Engine:
    u = make_url(url)
    if u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if u.database not in (None, "", ":memory:"):
            _ensure_wal(cur, u.database)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def _ensure_wal(cur: Any, path: str) -> None:
    """Switch a database file to WAL once. Reading the mode takes no lock; switching needs the
    database to itself, so connections racing to open a new store retry instead of failing."""
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            mode = str(cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        except Exception as err:
            if not _is_lock_error(err) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)
            continue
        if mode != "wal":
            raise StoreError(f"could not switch {path} to WAL mode (got {mode})")
        return


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _is_lock_error(err: BaseException) -> bool:
    msg = str(getattr(err, "orig", err)).lower()
    return "database is locked" in msg or "database table is locked" in msg or "busy" in msg


def _is_retryable_pg(err: BaseException) -> bool:
    code = getattr(getattr(err, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01")  # serialization failure, deadlock


#: SQLite result codes (``sqlite3.Error.sqlite_errorcode``, primary code in the low byte).
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_NOLFS = 13, 10, 14, 22


def classify(engine: Engine, err: BaseException) -> MMError | None:
    """The :class:`MMError` a database failure stands for, when it is the store's condition
    rather than a bug: a full disk is :class:`StoreFull` (``location="database"``), a lost or
    refused connection, an I/O error or a file that cannot be opened is :class:`StoreError`; both
    are ``retryable``. None for anything else (a bug, to be raised as it is).

    The one place that decides this, so every write (metrics, params, tags, end_run, artifact
    paths, the registry) fails the same way and callers never read messages."""
    orig = getattr(err, "orig", err)
    where = _where(engine)
    if is_sqlite(engine):
        code = getattr(orig, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        msg = str(orig).lower()
        if primary == _SQLITE_FULL or "database or disk is full" in msg:
            return StoreFull("database", where, orig)
        if primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_NOLFS) or (
            "disk i/o error" in msg or "unable to open database file" in msg
        ):
            return StoreError(f"the store's database ({where}) cannot be written now: {orig}")
        return None
    state = getattr(orig, "sqlstate", None) or ""
    if state == "53100":  # disk_full
        return StoreFull("database", where, str(orig).strip())
    if (
        state.startswith(("08", "53", "57P"))  # connection, resources, shutdown/cannot connect
        or getattr(err, "connection_invalidated", False)
        or (isinstance(err, OperationalError) and not state)  # e.g. connection refused or lost
    ):
        return StoreError(f"the store's database ({where}) is unavailable: {str(orig).strip()}")
    return None


def _where(engine: Engine) -> str:
    u = engine.url
    if is_sqlite(engine):
        return u.database or ":memory:"
    return f"{u.get_backend_name()}://{u.host or ''}{f':{u.port}' if u.port else ''}/{u.database}"


def write_conn(engine: Engine) -> AbstractContextManager[Connection]:
    """One write transaction (BEGIN IMMEDIATE on SQLite)."""
    return _transaction(engine, {"sqlite_begin": "IMMEDIATE"} if is_sqlite(engine) else {})


def read_conn(engine: Engine) -> AbstractContextManager[Connection]:
    """A read transaction that sees one snapshot across all of its queries.

    SQLite (WAL) gives that to any transaction; PostgreSQL needs REPEATABLE READ, since its default
    READ COMMITTED takes a new snapshot per statement.
    """
    return _transaction(engine, {} if is_sqlite(engine) else {"isolation_level": "REPEATABLE READ"})


@contextmanager
def _transaction(engine: Engine, options: dict[str, str]) -> Iterator[Connection]:
    """A connection in one transaction, with these execution ``options``."""
    conn = engine.connect()
    if options:
        conn = conn.execution_options(**options)
    try:
        with conn.begin():
            yield conn
    finally:
        conn.close()


def run_write(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """Run ``fn`` in a write transaction, retrying lock and serialization errors with backoff.

    ``fn`` must be safe to run again from the start (everything it did was rolled back).
    """
    deadline = time.monotonic() + WRITE_RETRY_SECONDS
    delay = 0.005
    while True:
        try:
            with write_conn(engine) as conn:
                return fn(conn)
        except (OperationalError, DBAPIError) as err:
            if not (_is_lock_error(err) or _is_retryable_pg(err)) or time.monotonic() > deadline:
                if _is_lock_error(err):
                    raise StoreError(
                        f"the store stayed locked by another process for over "
                        f"{WRITE_RETRY_SECONDS:.0f} s; nothing was written"
                    ) from err
                known = classify(engine, err)
                if known is not None:
                    raise known from err
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
