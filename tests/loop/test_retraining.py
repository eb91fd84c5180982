"""Retraining on real tracked notebooks: the policy (checked, audited), a manual retraining through
the gate to a new version pending approval (the alias never moves), a failing gate, and the
webhook executor handing the retraining to a real HTTP receiver."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from jupyter_mm.loop import retraining as rt
from jupyter_mm.loop.jobs import JobRunner
from jupyter_mm.loop.webhooks import WebhookDispatcher
from tests.loop.conftest import only_run, track_notebook
from tests.support.webhook_receiver import receiver

TRAIN = (
    "%%track {name} --seed 7\n"
    "import numpy as np\n"
    "from sklearn.linear_model import LinearRegression\n"
    "n = 40\n"
    "X = np.random.rand(n, 2)\n"
    "y = X @ [1.0, 2.0] + np.random.rand(n) * 0.5\n"
    "model = LinearRegression().fit(X, y)\n"
    "mm.log_metric('r2', model.score(X, y))\n"
    "mm.log_model(model, 'model', input_example=X[:5])"
)


def _champion(tmp_path: Path, store_dir: Path, name: str) -> str:
    track_notebook(tmp_path, store_dir, ["%load_ext jupyter_mm", TRAIN.format(name=name)])
    run = only_run(store_dir, name)
    mm.register_model(f"runs:/{run.id}/models/model", name)
    mm.set_alias(name, "champion", 1)
    return run.id


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"triggers": []}, "'triggers' must be a non-empty list"),
        ({"triggers": ["weekly"]}, "unknown trigger 'weekly'"),
        ({"triggers": ["schedule"]}, "needs 'schedule'"),
        ({"triggers": ["schedule"], "schedule": {"every": 5}}, "at least 60"),
        ({"triggers": ["manual"], "schedule": {"every": 3600}}, "does not include"),
        ({"triggers": ["manual"], "colour": 1}, "unknown retraining policy field 'colour'"),
        ({"triggers": ["manual"], "gate": [{"metric": "r2"}]}, "needs at least one of threshold"),
        (
            {"triggers": ["manual"], "gate": [{"metric": "r2", "min_relative_change": 2}]},
            r"min_relative_change must be a number in \(0, 1\]",
        ),
        (
            {"triggers": ["manual"], "gate": [{"metric": "r2", "min_absolute_change": -1}]},
            "min_absolute_change must be a positive number",
        ),
        (
            {"triggers": ["manual"], "gate": [{"metric": "r2", "threshold": float("nan")}]},
            "threshold must be a finite number",
        ),
        ({"triggers": ["manual"], "executor": "airflow"}, "'executor' must be one of"),
        ({"triggers": ["manual"], "params": {"1x": 2}}, "Python identifier"),
        ({"triggers": ["manual"], "params": {"x": [1]}}, "string, number, boolean or null"),
    ],
)
def test_a_bad_policy_is_refused_naming_what_is_wrong(
    tmp_path: Path, policy: dict[str, Any], message: str
) -> None:
    with Store.open(str(tmp_path / "s")) as st:
        st.create_registered_model("m", actor="a")
        with pytest.raises(mm.InvalidInput, match=message):
            st.set_retraining_policy("m", policy, actor="a")
        assert st.retraining_policy("m") is None
        assert [e.action for e in st.audit_log("m")] == ["model.created"]


def test_the_gate_follows_mlflow_metric_threshold() -> None:
    gate = [
        {"metric": "auc", "threshold": 0.7, "min_absolute_change": 0.01},
        {"metric": "loss", "min_relative_change": 0.1, "greater_is_better": False},
    ]
    ok = rt.evaluate_gate(gate, {"auc": 0.8, "loss": 0.89}, {"auc": 0.78, "loss": 1.0})
    assert ok["passed"] is True
    bad = rt.evaluate_gate(gate, {"auc": 0.785, "loss": 0.95}, {"auc": 0.78, "loss": 1.0})
    auc, loss = bad["thresholds"]
    assert bad["passed"] is False and auc["passed"] is False and loss["passed"] is False
    assert [c["passed"] for c in auc["checks"]] == [True, False]
    assert (
        auc["checks"][1]["bound"] == pytest.approx(0.79)
        and "is not >=" in auc["checks"][1]["reason"]
    )
    assert loss["checks"][0]["bound"] == pytest.approx(0.9)
    missing = rt.evaluate_gate(gate[:1], {"auc": 0.9}, None)
    assert missing["thresholds"][0]["checks"][1]["reason"].startswith("the champion has no")
    assert rt.evaluate_gate(gate[:1], {}, {"auc": 0.5})["passed"] is False


def test_a_manual_retraining_passes_the_gate_then_one_fails_it(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _champion(tmp_path, store_dir, "credit")
    with pytest.raises(mm.InvalidInput, match="has no retraining policy"):
        mm.retrain("credit")
    policy = mm.set_retraining_policy(
        "credit", triggers=["manual", "drift"], params={"n": 80},
        gate=[{"metric": "r2", "threshold": 0.0}],
    )  # fmt: skip
    assert policy["alias"] == "champion" and policy["executor"] == "local"
    with pytest.raises(mm.InvalidInput, match="cannot override .nope.*overridable: n"):
        mm.retrain("credit", params={"nope": 1})
    assert mm.retrainings("credit") == []  # a refused request records nothing

    rec = mm.retrain("credit", timeout=180)
    assert rec["state"] == "pending_approval", rec
    assert rec["source_run_id"] == source and rec["params"] == {"n": 80}
    assert rec["trigger"] == {"kind": "manual", "by": "alice"}
    assert rec["version"] == 2 and rec["approval"] == "PendingManualApproval"
    [threshold] = rec["gate"]["thresholds"]
    assert threshold["passed"] is True and threshold["champion"] is not None
    new = mm.get_run(rec["run_id"])
    assert new.tags.get("mm.rerun_of") == source and new.status == "FINISHED"
    [v2] = [v for v in mm.versions("credit") if v.version == 2]
    assert v2.run_id == rec["run_id"] and v2.tags["mm.retraining"] == rec["retraining_id"]
    assert mm.resolve("credit", "champion") == 1  # never moved without an approval

    # the gate fails: the candidate must beat the champion's r2 by 0.5 (r2 <= 1)
    mm.set_retraining_policy(
        "credit", triggers=["manual"], gate=[{"metric": "r2", "min_absolute_change": 0.5}]
    )
    failed = mm.retrain("credit", timeout=180)
    assert failed["state"] == "gate_failed" and failed["version"] is None
    check = failed["gate"]["thresholds"][0]["checks"][0]
    assert check["passed"] is False and "is not >=" in check["reason"]
    assert len(mm.versions("credit")) == 2
    assert [r["retraining_id"] for r in mm.retrainings("credit")] == [
        failed["retraining_id"], rec["retraining_id"],
    ]  # fmt: skip

    with Store.open(str(store_dir)) as st:
        actions = [e.action for e in st.audit_log("credit")]
    for step in ("retraining_policy.set", "retraining.started", "retraining.job_queued",
                 "retraining.pending_approval", "retraining.gate_failed"):  # fmt: skip
        assert step in actions, actions
    mm.export_audit(str(tmp_path / "audit.jsonl"))
    exported = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    steps = [e for e in exported if e["action"] == "retraining.pending_approval"]
    assert len(steps) == 1 and steps[0]["version"] == 2

    # another user approves; then (and only then) the champion may move
    monkeypatch.setenv("MM_USER", "bob")
    mm.approve("credit", 2, comment="the retrained model is better")
    assert mm.retrainings("credit")[1]["approval"] == "Approved"


def test_one_event_starts_one_retraining(tmp_path: Path, store_dir: Path) -> None:
    _champion(tmp_path, store_dir, "churn")
    mm.set_retraining_policy("churn", triggers=["drift"], gate={"metric": "r2", "threshold": 0})
    runner = JobRunner(str(store_dir))  # never started: the jobs it accepts stay queued

    def submit(spec: dict[str, Any], run_id: str) -> Any:
        return runner.submit("retraining", spec, created_by=rt.SYSTEM_ACTOR, run_id=run_id)

    event = {"action": "monitor.drift_detected", "evaluation_id": "ev1", "model": "churn"}
    try:
        with Store.open(str(store_dir)) as st:
            first = rt.on_event(st, event, submit)
            again = rt.on_event(st, event, submit)
            ignored = rt.on_event(st, {**event, "action": "monitor.performance_degraded"}, submit)
            assert first is not None and again is not None and first.id == again.id
            assert ignored is None  # the policy does not retrain on performance
            [job] = st.list_jobs(kind="retraining")
            assert job.spec["retraining_id"] == first.id and first.job_id == job.id
            assert first.trigger["evaluation_id"] == "ev1" and first.state == "running"
            keys = [r.event_key for r in st.list_retrainings("churn")]
            assert keys == ["monitor.drift_detected:ev1"]
    finally:
        runner.stop()


def test_the_webhook_executor_hands_the_retraining_off(tmp_path: Path, store_dir: Path) -> None:
    source = _champion(tmp_path, store_dir, "fraud")
    mm.set_retraining_policy("fraud", triggers=["manual"], executor="webhook", params={"n": 60})
    with receiver(secret="s3cr3t") as http, Store.open(str(store_dir)) as st:
        st.create_webhook("airflow", http.url, ["retraining.*"], actor="alice", secret="s3cr3t",
                          allow_private=True, model="fraud")  # fmt: skip
        rec = mm.retrain("fraud")
        assert rec["state"] == "handed_off" and rec["job_id"] is None
        WebhookDispatcher(st, allow_private=True).run_once()
        [got] = http.wait_for(1)
    assert got.verified
    body = json.loads(got.body)
    assert (body["entity"], body["action"]) == ("retraining", "requested")
    data = body["data"]
    assert data["retraining_id"] == rec["retraining_id"] and data["source_run_id"] == source
    assert (
        data["params"] == {"n": 60} and data["model"] == "fraud" and data["state"] == "handed_off"
    )
    assert len(mm.versions("fraud")) == 1


def test_a_schedule_starts_one_retraining_per_period(tmp_path: Path, store_dir: Path) -> None:
    _champion(tmp_path, store_dir, "sched")
    mm.set_retraining_policy("sched", triggers=["schedule"], schedule={"every": 60})
    runner = JobRunner(str(store_dir))  # never started: the jobs it accepts stay queued

    def submit(spec: dict[str, Any], run_id: str) -> Any:
        return runner.submit("retraining", spec, created_by=rt.SYSTEM_ACTOR, run_id=run_id)

    period = int(time.time() // 60) + 2  # a period that begins after the policy was set
    start = period * 60
    try:
        with Store.open(str(store_dir)) as st:
            assert rt.run_schedules(st, submit, now=start - 600) == []  # before the policy
            [first] = rt.run_schedules(st, submit, now=start + 1)
            assert rt.run_schedules(st, submit, now=start + 59) == []  # the same period
            [second] = rt.run_schedules(st, submit, now=start + 60)
            assert first.trigger["kind"] == "schedule" and first.id != second.id
            assert first.event_key == f"schedule:60:{period}"
            assert len(st.list_jobs(kind="retraining")) == 2
    finally:
        runner.stop()
