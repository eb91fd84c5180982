"""The model registry through a tracking server: ``mm.*`` with ``MM_TRACKING_URI=http://...`` against
a real team server (``jupyter mm server``, a subprocess with per-user tokens) over SQLite and over
PostgreSQL, reached through a TCP proxy that can take the server away.

The bank's story: alice logs a model and registers it, asks for approval; her own approval is
refused (four eyes, whoever ``MM_USER`` claims), bob approves, ``champion`` moves, and the
auditor's questions (which version was champion then, who approved it, where it came from) are
answered from the server, as its own store answers them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import jupyter_mm as mm
from jupyter_mm.client import backend, tracking
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.core.registry import AuditEntry, ModelVersion, Policy, RegisteredModel
from jupyter_mm.core.registry.lineage import lineage as store_lineage
from jupyter_mm.core.store import Store
from jupyter_mm.core.webhooks import WebhookChange
from jupyter_mm.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    Unavailable,
)
from jupyter_mm.server.identity import new_token, token_digest
from tests.support.postgres import create_database

from .test_remote_support import REPO, Proxy, free_port, wait_for

BASE = "/hub/"


@dataclass
class Team:
    url: str  # http://127.0.0.1:PORT/hub/
    port: int
    tokens: dict[str, str]
    store_uri: str
    artifact_uri: str | None
    log: Path

    def store(self) -> Store:
        """The server's own store, opened beside it (what the answers must agree with)."""
        return Store.open(self.store_uri, artifact_uri=self.artifact_uri)


def _ready(url: str, token: str) -> bool:
    req = urllib.request.Request(
        f"{url}jupyter-mm/api/status", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def team_server(root: Path, store_uri: str, artifact_uri: str | None) -> Iterator[Team]:
    """``jupyter mm server`` with a users file: alice (a writer), bob (the validator, an
    admin: he also sets registry policies) and rita (an auditor, a reader), each with a token."""
    root.mkdir(parents=True, exist_ok=True)
    tokens = {"alice": new_token(), "bob": new_token(), "rita": new_token()}
    users = root / "users.json"
    users.write_text(
        json.dumps(
            {
                "alice": token_digest(tokens["alice"]),
                "bob": {"token": token_digest(tokens["bob"]), "role": "admin"},
                "rita": {"token": token_digest(tokens["rita"]), "role": "reader"},
            }
        )
    )
    port = free_port()
    args = [
        "--store",
        store_uri,
        "--port",
        str(port),
        "--base-url",
        BASE,
        "--users-file",
        str(users),
    ]
    if artifact_uri:
        args += ["--artifacts", artifact_uri]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MM_", "JUPYTER"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
    env["MM_WEBHOOK_ALLOW_PRIVATE"] = "1"  # the webhook test's receiver is on 127.0.0.1
    log = root / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "mm", "server", *args],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}{BASE}"
    try:
        try:
            wait_for(
                lambda: proc.poll() is not None or _ready(url, tokens["alice"]),
                timeout=90,
                what="the team server",
            )
        except AssertionError:
            raise RuntimeError(
                "the team server did not start:\n" + log.read_text()[-3000:]
            ) from None
        if proc.poll() is not None:
            raise RuntimeError("the team server exited:\n" + log.read_text()[-3000:])
        yield Team(url, port, tokens, store_uri, artifact_uri, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def team(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Team]:
    root = tmp_path_factory.mktemp(f"team-registry-{request.param}")
    if request.param == "sqlite":
        store_uri, artifacts = f"sqlite:///{root / 'team.db'}", None
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        store_uri = create_database(admin, f"mm_remote_registry_{uuid.uuid4().hex[:8]}")
        artifacts = str(root / "artifacts")
    with team_server(root / "server", store_uri, artifacts) as srv:
        yield srv


@pytest.fixture
def proxy(team: Team) -> Iterator[Proxy]:
    p = Proxy(team.port)
    yield p
    p.close()


AsUser = Callable[[str], RemoteStore]


@pytest.fixture
def as_user(
    team: Team, proxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AsUser]:
    """``as_user("alice")`` points ``mm`` at the team server (through the proxy) with alice's
    token, as she would configure it: ``MM_TRACKING_URI`` and ``MM_TRACKING_TOKEN``."""
    for var in ("MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI", "MM_USER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("MM_HTTP_RETRIES", "2")
    monkeypatch.setenv("MM_HTTP_BACKOFF", "0.05")
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    monkeypatch.setattr(tracking, "_experiment_ids", {})

    def switch(user: str) -> RemoteStore:
        monkeypatch.setenv("MM_TRACKING_TOKEN", team.tokens.get(user, user))
        monkeypatch.setenv("MM_TRACKING_URI", proxy.url(BASE))
        mm.set_tracking_uri(None)  # the next call opens a client with this token
        store = backend.get_store()
        assert isinstance(store, RemoteStore)
        return store

    try:
        yield switch
    finally:
        try:
            while mm.active_run() is not None:
                mm.end_run()
        finally:
            mm.set_tracking_uri(None)


def _data() -> tuple[Any, Any]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return x, y


def _train_and_log(name: str, c: float = 1.0) -> tuple[str, Any, Any]:
    """A run with a fitted model logged as ``name``: (run id, model info, estimator)."""
    x, y = _data()
    with mm.start_run(experiment="credit-scoring", params={"C": c}) as run:
        clf = LogisticRegression(C=c).fit(x, y)
        mm.log_dataset(x, "applications")
        mm.log_metric("auc", 0.91)
        info = mm.log_model(clf, name, input_example=x[:5])
    return run.id, info, clf


# --- the story -----------------------------------------------------------------------------------


def test_the_bank_story_through_mm(
    team: Team, as_user: AsUser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = f"credit-{uuid.uuid4().hex[:8]}"
    x, _ = _data()

    # alice logs and registers the best run's model
    as_user("alice")
    run_id, info, clf = _train_and_log("scorer")
    v1 = mm.register_model(info, model, description="logistic baseline")
    assert isinstance(v1, ModelVersion)
    assert (v1.name, v1.version, v1.run_id, v1.model_path) == (model, 1, run_id, "models/scorer")
    assert v1.user_id == "alice" and v1.source == f"runs:/{run_id}/models/scorer"
    assert [m.owner for m in mm.models(f"name = '{model}'")] == ["alice"]

    pending = mm.request_approval(
        model, 1, "validated on the Q1 hold-out", evidence=[info.model_uri]
    )
    assert pending.approval is not None
    assert (pending.approval.status, pending.approval.requested_by) == (
        "PendingManualApproval",
        "alice",
    )
    assert pending.approval.evidence == (info.model_uri,)

    # four eyes: alice cannot approve her own request, whoever the client claims to be
    with pytest.raises(PolicyViolation, match="four_eyes"):
        mm.approve(model, 1, "looks fine to me")
    monkeypatch.setenv("MM_USER", "bob")
    with pytest.raises(PolicyViolation, match="four_eyes"):
        mm.approve(model, 1, "I am bob, honestly")
    monkeypatch.delenv("MM_USER")

    # bob, the validator, approves; champion moves to version 1
    as_user("bob")
    approved = mm.approve(model, 1, "back-test and fairness checks passed")
    assert approved.approval is not None
    assert (approved.approval.status, approved.approval.decided_by) == ("Approved", "bob")
    mm.set_registry_policy(name=model, approved_aliases_only=True, comment="bank policy")
    assert mm.registry_policy(model).approved_aliases_only is True
    mm.set_alias(model, "champion", 1, comment="first champion")

    loaded = mm.load_model(f"models:/{model}@champion")
    assert np.array_equal(loaded.predict(x[:7]), clf.predict(x[:7]))
    assert np.array_equal(mm.load_model(f"models:/{model}/1").predict(x[:3]), clf.predict(x[:3]))
    with pytest.raises(InvalidInput):  # the signature is checked: three columns, not two
        loaded.predict(x[:3, :2])

    # a challenger: registered by alice, not approved, so it cannot become champion yet
    as_user("alice")
    _, info2, clf2 = _train_and_log("scorer", c=0.1)
    assert mm.register_model(info2.model_uri, model).version == 2
    with pytest.raises(PolicyViolation, match="approved"):
        mm.set_alias(model, "champion", 2)
    mm.request_approval(model, 2, "stronger regularisation")
    as_user("bob")
    mm.approve(model, 2, "better calibrated")
    mm.set_alias(model, "champion", 2, comment="promoted")
    assert np.array_equal(
        mm.load_model(f"models:/{model}@champion").predict(x[:7]), clf2.predict(x[:7])
    )
    assert [v.version for v in mm.versions(model)] == [2, 1]

    # the auditor: which version was champion when, who approved it, from which data
    history = mm.alias_history(model, "champion")
    assert [h.after["version"] for h in history] == [1, 2]
    assert [h.actor for h in history] == ["bob", "bob"]
    first, moved = history[0].time, history[1].time
    assert mm.resolve(model, "champion") == 2
    assert mm.resolve(model, "champion", at=first - 1) is None
    assert mm.resolve(model, "champion", at=history[1].datetime) == 2
    assert mm.resolve(model, "champion", at=first) == (1 if moved > first else 2)
    assert mm.resolve(model, "champion", at=dt.date(2000, 1, 1)) is None
    with team.store() as store:
        for at in (first - 1, first, moved, history[1].datetime, dt.date.today()):
            assert mm.resolve(model, "champion", at=at) == store.resolve(model, "champion", at)

        entries = mm.audit_log(model)
        assert entries == store.audit_log(model)  # hashes and all, as the server recorded them
        assert all(isinstance(e, AuditEntry) for e in entries)
        by_action = {(e.action, e.version): e.actor for e in entries}
        assert by_action[("version.created", 1)] == "alice"
        assert by_action[("approval.requested", 1)] == "alice"
        assert by_action[("approval.approved", 1)] == "bob"
        assert {e.actor for e in entries} == {"alice", "bob"}

        report = mm.verify_audit()
        assert report.ok and report.head_hash == store.verify_audit().head_hash
        assert mm.verify_audit(expected_head=report.head_hash).ok
        tampered = mm.verify_audit(expected_head="0" * 64)
        assert not tampered.ok and [p.kind for p in tampered.problems] == ["head_mismatch"]

        path = tmp_path / "audit.jsonl"
        assert mm.export_audit(str(path)) == len(store.audit_log())
        assert path.read_text() == "".join(store.iter_audit_jsonl())
        stream = io.StringIO()
        assert mm.export_audit(stream) == len(store.audit_log())

        lineage = mm.lineage(model, 1)
        assert lineage == json.loads(json.dumps(store_lineage(store, model, 1)))
        assert lineage["run"]["id"] == run_id
        assert [d["name"] for d in lineage["datasets"]] == ["applications"]
        assert lineage["model"]["approval"]["decided_by"] == "bob"

    # the model card: facts from the server, fields written by alice (audited as hers)
    as_user("alice")
    fields = mm.update_model_card(
        model, 1, comment="card", intended_use="retail credit <scoring>", limitations="none known"
    )
    assert fields == {"intended_use": "retail credit <scoring>", "limitations": "none known"}
    card = mm.model_card(model, 1)
    assert isinstance(card, str) and "retail credit &lt;scoring&gt;" in card and "bob" in card
    assert "<scoring>" not in mm.model_card(model, 1, format="html")
    as_json = mm.model_card(model, 1, format="json")
    assert isinstance(as_json, dict) and as_json["model_details"]["name"] == model
    assert mm.audit_log(model)[-1].actor == "alice"

    registered = {m.name: m for m in mm.models()}
    assert isinstance(registered[model], RegisteredModel)
    assert registered[model].aliases == {"champion": 2}


def test_registry_mistakes_are_clear_errors(team: Team, as_user: AsUser) -> None:
    model = f"credit-{uuid.uuid4().hex[:8]}"
    as_user("alice")
    with pytest.raises(NotFound):
        mm.versions(model)
    with pytest.raises(NotFound):
        mm.register_model(f"runs:/{uuid.uuid4().hex}/models/none", model)
    with pytest.raises(InvalidInput, match="runs:/RUN_ID/PATH"):
        mm.register_model("runs:/only-a-run", model)
    with pytest.raises(NotFound):
        mm.load_model(f"models:/{model}@champion")
    assert mm.resolve(model, "champion") is None  # as a local store answers
    run_id, info, _ = _train_and_log("m")
    store = as_user("alice")
    for bad in (
        f"runs:/{run_id}/models/m/%2E%2E/%2E%2E/x",
        "mlflow-artifacts://host:9000/models/../../../",
        "s3://bucket/models?x=../../etc",
        "/etc",
    ):
        with pytest.raises(InvalidInput, match="Invalid model version source"):
            mm.register_model(bad, model)
        with pytest.raises(InvalidInput, match="Invalid model version source"):
            store.create_model_version(model, bad)
    mm.register_model(info, model)
    assert [v.version for v in mm.versions(model)] == [1]  # nothing half-registered before
    with pytest.raises(InvalidInput, match="alias"):
        mm.load_model(f"models:/{model}@champion")  # no such alias
    with pytest.raises(InvalidInput, match="comment"):
        mm.approve(model, 1, "")
    with pytest.raises(InvalidInput, match="reserved"):
        mm.set_alias(model, "latest", 1)
    assert mm.registry_policy() == Policy(four_eyes=True, approved_aliases_only=False)
    with pytest.raises(InvalidInput, match="a single string: wrap it in a list"):
        mm.set_registry_policy(name=model, approvers="bob")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="True or False"):
        mm.set_registry_policy(name=model, four_eyes="yes")  # type: ignore[arg-type]
    as_user("mallory")  # a token the server does not know: refused, not a policy matter
    with pytest.raises(PermissionDenied, match="MM_TRACKING_TOKEN"):
        mm.versions(model)


def test_approvers_and_who_may_set_them(team: Team, as_user: AsUser) -> None:
    """Only an admin of the team server (bob) sets policies; alice, a writer, is told so, not
    asked for another token. Under ``approvers`` only the named users decide."""
    model = f"credit-{uuid.uuid4().hex[:8]}"
    as_user("alice")
    _, info, _ = _train_and_log("m")
    mm.register_model(info, model)
    mm.request_approval(model, 1, "please validate")
    with pytest.raises(PermissionDenied) as e:
        mm.set_registry_policy(name=model, approvers=["alice"])
    assert "only administrators may change registry policies" in str(e.value)
    assert "MM_TRACKING_TOKEN" not in str(e.value)
    assert mm.registry_policy(model).approvers == ()

    as_user("bob")
    policy = mm.set_registry_policy(name=model, approvers=["carol"], comment="validators")
    assert policy.approvers == ("carol",) and mm.registry_policy(model).approvers == ("carol",)
    assert mm.registry_policy().approvers == ()  # store-wide unchanged
    with pytest.raises(PolicyViolation, match=r"\(policy approvers: only carol may"):
        mm.approve(model, 1, "validated")
    mm.set_registry_policy(name=model, approvers=["bob", "carol"])
    assert mm.approve(model, 1, "validated").approval_status == "Approved"
    changes = [
        (e.actor, e.after["approvers"]) for e in mm.audit_log(model) if e.action == "policy.set"
    ]
    assert changes == [("bob", ["carol"]), ("bob", ["bob", "carol"])]
    assert mm.verify_audit().ok


def test_a_reader_reads_and_is_told_why_it_may_not_write(team: Team, as_user: AsUser) -> None:
    """rita audits: she reads runs and the registry; a write is refused for her role (not
    spooled, and without asking for another token)."""
    model = f"audited-{uuid.uuid4().hex[:8]}"
    as_user("alice")
    run_id, info, _ = _train_and_log("m")
    mm.register_model(info, model)
    store = as_user("rita")
    assert [m.name for m in mm.models(filter=f"name = '{model}'")] == [model]
    assert mm.get_run(run_id).metrics["auc"] == 0.91
    assert mm.verify_audit().ok
    for write in (
        lambda: mm.start_run(experiment="credit-scoring"),
        lambda: mm.set_alias(model, "champion", 1),
    ):
        with pytest.raises(PermissionDenied) as e:
            write()
        assert "has the reader role" in str(e.value)
        assert "MM_TRACKING_TOKEN" not in str(e.value)
    assert not store.spool.pending()
    with team.store() as st:
        assert st.get_registered_model(model).aliases == {}


def test_rename_a_model_and_delete_a_version(team: Team, as_user: AsUser) -> None:
    """No ``mm.*`` call renames a model or deletes a version: the store the client opens does,
    through the server, which records who acted; the alias on a deleted version goes with it."""
    model, taken = (f"credit-{uuid.uuid4().hex[:8]}" for _ in range(2))
    renamed = f"{model}-sme"
    store = as_user("alice")
    _, info, clf = _train_and_log("scorer")
    mm.register_model(info, model)
    mm.register_model(info, model)
    store.create_registered_model(taken)
    mm.set_alias(model, "champion", 2)
    mm.set_alias(model, "challenger", 1)

    store = as_user("bob")
    with pytest.raises(AlreadyExists, match="already exists"):
        store.rename_registered_model(model, taken)
    with pytest.raises(InvalidInput, match="cannot contain"):
        store.rename_registered_model(model, "credit/sme")
    with pytest.raises(NotFound):
        store.rename_registered_model(f"nope-{model}", f"{renamed}-2")
    got = store.rename_registered_model(model, renamed, actor="mallory", comment="SME book")
    assert isinstance(got, RegisteredModel) and (got.name, got.owner) == (renamed, "alice")
    assert got.aliases == {"champion": 2, "challenger": 1}
    with pytest.raises(NotFound):
        mm.versions(model)
    assert [v.version for v in mm.versions(renamed)] == [2, 1]
    x, _ = _data()
    assert np.array_equal(mm.load_model(f"models:/{renamed}@champion").predict(x), clf.predict(x))

    store.delete_model_version(renamed, 2, actor="mallory", comment="leaked hold-out")
    assert [v.version for v in mm.versions(renamed)] == [1]
    assert mm.resolve(renamed, "champion") is None
    assert store.get_registered_model(renamed).aliases == {"challenger": 1}
    with pytest.raises(NotFound):
        store.delete_model_version(renamed, 2)

    entries = mm.audit_log(renamed)
    assert [
        (e.actor, e.before, e.after, e.comment) for e in entries if e.action == "model.renamed"
    ] == [("bob", {"name": model}, {"name": renamed}, "SME book")]
    assert [(e.action, e.actor, e.version, e.alias, e.comment) for e in entries[-2:]] == [
        ("alias.deleted", "bob", 2, "champion", "model version deleted"),
        ("version.deleted", "bob", 2, None, "leaked hold-out"),
    ]
    with team.store() as server:
        assert entries == server.audit_log(renamed)
        assert server.verify_audit().ok
    assert mm.verify_audit().ok


def test_registry_calls_need_the_server(team: Team, as_user: AsUser, proxy: Proxy) -> None:
    """Reads and writes raise Unavailable while the server is unreachable; writes are not
    spooled, and work again once it is back."""
    model = f"credit-{uuid.uuid4().hex[:8]}"
    store = as_user("alice")
    _, info, clf = _train_and_log("m")
    mm.register_model(info, model)
    proxy.down()
    with pytest.raises(Unavailable, match="unreachable"):  # it first reads the run's model
        mm.register_model(info, model)
    writes: list[Callable[[], Any]] = [
        lambda: mm.set_registry_policy(name=model, four_eyes=True),
        lambda: mm.set_alias(model, "champion", 1),
        lambda: mm.request_approval(model, 1, "please"),
        lambda: mm.approve(model, 1, "ok"),
        lambda: mm.update_model_card(model, 1, intended_use="x"),
        lambda: store.rename_registered_model(model, f"{model}-2"),
        lambda: store.delete_model_version(model, 1),
    ]
    for write in writes:
        with pytest.raises(Unavailable, match="registry changes are not spooled"):
            write()
    reads: list[Callable[[], Any]] = [
        lambda: mm.versions(model),
        lambda: mm.audit_log(),
        lambda: mm.verify_audit(),
        lambda: mm.resolve(model, "champion"),
        lambda: mm.load_model(f"models:/{model}/1"),
    ]
    for read in reads:
        with pytest.raises(Unavailable, match="unreachable"):
            read()
    assert not store.spool.pending()
    proxy.up()
    mm.set_alias(model, "champion", 1)
    x, _ = _data()
    assert np.array_equal(mm.load_model(f"models:/{model}@champion").predict(x), clf.predict(x))
    assert [v.version for v in mm.versions(model)] == [1]  # nothing was replayed behind our back


def test_a_registry_change_first_sends_what_was_spooled(
    team: Team, as_user: AsUser, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs logged while the server was away reach it before a registry change that may name
    them; and no local user name is needed, since the server decides who acts."""
    model = f"credit-{uuid.uuid4().hex[:8]}"
    store = as_user("alice")
    _, info, _ = _train_and_log("m")
    proxy.down()
    with pytest.warns(RuntimeWarning, match="unreachable"):
        with mm.start_run(experiment="credit-scoring") as offline:
            mm.set_tag("written", "offline")
    assert store.offline and store.spool.pending()
    proxy.up()

    def no_user() -> str:
        raise OSError("no name for this uid")

    monkeypatch.setattr("getpass.getuser", no_user)  # as in some containers
    version = mm.register_model(info, model)
    assert version.user_id == "alice"
    assert not store.spool.pending()
    with team.store() as server:
        assert server.get_run(offline.id).tags["written"] == "offline"


def test_reference_profile_through_the_server(team: Team, as_user: AsUser) -> None:
    """``mm.register_model(..., reference=)`` against a team server: the server stores the
    profile content-addressed and tags the version as the identity it authenticated; any
    client reads it back and compares current data to it without the reference data."""
    import pandas as pd

    from jupyter_mm.core.registry.reference import REFERENCE_TAG

    model = f"credit-{uuid.uuid4().hex[:8]}"
    as_user("alice")
    _, info, clf = _train_and_log("scorer")
    x, _ = _data()
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    v = mm.register_model(info, model, reference=frame, reference_scores=clf.predict_proba(x))
    digest = v.tags[REFERENCE_TAG]
    with team.store() as server:
        assert server.reference_profile(model, 1) == {
            "digest": digest,
            "profile": json.loads(server.blobs.get_bytes(digest)),
        }
        (entry,) = [e for e in server.audit_log(model) if e.action == "version.tag_set"]
        assert (entry.actor, entry.after) == ("alice", {REFERENCE_TAG: digest})
    as_user("bob")
    assert mm.reference_profile(model, 1).rows == len(frame)
    assert mm.check_drift(model, 1, frame + 2.0).status == "drift"
    with pytest.raises(InvalidInput, match="not a reference profile"):
        backend.get_store().set_reference_profile(model, 1, {"rows": 1})
    mv = mm.versions(model)[0]
    assert mv.tags[REFERENCE_TAG] == digest
    mm.register_model(info, model)
    with pytest.raises(NotFound, match="no reference profile"):
        mm.reference_profile(model, 2)


def test_monitors_through_the_server(team: Team, as_user: AsUser) -> None:
    """``mm.monitor`` against a team server: the definition is the model tag the server audits
    as the identity it authenticated; any client lists it; a reader may not define one."""
    model = f"credit-{uuid.uuid4().hex[:8]}"
    as_user("alice")
    _, info, _ = _train_and_log("scorer")
    mm.register_model(info, model)
    m = mm.monitor(model, window="7d", every="1d", thresholds={"a": 0.2}, min_rows=500)
    as_user("rita")
    assert mm.monitors(model) == [m]
    with pytest.raises(PermissionDenied):
        mm.delete_monitor(model, "champion")
    as_user("bob")
    mm.delete_monitor(model, "champion", comment="retired")
    assert mm.monitors(model) == []
    with team.store() as server:
        entries = [e for e in server.audit_log(model) if e.action.startswith("model.tag")]
        assert [(e.action, e.actor) for e in entries] == [
            ("model.tag_set", "alice"),
            ("model.tag_deleted", "bob"),
        ]


def test_retirement_through_the_server(team: Team, as_user: AsUser) -> None:
    """``mm.deprecate_version`` / ``archive_version`` / ``reactivate_version`` against a team
    server: audited as the authenticated identity, with the reason; archiving what an alias
    holds is the same clear refusal as locally; the reply carries the lifecycle."""
    model = f"credit-{uuid.uuid4().hex[:8]}"
    as_user("alice")
    _, info, _ = _train_and_log("scorer")
    mm.register_model(info, model)
    mm.register_model(info, model)
    mm.set_alias(model, "champion", 2)
    v = mm.deprecate_version(model, 1, "v2 replaces it")
    assert (v.lifecycle, v.deprecation) == ("deprecated", "v2 replaces it")
    with pytest.raises(InvalidInput, match="alias 'champion' points at it"):
        mm.archive_version(model, 2, "too early")
    with pytest.raises(InvalidInput, match="comment saying why"):
        mm.archive_version(model, 1, "")
    as_user("bob")
    assert mm.archive_version(model, 1, "retired after review").lifecycle == "archived"
    with pytest.raises(InvalidInput, match="it is archived"):
        mm.set_alias(model, "challenger", 1)
    assert [v.lifecycle for v in mm.versions(model)] == ["active", "archived"]
    with team.store() as server:
        entries = [
            (e.action, e.actor, e.comment)
            for e in server.audit_log(model)
            if e.action in ("version.deprecated", "version.archived")
        ]
        assert entries == [
            ("version.deprecated", "alice", "v2 replaces it"),
            ("version.archived", "bob", "retired after review"),
        ]


def test_webhooks_through_the_server(team: Team, as_user: AsUser) -> None:
    """``mm.create_webhook`` on a team server: the server records who subscribed and its own
    dispatcher delivers, signed; ``mm.webhook_deliveries`` reads the log; the secret never
    comes back; a reader may not subscribe."""
    from tests.support.webhook_receiver import receiver

    model = f"credit-{uuid.uuid4().hex[:8]}"
    remote = as_user("alice")
    with receiver(secret="team-secret") as rec:
        hook = mm.create_webhook(
            "ci", rec.url, ["registered_model.created", "approval.requested"],
            model=model, secret="team-secret",
        )  # fmt: skip
        assert (hook.created_by, hook.model, hook.has_secret) == ("alice", model, True)
        assert hook.webhook_id in [h.webhook_id for h in mm.webhooks(model)]
        _, info, _ = _train_and_log("scorer")
        mm.register_model(info, model)
        got = rec.wait_for(1)[0]
    assert got.verified and got.payload["data"]["name"] == model
    # the receiver has answered before the server records the attempt
    [d] = wait_for(
        lambda: [d for d in mm.webhook_deliveries(hook) if d.status != "pending"],
        what="the delivery recorded",
    )
    assert (d.delivery_id, d.event, d.status) == (
        got.delivery_id,
        "registered_model.created",
        "succeeded",
    )
    assert d.attempt_log[0].response_status == 200
    changed = remote.update_webhook(hook.webhook_id, WebhookChange(description="CI", secret=""))
    assert (changed.description, changed.has_secret, changed.status) == ("CI", False, "ACTIVE")
    with pytest.raises(InvalidInput, match="not yet through a tracking server"):
        remote.update_webhook(hook.webhook_id, WebhookChange(airflow_auth=None))
    with pytest.raises(InvalidInput, match="unknown webhook event"):
        mm.create_webhook("bad", rec.url, ["model.renamed"])
    with pytest.raises(InvalidInput, match="not yet through a tracking server"):
        mm.create_webhook("af", rec.url, ["monitor.drift_detected"], airflow_dag="retrain")
    as_user("rita")
    with pytest.raises(PermissionDenied, match="reader"):
        mm.create_webhook("mine", rec.url, ["model_version.created"])
    as_user("alice")
    mm.delete_webhook(hook)
    with pytest.raises(NotFound):
        mm.webhook_deliveries(hook)
