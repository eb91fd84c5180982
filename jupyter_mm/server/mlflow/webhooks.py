"""MLflow's webhook RPCs (``webhooks``, ``webhooks/{id}``, ``webhooks/{id}/test``; MLflow 3.3+,
``mlflow/protos/webhooks.proto``) over ``core/webhooks``, for ``MlflowClient().create_webhook``,
``list_webhooks``, ``get_webhook``, ``update_webhook``, ``delete_webhook`` and ``test_webhook``.

Events travel as MLflow's enums (``{"entity": "MODEL_VERSION", "action": "CREATED"}``). The
MLflow wire can name only MLflow's six registry events, so a webhook's own events
(``approval.*``, ``monitor.*``...) are left out of its MLflow view, and a webhook with none of
MLflow's events is not listed there (the REST API shows everything). The secret is never sent
back. Per-model webhooks are made through the REST API or ``mm.create_webhook``; here every
webhook is store-wide, as in MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.webhooks import WebhookChange
from ...core.webhooks.events import MLFLOW_EVENTS
from ...errors import InvalidInput, NotFound
from .wire import Request, invalid, missing, paged

if TYPE_CHECKING:
    from ...core.store import Store
    from ...core.webhooks import Webhook

DEFAULT_RESULTS = 100
MAX_RESULTS = 1000


def _event_json(name: str) -> dict[str, str]:
    entity, _, action = name.partition(".")
    return {"entity": entity.upper(), "action": action.upper()}


def webhook_json(h: Webhook) -> dict[str, Any]:
    out: dict[str, Any] = {
        "webhook_id": h.webhook_id,
        "name": h.name,
        "url": h.url,
        "events": [_event_json(e) for e in h.events if e in MLFLOW_EVENTS],
        "status": h.status,
        "creation_timestamp": h.creation_time,
        "last_updated_timestamp": h.last_update_time,
    }
    if h.description:
        out["description"] = h.description
    return out


def _event(value: Any) -> str:
    if not isinstance(value, dict):
        raise invalid("events", value)
    entity, action = value.get("entity"), value.get("action")
    if not isinstance(entity, str) or not isinstance(action, str):
        raise InvalidInput(f"a webhook event needs an entity and an action, got {value!r}")
    return f"{entity.lower()}.{action.lower()}"


def _events(req: Request, required: bool) -> list[str] | None:
    items = req.items("events")
    if not items:
        if required:
            raise missing("events")
        return None
    return [_event(v) for v in items]


def create(store: Store, req: Request, actor: str, allow_private: bool) -> dict[str, Any]:
    hook = store.create_webhook(
        req.text("name", required=True) or "",
        req.text("url", required=True) or "",
        _events(req, required=True) or [],
        actor=actor,
        description=req.text("description"),
        secret=req.text("secret"),
        status=req.text("status") or "ACTIVE",
        allow_private=allow_private,
    )
    return {"webhook": webhook_json(hook)}


def list_(store: Store, req: Request) -> dict[str, Any]:
    max_results = req.integer("max_results", default=DEFAULT_RESULTS)
    if max_results is None or not 0 < max_results <= MAX_RESULTS:
        raise invalid("max_results", max_results)
    token = req.text("page_token") or "0"
    if not token.isdigit():
        raise invalid("page_token", token)
    start = int(token)
    hooks = [h for h in store.list_webhooks() if any(e in MLFLOW_EVENTS for e in h.events)]
    page = hooks[start : start + max_results]
    more = start + max_results < len(hooks)
    return paged(
        "webhooks", [webhook_json(h) for h in page], str(start + max_results) if more else None
    )


def update(
    store: Store, req: Request, webhook_id: str, actor: str, allow_private: bool
) -> dict[str, Any]:
    events = _events(req, required=False)
    if events is not None:  # keep the webhook's own events; MLflow names only its own
        own = [e for e in store.get_webhook(webhook_id).events if e not in MLFLOW_EVENTS]
        events = events + own
    change = WebhookChange(
        name=req.text("name"),
        url=req.text("url"),
        events=events,
        description=req.text("description") if req.raw("description") is not None else None,
        secret=req.raw("secret") if isinstance(req.raw("secret"), str) else None,
        status=req.text("status"),
    )
    hook = store.update_webhook(webhook_id, change, actor=actor, allow_private=allow_private)
    return {"webhook": webhook_json(hook)}


def test(store: Store, req: Request, webhook_id: str, allow_private: bool) -> dict[str, Any]:
    from ...loop import webhooks as loop

    raw = req.raw("event")
    event = _event(raw) if raw else None
    result = loop.test_webhook(store, webhook_id, event, allow_private=allow_private)
    reply: dict[str, Any] = {"success": result.success}
    if result.response_status is not None:
        reply["response_status"] = result.response_status
    if result.response_body:
        reply["response_body"] = result.response_body
    if result.error_message:
        reply["error_message"] = result.error_message
    return {"result": reply}


def dispatch(
    store: Store, req: Request, method: str, rpc: str, actor: str, allow_private: bool
) -> dict[str, Any]:
    """``rpc`` is the path below ``2.0/mlflow/`` (``webhooks...``)."""
    parts = rpc.split("/")
    if parts == ["webhooks"]:
        if method == "POST":
            return create(store, req, actor, allow_private)
        if method == "GET":
            return list_(store, req)
    elif len(parts) == 2 and parts[1]:
        webhook_id = parts[1]
        if method == "GET":
            return {"webhook": webhook_json(store.get_webhook(webhook_id))}
        if method == "PATCH":
            return update(store, req, webhook_id, actor, allow_private)
        if method == "DELETE":
            store.delete_webhook(webhook_id, actor=actor)
            return {}
    elif len(parts) == 3 and parts[1] and parts[2] == "test" and method == "POST":
        return test(store, req, parts[1], allow_private)
    raise NotFound(f"no MLflow endpoint {method} {rpc!r} on this server")
