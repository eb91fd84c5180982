"""Whole-store checks: database integrity, index consistency, every artifact blob's hash, the
registry's hash-chained audit trail, and temporary files that interrupted writes left behind
(which :func:`repair_store` removes)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from sqlalchemy import select, text

from ..errors import MMError
from . import metric_chunks
from . import schema as s

if TYPE_CHECKING:
    from .store import Store


#: A temporary file untouched for this long is a leftover, not a write in progress.
TEMP_GRACE_SECONDS = 600.0


def leftover_temporary_files(store: Store, now: float | None = None) -> list[str]:
    """Temporary blob files (``sha256/ab/….tmp-…``, ``staging/….part``) older than
    :data:`TEMP_GRACE_SECONDS`: writes that a crash or a full disk interrupted. A newer one may
    be an upload in progress, so it is left alone."""
    cutoff = (time.time() if now is None else now) - TEMP_GRACE_SECONDS
    return [path for path, mtime in store.blobs.temporary_files() if mtime < cutoff]


def repair_store(store: Store) -> list[str]:
    """Remove what :func:`check_store` reports and is safe to remove (the leftover temporary
    files); returns what was done, as sentences."""
    done = []
    for path in leftover_temporary_files(store):
        try:
            size = os.path.getsize(path)
            os.unlink(path)
        except FileNotFoundError:
            continue
        done.append(f"removed leftover temporary file {path} ({size} bytes)")
    return done


def check_store(store: Store) -> list[str]:
    """Problems found, as sentences; an empty list means the store is sound."""
    problems: list[str] = []
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            result = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
            if result != ["ok"]:
                problems.extend(f"sqlite integrity: {r}" for r in result)
            problems.extend(
                f"dangling reference in {r[0]} (row {r[1]}) to {r[2]}"
                for r in conn.execute(text("PRAGMA foreign_key_check"))
            )
        c = s.metric_chunks.c
        for row in conn.execute(select(c.run_uuid, c.key, c.seq, c.n, c.data)):
            try:
                steps, _, _ = metric_chunks.decode(row.data)
                if len(steps) != row.n:
                    raise ValueError(f"holds {len(steps)} points, index says {row.n}")
            except Exception as e:
                problems.append(f"metric chunk {row.run_uuid}/{row.key}#{row.seq} unreadable: {e}")
        digests = set(conn.execute(select(s.artifacts.c.digest).distinct()).scalars())
        digests |= set(  # a logged model's own files (core/store/logged_models.py)
            conn.execute(select(s.logged_model_artifacts.c.digest).distinct()).scalars()
        )
        digests |= set(  # the MLflow proxy's files outside runs (core/store/proxy_files.py)
            conn.execute(select(s.proxy_artifacts.c.digest).distinct()).scalars()
        )
    for digest in sorted(digests):
        try:
            store.blobs.get_bytes(digest, verify=True)
        except MMError as e:
            problems.append(str(e))
    # an edited, deleted, reordered or cut-off registry audit entry (core/registry/audit.py)
    problems.extend(f"registry audit trail: {p.message}" for p in store.verify_audit().problems)
    problems.extend(
        f"leftover temporary file {path} (an interrupted write; `jupyter mm check --repair` "
        "removes it)"
        for path in leftover_temporary_files(store)
    )
    return problems
