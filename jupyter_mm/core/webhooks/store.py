"""Webhooks in the store: subscriptions (audited like registry changes), the delivery queue fed
from the audit trail and from published events, and the log of every attempt.

Deliveries are rows, not messages in one process's memory, so several server processes over one
store share the work without sending anything twice: a delivery is unique per (webhook, cause),
its cause being an audit entry (``audit:<seq>``) or a published event's key; turning audit
entries into deliveries advances one cursor under the registry lock; a sender claims a due
delivery with a conditional update (a lease), and records each attempt with its answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from ...errors import InvalidInput, NotFound
from .. import schema as s
from ..database import read_conn
from ..registry import audit, rules
from ..rows import from_row
from . import addresses, targets
from . import events as wev
from .entities import (
    ACTIVE,
    FAILED,
    PENDING,
    STATUSES,
    SUCCEEDED,
    UNCHANGED,
    DeliveryAttempt,
    Webhook,
    WebhookChange,
    WebhookDelivery,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

_w = s.webhooks.c
_d = s.webhook_deliveries.c
_at = s.webhook_attempts.c
#: registry_settings key: the last audit entry turned into deliveries.
CURSOR_KEY = "webhooks.audit_seq"
MAX_NAME_LENGTH = 250
MAX_SECRET_LENGTH = 1000
#: Audit entries turned into deliveries per call; the rest follow on the next call.
MAX_ENTRIES_PER_CALL = 500
#: Most deliveries one listing returns.
MAX_DELIVERY_PAGE = 1000
#: A response body is kept up to this many characters.
MAX_KEPT_BODY = 4096


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs (the secret never leaves the sender)."""

    delivery_id: str
    webhook_id: str
    url: str
    secret: str | None
    webhook_status: str
    payload: str
    attempts: int
    #: An orchestrator target with its credentials (``targets``), None for plain HTTP.
    target: dict[str, Any] | None = None


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"a webhook needs a non-empty name, got {value!r}")
    return rules.text(value.strip(), "webhook name", MAX_NAME_LENGTH)


def _status(value: Any) -> str:
    status = str(value).upper() if isinstance(value, str) else value
    if status not in STATUSES:
        raise InvalidInput(f"a webhook's status is ACTIVE or DISABLED, got {value!r}")
    return str(status)


def _secret(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SECRET_LENGTH:
        raise InvalidInput(f"a webhook secret must be a string of at most {MAX_SECRET_LENGTH}")
    return value


def _target(airflow_dag: Any, airflow_auth: Any, secret: str | None) -> dict[str, Any] | None:
    if airflow_dag is None:
        if airflow_auth is not None:
            raise InvalidInput("airflow_auth is for an Airflow webhook: name its airflow_dag")
        return None
    if secret is not None:
        raise InvalidInput(
            "an Airflow webhook authenticates with airflow_auth; a signing secret is for HTTP "
            "receivers"
        )
    return targets.airflow(airflow_dag, airflow_auth)


def _model(value: Any) -> str | None:
    return None if value is None else rules.model_name(value)


def _webhook(row: Any) -> Webhook:
    return from_row(
        Webhook,
        row,
        events=tuple(json.loads(row.events)),
        model=row.model_name,
        has_secret=bool(row.secret),
        target=targets.public(targets.loads(row.target)),
    )


def _audited(hook: Webhook) -> dict[str, Any]:
    """What the audit trail keeps of a webhook: everything but the secret."""
    out = hook.to_json()
    for key in ("created_by", "creation_time", "last_update_time"):
        out.pop(key)
    return out


def _audit(
    conn: Connection, actor: str, action: str, before: Webhook | None, after: Webhook | None
) -> None:
    """Audit a change to a webhook (each side as :func:`_audited` keeps it), under its model."""
    hook = before or after
    assert hook is not None
    audit.append(
        conn,
        actor=actor,
        action=action,
        model_name=hook.model,
        before=None if before is None else _audited(before),
        after=None if after is None else _audited(after),
    )


class WebhooksMixin:
    """Webhooks of a :class:`~jupyter_mm.core.store.Store` (see the module doc)."""

    engine: Engine

    if TYPE_CHECKING:

        def _registry_write(self, fn: Callable[[Connection], Any]) -> Any: ...

    # ------------------------------------------------------------ subscriptions

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Iterable[str],
        *,
        actor: str,
        model: str | None = None,
        secret: str | None = None,
        description: str | None = None,
        status: str = ACTIVE,
        allow_private: bool | None = None,
        airflow_dag: str | None = None,
        airflow_auth: Any = None,
    ) -> Webhook:
        """A webhook posting ``events`` (of ``model``, or of every model) to ``url``, signed
        with ``secret`` when given. A URL on a non-public address is refused unless
        ``allow_private`` (default: ``$MM_WEBHOOK_ALLOW_PRIVATE``).

        With ``airflow_dag``, ``url`` is an Airflow 3 API server's base URL and each event
        triggers a run of that DAG with the event in its ``conf``, authenticated with
        ``airflow_auth`` (see :mod:`jupyter_mm.core.webhooks.targets`)."""
        actor, name = rules.actor(actor), _name(name)
        url = addresses.check_url(url)
        event_list = wev.event_names(events)
        model, secret, status = _model(model), _secret(secret), _status(status)
        target = _target(airflow_dag, airflow_auth, secret)
        description = rules.description(description)
        addresses.refuse_private(url, allow_private)
        webhook_id = uuid.uuid4().hex

        def write(conn: Connection) -> None:
            t = audit.now_ms()
            head = conn.execute(select(func.max(s.registry_audit.c.seq))).scalar() or 0
            conn.execute(
                insert(s.webhooks).values(
                    webhook_id=webhook_id,
                    name=name,
                    url=url,
                    events=json.dumps(event_list),
                    model_name=model,
                    description=description,
                    status=status,
                    secret=secret,
                    target=targets.dumps(target),
                    created_by=actor,
                    creation_time=t,
                    last_update_time=t,
                    created_seq=int(head),
                )
            )
            hook = _webhook(
                conn.execute(select(s.webhooks).where(_w.webhook_id == webhook_id)).one()
            )
            _audit(conn, actor, "webhook.created", before=None, after=hook)

        self._registry_write(write)
        return self.get_webhook(webhook_id)

    def get_webhook(self, webhook_id: str) -> Webhook:
        with read_conn(self.engine) as conn:
            return _webhook(_row(conn, webhook_id))

    def list_webhooks(self, model: str | None = None) -> list[Webhook]:
        """Every webhook, oldest first; with ``model``, those that fire for it (its own and the
        store-wide ones)."""
        stmt = select(s.webhooks).order_by(_w.creation_time, _w.webhook_id)
        if model is not None:
            stmt = stmt.where(or_(_w.model_name.is_(None), _w.model_name == model))
        with read_conn(self.engine) as conn:
            return [_webhook(r) for r in conn.execute(stmt)]

    def update_webhook(
        self,
        webhook_id: str,
        change: WebhookChange,
        *,
        actor: str,
        allow_private: bool | None = None,
    ) -> Webhook:
        """Make ``change``; audited when anything changed. A new ``url`` on a non-public
        address is refused unless ``allow_private``; a plain HTTP webhook does not become an
        Airflow one."""
        actor = rules.actor(actor)
        values: dict[str, Any] = {}
        if change.name is not None:
            values["name"] = _name(change.name)
        if change.url is not None:
            values["url"] = addresses.check_url(change.url)
            addresses.refuse_private(values["url"], allow_private)
        if change.events is not None:
            values["events"] = json.dumps(wev.event_names(change.events))
        if change.description is not None:
            values["description"] = rules.description(change.description)
        if change.secret is not None:
            values["secret"] = _secret(change.secret)
        if change.status is not None:
            values["status"] = _status(change.status)

        airflow_dag, airflow_auth = change.airflow_dag, change.airflow_auth
        if airflow_dag is not None:
            airflow_dag = targets.dag_id(airflow_dag)
        if airflow_auth is not UNCHANGED:
            airflow_auth = targets.airflow_auth(airflow_auth)

        def write(conn: Connection) -> None:
            row = _row(conn, webhook_id)
            target = targets.loads(row.target)
            if target is None and (airflow_dag is not None or airflow_auth is not UNCHANGED):
                raise InvalidInput(
                    f"webhook {webhook_id} posts to an HTTP receiver: airflow_dag and "
                    "airflow_auth are for an Airflow webhook (create one)"
                )
            if target is not None:
                if values.get("secret"):
                    _target(target["dag_id"], None, values["secret"])  # refused
                new = dict(target)
                if airflow_dag is not None:
                    new["dag_id"] = airflow_dag
                if airflow_auth is not UNCHANGED:
                    new["auth"] = airflow_auth
                values["target"] = targets.dumps(new)
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if not changed:
                return
            conn.execute(
                update(s.webhooks)
                .where(_w.webhook_id == webhook_id)
                .values(**changed, last_update_time=audit.now_ms())
            )
            _audit(
                conn,
                actor,
                "webhook.updated",
                before=_webhook(row),
                after=_webhook(_row(conn, webhook_id)),
            )

        self._registry_write(write)
        return self.get_webhook(webhook_id)

    def delete_webhook(self, webhook_id: str, *, actor: str) -> None:
        """Delete a webhook with its deliveries (audited)."""
        actor = rules.actor(actor)

        def write(conn: Connection) -> None:
            row = _row(conn, webhook_id)
            ids = select(_d.delivery_id).where(_d.webhook_id == webhook_id)
            conn.execute(delete(s.webhook_attempts).where(_at.delivery_id.in_(ids)))
            conn.execute(delete(s.webhook_deliveries).where(_d.webhook_id == webhook_id))
            conn.execute(delete(s.webhooks).where(_w.webhook_id == webhook_id))
            _audit(conn, actor, "webhook.deleted", before=_webhook(row), after=None)

        self._registry_write(write)

    # ------------------------------------------------------------ the delivery log

    def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 100, status: str | None = None
    ) -> list[WebhookDelivery]:
        """A webhook's deliveries, newest first, each with every attempt and its answer."""
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 0 < limit <= MAX_DELIVERY_PAGE
        ):
            raise InvalidInput(f"limit must be an integer from 1 to {MAX_DELIVERY_PAGE}")
        if status is not None and status not in (PENDING, SUCCEEDED, FAILED):
            raise InvalidInput(
                f"a delivery's status is pending, succeeded or failed, got {status!r}"
            )
        with read_conn(self.engine) as conn:
            _row(conn, webhook_id)
            stmt = select(s.webhook_deliveries).where(_d.webhook_id == webhook_id)
            if status is not None:
                stmt = stmt.where(_d.status == status)
            rows = conn.execute(
                stmt.order_by(_d.created_time.desc(), _d.delivery_id).limit(limit)
            ).all()
            attempts: dict[str, list[DeliveryAttempt]] = {r.delivery_id: [] for r in rows}
            if rows:
                for a in conn.execute(
                    select(s.webhook_attempts)
                    .where(_at.delivery_id.in_(list(attempts)))
                    .order_by(_at.delivery_id, _at.attempt)
                ):
                    attempts[a.delivery_id].append(from_row(DeliveryAttempt, a))
        return [
            from_row(
                WebhookDelivery,
                r,
                model=r.model_name,
                attempt_log=tuple(attempts[r.delivery_id]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------ the queue (for the dispatcher)

    def enqueue_webhook_events(self) -> int:
        """Turn the audit entries appended since the last call (by any process) into deliveries
        for the webhooks subscribed to them; returns how many were queued."""
        with read_conn(self.engine) as conn:
            cursor = _cursor(conn)
            head = int(conn.execute(select(func.max(s.registry_audit.c.seq))).scalar() or 0)
            hooks = conn.execute(select(func.count()).select_from(s.webhooks)).scalar_one()
        if cursor is not None and (head <= cursor or not hooks):
            return 0

        def write(conn: Connection) -> int:
            cursor = _cursor(conn)
            hooks = conn.execute(select(s.webhooks).where(_w.status == ACTIVE)).all()
            # no webhook wants entries older than itself: skip them (a first run, or a long
            # stretch without webhooks, is not a backlog)
            oldest = min([int(h.created_seq) for h in hooks], default=head)
            cursor = oldest if cursor is None else max(cursor, oldest)
            a = s.registry_audit.c
            entries = conn.execute(
                select(s.registry_audit)
                .where(a.seq > cursor, a.action.in_(wev.AUDIT_ACTIONS))
                .order_by(a.seq)
                .limit(MAX_ENTRIES_PER_CALL)
            ).all()
            queued = 0
            for entry in entries:
                mapped = wev.from_audit(entry)
                if mapped is None:
                    continue
                event, data = mapped
                body = wev.envelope(event, data, audit_time(entry.time))
                for h in hooks:
                    if (
                        int(h.created_seq) < entry.seq
                        and wev.subscribed(json.loads(h.events), event)
                        and (h.model_name is None or h.model_name == entry.model_name)
                    ):
                        queued += _queue(conn, h.webhook_id, event, f"audit:{entry.seq}",
                                         entry.model_name, body)  # fmt: skip
            last = entries[-1].seq if len(entries) == MAX_ENTRIES_PER_CALL else head
            _set_cursor(conn, max(int(last), cursor))
            return queued

        return int(self._registry_write(write))

    def publish_webhook_event(
        self, event: str, data: dict[str, Any], *, key: str, model: str | None = None
    ) -> int:
        """Queue ``event`` for its subscribers (of ``model`` or store-wide); ``key`` names its
        cause, so publishing it again (another process, a retry) queues nothing more."""
        event = wev.event_name(event)
        if "*" in event:
            raise InvalidInput("publish one event, not a family")
        if not isinstance(key, str) or not key or len(key) > 150:
            raise InvalidInput("an event key must be a non-empty string of at most 150 characters")
        body = wev.envelope(event, data)

        def write(conn: Connection) -> int:
            queued = 0
            for h in conn.execute(select(s.webhooks).where(_w.status == ACTIVE)):
                if wev.subscribed(json.loads(h.events), event) and (
                    h.model_name is None or h.model_name == model
                ):
                    queued += _queue(conn, h.webhook_id, event, f"event:{key}", model, body)
            return queued

        return int(self._write_plain(write))

    def queue_test_delivery(self, webhook_id: str, event: str | None = None) -> DueDelivery:
        """A sample delivery of ``event`` (default: the webhook's first), claimed for the caller
        to send at once (``test_webhook``); it is kept in the log like any other."""

        def write(conn: Connection) -> str:
            row = _row(conn, webhook_id)
            name = wev.event_name(event) if event is not None else json.loads(row.events)[0]
            if "*" in name:
                name = name.replace("*", "test")
            body = wev.envelope(name, wev.example(name))
            delivery_id = str(uuid.uuid4())
            t = audit.now_ms()
            conn.execute(
                insert(s.webhook_deliveries).values(
                    delivery_id=delivery_id,
                    webhook_id=webhook_id,
                    event=name,
                    event_key=f"test:{delivery_id}",
                    model_name=row.model_name,
                    payload=body,
                    status=PENDING,
                    attempts=0,
                    created_time=t,
                    next_attempt_time=None,
                    claimed_until=t + 60_000,
                )
            )
            return delivery_id

        delivery_id = self._write_plain(write)
        with read_conn(self.engine) as conn:
            return _due(conn, [delivery_id])[0]

    def claim_webhook_deliveries(
        self, *, limit: int = 20, lease_ms: int = 120_000
    ) -> list[DueDelivery]:
        """Due deliveries this caller now holds for ``lease_ms`` (no other process sends them
        meanwhile; a sender that dies lets the lease run out and another takes over)."""
        now = audit.now_ms()
        due = and_(
            _d.status == PENDING,
            _d.next_attempt_time <= now,
            or_(_d.claimed_until.is_(None), _d.claimed_until < now),
        )
        with read_conn(self.engine) as conn:
            ids = list(
                conn.execute(
                    select(_d.delivery_id).where(due).order_by(_d.next_attempt_time).limit(limit)
                ).scalars()
            )
        if not ids:
            return []

        def write(conn: Connection) -> list[str]:
            mine = []
            for delivery_id in ids:
                taken = conn.execute(
                    update(s.webhook_deliveries)
                    .where(_d.delivery_id == delivery_id, due)
                    .values(claimed_until=now + lease_ms)
                )
                if taken.rowcount:
                    mine.append(delivery_id)
            return mine

        mine = self._write_plain(write)
        if not mine:
            return []
        with read_conn(self.engine) as conn:
            return _due(conn, mine)

    def next_webhook_attempt_time(self) -> int | None:
        """When the earliest pending delivery is due (ms), for the dispatcher's wait."""
        with read_conn(self.engine) as conn:
            t = conn.execute(
                select(func.min(_d.next_attempt_time)).where(_d.status == PENDING)
            ).scalar()
        return None if t is None else int(t)

    def record_webhook_attempt(
        self,
        delivery_id: str,
        *,
        time: int,
        duration_ms: int,
        response_status: int | None,
        response_body: str,
        error: str | None,
        outcome: str,
        next_attempt_time: int | None = None,
    ) -> None:
        """Keep one attempt and its answer; ``outcome`` is the delivery's status after it
        (``pending`` with ``next_attempt_time`` for a retry)."""

        def write(conn: Connection) -> None:
            row = conn.execute(select(_d.attempts).where(_d.delivery_id == delivery_id)).first()
            if row is None:  # its webhook was deleted meanwhile
                return
            attempt = int(row.attempts) + 1
            conn.execute(
                insert(s.webhook_attempts).values(
                    delivery_id=delivery_id,
                    attempt=attempt,
                    time=time,
                    duration_ms=max(0, int(duration_ms)),
                    response_status=response_status,
                    response_body=response_body[:MAX_KEPT_BODY],
                    error=None if error is None else error[:MAX_KEPT_BODY],
                )
            )
            conn.execute(
                update(s.webhook_deliveries)
                .where(_d.delivery_id == delivery_id)
                .values(
                    attempts=attempt,
                    status=outcome,
                    next_attempt_time=next_attempt_time if outcome == PENDING else None,
                    claimed_until=None,
                    finished_time=None if outcome == PENDING else audit.now_ms(),
                )
            )

        self._write_plain(write)

    def _write_plain(self, fn: Callable[[Connection], Any]) -> Any:
        from ..database import run_write

        return run_write(self.engine, fn)


def audit_time(ms: int) -> Any:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc)


def _row(conn: Connection, webhook_id: str) -> Any:
    if not isinstance(webhook_id, str) or not webhook_id:
        raise InvalidInput(f"a webhook id must be a non-empty string, got {webhook_id!r}")
    row = conn.execute(select(s.webhooks).where(_w.webhook_id == webhook_id)).first()
    if row is None:
        raise NotFound(f"Webhook with ID {webhook_id} not found")
    return row


def _cursor(conn: Connection) -> int | None:
    value = conn.execute(
        select(s.registry_settings.c.value).where(s.registry_settings.c.key == CURSOR_KEY)
    ).scalar()
    return None if value is None else int(value)


def _set_cursor(conn: Connection, seq: int) -> None:
    st = s.registry_settings
    done = conn.execute(update(st).where(st.c.key == CURSOR_KEY).values(value=str(seq)))
    if not done.rowcount:
        conn.execute(insert(st).values(key=CURSOR_KEY, value=str(seq)))


def _queue(
    conn: Connection, webhook_id: str, event: str, key: str, model: str | None, body: str
) -> int:
    exists = conn.execute(
        select(_d.delivery_id).where(_d.webhook_id == webhook_id, _d.event_key == key)
    ).first()
    if exists is not None:
        return 0
    t = audit.now_ms()
    conn.execute(
        insert(s.webhook_deliveries).values(
            delivery_id=str(uuid.uuid4()),
            webhook_id=webhook_id,
            event=event,
            event_key=key,
            model_name=model,
            payload=body,
            status=PENDING,
            attempts=0,
            created_time=t,
            next_attempt_time=t,
        )
    )
    return 1


def _due(conn: Connection, ids: list[str]) -> list[DueDelivery]:
    rows = conn.execute(
        select(
            _d.delivery_id,
            _d.webhook_id,
            _d.payload,
            _d.attempts,
            _w.url,
            _w.secret,
            _w.status,
            _w.target,
        )  # fmt: skip
        .join_from(s.webhook_deliveries, s.webhooks, _w.webhook_id == _d.webhook_id)
        .where(_d.delivery_id.in_(ids))
    ).all()
    return [
        from_row(
            DueDelivery,
            r,
            webhook_status=r.status,
            attempts=int(r.attempts),
            target=targets.loads(r.target),
        )
        for r in rows
    ]
