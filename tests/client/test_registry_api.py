"""``mm.register_model`` and the registry API on a real SQLite file and a real PostgreSQL server:
the credit-scoring story from registration through approval and promotion to the auditor's
questions, with the acting user taken from ``MM_USER`` / the OS user."""

from __future__ import annotations

import datetime as dt
import getpass
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.client import registry, tracking
from jupyter_mm.errors import InvalidInput, NotFound, PolicyViolation

linear = pytest.importorskip("sklearn.linear_model")


@pytest.fixture
def mm_uri(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``mm`` pointed at a fresh store (SQLite file, then PostgreSQL) with blobs in tmp_path."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_USER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "blobs"))
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    mm.set_tracking_uri(store_uri)
    try:
        yield store_uri
    finally:
        while mm.active_run() is not None:
            mm.end_run()
        mm.set_tracking_uri(None)


def test_runs_uri_names_a_model_logged_by_name(mm_uri: str) -> None:
    """``runs:/<run>/<name>`` (what an MLflow user writes) registers and loads a model logged with
    ``mm.log_model(model, name)``, whose files are under ``models/<name>``; a sub-path too."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    y = np.array([0, 1, 1, 0])
    with mm.start_run() as run:
        info = mm.log_model(linear.LogisticRegression().fit(X, y), "model")
    assert info.artifact_path == "models/model"
    v = mm.register_model(f"runs:/{run.id}/model", "by-name")
    assert (v.run_id, v.model_path, v.source) == (run.id, "models/model", f"runs:/{run.id}/model")
    loaded = mm.load_model(f"runs:/{run.id}/model")
    assert list(loaded.predict(X)) == list(mm.load_model("models:/by-name/1").predict(X))
    with pytest.raises(NotFound):
        mm.register_model(f"runs:/{run.id}/other", "by-name")


def test_register_approve_promote_and_audit(mm_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    y = np.array([0, 1, 1, 0])
    infos = []
    for c in (0.5, 2.0):
        with mm.start_run():
            infos.append(mm.log_model(linear.LogisticRegression(C=c).fit(X, y), "scorer"))

    monkeypatch.setenv("MM_USER", "dana")  # the data scientist
    v1 = mm.register_model(infos[0], "credit")  # creates the registered model too
    v2 = mm.register_model(infos[1].model_uri, "credit", description="C=2")
    assert (v1.version, v1.run_id, v1.model_path, v1.user_id) == (
        1, infos[0].run_id, infos[0].artifact_path, "dana",
    )  # fmt: skip
    assert v2.version == 2 and v2.description == "C=2"
    with pytest.raises(NotFound):
        mm.register_model(f"runs:/{infos[0].run_id}/no-model-here", "credit")
    mm.set_registry_policy(approved_aliases_only=True, comment="SR 11-7: only validated models")
    mm.request_approval("credit", 2, comment="OOT AUC 0.81", evidence=["runs:/x/validation.html"])
    with pytest.raises(PolicyViolation):
        mm.approve("credit", 2, comment="looks fine to me")  # dana cannot approve her own
    with pytest.raises(PolicyViolation):
        mm.set_alias("credit", "champion", 2)  # not approved yet

    monkeypatch.setenv("MM_USER", "victor")  # the validator
    approved = mm.approve("credit", 2, comment="independent validation passed")
    assert approved.approval is not None and approved.approval.decided_by == "victor"
    mm.set_alias("credit", "champion", 2, comment="go live")

    assert [m.name for m in mm.models()] == ["credit"]
    assert [v.version for v in mm.versions("credit")] == [2, 1]
    assert mm.resolve("credit", "champion") == 2
    now = dt.datetime.now(dt.timezone.utc)
    assert mm.resolve("credit", "champion", at=now) == 2
    assert mm.resolve("credit", "champion", at=now - dt.timedelta(days=1)) is None
    assert [(e.action, e.actor) for e in mm.alias_history("credit", "champion")] == [
        ("alias.set", "victor")
    ]
    log = mm.audit_log("credit")
    assert [(e.action, e.actor) for e in log] == [
        ("model.created", "dana"),
        ("version.created", "dana"),
        ("version.created", "dana"),
        ("approval.requested", "dana"),
        ("approval.approved", "victor"),
        ("alias.set", "victor"),
    ]
    assert mm.verify_audit().ok
    buf = io.StringIO()
    assert mm.export_audit(buf) == len(mm.audit_log())  # the policy change is in it too
    exported = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["action"] for r in exported if r["model"] is None] == ["policy.set"]
    assert exported[-1]["actor"] == "victor" and exported[-1]["comment"] == "go live"
    # the model is loadable by its alias (mm.load_model resolves through the registry)
    loaded = mm.load_model("models:/credit@champion")
    assert (
        loaded.predict(X).tolist() == linear.LogisticRegression(C=2.0).fit(X, y).predict(X).tolist()
    )


def test_actor_is_mm_user_or_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MM_USER", raising=False)
    assert registry.current_user() == getpass.getuser()
    monkeypatch.setenv("MM_USER", "  ana ")
    assert registry.current_user() == "ana"


def test_bad_source(mm_uri: str) -> None:
    with pytest.raises(InvalidInput, match="runs:/RUN_ID/PATH"):
        mm.register_model(123, "m")
    with pytest.raises(InvalidInput, match="RUN_ID/PATH"):
        mm.register_model("runs:/abc", "m")


def test_approvers_policy_through_mm(mm_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mm.set_registry_policy(approvers=...)``: the named validator decides, nobody else."""
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 1, 0, 1])
    with mm.start_run():
        info = mm.log_model(linear.LogisticRegression().fit(X, y), "pd")
    monkeypatch.setenv("MM_USER", "dana")
    mm.register_model(info, "pd")
    mm.request_approval("pd", 1, comment="please")
    policy = mm.set_registry_policy(approvers=["victor"], comment="MRM")
    assert policy.approvers == ("victor",) and mm.registry_policy("pd").approvers == ("victor",)
    monkeypatch.setenv("MM_USER", "eve")
    with pytest.raises(PolicyViolation, match="policy approvers: only victor may"):
        mm.approve("pd", 1, comment="fine")
    monkeypatch.setenv("MM_USER", "victor")
    assert mm.approve("pd", 1, comment="validated").approval_status == "Approved"
    (change,) = [e for e in mm.audit_log() if e.action == "policy.set"]
    assert (change.actor, change.before["approvers"], change.after["approvers"]) == (
        "dana",
        [],
        ["victor"],
    )
    assert mm.verify_audit().ok


def test_register_model_refuses_a_source_that_escapes(mm_uri: str, tmp_path: Path) -> None:
    """The local store applies MLflow's source rules to ``mm.register_model`` as the servers do
    (tests/server/helpers.py lists the forms): each is InvalidInput naming the source, and
    nothing is registered, not even the model's name."""
    from tests.server.helpers import refused_sources

    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 1, 0, 1])
    with mm.start_run() as run:
        info = mm.log_model(linear.LogisticRegression().fit(X, y), "pd")
    with mm.start_run() as other:
        pass
    copied = mm.download_model(info.model_uri, tmp_path / "copy")  # a real model, outside the store
    forms = refused_sources(run.experiment_id, run.id, other.id)
    # without a run_id to contradict, another run's root is that run's own: not an escape
    forms["local"].remove(f"mlflow-artifacts:/{run.experiment_id}/{other.id}/artifacts/model")
    forms["local"] += [str(copied), f"file://{copied}"]
    for kind in ("plain", "encoded", "query", "fragment", "local"):
        for source in forms[kind]:
            with pytest.raises(InvalidInput) as e:
                mm.register_model(source, "escapes")
            assert e.value.code == "INVALID_PARAMETER_VALUE"
            assert source in e.value.message or repr(source) in e.value.message, (kind, source)
    assert "escapes" not in [m.name for m in mm.models()]
    assert mm.register_model(info, "escapes").version == 1  # the model itself registers
