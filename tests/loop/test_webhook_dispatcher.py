"""The webhook dispatcher against a real HTTP receiver that verifies each request with MLflow's
own signing function: signed deliveries, retries with backoff and the kept attempts, bounded
attempts, the private-address refusal at send time, and test deliveries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_mm.core.store import Store
from jupyter_mm.loop import webhooks as loop
from jupyter_mm.loop.webhooks import WebhookDispatcher
from tests.support.webhook_receiver import receiver


@pytest.fixture
def st(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("MM_WEBHOOK_ALLOW_PRIVATE", raising=False)
    with Store.open(str(tmp_path / "store")) as store:
        yield store


def _hook(st: Store, url: str, secret: str | None = "s3cr3t") -> str:
    hook = st.create_webhook(
        "h", url, ["model_version.created"], actor="a", secret=secret, allow_private=True
    )
    st.create_registered_model("credit", actor="a")
    return hook.webhook_id


def test_a_delivery_is_signed_as_mlflow_signs_it(st: Store) -> None:
    with receiver(secret="s3cr3t") as rec:
        webhook_id = _hook(st, rec.url)
        dispatcher = WebhookDispatcher(st, allow_private=True)
        dispatcher.start()
        try:
            st.create_model_version("credit", "s3://b/m", actor="a")
            dispatcher.wake()
            [got] = rec.wait_for(1)
        finally:
            dispatcher.stop()
    assert got.verified and got.signature and got.signature.startswith("v1,")
    assert got.payload["entity"] == "model_version" and got.payload["data"]["version"] == "1"
    [d] = st.webhook_deliveries(webhook_id)
    assert (d.delivery_id, d.status, d.attempts) == (got.delivery_id, "succeeded", 1)
    assert d.payload == got.body  # the kept body is the signed one
    assert json.loads(d.attempt_log[0].response_body) == {"status": 200, "seen": 1}


def test_without_a_secret_nothing_is_signed(st: Store) -> None:
    with receiver(secret=None) as rec:
        _hook(st, rec.url, secret=None)
        st.create_model_version("credit", "s3://b/m", actor="a")
        WebhookDispatcher(st, allow_private=True).run_once()
        [got] = rec.wait_for(1)
    assert got.signature is None and got.delivery_id and got.timestamp.isdigit()


def test_a_500_is_retried_and_both_attempts_are_kept(st: Store) -> None:
    with receiver(statuses=[500, 200]) as rec:
        webhook_id = _hook(st, rec.url)
        st.create_model_version("credit", "s3://b/m", actor="a")
        dispatcher = WebhookDispatcher(st, allow_private=True, backoff=0.05)
        dispatcher.start()
        try:
            first, second = rec.wait_for(2)
        finally:
            dispatcher.stop()
    assert first.verified and second.verified
    assert first.delivery_id == second.delivery_id and first.body == second.body
    [d] = st.webhook_deliveries(webhook_id)
    assert (d.status, d.attempts) == ("succeeded", 2)
    assert [(a.attempt, a.response_status) for a in d.attempt_log] == [(1, 500), (2, 200)]
    assert json.loads(d.attempt_log[0].response_body)["status"] == 500


def test_the_retry_waits_with_exponential_backoff(st: Store) -> None:
    with receiver(statuses=[503, 503]) as rec:
        webhook_id = _hook(st, rec.url)
        st.create_model_version("credit", "s3://b/m", actor="a")
        dispatcher = WebhookDispatcher(st, allow_private=True, backoff=100, max_backoff=1000)
        before = time.time() * 1000
        assert dispatcher.run_once() == 1  # the retry is not due yet
        [d] = st.webhook_deliveries(webhook_id)
        assert d.status == "pending" and d.next_attempt_time is not None
        assert d.next_attempt_time >= before + 100_000
        assert st.claim_webhook_deliveries() == []  # not due: no process sends it yet
    assert len(rec.received) == 1
    second = dispatcher._outcome(
        replace(_due(st, webhook_id), attempts=1), loop.Answer(503, "", 1, None)
    )
    assert second[0] == "pending" and second[1] is not None
    assert second[1] >= time.time() * 1000 + 200_000  # twice as long


def _due(st: Store, webhook_id: str) -> loop.DueDelivery:
    [d] = st.webhook_deliveries(webhook_id)
    return loop.DueDelivery(d.delivery_id, webhook_id, "http://x", None, "ACTIVE", d.payload, 0)


def test_attempts_are_bounded_and_a_client_error_is_not_retried(st: Store) -> None:
    with receiver(statuses=[503, 503, 503, 503]) as rec:
        webhook_id = _hook(st, rec.url)
        st.create_model_version("credit", "s3://b/m", actor="a")
        WebhookDispatcher(st, allow_private=True, backoff=0, max_attempts=3).run_once()
        assert len(rec.received) == 3
        [d] = st.webhook_deliveries(webhook_id)
        assert (d.status, d.attempts) == ("failed", 3)
    with receiver(statuses=[400]) as rec:
        webhook_id = st.create_webhook(
            "h2", rec.url, ["model_version.created"], actor="a", allow_private=True
        ).webhook_id
        st.create_model_version("credit", "s3://b/m", actor="a")
        WebhookDispatcher(st, allow_private=True, backoff=0).run_once()
        [d] = st.webhook_deliveries(webhook_id)
        assert (d.status, d.attempts, d.attempt_log[0].response_status) == ("failed", 1, 400)


def test_a_private_target_is_refused_at_send_time(st: Store) -> None:
    """Allowed when created (say, by an administrator then), refused by a sender that does not
    allow private addresses: the connection's peer is checked, nothing is sent."""
    with receiver() as rec:
        webhook_id = _hook(st, rec.url)
        st.create_model_version("credit", "s3://b/m", actor="a")
        WebhookDispatcher(st, allow_private=False, backoff=0).run_once()
        assert rec.received == []
    [d] = st.webhook_deliveries(webhook_id)
    assert (d.status, d.attempts, d.attempt_log[0].response_status) == ("failed", 1, None)
    assert "127.0.0.1" in (d.attempt_log[0].error or "")
    assert "not a public address" in (d.attempt_log[0].error or "")


def test_test_webhook_sends_a_sample_and_keeps_it(st: Store) -> None:
    with receiver(statuses=[200, 500]) as rec:
        webhook_id = _hook(st, rec.url)
        ok = loop.test_webhook(st, webhook_id, allow_private=True)
        bad = loop.test_webhook(st, webhook_id, "approval.decided", allow_private=True)
        first, second = rec.wait_for(2)
    assert (ok.success, ok.response_status) == (True, 200)
    assert (bad.success, bad.response_status) == (False, 500)
    assert first.verified and first.payload["data"]["name"] == "example_model"
    assert second.payload["entity"] == "approval" and second.payload["action"] == "decided"
    kept = {d.delivery_id: d.status for d in st.webhook_deliveries(webhook_id)}
    assert kept == {ok.delivery_id: "succeeded", bad.delivery_id: "failed"}
