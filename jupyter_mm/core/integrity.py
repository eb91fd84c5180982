"""Whole-store checks: database integrity, index consistency, every artifact blob's hash, and the
registry's hash-chained audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, text

from ..errors import MMError
from . import metric_chunks
from . import schema as s

if TYPE_CHECKING:
    from .store import Store


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
    for digest in sorted(digests):
        try:
            store.blobs.get_bytes(digest, verify=True)
        except MMError as e:
            problems.append(str(e))
    # an edited, deleted, reordered or cut-off registry audit entry (core/registry/audit.py)
    problems.extend(f"registry audit trail: {p.message}" for p in store.verify_audit().problems)
    return problems
