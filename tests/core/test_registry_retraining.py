"""Retraining policies and records in the store, on SQLite and PostgreSQL: audited policy changes,
one record per (model, event) even with several processes racing, steps audited, an ended
retraining's outcome final, and a record whose job died shown failed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jupyter_mm.core.registry.retraining import Retraining, normalize_policy
from jupyter_mm.core.store import Store
from jupyter_mm.errors import Conflict

POLICY = normalize_policy({"triggers": ["drift"], "gate": [{"metric": "auc", "threshold": 0.7}]})


def _start(st: Store, key: str = "monitor.drift_detected:ev1") -> tuple[Retraining, bool]:
    return st.create_retraining(
        "credit", event_key=key, trigger={"kind": "drift", "evaluation_id": "ev1"},
        policy=POLICY, source_run_id="a" * 32, params={"window": 30}, champion_version=1,
        actor="jupyter-mm-retraining",
    )  # fmt: skip


def test_the_policy_is_audited_and_a_no_op_is_not(store: Store) -> None:
    store.create_registered_model("credit", actor="ana")
    assert store.set_retraining_policy("credit", POLICY, actor="ana", comment="on drift") == POLICY
    store.set_retraining_policy("credit", POLICY, actor="ana")  # the same: nothing recorded
    assert store.retraining_policy("credit") == POLICY
    assert [(n, p) for n, p, _ in store.retraining_policies()] == [("credit", POLICY)]
    store.set_retraining_policy("credit", None, actor="bob")
    assert store.retraining_policy("credit") is None
    entries = [e for e in store.audit_log("credit") if e.action.startswith("retraining_policy")]
    assert [(e.action, e.actor) for e in entries] == [
        ("retraining_policy.set", "ana"), ("retraining_policy.deleted", "bob"),
    ]  # fmt: skip
    assert entries[0].comment == "on drift"
    assert store.verify_audit().ok


def test_one_event_is_one_retraining_even_when_processes_race(
    store: Store, store_uri: str, tmp_path: Path
) -> None:
    store.create_registered_model("credit", actor="ana")

    def race(_: int) -> bool:
        with Store.open(store_uri, artifact_uri=str(tmp_path / "artifacts")) as st:
            return bool(_start(st)[1])

    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(race, range(4)))
    assert created.count(True) == 1
    [rec] = store.list_retrainings("credit")
    assert rec.state == "running" and rec.event_key == "monitor.drift_detected:ev1"
    started = [e for e in store.audit_log("credit") if e.action == "retraining.started"]
    assert len(started) == 1 and started[0].after["retraining_id"] == rec.id


def test_steps_are_audited_and_an_outcome_is_final(store: Store) -> None:
    store.create_registered_model("credit", actor="ana")
    rec, _ = _start(store)
    gate = {"passed": False, "thresholds": []}
    done = store.update_retraining(rec.id, action="gate_failed", state="gate_failed",
                                   actor="jupyter-mm-retraining", run_id="b" * 32, gate=gate)  # fmt: skip
    assert (done.state, done.run_id, done.gate, done.version) == (
        "gate_failed",
        "b" * 32,
        gate,
        None,
    )
    with pytest.raises(Conflict, match="already gate_failed"):
        store.update_retraining(done.id, action="failed", state="failed", actor="x", error="late")
    assert store.get_retraining(done.id).state == "gate_failed"
    assert "retraining.gate_failed" in [e.action for e in store.audit_log("credit")]


def test_a_retraining_whose_job_ended_without_a_verdict_is_shown_failed(store: Store) -> None:
    store.create_registered_model("credit", actor="ana")
    rec, _ = _start(store)
    job = store.create_job("retraining", {"retraining_id": rec.id}, created_by="x",
                           run_id="a" * 32, owner="nowhere:1")  # fmt: skip
    store.update_retraining(rec.id, action="job_queued", actor="x", job_id=job.id)
    assert store.get_retraining(rec.id).state == "running"
    store.cancel_job(job.id)  # a queued job is cancelled at once
    shown = store.get_retraining(rec.id)
    assert (
        shown.state == "failed"
        and job.id in (shown.error or "")
        and "cancelled" in (shown.error or "")
    )
