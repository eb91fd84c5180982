"""Webhook events: their names, which audit entries they come from, and the body sent.

MLflow's six model-registry events keep MLflow's names and ``data`` exactly
(``mlflow/webhooks/types.py``, 3.17): a receiver written for MLflow reads ours. Ours follow the
same ``entity.action`` form: ``approval.requested`` / ``approval.decided`` (from the audit
trail) and ``monitor.drift_detected`` / ``monitor.performance_degraded`` (from the monitors).
``rerun.finished`` (a background job ended: the server publishes its job event) and the
``retraining.*`` family (``started``, ``requested``, ``gate_failed``, ``pending_approval``,
``failed``: ``jupyter_mm/loop/retraining.py``) are published events
(:meth:`WebhooksMixin.publish_webhook_event`).

The body is MLflow's envelope ``{"entity", "action", "timestamp", "data"}``, serialised with
``json.dumps`` defaults as MLflow does; the bytes are stored with the delivery and signed as
they are, so every attempt sends the same body.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable
from typing import Any

from ...errors import InvalidInput

#: MLflow's model-registry events (the only ones its client and REST routes can name).
MLFLOW_EVENTS = (
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)
#: jupyter-mm's own events.
OWN_EVENTS = (
    "approval.requested",
    "approval.decided",
    "monitor.drift_detected",
    "monitor.performance_degraded",
    "rerun.finished",
)
#: Families of events; subscribe with ``family.*`` (or one member by name).
FAMILIES = ("retraining",)
EVENTS = MLFLOW_EVENTS + OWN_EVENTS

#: Audit action → event (approval.approved and .rejected are both a decision).
_FROM_AUDIT = {
    "model.created": "registered_model.created",
    "version.created": "model_version.created",
    "version.tag_set": "model_version_tag.set",
    "version.tag_deleted": "model_version_tag.deleted",
    "alias.set": "model_version_alias.created",
    "alias.moved": "model_version_alias.created",  # MLflow: every set_registered_model_alias
    "alias.deleted": "model_version_alias.deleted",
    "approval.requested": "approval.requested",
    "approval.approved": "approval.decided",
    "approval.rejected": "approval.decided",
}
AUDIT_ACTIONS = tuple(_FROM_AUDIT)


def event_name(value: Any) -> str:
    """One event a webhook may subscribe to (``retraining.*`` and ``retraining.<x>`` too)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f"an event must be a name such as 'model_version.created', got {value!r}"
        )
    name = value.strip()
    family, _, action = name.partition(".")
    if name in EVENTS or (family in FAMILIES and action and action.replace("_", "").isalnum()):
        return name
    if family in FAMILIES and action == "*":
        return name
    known = ", ".join((*EVENTS, *(f"{f}.*" for f in FAMILIES)))
    raise InvalidInput(f"unknown webhook event {name!r}; the events are: {known}")


def event_names(values: Any) -> list[str]:
    """A webhook's events: at least one, each known, without repeats, in the given order."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidInput(f"'events' must be a list of event names, got {values!r}")
    out: list[str] = []
    for v in values:
        name = event_name(v)
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidInput("a webhook needs at least one event")
    return out


def subscribed(events: Iterable[str], event: str) -> bool:
    family = event.partition(".")[0]
    return any(e == event or (e == f"{family}.*" and family in FAMILIES) for e in events)


def from_audit(entry: Any) -> tuple[str, dict[str, Any]] | None:
    """(event, MLflow-shaped data) of an audit entry, or ``None`` if it is no webhook event."""
    event = _FROM_AUDIT.get(entry.action)
    if event is None or entry.model_name is None:
        return None
    after = json.loads(entry.to_value) if entry.to_value else None
    before = json.loads(entry.from_value) if entry.from_value else None
    name = entry.model_name
    version = None if entry.version is None else str(entry.version)
    after = after if isinstance(after, dict) else {}
    before = before if isinstance(before, dict) else {}
    if event == "registered_model.created":
        data: dict[str, Any] = {
            "name": name,
            "tags": dict(after.get("tags") or {}),
            "description": after.get("description") or None,
        }
    elif event == "model_version.created":
        data = {
            "name": name,
            "version": version,
            "source": after.get("source"),
            "run_id": after.get("run_id"),
            "tags": dict(after.get("tags") or {}),
            "description": after.get("description") or None,
        }
    elif event == "model_version_tag.set":
        key, value = next(iter(after.items()))
        data = {"name": name, "version": version, "key": key, "value": value}
    elif event == "model_version_tag.deleted":
        data = {"name": name, "version": version, "key": next(iter(before))}
    elif event == "model_version_alias.created":
        data = {"name": name, "alias": entry.alias, "version": version}
    elif event == "model_version_alias.deleted":
        data = {"name": name, "alias": entry.alias}
    elif event == "approval.requested":
        data = {
            "name": name,
            "version": version,
            "status": after.get("status"),
            "requested_by": entry.actor,
            "comment": entry.comment,
            "evidence": list(after.get("evidence") or []),
        }
    else:  # approval.decided
        data = {
            "name": name,
            "version": version,
            "status": after.get("status"),
            "previous_status": before.get("status"),
            "decided_by": entry.actor,
            "comment": entry.comment,
        }
    return event, data


def envelope(event: str, data: Any, at: _dt.datetime | None = None) -> str:
    """The JSON body of a delivery: MLflow's envelope around ``data``."""
    entity, _, action = event.partition(".")
    at = at or _dt.datetime.now(_dt.timezone.utc)
    return json.dumps(
        {"entity": entity, "action": action, "timestamp": at.isoformat(), "data": data}
    )


def example(event: str) -> dict[str, Any]:
    """A sample ``data`` for ``test_webhook`` (MLflow's examples for MLflow's events)."""
    samples: dict[str, dict[str, Any]] = {
        "registered_model.created": {
            "name": "example_model",
            "tags": {"example_key": "example_value"},
            "description": "An example registered model",
        },
        "model_version.created": {
            "name": "example_model",
            "version": "1",
            "source": "models:/123",
            "run_id": "abcd1234abcd5678",
            "tags": {"example_key": "example_value"},
            "description": "An example model version",
        },
        "model_version_tag.set": {
            "name": "example_model",
            "version": "1",
            "key": "example_key",
            "value": "example_value",
        },
        "model_version_tag.deleted": {
            "name": "example_model",
            "version": "1",
            "key": "example_key",
        },
        "model_version_alias.created": {
            "name": "example_model",
            "alias": "example_alias",
            "version": "1",
        },
        "model_version_alias.deleted": {"name": "example_model", "alias": "example_alias"},
        "approval.requested": {
            "name": "example_model",
            "version": "1",
            "status": "PendingManualApproval",
            "requested_by": "alice",
            "comment": "ready for validation",
            "evidence": [],
        },
        "approval.decided": {
            "name": "example_model",
            "version": "1",
            "status": "Approved",
            "previous_status": "PendingManualApproval",
            "decided_by": "bob",
            "comment": "validated",
        },
        "monitor.drift_detected": {
            "model": "example_model",
            "monitor": "champion",
            "alias": "champion",
            "version": 1,
            "status": "drift",
            "previous": "ok",
            "share": 0.5,
            "features": ["income"],
        },
    }
    return samples.get(event, {"example": True, "event": event})
