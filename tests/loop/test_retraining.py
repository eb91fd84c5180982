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


GATED: dict[str, Any] = {"triggers": ["manual"], "gate": [{"metric": "auc", "threshold": 0.5}]}


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
        ({"triggers": ["manual"], "gate_dataset": "holdout"}, "gate_dataset must be an object"),
        (
            {**GATED, "gate_dataset": {"label": "y"}},
            "gate_dataset needs 'name' .a logged dataset. or 'path'",
        ),
        (
            {**GATED, "gate_dataset": {"name": "holdout"}},
            r"gate_dataset.label \(the target column\)",
        ),
        (
            {**GATED, "gate_dataset": {"name": "h", "label": "y", "split": 1}},
            "unknown field 'split'",
        ),
        (
            {**GATED, "gate_dataset": {"path": "/data/holdout.json", "label": "y"}},
            "gate_dataset.path must be a CSV or Parquet file",
        ),
        (
            {"triggers": ["manual"], "gate_dataset": {"name": "h", "label": "y"}},
            "'gate' has no threshold to measure on it",
        ),
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


CLASSIFY = (
    "%%track {name} --seed 7\n"
    "import pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "flip = 1\n"
    "train = pd.read_csv({train!r})\n"
    "y = 1 - train['y'] if flip else train['y']\n"
    "model = LogisticRegression().fit(train[['a', 'b']], y)\n"
    "mm.log_dataset({holdout!r}, name='holdout', context='evaluation')\n"
    "mm.log_model(model, 'model', input_example=train[['a', 'b']].head())"
)


def _labelled(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    y = (a + 0.5 * b + rng.normal(scale=0.8, size=rows) > 0).astype(int)
    return pd.DataFrame({"a": a, "b": b, "y": y})


def _classifier(
    tmp_path: Path, store_dir: Path, name: str, train_rows: int, holdout_rows: int
) -> tuple[str, Path]:
    """The CLASSIFY notebook tracked (flip=1: it learns the labels upside down), its model
    registered as version 1 of ``name`` and made champion: (its run id, the holdout file)."""
    train, holdout = tmp_path / "train.csv", tmp_path / "holdout.csv"
    _labelled(train_rows, 1).to_csv(train, index=False)
    _labelled(holdout_rows, 2).to_csv(holdout, index=False)
    source = CLASSIFY.format(name=name, train=str(train), holdout=str(holdout))
    track_notebook(tmp_path, store_dir, ["%load_ext jupyter_mm", source])
    run_id = str(only_run(store_dir, name).id)
    mm.register_model(f"runs:/{run_id}/models/model", name)
    mm.set_alias(name, "champion", 1)
    return run_id, holdout


def _sklearn_metrics(model_uri: str, holdout: Any) -> dict[str, float]:
    """The yardstick: sklearn.metrics on the model's positive-class probability (and labels)."""
    from sklearn.metrics import accuracy_score, roc_auc_score, roc_curve

    est = mm.load_model(model_uri).native
    proba = est.predict_proba(holdout[["a", "b"]])[:, 1]
    fpr, tpr, _ = roc_curve(holdout["y"], proba, drop_intermediate=False)
    auc = float(roc_auc_score(holdout["y"], proba))
    return {"auc": auc, "gini": 2 * auc - 1, "ks": float(max(abs(tpr - fpr))),
            "accuracy": float(accuracy_score(holdout["y"], est.predict(holdout[["a", "b"]])))}  # fmt: skip


def test_a_gate_on_a_named_dataset_scores_both_models_on_it(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from jupyter_mm.client.datasets import describe

    champion_run, holdout = _classifier(tmp_path, store_dir, "scorer", 300, 200)
    gate = [{"metric": "auc", "min_absolute_change": 0.1}, {"metric": "ks", "threshold": 0.2},
            {"metric": "accuracy", "min_relative_change": 0.05}]  # fmt: skip
    policy = mm.set_retraining_policy(
        "scorer", triggers=["manual"], params={"flip": 0}, gate=gate,
        gate_dataset={"name": "holdout", "label": "y"},
    )  # fmt: skip
    assert policy["gate_dataset"] == {"name": "holdout", "label": "y"}

    # the champion learnt flipped labels; the candidate (flip=0) is better on the holdout
    rec = mm.retrain("scorer", timeout=180)
    assert rec["state"] == "pending_approval", rec
    assert rec["version"] == 2 and mm.resolve("scorer", "champion") == 1
    frame = pd.read_csv(holdout)
    good = _sklearn_metrics(f"runs:/{rec['run_id']}/models/model", frame)
    flipped = _sklearn_metrics("models:/scorer/1", frame)
    assert good["auc"] > 0.8 and flipped["auc"] < 0.2  # the premise
    measured_on = {"name": "holdout", "digest": describe(str(holdout), "holdout").digest,
                   "rows": 200}  # fmt: skip
    assert rec["gate"]["passed"] is True
    assert {k: rec["gate"]["dataset"][k] for k in ("name", "digest", "rows")} == measured_on
    assert rec["gate"]["dataset"]["run_id"] == champion_run  # logged in the champion's source run
    for row in rec["gate"]["thresholds"]:
        assert row["dataset"] == measured_on and row["passed"] is True
        assert row["candidate"] == pytest.approx(good[row["metric"]], abs=1e-9)
        assert row["champion"] == pytest.approx(flipped[row["metric"]], abs=1e-9)
    auc_check = rec["gate"]["thresholds"][0]["checks"][0]
    assert auc_check["bound"] == pytest.approx(flipped["auc"] + 0.1)
    assert "is >=" in auc_check["reason"]

    # version 2 approved (by another user) and made champion; a candidate that learns the
    # flipped labels again is worse than it on the holdout
    monkeypatch.setenv("MM_USER", "bob")
    mm.approve("scorer", 2, comment="better on the holdout")
    mm.set_alias("scorer", "champion", 2)
    worse = mm.retrain("scorer", params={"flip": 1}, timeout=180)
    assert worse["state"] == "gate_failed" and worse["version"] is None, worse
    assert worse["champion_version"] == 2
    for row in worse["gate"]["thresholds"]:
        assert row["dataset"] == measured_on
        assert row["candidate"] == pytest.approx(flipped[row["metric"]], abs=1e-6)
        assert row["champion"] == pytest.approx(good[row["metric"]], abs=1e-9)
    auc_row, ks_row, accuracy_row = worse["gate"]["thresholds"]
    assert auc_row["passed"] is False and "is not >=" in auc_row["checks"][0]["reason"]
    assert accuracy_row["passed"] is False
    assert ks_row["passed"] is True  # KS (a distance between the two score distributions)
    # does not see which way round the scores are: the flipped model separates as well
    assert len(mm.versions("scorer")) == 2


def test_a_gate_dataset_that_cannot_be_used_fails_the_retraining_saying_why(
    tmp_path: Path, store_dir: Path
) -> None:
    _classifier(tmp_path, store_dir, "risk", 100, 50)
    gate = [{"metric": "auc", "threshold": 0.0}]
    mm.set_retraining_policy("risk", triggers=["manual"], gate=gate,
                             gate_dataset={"name": "holdout", "label": "default"})  # fmt: skip
    no_label = mm.retrain("risk", timeout=180)
    assert no_label["state"] == "failed" and no_label["version"] is None, no_label
    assert "has no label column 'default' (its columns: a, b, y)" in no_label["error"]

    mm.set_retraining_policy("risk", triggers=["manual"], gate=gate,
                             gate_dataset={"name": "scoring-2026", "label": "y"})  # fmt: skip
    unknown = mm.retrain("risk", timeout=180)
    assert unknown["state"] == "failed", unknown
    assert "the gate dataset 'scoring-2026' cannot be read back: no dataset of that name was logged" in unknown["error"]  # fmt: skip
    assert len(mm.versions("risk")) == 1
    with Store.open(str(store_dir)) as st:
        assert [e.action for e in st.audit_log("risk")].count("retraining.failed") == 2


def test_a_gate_dataset_path_is_read_with_its_digest_and_scored(tmp_path: Path) -> None:
    import numpy as np
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import mean_absolute_error, roc_auc_score

    from jupyter_mm.client.datasets import describe
    from jupyter_mm.core.models.format import load_model, save_model

    frame = _labelled(120, 5)
    path = tmp_path / "scoring.parquet"
    frame.to_parquet(path)
    with Store.open(str(tmp_path / "s")) as st:
        rows, info = rt._read_gate_dataset(
            st, {"path": str(path), "name": "scoring", "label": "y"}, []
        )
        assert info["digest"] == describe(str(path), "scoring").digest
        assert (info["rows"], info["run_id"], info["source"]) == (120, None, str(path.resolve()))
        assert rows.equals(frame)
        with pytest.raises(mm.InvalidInput, match="does not exist"):
            rt._read_gate_dataset(
                st, {"path": str(tmp_path / "gone.csv"), "name": "g", "label": "y"}, []
            )
    x, y = frame[["a", "b"]], frame["y"].to_numpy()
    save_model(LogisticRegression().fit(x, y), tmp_path / "clf", input_example=x.head())
    clf = rt.dataset_metrics(load_model(tmp_path / "clf"), frame.drop(columns=["y"]), y)
    proba = LogisticRegression().fit(x, y).predict_proba(x)[:, 1]
    assert clf["auc"] == pytest.approx(roc_auc_score(y, proba), abs=1e-9)
    target = frame["a"].to_numpy() * 2
    save_model(LinearRegression().fit(x, target), tmp_path / "reg", input_example=x.head())
    reg = rt.dataset_metrics(load_model(tmp_path / "reg"), x, target)
    predicted = LinearRegression().fit(x, target).predict(x)
    assert reg["mae"] == pytest.approx(mean_absolute_error(target, predicted), abs=1e-9)
    assert "auc" not in reg and np.isfinite(reg["rmse"])  # labels of many values: no AUC


def test_a_policy_naming_its_run_re_runs_that_run_not_the_champions(
    tmp_path: Path, store_dir: Path
) -> None:
    champion_run = _champion(tmp_path, store_dir, "named")
    other = tmp_path / "other"
    other.mkdir()
    refit = TRAIN.format(name="refit").replace("n = 40", "n = 120")
    track_notebook(other, store_dir, ["%load_ext jupyter_mm", refit])
    named = only_run(store_dir, "refit")
    policy = mm.set_retraining_policy("named", triggers=["manual"], run_id=named.id,
                                      gate=[{"metric": "r2", "threshold": 0.0}])  # fmt: skip
    assert policy["run_id"] == named.id

    rec = mm.retrain("named", timeout=180)

    assert rec["state"] == "pending_approval", rec
    assert rec["source_run_id"] == named.id != champion_run
    new = mm.get_run(rec["run_id"])
    assert new.tags["mm.rerun_of"] == named.id and new.name == "refit"
    [v2] = [v for v in mm.versions("named") if v.version == 2]
    assert v2.run_id == new.id


def test_a_failed_retraining_is_delivered_as_a_webhook(tmp_path: Path, store_dir: Path) -> None:
    source = _champion(tmp_path, store_dir, "broken")
    # no rows to fit: the re-run's tracked cell raises, so the retraining fails
    mm.set_retraining_policy("broken", triggers=["manual"], params={"n": 0})
    with receiver(secret="s3cr3t") as http, Store.open(str(store_dir)) as st:
        st.create_webhook("ops", http.url, ["retraining.failed"], actor="alice",
                          secret="s3cr3t", allow_private=True, model="broken")  # fmt: skip
        rec = mm.retrain("broken", timeout=180)
        assert rec["state"] == "failed" and rec["version"] is None, rec
        WebhookDispatcher(st, allow_private=True).run_once()
        [got] = http.wait_for(1)
    assert got.verified
    body = json.loads(got.body)
    assert (body["entity"], body["action"]) == ("retraining", "failed")
    data = body["data"]
    assert data["retraining_id"] == rec["retraining_id"] and data["source_run_id"] == source
    assert data["state"] == "failed" and "the re-run failed" in data["error"]
    assert "ValueError" in data["error"]  # why, as the kernel said it
    assert len(mm.versions("broken")) == 1
