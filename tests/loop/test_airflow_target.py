"""Webhooks that start Airflow DAG runs, against a real Apache Airflow 3 (its API server on
SQLite, the simple auth manager; see airflow_fixture.py): a drift event becomes a DAG run with
the event in its ``conf``, authenticated with Airflow's JWTs; a delivery sent again starts no
second run; refused credentials fail the delivery at once with Airflow's answer kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from jupyter_mm.loop import airflow as af
from jupyter_mm.loop.webhooks import WebhookDispatcher
from tests.loop.airflow_fixture import DAG_ID, Airflow
from tests.loop.test_retraining import _champion


def _drift(evaluation_id: str) -> dict[str, Any]:
    """A monitor's drift alarm, shaped as server/monitor_events.py's ``drift_event``."""
    return {
        "action": "monitor.drift_detected",
        "evaluation_id": evaluation_id,
        "model": "credit",
        "monitor": "m1",
        "alias": "champion",
        "version": "3",
        "run_id": "a" * 32,
        "status": "drift",
        "previous": "ok",
        "rows": 10412,
        "share": 0.25,
        "features": ["income", "age"],
        "evaluated_at": "2026-12-05T07:00:00+00:00",
    }


def _publish(dispatcher: WebhookDispatcher, evaluation_id: str) -> int:
    """As the server hands a monitor alarm over (server/extension.py ``_start_webhooks``)."""
    data = _drift(evaluation_id)
    action = data["action"]
    return dispatcher.publish(action, data, key=f"{action}:{evaluation_id}", model=data["model"])


def _hook(st: Store, airflow: Airflow, auth: Any = "password", dag: str = DAG_ID) -> str:
    """An Airflow webhook on drift (``auth="password"``: the fixture's user and password)."""
    if auth == "password":
        auth = (airflow.username, airflow.password)
    return st.create_webhook("af", airflow.url, ["monitor.drift_detected"], actor="a",
                             airflow_dag=dag, airflow_auth=auth, allow_private=True).webhook_id  # fmt: skip


def _runs_by_id(airflow: Airflow) -> dict[str, dict[str, Any]]:
    return {r["dag_run_id"]: r for r in airflow.dag_runs()}


def test_a_drift_event_starts_a_dag_run_with_the_event_in_its_conf(
    airflow: Airflow, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MM_WEBHOOK_ALLOW_PRIVATE", "1")  # Airflow runs on 127.0.0.1 here
    hook = mm.create_webhook(
        "retrain on drift",
        airflow.url,
        ["monitor.drift_detected"],
        model="credit",
        airflow_dag=DAG_ID,
        airflow_auth={"username": airflow.username, "password": airflow.password},
    )
    assert hook.target == {"kind": "airflow", "dag_id": DAG_ID, "auth": "password"}
    with Store.open(str(store_dir)) as st:
        dispatcher = WebhookDispatcher(st, allow_private=True)
        assert _publish(dispatcher, "ev-1") == 1
        assert _publish(dispatcher, "ev-1") == 0  # the same alarm again: nothing more queued
        assert dispatcher.run_once() == 1
        [d] = st.webhook_deliveries(hook.webhook_id)
    assert (d.status, d.attempts, d.event) == ("succeeded", 1, "monitor.drift_detected")
    [attempt] = d.attempt_log
    assert attempt.response_status == 200 and attempt.error is None
    assert json.loads(attempt.response_body)["dag_run_id"] == af.dag_run_id(d.delivery_id)

    run = _runs_by_id(airflow)[af.dag_run_id(d.delivery_id)]  # Airflow's own record of it
    event = run["conf"]["event"]
    assert event == json.loads(d.payload)  # the envelope an HTTP webhook would be sent
    assert (event["entity"], event["action"]) == ("monitor", "drift_detected")
    assert event["data"] == _drift("ev-1")
    assert run["conf"]["delivery_id"] == d.delivery_id
    assert run["conf"]["webhook_id"] == hook.webhook_id
    assert (run["run_type"], run["triggered_by"]) == ("manual", "rest_api")
    assert run["triggering_user_name"] == airflow.username  # authenticated as that user
    assert mm.webhook_deliveries(hook)[0].status == "succeeded"

    # the DAG's task reads the event from dag_run.conf (docs/webhooks.md's example DAG), run
    # here in-process with the conf Airflow recorded (no scheduler runs in these tests)
    out = airflow.dags_test(run["conf"])
    assert f"jupyter-mm event monitor.drift_detected model=credit delivery={d.delivery_id}" in out
    assert "state=success" in out


def test_a_kept_token_airflow_no_longer_accepts_is_replaced(
    airflow: Airflow, store_dir: Path
) -> None:
    """A token Airflow refuses (expired, or signed with a key it no longer uses) is asked for
    again once, and the delivery goes through in the same attempt."""
    auth = {"username": airflow.username, "password": airflow.password}
    with Store.open(str(store_dir)) as st:
        webhook_id = _hook(st, airflow, auth)
        dispatcher = WebhookDispatcher(st, allow_private=True)
        tokens = dispatcher.sender._airflow_tokens
        stale = airflow.token()[:-4] + "AAAA"  # its signature no longer matches
        tokens._tokens[af._key(airflow.url.rstrip("/"), auth)] = (stale, 4e9)
        _publish(dispatcher, "ev-stale")
        dispatcher.run_once()
        [d] = st.webhook_deliveries(webhook_id)
        assert (d.status, [a.response_status for a in d.attempt_log]) == ("succeeded", [200])
        kept = tokens._tokens[af._key(airflow.url.rstrip("/"), auth)][0]
    assert kept != stale
    assert af.dag_run_id(d.delivery_id) in _runs_by_id(airflow)


def test_a_static_token_is_sent_as_it_is(airflow: Airflow, store_dir: Path) -> None:
    with Store.open(str(store_dir)) as st:
        webhook_id = _hook(st, airflow, {"token": airflow.token()})
        dispatcher = WebhookDispatcher(st, allow_private=True)
        _publish(dispatcher, "ev-token")
        dispatcher.run_once()
        [d] = st.webhook_deliveries(webhook_id)
    assert d.status == "succeeded"
    run = _runs_by_id(airflow)[af.dag_run_id(d.delivery_id)]
    assert run["conf"]["event"]["data"]["evaluation_id"] == "ev-token"


def test_a_delivery_sent_again_does_not_start_a_second_run(
    airflow: Airflow, store_dir: Path
) -> None:
    """The sender dies after Airflow started the run but before recording it: its lease runs
    out, another sender sends the delivery again, Airflow answers 409 for the run id it has,
    and that counts as delivered."""
    with Store.open(str(store_dir)) as st:
        webhook_id = _hook(st, airflow)
        first = WebhookDispatcher(st, allow_private=True)
        _publish(first, "ev-twice")
        [due] = st.claim_webhook_deliveries(lease_ms=-1)  # a lease that has already run out
        assert first.sender.post(due).status == 200  # sent, never recorded: the sender "died"
        second = WebhookDispatcher(st, allow_private=True)
        assert second.run_once() == 1
        [d] = st.webhook_deliveries(webhook_id)
    assert d.delivery_id == due.delivery_id
    assert (d.status, [a.response_status for a in d.attempt_log]) == ("succeeded", [409])
    runs = [r for r in airflow.dag_runs() if r["conf"].get("delivery_id") == d.delivery_id]
    assert [r["dag_run_id"] for r in runs] == [af.dag_run_id(d.delivery_id)]


def test_refused_credentials_fail_the_delivery_at_once(airflow: Airflow, store_dir: Path) -> None:
    before = set(_runs_by_id(airflow))
    with Store.open(str(store_dir)) as st:
        wrong_password = _hook(st, airflow, (airflow.username, "not-the-password"))
        wrong_token = _hook(st, airflow, {"token": "not-a-jwt"})
        dispatcher = WebhookDispatcher(st, allow_private=True, backoff=0, max_attempts=5)
        assert _publish(dispatcher, "ev-denied") == 2
        assert dispatcher.run_once() == 2  # one attempt each: a refusal is not retried
        [by_password] = st.webhook_deliveries(wrong_password)
        [by_token] = st.webhook_deliveries(wrong_token)
    assert (by_password.status, by_password.attempts) == ("failed", 1)
    [attempt] = by_password.attempt_log
    assert attempt.response_status == 401
    assert "Invalid credentials" in attempt.response_body
    assert attempt.error and "Airflow refused the credentials" in attempt.error
    assert "/auth/token answered 401" in attempt.error
    assert (by_token.status, by_token.attempts) == ("failed", 1)
    assert by_token.attempt_log[0].response_status == 403
    assert "Invalid JWT token" in by_token.attempt_log[0].response_body
    assert set(_runs_by_id(airflow)) == before  # no run was started


def test_an_unknown_dag_fails_with_airflows_404(airflow: Airflow, store_dir: Path) -> None:
    with Store.open(str(store_dir)) as st:
        webhook_id = _hook(st, airflow, dag="no_such_dag")
        dispatcher = WebhookDispatcher(st, allow_private=True, backoff=0)
        _publish(dispatcher, "ev-404")
        dispatcher.run_once()
        [d] = st.webhook_deliveries(webhook_id)
    assert (d.status, d.attempts, d.attempt_log[0].response_status) == ("failed", 1, 404)
    assert "no_such_dag" in d.attempt_log[0].response_body


def test_a_retraining_handed_to_airflow_starts_its_dag_run(
    airflow: Airflow, tmp_path: Path, store_dir: Path
) -> None:
    """The retraining policy's ``webhook`` executor: no local job; the Airflow webhook
    subscribed to ``retraining.requested`` starts the DAG run with what to re-run in its conf."""
    source = _champion(tmp_path, store_dir, "handoff")
    mm.set_retraining_policy("handoff", triggers=["manual"], executor="webhook",
                             params={"n": 60})  # fmt: skip
    with Store.open(str(store_dir)) as st:
        st.create_webhook("af", airflow.url, ["retraining.requested"], actor="a", model="handoff",
                          airflow_dag=DAG_ID, airflow_auth=(airflow.username, airflow.password),
                          allow_private=True)  # fmt: skip
        rec = mm.retrain("handoff")
        assert rec["state"] == "handed_off" and rec["job_id"] is None
        assert WebhookDispatcher(st, allow_private=True).run_once() == 1
        [d] = [d for h in st.list_webhooks() for d in st.webhook_deliveries(h.webhook_id)]
    assert (d.status, d.event) == ("succeeded", "retraining.requested")
    event = _runs_by_id(airflow)[af.dag_run_id(d.delivery_id)]["conf"]["event"]
    assert (event["entity"], event["action"]) == ("retraining", "requested")
    data = event["data"]
    assert (data["retraining_id"], data["source_run_id"], data["params"]) == (
        rec["retraining_id"], source, {"n": 60},
    )  # fmt: skip
    assert len(mm.versions("handoff")) == 1  # nothing registered here: Airflow does the work
