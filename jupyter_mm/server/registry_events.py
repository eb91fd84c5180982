"""Registry events: one per new entry of the registry's audit trail, for :mod:`.events`.

Every registry change (``mm.register_model`` in a kernel, a REST or MLflow call, another server
on the same PostgreSQL database) appends an entry to ``registry_audit`` in its own transaction,
with a gap-free sequence number. So the watcher needs no diff here: it remembers the highest
``seq`` it has seen and emits the entries above it, in order, with the schema
:data:`REGISTRY_EVENT_SCHEMA_ID`::

    {"action": "alias.moved", "seq": 42, "actor": "alice", "model": "credit-risk",
     "version": 3, "alias": "champion"}

``action`` is the audit action (``model.created``, ``model.renamed``, ``model.deleted``,
``version.created``, ``approval.approved``, ``alias.set``, ``alias.moved``, ``policy.set``...).
``model`` is missing only for a store-wide policy change; ``version`` and ``alias`` only where the
entry has one; ``previous_name`` only on ``model.renamed`` (``model`` is then the new name).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .event_schemas import load_schema

if TYPE_CHECKING:
    from sqlalchemy import Connection

REGISTRY_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mm/registry/v1"

#: The schema, with every field's description: ``event_schemas/registry/v1.yaml``.
REGISTRY_EVENT_SCHEMA = load_schema(REGISTRY_EVENT_SCHEMA_ID)

#: At most this many entries are read per poll; the rest follow on the next polls.
MAX_PER_POLL = 500


class AuditFollower:
    """Follows ``registry_audit`` from the highest sequence number seen (see the module doc)."""

    def __init__(self) -> None:
        self.seq: int | None = None
        #: More entries were waiting than one poll reads: poll again even if nothing changed.
        self.behind = False

    @staticmethod
    def head(conn: Connection) -> int:
        """The newest entry's sequence number (0 for an empty trail): part of the change check."""
        from sqlalchemy import func, select

        from ..core import schema as s

        return int(conn.execute(select(func.max(s.registry_audit.c.seq))).scalar() or 0)

    def new_events(self, conn: Connection) -> list[dict[str, Any]]:
        """The events of the entries appended since the previous call (none on the first)."""
        from sqlalchemy import select

        from ..core import schema as s

        if self.seq is None:
            self.seq = self.head(conn)
            return []
        a = s.registry_audit.c
        rows = conn.execute(
            select(a.seq, a.action, a.actor, a.model_name, a.version, a.alias, a.from_value)
            .where(a.seq > self.seq)
            .order_by(a.seq)
            .limit(MAX_PER_POLL)
        ).all()
        self.behind = len(rows) == MAX_PER_POLL
        if not rows:
            # A trail shorter than what we saw is another (or a restored) store: follow it from here.
            self.seq = min(self.seq, self.head(conn))
        events = [_event(row) for row in rows]
        if rows:
            self.seq = rows[-1].seq
        return events


def _event(row: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"action": row.action, "seq": int(row.seq), "actor": row.actor}
    if row.model_name is not None:
        event["model"] = row.model_name
    if row.version is not None:
        event["version"] = int(row.version)
    if row.alias is not None:
        event["alias"] = row.alias
    if row.action == "model.renamed":
        try:
            before = json.loads(row.from_value)
        except ValueError:  # pragma: no cover - the chain's own content, always canonical JSON
            before = None
        if isinstance(before, dict) and isinstance(before.get("name"), str):
            event["previous_name"] = before["name"]
    return event
