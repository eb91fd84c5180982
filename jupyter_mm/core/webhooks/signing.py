"""MLflow's webhook signature (``mlflow/webhooks/delivery.py``), so a receiver written for MLflow
verifies our deliveries: ``X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret,
"{delivery_id}.{timestamp}.{body}")>`` beside ``X-MLflow-Delivery-Id`` (one per delivery, the
same on every attempt: a receiver's idempotency key) and ``X-MLflow-Timestamp`` (unix seconds of
the attempt, signed with it, so a retry an hour later is still fresh for a replay window)."""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"


def signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    signed = f"{delivery_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def headers(secret: str | None, delivery_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The headers of one attempt (MLflow's, in MLflow's spelling)."""
    out = {
        "Content-Type": "application/json",
        DELIVERY_ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        out[SIGNATURE_HEADER] = signature(secret, delivery_id, str(timestamp), body)
    return out


def verify(secret: str, delivery_id: str, timestamp: str, body: str, header: str) -> bool:
    """A receiver's check, in constant time."""
    return hmac.compare_digest(signature(secret, delivery_id, timestamp, body), header)
