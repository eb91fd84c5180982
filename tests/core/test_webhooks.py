"""Webhooks in the store, on real SQLite and PostgreSQL: subscriptions (validated, audited, the
secret never read back), the queue fed from the audit trail with MLflow's payloads, per-model
filtering, no deliveries for history, published events queued once, and the sender's lease."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jupyter_mm.core.store import Store
from jupyter_mm.core.webhooks import WebhookChange
from jupyter_mm.core.webhooks import events as wev
from jupyter_mm.errors import InvalidInput, NotFound

URL = "https://hooks.example.com/mm"  # resolves to a public address; nothing is sent here


@pytest.fixture
def hook_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    # creating a webhook resolves its host; the tests' fixed target must not need the network
    import socket

    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kw: Any) -> Any:
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.delenv("MM_WEBHOOK_ALLOW_PRIVATE", raising=False)
    return store


def _payloads(store: Store, webhook_id: str) -> list[dict[str, Any]]:
    found = store.webhook_deliveries(webhook_id)
    return [
        json.loads(d.payload) for d in sorted(found, key=lambda d: int(d.event_key.split(":")[-1]))
    ]


def test_create_read_update_delete_is_audited_and_hides_the_secret(hook_store: Store) -> None:
    st = hook_store
    hook = st.create_webhook(
        "ci", URL, ["model_version.created", "approval.decided"], actor="alice", secret="topsecret"
    )
    assert hook.has_secret and hook.model is None and hook.status == "ACTIVE"
    assert st.get_webhook(hook.webhook_id) == hook
    assert [h.webhook_id for h in st.list_webhooks()] == [hook.webhook_id]
    changed = st.update_webhook(
        hook.webhook_id, WebhookChange(status="DISABLED", secret=""), actor="bob"
    )
    assert (changed.status, changed.has_secret) == ("DISABLED", False)
    st.delete_webhook(hook.webhook_id, actor="carol")
    with pytest.raises(NotFound):
        st.get_webhook(hook.webhook_id)
    trail = [(e.action, e.actor) for e in st.audit_log()]
    assert trail == [
        ("webhook.created", "alice"),
        ("webhook.updated", "bob"),
        ("webhook.deleted", "carol"),
    ]
    assert "topsecret" not in "".join(st.iter_audit_jsonl())
    assert st.verify_audit().ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": ["model_version.renamed"]}, "unknown webhook event"),
        ({"events": []}, "at least one event"),
        ({"events": "model_version.created"}, "must be a list"),
        ({"url": "ftp://hooks.example.com/x"}, "http(s) URL"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "credentials"),
        ({"url": "http://127.0.0.1:8080/hook"}, "not a public address"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "not a public address"),
        ({"url": "http://[::1]/hook"}, "not a public address"),
        ({"url": "http://10.1.2.3/hook"}, "not a public address"),
        ({"status": "PAUSED"}, "ACTIVE or DISABLED"),
        ({"name": "  "}, "non-empty name"),
        ({"model": "a/b"}, "cannot contain"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    hook_store: Store, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"name": "h", "url": URL, "events": ["model_version.created"]}
    args.update(kwargs)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        hook_store.create_webhook(args.pop("name"), args.pop("url"), args.pop("events"),
                                  actor="a", **args)  # fmt: skip
    assert hook_store.list_webhooks() == [] and hook_store.audit_log() == []


AIRFLOW = {"airflow_dag": "retrain_credit", "airflow_auth": ("mm", "pw-topsecret")}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"airflow_dag": ""}, "DAG id is 1 to 250"),
        ({"airflow_dag": None}, "name its airflow_dag"),  # credentials without a DAG
        ({"airflow_dag": "retrain credit!"}, "DAG id is 1 to 250"),
        ({"airflow_dag": "d" * 251}, "DAG id is 1 to 250"),
        ({"airflow_dag": 7}, "DAG id is 1 to 250"),
        ({"url": "airflow.example.com"}, "http(s) URL"),
        ({"url": "http://127.0.0.1:8080/"}, "not a public address"),
        ({"airflow_auth": {"username": "mm"}}, "airflow_auth must be"),
        ({"airflow_auth": {"username": "mm", "password": ""}}, "password must be a non-empty"),
        ({"airflow_auth": ("mm", "pw\r\nX-Evil: 1")}, "line breaks"),
        ({"airflow_auth": 42}, "airflow_auth must be"),
        ({"secret": "s"}, "signing secret is for HTTP"),
    ],
)
def test_bad_airflow_targets_are_refused_and_nothing_is_written(
    hook_store: Store, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"url": URL, **AIRFLOW, **kwargs}
    with pytest.raises(InvalidInput, match=re.escape(message)) as e:
        hook_store.create_webhook("h", args.pop("url"), ["monitor.drift_detected"], actor="a",
                                  **args)  # fmt: skip
    assert e.value.http_status == 400
    assert hook_store.list_webhooks() == [] and hook_store.audit_log() == []


def test_airflow_credentials_are_never_read_back_nor_audited(hook_store: Store) -> None:
    st = hook_store
    hook = st.create_webhook("af", URL, ["monitor.drift_detected"], actor="alice", **AIRFLOW)
    assert hook.target == {"kind": "airflow", "dag_id": "retrain_credit", "auth": "password"}
    assert not hook.has_secret and "pw-topsecret" not in json.dumps(hook.to_json())
    changed = st.update_webhook(
        hook.webhook_id,
        WebhookChange(airflow_dag="retrain_all", airflow_auth={"token": "tok-9"}),
        actor="bob",
    )
    assert changed.target == {"kind": "airflow", "dag_id": "retrain_all", "auth": "token"}
    no_auth = st.update_webhook(hook.webhook_id, WebhookChange(airflow_auth=None), actor="bob")
    assert no_auth.target == {"kind": "airflow", "dag_id": "retrain_all", "auth": None}
    with pytest.raises(InvalidInput, match="signing secret is for HTTP"):
        st.update_webhook(hook.webhook_id, WebhookChange(secret="s"), actor="bob")
    plain = st.create_webhook("http", URL, ["monitor.drift_detected"], actor="alice")
    assert plain.target is None and plain.to_json()["target"] is None
    with pytest.raises(InvalidInput, match="posts to an HTTP receiver"):
        st.update_webhook(
            plain.webhook_id, WebhookChange(airflow_dag="retrain_credit"), actor="bob"
        )
    trail = "".join(st.iter_audit_jsonl())
    assert "pw-topsecret" not in trail and "tok-9" not in trail and "retrain_all" in trail
    assert [e.action for e in st.audit_log()] == [
        "webhook.created", "webhook.updated", "webhook.updated", "webhook.created"]  # fmt: skip
    due = st.queue_test_delivery(hook.webhook_id)  # what the sender gets: the target in full
    assert due.target == {"kind": "airflow", "dag_id": "retrain_all", "auth": None}


def test_private_targets_need_an_administrators_permission(
    hook_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = hook_store.create_webhook(
        "local", "http://127.0.0.1:9/h", ["model_version.created"], actor="a", allow_private=True
    )
    to_localhost = WebhookChange(url="http://localhost:9/other")
    with pytest.raises(InvalidInput, match="not a public address"):
        hook_store.update_webhook(hook.webhook_id, to_localhost, actor="a")
    monkeypatch.setenv("MM_WEBHOOK_ALLOW_PRIVATE", "1")
    hook_store.update_webhook(hook.webhook_id, to_localhost, actor="a")


def test_registry_changes_queue_mlflows_payloads(hook_store: Store) -> None:
    st = hook_store
    st.create_registered_model("old", actor="a")  # before the webhook: never delivered
    hook = st.create_webhook("all", URL, [*wev.MLFLOW_EVENTS, "approval.requested",
                                          "approval.decided"], actor="a")  # fmt: skip
    st.create_registered_model("credit", actor="a", description="scores", tags={"team": "risk"})
    st.create_model_version(
        "credit", "s3://bucket/m", actor="a", description="v1", tags={"auc": "0.81"}
    )
    st.set_model_version_tag("credit", 1, "validated", "yes", actor="a")
    st.delete_model_version_tag("credit", 1, "validated", actor="a")
    st.set_registered_model_alias("credit", "champion", 1, actor="a")
    st.delete_registered_model_alias("credit", "champion", actor="a")
    st.request_approval("credit", 1, actor="a", comment="please", evidence=["runs:/r/report"])
    st.approve("credit", 1, actor="validator", comment="ok")
    assert st.enqueue_webhook_events() == 8
    assert st.enqueue_webhook_events() == 0  # the cursor moved: nothing twice
    got = [(p["entity"], p["action"], p["data"]) for p in _payloads(st, hook.webhook_id)]
    assert got == [
        ("registered_model", "created",
         {"name": "credit", "tags": {"team": "risk"}, "description": "scores"}),
        ("model_version", "created",
         {"name": "credit", "version": "1", "source": "s3://bucket/m", "run_id": None,
          "tags": {"auc": "0.81"}, "description": "v1"}),
        ("model_version_tag", "set",
         {"name": "credit", "version": "1", "key": "validated", "value": "yes"}),
        ("model_version_tag", "deleted", {"name": "credit", "version": "1", "key": "validated"}),
        ("model_version_alias", "created", {"name": "credit", "alias": "champion", "version": "1"}),
        ("model_version_alias", "deleted", {"name": "credit", "alias": "champion"}),
        ("approval", "requested",
         {"name": "credit", "version": "1", "status": "PendingManualApproval",
          "requested_by": "a", "comment": "please", "evidence": ["runs:/r/report"]}),
        ("approval", "decided",
         {"name": "credit", "version": "1", "status": "Approved",
          "previous_status": "PendingManualApproval", "decided_by": "validator",
          "comment": "ok"}),
    ]  # fmt: skip
    for p in _payloads(st, hook.webhook_id):
        assert p["timestamp"].endswith("+00:00") and set(p) == {
            "entity",
            "action",
            "timestamp",
            "data",
        }


def test_per_model_and_per_event_subscriptions(hook_store: Store) -> None:
    st = hook_store
    mine = st.create_webhook("mine", URL, ["model_version.created"], actor="a", model="credit")
    every = st.create_webhook("every", URL, ["registered_model.created"], actor="a")
    off = st.create_webhook("off", URL, ["registered_model.created"], actor="a", status="DISABLED")
    for name in ("credit", "fraud"):
        st.create_registered_model(name, actor="a")
        st.create_model_version(name, "s3://b/m", actor="a")
    st.enqueue_webhook_events()
    assert [d.model for d in st.webhook_deliveries(mine.webhook_id)] == ["credit"]
    assert sorted(d.model or "" for d in st.webhook_deliveries(every.webhook_id)) == [
        "credit",
        "fraud",
    ]
    assert st.webhook_deliveries(off.webhook_id) == []
    assert [h.name for h in st.list_webhooks(model="fraud")] == ["every", "off"]


def test_published_events_are_queued_once_per_key(hook_store: Store) -> None:
    st = hook_store
    drift = st.create_webhook("drift", URL, ["monitor.drift_detected"], actor="a", model="credit")
    retrain = st.create_webhook("retrain", URL, ["retraining.*"], actor="a")
    data = {"model": "credit", "version": 3, "features": ["income"]}
    key = "monitor.drift_detected:ev1"
    assert st.publish_webhook_event("monitor.drift_detected", data, key=key, model="credit") == 1
    assert st.publish_webhook_event("monitor.drift_detected", data, key=key, model="credit") == 0
    assert st.publish_webhook_event("monitor.drift_detected", data, key="k2", model="fraud") == 0
    assert st.publish_webhook_event("retraining.started", {"x": 1}, key="r1", model="fraud") == 1
    [d] = st.webhook_deliveries(drift.webhook_id)
    assert json.loads(d.payload)["data"] == data and d.event == "monitor.drift_detected"
    assert [d.event for d in st.webhook_deliveries(retrain.webhook_id)] == ["retraining.started"]
    with pytest.raises(InvalidInput):
        st.publish_webhook_event("retraining.*", {}, key="r2")


def test_a_claimed_delivery_is_not_claimed_again_until_recorded(hook_store: Store) -> None:
    st = hook_store
    hook = st.create_webhook("h", URL, ["registered_model.created"], actor="a")
    st.create_registered_model("m", actor="a")
    st.enqueue_webhook_events()
    [first] = st.claim_webhook_deliveries()
    assert st.claim_webhook_deliveries() == []  # another process finds it leased
    st.record_webhook_attempt(
        first.delivery_id, time=1, duration_ms=5, response_status=503,
        response_body="x" * 10_000, error=None, outcome="pending", next_attempt_time=0,
    )  # fmt: skip
    [again] = st.claim_webhook_deliveries()
    assert again.delivery_id == first.delivery_id and again.attempts == 1
    [d] = st.webhook_deliveries(hook.webhook_id)
    assert d.attempt_log[0].response_status == 503 and len(d.attempt_log[0].response_body) == 4096
    with pytest.raises(InvalidInput):
        st.webhook_deliveries(hook.webhook_id, limit=0)
    with pytest.raises(NotFound):
        st.webhook_deliveries("nope")


def test_a_new_webhook_does_not_wait_behind_old_history(hook_store: Store) -> None:
    """Entries from before any webhook existed are skipped, not worked through 500 at a time."""
    st = hook_store
    first = st.create_webhook("first", URL, ["registered_model.created"], actor="a")
    st.enqueue_webhook_events()  # the cursor exists from here on
    st.delete_webhook(first.webhook_id, actor="a")
    st.create_registered_model("m", actor="a")
    st.create_model_version("m", "s3://b/m", actor="a")
    for i in range(520):  # a long stretch without webhooks
        st.set_model_version_tag("m", 1, "k", str(i), actor="a")
    hook = st.create_webhook("late", URL, ["model_version_tag.set"], actor="a")
    st.set_model_version_tag("m", 1, "validated", "yes", actor="a")
    assert st.enqueue_webhook_events() == 1
    assert [d.event for d in st.webhook_deliveries(hook.webhook_id)] == ["model_version_tag.set"]


def test_a_models_webhooks_follow_its_rename(hook_store: Store) -> None:
    st = hook_store
    st.create_registered_model("credit", actor="a")
    hook = st.create_webhook("h", URL, ["model_version.created"], actor="a", model="credit")
    st.rename_registered_model("credit", "credit-pd", actor="a")
    assert st.get_webhook(hook.webhook_id).model == "credit-pd"
    st.create_model_version("credit-pd", "s3://b/m", actor="a")
    st.enqueue_webhook_events()
    assert [d.model for d in st.webhook_deliveries(hook.webhook_id)] == ["credit-pd"]
