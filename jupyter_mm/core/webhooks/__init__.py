"""Webhooks: subscriptions to registry and monitor events, signed as MLflow signs them, with a
kept log of every delivery (the store's part; sending is :mod:`jupyter_mm.loop.webhooks`)."""

from .entities import (
    ACTIVE,
    DISABLED,
    FAILED,
    PENDING,
    SUCCEEDED,
    UNCHANGED,
    DeliveryAttempt,
    TestResult,
    Webhook,
    WebhookChange,
    WebhookDelivery,
)
from .store import DueDelivery, WebhooksMixin

__all__ = [
    "ACTIVE",
    "DISABLED",
    "FAILED",
    "PENDING",
    "SUCCEEDED",
    "UNCHANGED",
    "DeliveryAttempt",
    "DueDelivery",
    "TestResult",
    "Webhook",
    "WebhookChange",
    "WebhookDelivery",
    "WebhooksMixin",
]
