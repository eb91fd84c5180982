"""What a webhook delivers to: a plain HTTP receiver (MLflow's webhooks) or an orchestrator.

An ``airflow`` target is an Apache Airflow 3 API server: the webhook's ``url`` is its base URL,
and each delivery triggers a run of ``dag_id`` through Airflow's REST API with the event in the
run's ``conf`` (sending is :mod:`jupyter_mm.loop.airflow`). Its credentials are secrets, like a
webhook's signing secret: stored with the target (the ``webhooks.target`` column, JSON), never
returned by a read nor written to the audit trail; :func:`public` is what reads show.

``airflow_auth`` is one of

- ``None``: no ``Authorization`` header (an Airflow that lets everyone in);
- ``{"username": ..., "password": ...}`` (or a ``(username, password)`` pair): a JWT is asked
  from ``POST {url}/auth/token``, as Airflow 3 expects of API clients (its simple auth manager
  and the FAB auth manager both serve it), kept until it expires and asked again on a 401;
- ``{"token": ...}`` (or a plain string): a bearer token used as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ...errors import InvalidInput

HTTP, AIRFLOW = "http", "airflow"
#: Airflow's own rule for a DAG id (``airflow.utils.helpers.KEY_REGEX``, 250 characters).
DAG_ID = re.compile(r"^[\w.-]{1,250}$", re.ASCII)
MAX_CREDENTIAL_LENGTH = 4096


def _credential(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_CREDENTIAL_LENGTH:
        raise InvalidInput(
            f"the Airflow {what} must be a non-empty string of at most "
            f"{MAX_CREDENTIAL_LENGTH} characters"
        )
    if any(c in value for c in "\r\n\0"):
        raise InvalidInput(f"the Airflow {what} must not contain line breaks or NUL")
    return value


def airflow_auth(value: Any) -> dict[str, str] | None:
    """The stored form of ``airflow_auth`` (see the module doc), else ``InvalidInput``."""
    if value is None:
        return None
    if isinstance(value, str):
        return {"token": _credential(value, "token")}
    if isinstance(value, tuple | list) and len(value) == 2:
        value = {"username": value[0], "password": value[1]}
    if isinstance(value, Mapping):
        keys = set(value)
        if keys == {"token"}:
            return {"token": _credential(value["token"], "token")}
        if keys == {"username", "password"}:
            return {
                "username": _credential(value["username"], "username"),
                "password": _credential(value["password"], "password"),
            }
    raise InvalidInput(
        "airflow_auth must be {'username': ..., 'password': ...} (a JWT is asked from Airflow's "
        "/auth/token), {'token': ...} (a bearer token as it is) or None"
    )


def dag_id(value: Any) -> str:
    if not isinstance(value, str) or not DAG_ID.match(value):
        raise InvalidInput(
            f"an Airflow DAG id is 1 to 250 letters, digits, '_', '.' or '-', got {value!r}"
        )
    return value


def airflow(dag: Any, auth: Any) -> dict[str, Any]:
    """The stored target of an Airflow webhook."""
    return {"kind": AIRFLOW, "dag_id": dag_id(dag), "auth": airflow_auth(auth)}


def dumps(target: dict[str, Any] | None) -> str | None:
    return None if target is None else json.dumps(target, sort_keys=True)


def loads(value: str | None) -> dict[str, Any] | None:
    return None if not value else dict(json.loads(value))


def public(target: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a read shows of a target: its kind, DAG id and how it authenticates, no secret."""
    if target is None:
        return None
    auth = target.get("auth") or {}
    method = "password" if "password" in auth else "token" if "token" in auth else None
    return {"kind": target["kind"], "dag_id": target["dag_id"], "auth": method}
