"""A throwaway PostgreSQL server for the test session: initdb + pg_ctl in a temporary directory,
listening on 127.0.0.1 only. As root (CI), the server runs as the ``postgres`` user, since
PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

#: Numbers the databases this process creates (each worker has its own server).
_database_numbers = itertools.count(1)


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install the server (Debian: apt-get install -y "
            "postgresql); the store tests run on PostgreSQL too"
        )
    return candidates[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yield the URL of its ``postgres`` database as superuser."""
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    base = tempfile.mkdtemp(prefix="mm-pg-")
    data, sock = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sock)
    prefix: list[str] = []
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = dict(check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=base)
    subprocess.run(
        [
            *prefix,
            _bin("initdb"),
            "-D",
            data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        **run,
    )  # type: ignore[call-overload]
    opts = f"-p {port} -h 127.0.0.1 -k {sock} -F -c fsync=off -c max_connections=200"
    subprocess.run(
        [
            *prefix,
            _bin("pg_ctl"),
            "-D",
            data,
            "-o",
            opts,
            "-l",
            os.path.join(base, "log"),
            "-w",
            "start",
        ],
        **run,  # type: ignore[arg-type]
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, _bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], **run
        )  # type: ignore[call-overload]
        shutil.rmtree(base, ignore_errors=True)


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """A fresh database on the server (a copy of ``template`` if given), its name ``name`` plus
    a number; returns its URL.

    Always a new one: a module-scoped fixture can be set up twice in one session (a parallel
    worker that took some of the module's tests interleaves them with other modules), and must
    not find the first one's database in its way."""
    from sqlalchemy import create_engine, text

    name = f"{name}_{next(_database_numbers)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def reset_database(url: str) -> None:
    """Empty every table of a migrated store and put the default experiment back."""
    from psycopg.errors import DeadlockDetected
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    from jupyter_mm.core import schema

    engine = create_engine(url, poolclass=NullPool)
    names = ", ".join(t.name for t in schema.metadata.sorted_tables)
    try:
        for attempt in range(1, 6):
            try:
                with engine.begin() as conn:
                    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                    conn.execute(
                        text(
                            "INSERT INTO experiments (experiment_id, name, lifecycle_stage, "
                            "creation_time, last_update_time) VALUES (0, 'Default', 'active', 0, 0)"
                        )
                    )
                return
            except OperationalError as e:
                # A reader still finishing for the previous test (a server shutting down) can
                # deadlock with TRUNCATE's table locks; PostgreSQL cancels one side, and the
                # reset goes again once the reader is done.
                if not isinstance(e.orig, DeadlockDetected) or attempt == 5:
                    raise
    finally:
        engine.dispose()
