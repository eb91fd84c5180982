"""Webhooks from Python: ``mm.create_webhook``, ``mm.webhooks``, ``mm.delete_webhook`` and
``mm.webhook_deliveries`` (over the store's webhooks, :mod:`jupyter_mm.core.webhooks`).

Deliveries are sent by a jupyter-mm server (the Jupyter server extension or the team server)
over the store; a notebook only subscribes. Against a tracking server the server records who
acted and decides whether private addresses are allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .registry import _actor, _remote, _store

if TYPE_CHECKING:
    from ..core.webhooks import Webhook, WebhookDelivery


def create_webhook(
    name: str,
    url: str,
    events: Iterable[str],
    *,
    model: str | None = None,
    secret: str | None = None,
    description: str | None = None,
    status: str = "ACTIVE",
    airflow_dag: str | None = None,
    airflow_auth: Any = None,
) -> Webhook:
    """POST ``events`` (MLflow's ``model_version.created``..., ``approval.requested``,
    ``approval.decided``, ``monitor.drift_detected``...) of ``model``, or of every model, to
    ``url``, signed with ``secret`` as MLflow signs them (``X-MLflow-Signature``).

    With ``airflow_dag``, ``url`` is an Apache Airflow 3 API server (``https://airflow.example/``)
    and each event triggers a run of that DAG with the event in ``dag_run.conf["event"]``;
    ``airflow_auth`` is ``{"username": ..., "password": ...}`` (Airflow's ``/auth/token`` JWTs),
    ``{"token": ...}`` or None. Credentials, like the secret, are never read back."""
    store = _store()
    extra: dict[str, Any] = {}
    if airflow_dag is not None or airflow_auth is not None:
        if _remote(store):
            raise InvalidInput(
                "Airflow webhooks are created over the store itself (MM_TRACKING_URI a "
                "directory or database URL), not yet through a tracking server"
            )
        extra = {"airflow_dag": airflow_dag, "airflow_auth": airflow_auth}
    return store.create_webhook(
        name,
        url,
        list(events) if not isinstance(events, str) else [events],
        actor=_actor(store),
        model=model,
        secret=secret,
        description=description,
        status=status,
        **extra,
    )


def webhooks(model: str | None = None) -> list[Webhook]:
    """Every webhook, or those that fire for ``model`` (its own and the store-wide ones)."""
    return _store(write=False).list_webhooks(model)


def delete_webhook(webhook_id: str) -> None:
    store = _store()
    store.delete_webhook(getattr(webhook_id, "webhook_id", webhook_id), actor=_actor(store))


def webhook_deliveries(
    webhook_id: str, *, limit: int = 100, status: str | None = None
) -> list[WebhookDelivery]:
    """A webhook's deliveries, newest first, each with every attempt (status, the start of
    the answer, duration, error)."""
    return _store(write=False).webhook_deliveries(
        getattr(webhook_id, "webhook_id", webhook_id), limit=limit, status=status
    )
