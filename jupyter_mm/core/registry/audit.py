"""The registry's audit trail: append-only, hash-chained, and queried for alias history.

Each entry's ``hash`` is the SHA-256 of its canonical content (sequence number, time, actor,
action, model, version, alias, from and to values, comment) together with ``prev_hash``, the
previous entry's hash, so editing, deleting or reordering any entry breaks the chain from there
on. The newest entry's sequence number and hash are also kept in ``registry_settings``
(``audit.head``), which catches entries cut off the end; :attr:`AuditReport.head_hash` can be
kept outside the database as a stronger anchor.

Entries are appended by the change they describe, in its transaction, after the registry's
write lock (:func:`lock`): on PostgreSQL a transaction-scoped advisory lock, on SQLite the
``BEGIN IMMEDIATE`` every store write starts with. Sequence numbers are therefore gap-free and
times never go backwards along the chain, so "what was true at time T" is a prefix of the log.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, or_, select, text, update

from ...errors import InvalidInput
from .. import schema as s
from ..database import read_conn
from .entities import AuditEntry, AuditProblem, AuditReport

if TYPE_CHECKING:
    from sqlalchemy import Engine

GENESIS = "0" * 64
HEAD_KEY = "audit.head"
#: pg_advisory_xact_lock key of registry writes ("jmm-reg" in ASCII).
ADVISORY_KEY = 0x6A6D6D2D726567
_a = s.registry_audit.c

#: Actions that say where an alias points (the ``to`` value carries ``{"version": N}``).
ALIAS_ACTIONS = ("alias.set", "alias.moved", "alias.deleted")


def now_ms() -> int:
    return int(time.time() * 1000)


def canonical(value: Any) -> str:
    """The one JSON spelling of a value: sorted keys, no spaces, unicode kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    seq: int,
    time_ms: int,
    actor: str,
    action: str,
    model_id: int | None,
    model_name: str | None,
    version: int | None,
    alias: str | None,
    from_value: str,
    to_value: str,
    comment: str,
    prev_hash: str,
) -> str:
    content = canonical(
        [
            seq,
            time_ms,
            actor,
            action,
            model_id,
            model_name,
            version,
            alias,
            from_value,
            to_value,
            comment,
            prev_hash,
        ]
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def lock(conn: Connection) -> None:
    """Serialise registry writers (and so audit appends) for the rest of the transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    model_id: int | None = None,
    model_name: str | None = None,
    version: int | None = None,
    alias: str | None = None,
    before: Any = None,
    after: Any = None,
    comment: str = "",
) -> AuditEntry:
    """Append one entry in the caller's transaction, which must hold :func:`lock`."""
    last = conn.execute(select(_a.seq, _a.time, _a.hash).order_by(_a.seq.desc()).limit(1)).first()
    seq, prev_time, prev_hash = (last.seq + 1, last.time, last.hash) if last else (1, 0, GENESIS)
    t = max(now_ms(), prev_time)  # a clock step backwards must not reorder history
    from_value, to_value = canonical(before), canonical(after)
    digest = entry_hash(
        seq, t, actor, action, model_id, model_name, version, alias,
        from_value, to_value, comment, prev_hash,
    )  # fmt: skip
    row: dict[str, Any] = {
        "seq": seq,
        "time": t,
        "actor": actor,
        "action": action,
        "model_id": model_id,
        "model_name": model_name,
        "version": version,
        "alias": alias,
        "from_value": from_value,
        "to_value": to_value,
        "comment": comment,
        "prev_hash": prev_hash,
        "hash": digest,
    }
    conn.execute(insert(s.registry_audit).values(**row))
    head = canonical({"seq": seq, "hash": digest})
    updated = conn.execute(
        update(s.registry_settings).where(s.registry_settings.c.key == HEAD_KEY).values(value=head)
    )
    if updated.rowcount == 0:
        conn.execute(insert(s.registry_settings).values(key=HEAD_KEY, value=head))
    return AuditEntry(**row)


@dataclass(frozen=True)
class Trail:
    """Where one registry write records what it did: its entries share the write's connection,
    acting user and comment, and the registered model (its id, and its name as the write leaves
    it) and version it changes, so each :meth:`append` says only what happened."""

    conn: Connection
    actor: str
    comment: str
    model_id: int | None = None
    model_name: str | None = None
    version: int | None = None

    def append(self, action: str, *, before: Any = None, after: Any = None) -> AuditEntry:
        """:func:`append` the entry of ``action``, from ``before`` to ``after``."""
        return append(
            self.conn, actor=self.actor, action=action, model_id=self.model_id,
            model_name=self.model_name, version=self.version, before=before, after=after,
            comment=self.comment,
        )  # fmt: skip


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        action=row.action,
        model_id=row.model_id,
        model_name=row.model_name,
        version=row.version,
        alias=row.alias,
        from_value=row.from_value,
        to_value=row.to_value,
        comment=row.comment,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def to_ms(at: Any) -> int:
    """A point in time: a datetime (naive ones are taken as UTC), a date (its end, UTC), an
    ISO-8601 string (a bare ``YYYY-MM-DD`` is a date, so its end too), or milliseconds since the
    epoch. "What was champion on 31 March" means at the end of that day."""
    if isinstance(at, bool):
        raise InvalidInput(f"a time must be a datetime or milliseconds, got {at!r}")
    if isinstance(at, int):
        return at
    if isinstance(at, str):
        text = at.strip()
        try:
            at = (
                _dt.date.fromisoformat(text)
                if len(text) == 10
                else _dt.datetime.fromisoformat(text)
            )
        except ValueError:
            raise InvalidInput(f"not an ISO-8601 time: {at!r}") from None
    if isinstance(at, _dt.datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=_dt.timezone.utc)
        return int(at.timestamp() * 1000)
    if isinstance(at, _dt.date):
        end = _dt.datetime.combine(at, _dt.time.max, tzinfo=_dt.timezone.utc)
        return int(end.timestamp() * 1000)
    raise InvalidInput(f"a time must be a datetime, date or milliseconds, got {at!r}")


class AuditReader:
    """Reading the trail. Mixed into the store (see :class:`..mixin.RegistryMixin`)."""

    engine: Engine

    def audit_log(
        self,
        name: str | None = None,
        *,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries in order, all or of one registered model (under any of its past names)."""
        stmt = select(s.registry_audit).order_by(_a.seq)
        if since is not None:
            stmt = stmt.where(_a.time >= to_ms(since))
        if until is not None:
            stmt = stmt.where(_a.time <= to_ms(until))
        if limit is not None:
            stmt = stmt.limit(int(limit))
        with read_conn(self.engine) as conn:
            if name is not None:
                ids = _model_ids_ever_named(conn, name)
                stmt = stmt.where(
                    or_(_a.model_id.in_(ids), and_(_a.model_id.is_(None), _a.model_name == name))
                )
            return [_entry(r) for r in conn.execute(stmt)]

    def alias_history(self, name: str, alias: str) -> list[AuditEntry]:
        """Every set, move and deletion of ``alias`` on the model called ``name`` (now, or most
        recently), oldest first."""
        with read_conn(self.engine) as conn:
            model_id = _current_or_last_model_id(conn, name)
            if model_id is None:
                return []
            rows = conn.execute(
                select(s.registry_audit)
                .where(_a.model_id == model_id, _a.alias == alias, _a.action.in_(ALIAS_ACTIONS))
                .order_by(_a.seq)
            )
            return [_entry(r) for r in rows]

    def resolve(self, name: str, alias: str, at: Any = None) -> int | None:
        """The version ``alias`` pointed to at time ``at`` (now when ``None``), from the audit
        trail; ``None`` if it pointed nowhere (not set yet, deleted, or no such model then)."""
        with read_conn(self.engine) as conn:
            if at is None:
                return conn.execute(
                    select(s.registered_model_aliases.c.version)
                    .join_from(
                        s.registered_model_aliases,
                        s.registered_models,
                        s.registered_models.c.model_id == s.registered_model_aliases.c.model_id,
                    )
                    .where(
                        s.registered_models.c.name == name,
                        s.registered_model_aliases.c.alias == alias,
                    )
                ).scalar()
            t = to_ms(at)
            model_id = _model_id_named_at(conn, name, t)
            if model_id is None:
                return None
            row = conn.execute(
                select(_a.action, _a.to_value)
                .where(
                    _a.model_id == model_id,
                    _a.alias == alias,
                    _a.action.in_(ALIAS_ACTIONS),
                    _a.time <= t,
                )
                .order_by(_a.seq.desc())
                .limit(1)
            ).first()
            if row is None or row.action == "alias.deleted":
                return None
            return int(json.loads(row.to_value)["version"])

    def verify_audit(self, expected_head: str | None = None) -> AuditReport:
        """Recompute the chain. Any edited, deleted, inserted or reordered entry is reported
        with its sequence number; ``expected_head`` (a hash kept elsewhere) must be in the chain."""
        problems: list[AuditProblem] = []
        prev_seq, prev_hash, count = 0, GENESIS, 0
        seen_expected = expected_head is None
        with read_conn(self.engine) as conn:
            for r in conn.execute(select(s.registry_audit).order_by(_a.seq)).yield_per(1000):
                count += 1
                if r.seq != prev_seq + 1:
                    missing = f"{prev_seq + 1}" + (
                        f"-{r.seq - 1}" if r.seq - 1 > prev_seq + 1 else ""
                    )
                    problems.append(
                        AuditProblem(
                            r.seq, "missing", f"entry {missing} is missing before entry {r.seq}"
                        )
                    )
                if r.prev_hash != prev_hash:
                    problems.append(
                        AuditProblem(
                            r.seq,
                            "broken_link",
                            f"entry {r.seq} does not follow entry {prev_seq}: its prev_hash "
                            "differs from that entry's hash (deleted, inserted or reordered)",
                        )
                    )
                digest = entry_hash(
                    r.seq, r.time, r.actor, r.action, r.model_id, r.model_name, r.version,
                    r.alias, r.from_value, r.to_value, r.comment, r.prev_hash,
                )  # fmt: skip
                if digest != r.hash:
                    problems.append(
                        AuditProblem(
                            r.seq,
                            "altered",
                            f"entry {r.seq} was altered: its hash does not match its content",
                        )
                    )
                if r.hash == expected_head:
                    seen_expected = True
                prev_seq, prev_hash = r.seq, r.hash
            head_raw = conn.execute(
                select(s.registry_settings.c.value).where(s.registry_settings.c.key == HEAD_KEY)
            ).scalar()
        head = json.loads(head_raw) if head_raw else {"seq": 0, "hash": GENESIS}
        if head != {"seq": prev_seq, "hash": prev_hash}:
            problems.append(
                AuditProblem(
                    prev_seq,
                    "head_mismatch",
                    f"the recorded head is entry {head.get('seq')} but the log ends at entry "
                    f"{prev_seq}: entries were cut off the end or the head was edited",
                )
            )
        if not seen_expected:
            problems.append(
                AuditProblem(
                    prev_seq,
                    "head_mismatch",
                    f"the expected head {expected_head} is not in the log",
                )
            )
        return AuditReport(
            ok=not problems,
            entries=count,
            head_seq=prev_seq,
            head_hash=prev_hash,
            problems=tuple(problems),
        )

    def iter_audit_jsonl(self) -> Iterator[str]:
        """The whole trail as JSON lines (one entry each, with its hashes), oldest first."""
        with read_conn(self.engine) as conn:
            for r in conn.execute(select(s.registry_audit).order_by(_a.seq)).yield_per(1000):
                yield canonical(_entry(r).to_json()) + "\n"

    def export_audit(self, out: str | IO[str]) -> int:
        """Write the trail as JSONL to a path or a text stream; returns the number of entries."""
        n = 0
        if isinstance(out, str):
            with open(out, "w", encoding="utf-8") as f:
                return self.export_audit(f)
        for line in self.iter_audit_jsonl():
            out.write(line)
            n += 1
        return n


def _model_ids_ever_named(conn: Connection, name: str) -> list[int]:
    ids = {
        r[0]
        for r in conn.execute(
            select(_a.model_id).where(_a.model_name == name, _a.model_id.is_not(None)).distinct()
        )
    }
    current = conn.execute(
        select(s.registered_models.c.model_id).where(s.registered_models.c.name == name)
    ).scalar()
    if current is not None:
        ids.add(current)
    return sorted(ids)


def _current_or_last_model_id(conn: Connection, name: str) -> int | None:
    current = conn.execute(
        select(s.registered_models.c.model_id).where(s.registered_models.c.name == name)
    ).scalar()
    if current is not None:
        return int(current)
    return conn.execute(
        select(_a.model_id)
        .where(_a.model_name == name, _a.model_id.is_not(None))
        .order_by(_a.seq.desc())
        .limit(1)
    ).scalar()


def _model_id_named_at(conn: Connection, name: str, t: int) -> int | None:
    """The model that was called ``name`` at time ``t`` (renames and deletions replayed)."""
    for model_id in reversed(_model_ids_ever_named(conn, name)):
        events = conn.execute(
            select(_a.action, _a.to_value)
            .where(
                _a.model_id == model_id,
                _a.action.in_(("model.created", "model.renamed", "model.deleted")),
                _a.time <= t,
            )
            .order_by(_a.seq)
        ).all()
        current: str | None = None
        for ev in events:
            if ev.action == "model.deleted":
                current = None
            else:
                current = json.loads(ev.to_value).get("name")
        if current == name:
            return model_id
    return None


def audit_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(s.registry_audit)).scalar_one())
