"""Webhook records the store returns. The secret is never among them: ``has_secret`` says
whether deliveries are signed; ``target`` is an orchestrator target without its credentials
(:func:`jupyter_mm.core.webhooks.targets.public`), ``None`` for a plain HTTP receiver."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ACTIVE, DISABLED = "ACTIVE", "DISABLED"
STATUSES = (ACTIVE, DISABLED)
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"

#: :attr:`WebhookChange.airflow_auth`'s default: the credentials stay as they are (``None``
#: removes them).
UNCHANGED: Any = object()


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    name: str
    url: str
    events: tuple[str, ...]
    model: str | None  # None: every model
    description: str
    status: str
    has_secret: bool
    created_by: str
    creation_time: int
    last_update_time: int
    target: dict[str, Any] | None = None  # {"kind": "airflow", "dag_id", "auth"}: see targets

    def to_json(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "model": self.model,
            "description": self.description,
            "status": self.status,
            "has_secret": self.has_secret,
            "created_by": self.created_by,
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "target": None if self.target is None else dict(self.target),
        }


@dataclass(frozen=True, kw_only=True)
class WebhookChange:
    """What ``update_webhook`` changes in a :class:`Webhook`: the fields given replace the
    webhook's, those left ``None`` keep theirs (``secret=""`` stops signing). An Airflow
    webhook's ``airflow_dag`` and ``airflow_auth`` can change too; ``airflow_auth`` left
    :data:`UNCHANGED` keeps the credentials, ``None`` removes them.

    One value from the REST handlers down to the store, local or remote, which check it
    before writing or sending it.
    """

    name: str | None = None
    url: str | None = None
    events: Sequence[str] | None = None
    description: str | None = None
    secret: str | None = None
    status: str | None = None
    airflow_dag: str | None = None
    airflow_auth: Any = UNCHANGED


@dataclass(frozen=True)
class DeliveryAttempt:
    attempt: int
    time: int
    duration_ms: int
    response_status: int | None
    response_body: str
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class WebhookDelivery:
    delivery_id: str
    webhook_id: str
    event: str
    event_key: str
    model: str | None
    payload: str
    status: str  # pending | succeeded | failed
    attempts: int
    created_time: int
    next_attempt_time: int | None
    finished_time: int | None
    attempt_log: tuple[DeliveryAttempt, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "attempt_log"}
        out["attempt_log"] = [a.to_json() for a in self.attempt_log]
        return out


@dataclass(frozen=True)
class TestResult:
    """MLflow's ``WebhookTestResult``."""

    success: bool
    response_status: int | None = None
    response_body: str | None = None
    error_message: str | None = None
    delivery_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
