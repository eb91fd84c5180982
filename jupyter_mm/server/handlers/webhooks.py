"""``jupyter-mm/api/webhooks/...``: webhooks over REST (the MLflow client's calls are the MLflow
routes', ``server/mlflow/webhooks.py``; both over ``core/webhooks``).

``GET webhooks[?model=]`` lists them, ``POST webhooks {name, url, events, model, secret,
description, status}`` creates one (201); ``GET|PATCH|DELETE webhooks/{id}``;
``GET webhooks/{id}/deliveries[?limit=&status=]`` is the delivery log, newest first, with every
attempt; ``POST webhooks/{id}/test {event}`` sends a sample now. The secret is write-only.
Changes are audited as the authenticated identity, like registry changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core.webhooks import WebhookChange
from ...errors import InvalidInput
from .base import WEBHOOKS_ALLOW_PRIVATE_SETTING, MMHandler
from .common import int_arg, json_object, optional_arg, string_field

if TYPE_CHECKING:
    from ...core.store import Store

FIELDS = ("name", "url", "events", "model", "secret", "description", "status")


def _events(body: dict[str, Any], required: bool) -> list[str] | None:
    value = body.get("events")
    if value is None:
        if required:
            raise InvalidInput("'events' is required: a list of event names")
        return None
    if not isinstance(value, list):
        raise InvalidInput(f"'events' must be a list of event names, got {type(value).__name__}")
    return value


class WebhookHandlerBase(MMHandler):
    auth_resource = "jupyter_mm:webhooks"

    @property
    def allow_private(self) -> bool:
        return bool(self.settings.get(WEBHOOKS_ALLOW_PRIVATE_SETTING, False))


class WebhooksHandler(WebhookHandlerBase):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        model = optional_arg(self, "model")
        hooks = await self.call_store(lambda store: store.list_webhooks(model))
        self.send_json({"webhooks": [h.to_json() for h in hooks]})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self, FIELDS)
        actor, allow_private = self.actor, self.allow_private

        def create(store: Store) -> dict[str, Any]:
            return store.create_webhook(
                string_field(body, "name", required=True) or "",
                string_field(body, "url", required=True) or "",
                _events(body, required=True) or [],
                actor=actor,
                model=string_field(body, "model"),
                secret=string_field(body, "secret"),
                description=string_field(body, "description"),
                status=string_field(body, "status") or "ACTIVE",
                allow_private=allow_private,
            ).to_json()

        self.send_json(await self.call_store(create), status=201)


class WebhookHandler(WebhookHandlerBase):
    @tornado.web.authenticated
    @authorized
    async def get(self, webhook_id: str) -> None:
        hook = await self.call_store(lambda store: store.get_webhook(webhook_id))
        self.send_json(hook.to_json())

    @tornado.web.authenticated
    @authorized
    async def patch(self, webhook_id: str) -> None:
        body = json_object(self, tuple(f for f in FIELDS if f != "model"))
        actor, allow_private = self.actor, self.allow_private

        def update(store: Store) -> dict[str, Any]:
            change = WebhookChange(
                name=string_field(body, "name"),
                url=string_field(body, "url"),
                events=_events(body, required=False),
                description=string_field(body, "description"),
                secret=string_field(body, "secret"),
                status=string_field(body, "status"),
            )
            return store.update_webhook(
                webhook_id, change, actor=actor, allow_private=allow_private
            ).to_json()

        self.send_json(await self.call_store(update))

    @tornado.web.authenticated
    @authorized
    async def delete(self, webhook_id: str) -> None:
        actor = self.actor
        await self.call_store(lambda store: store.delete_webhook(webhook_id, actor=actor))
        self.send_json({})


class WebhookDeliveriesHandler(WebhookHandlerBase):
    @tornado.web.authenticated
    @authorized
    async def get(self, webhook_id: str) -> None:
        limit = int_arg(self, "limit", 1, 1000) or 100
        status = optional_arg(self, "status")
        found = await self.call_store(
            lambda store: store.webhook_deliveries(webhook_id, limit=limit, status=status)
        )
        self.send_json({"deliveries": [d.to_json() for d in found]})


class WebhookTestHandler(WebhookHandlerBase):
    @tornado.web.authenticated
    @authorized
    async def post(self, webhook_id: str) -> None:
        from ...loop import webhooks as loop

        body = json_object(self, ("event",), required=False)
        event, allow_private = string_field(body, "event"), self.allow_private
        result = await self.call_store(
            lambda store: loop.test_webhook(store, webhook_id, event, allow_private=allow_private)
        )
        self.send_json(result.to_json())
