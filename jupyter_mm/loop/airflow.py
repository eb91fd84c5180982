"""Delivering a webhook to Apache Airflow 3: one delivery, one DAG run.

``POST {base}/api/v2/dags/{dag_id}/dagRuns`` with ``{"dag_run_id": "mm-<delivery id>",
"logical_date": null, "conf": {"event": <the envelope an HTTP webhook gets>, "delivery_id",
"webhook_id"}}``. The run id comes from the delivery, so sending a delivery again (a retry after
a lost answer, a sender that died before recording it) cannot start a second run: Airflow
answers 409 for a run id it has, and that counts as delivered.

Airflow 3's API takes a JWT bearer token; API clients get one from ``POST {base}/auth/token``
with a username and password (the simple auth manager and the FAB auth manager both serve it).
:class:`AirflowTokens` keeps each token until shortly before its ``exp`` and asks again when the
API answers 401 (expired) or 403 to a kept token (say, the API server restarted with a new
signing key). A static token is sent as it is. The token request goes through the same
connection pool as every delivery, so the private-address check covers it too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

#: A token is asked again this long before its ``exp``.
EXPIRY_MARGIN = 60.0
#: When a token says nothing of its expiry: Airflow's default ``[api_auth] jwt_expiration_time``.
DEFAULT_LIFETIME = 86400.0


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    error: str | None = None  # why it failed, beyond the status
    retry_after: float | None = None


#: POST ``url`` with a JSON body and headers; returns the answer (raises when there is none).
Post = Callable[[str, bytes, dict[str, str]], Response]


class AirflowAuthError(Exception):
    """``/auth/token`` refused the credentials (or answered without a token)."""

    def __init__(self, status: int, body: str, message: str) -> None:
        super().__init__(message)
        self.status, self.body = status, body


def _base(url: str) -> str:
    return url.rstrip("/")


def _key(base: str, auth: dict[str, str]) -> str:
    secret = json.dumps([base, auth["username"], auth["password"]])
    return hashlib.sha256(secret.encode()).hexdigest()


def _expiry(token: str) -> float:
    """The token's ``exp`` (unverified: only to know when to ask again)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return time.time() + DEFAULT_LIFETIME


class AirflowTokens:
    """JWTs per (API server, user), kept until they expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, post: Post, base: str, auth: dict[str, str]) -> tuple[str, bool]:
        """(token, whether it was kept from before)."""
        key = _key(base, auth)
        with self._lock:
            kept = self._tokens.get(key)
        if kept is not None and kept[1] - EXPIRY_MARGIN > time.time():
            return kept[0], True
        body = json.dumps({"username": auth["username"], "password": auth["password"]})
        r = post(f"{base}/auth/token", body.encode(), {"Content-Type": "application/json"})
        token = None
        if 200 <= r.status < 300:
            try:
                token = json.loads(r.body).get("access_token")
            except (ValueError, AttributeError):
                token = None
        if not isinstance(token, str) or not token:
            what = "refused the credentials" if r.status in (401, 403) else "gave no token"
            raise AirflowAuthError(
                r.status,
                r.body,
                f"Airflow {what}: POST {base}/auth/token answered {r.status}",
            )
        with self._lock:
            self._tokens[key] = (token, _expiry(token))
        return token, False

    def forget(self, base: str, auth: dict[str, str]) -> None:
        with self._lock:
            self._tokens.pop(_key(base, auth), None)


def dag_run_id(delivery_id: str) -> str:
    return f"mm-{delivery_id}"


def request_body(delivery_id: str, webhook_id: str, payload: str) -> bytes:
    """The trigger request: the event (the envelope an HTTP webhook is sent) in ``conf``."""
    return json.dumps(
        {
            "dag_run_id": dag_run_id(delivery_id),
            "logical_date": None,
            "conf": {
                "event": json.loads(payload),
                "delivery_id": delivery_id,
                "webhook_id": webhook_id,
            },
        }
    ).encode()


def trigger(
    post: Post,
    tokens: AirflowTokens,
    *,
    url: str,
    target: dict[str, Any],
    delivery_id: str,
    webhook_id: str,
    payload: str,
) -> Response:
    """Trigger the target's DAG for one delivery; the API's answer (an auth refusal is
    returned as ``/auth/token``'s answer). Raises when no answer came at all."""
    base = _base(url)
    endpoint = f"{base}/api/v2/dags/{quote(target['dag_id'], safe='')}/dagRuns"
    body = request_body(delivery_id, webhook_id, payload)
    auth: dict[str, str] = target.get("auth") or {}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if "token" in auth:
        return post(endpoint, body, {**headers, "Authorization": f"Bearer {auth['token']}"})
    if "username" not in auth:
        return post(endpoint, body, headers)
    try:
        token, kept = tokens.get(post, base, auth)
        r = post(endpoint, body, {**headers, "Authorization": f"Bearer {token}"})
        if kept and r.status in (401, 403):  # expired, or signed with a key no longer in use
            tokens.forget(base, auth)
            token, _ = tokens.get(post, base, auth)
            r = post(endpoint, body, {**headers, "Authorization": f"Bearer {token}"})
    except AirflowAuthError as e:
        return Response(e.status, e.body, str(e))
    return r


def delivered(status: int | None) -> bool:
    """A 2xx, or 409: a run with this delivery's run id exists (it was sent before)."""
    return status is not None and (200 <= status < 300 or status == 409)
