"""Webhooks through a tracking server (``{base_url}jupyter-mm/api/webhooks``): the webhook half
of ``RemoteStore``. Like registry changes they are never spooled, and the server records who
acts and decides whether private targets are allowed (``actor``/``allow_private`` are ignored)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from ...core.webhooks.entities import (
    UNCHANGED,
    DeliveryAttempt,
    Webhook,
    WebhookChange,
    WebhookDelivery,
)
from ...errors import InvalidInput
from .registry import RegistryRequests, item_path


def webhook_from_json(d: Mapping[str, Any]) -> Webhook:
    return Webhook(
        webhook_id=d["webhook_id"],
        name=d["name"],
        url=d["url"],
        events=tuple(d.get("events") or ()),
        model=d.get("model"),
        description=d.get("description") or "",
        status=d["status"],
        has_secret=bool(d.get("has_secret")),
        created_by=d.get("created_by") or "",
        creation_time=int(d["creation_time"]),
        last_update_time=int(d["last_update_time"]),
        target=d.get("target"),
    )


def delivery_from_json(d: Mapping[str, Any]) -> WebhookDelivery:
    fields: dict[str, Any] = {
        k: d.get(k) for k in WebhookDelivery.__dataclass_fields__ if k != "attempt_log"
    }
    attempts = tuple(DeliveryAttempt(**a) for a in d.get("attempt_log") or ())
    return WebhookDelivery(**fields, attempt_log=attempts)


def _path(webhook_id: str) -> str:
    return item_path("webhooks", webhook_id)


class RemoteWebhooksMixin(RegistryRequests):
    def create_webhook(
        self,
        name: str,
        url: str,
        events: Iterable[str],
        *,
        actor: str = "",
        model: str | None = None,
        secret: str | None = None,
        description: str | None = None,
        status: str = "ACTIVE",
        allow_private: bool | None = None,
    ) -> Webhook:
        body: dict[str, Any] = {"name": name, "url": url, "events": list(events), "status": status}
        for key, value in (("model", model), ("secret", secret), ("description", description)):
            if value is not None:
                body[key] = value
        return webhook_from_json(
            self._registry_write("POST", "webhooks", once=True, json_body=body)
        )

    def get_webhook(self, webhook_id: str) -> Webhook:
        return webhook_from_json(self._registry_read("GET", _path(webhook_id)).json())

    def list_webhooks(self, model: str | None = None) -> list[Webhook]:
        query = "" if model is None else "?" + urlencode({"model": model})
        reply = self._registry_read("GET", "webhooks" + query).json()
        return [webhook_from_json(h) for h in reply["webhooks"]]

    def update_webhook(
        self,
        webhook_id: str,
        change: WebhookChange,
        *,
        actor: str = "",
        allow_private: bool | None = None,
    ) -> Webhook:
        if change.airflow_dag is not None or change.airflow_auth is not UNCHANGED:
            raise InvalidInput(
                "Airflow webhooks are changed over the store itself (MM_TRACKING_URI a "
                "directory or database URL), not yet through a tracking server"
            )
        body = {
            k: v
            for k, v in (
                ("name", change.name),
                ("url", change.url),
                ("events", None if change.events is None else list(change.events)),
                ("description", change.description),
                ("secret", change.secret),
                ("status", change.status),
            )
            if v is not None
        }
        return webhook_from_json(self._registry_write("PATCH", _path(webhook_id), json_body=body))

    def delete_webhook(self, webhook_id: str, *, actor: str = "") -> None:
        self._registry_write("DELETE", _path(webhook_id), once=True)

    def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 100, status: str | None = None
    ) -> list[WebhookDelivery]:
        query: dict[str, Any] = {"limit": limit}
        if status is not None:
            query["status"] = status
        reply = self._registry_read("GET", f"{_path(webhook_id)}/deliveries?{urlencode(query)}")
        return [delivery_from_json(d) for d in reply.json()["deliveries"]]
