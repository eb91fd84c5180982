"""Approvals and registry policies on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from jupyter_mm.core.registry import Policy, PolicyChange
from jupyter_mm.core.store import Store
from jupyter_mm.errors import Conflict, InvalidInput, PolicyViolation


@pytest.fixture
def versions(store: Store) -> Store:
    store.create_registered_model("credit", actor="dev")
    for _ in range(3):
        store.create_model_version("credit", "s3://b/m", actor="dev")
    return store


def test_request_then_approve_by_another_user(versions: Store) -> None:
    store = versions
    v = store.request_approval(
        "credit", 1, actor="dev", comment="AUC 0.81 on OOT", evidence=["runs:/abc/report.html"]
    )
    assert v.approval_status == "PendingManualApproval"
    assert v.approval is not None and v.approval.evidence == ("runs:/abc/report.html",)
    with pytest.raises(PolicyViolation, match="four_eyes") as e:
        store.approve("credit", 1, actor="dev", comment="self-approved")
    assert e.value.code == "PERMISSION_DENIED" and e.value.http_status == 403
    with pytest.raises(InvalidInput, match="comment"):
        store.approve("credit", 1, actor="validator", comment="  ")
    v = store.approve("credit", 1, actor="validator", comment="independent validation passed")
    assert v.approval is not None
    assert (v.approval_status, v.approval.decided_by, v.approval.decision_comment) == (
        "Approved",
        "validator",
        "independent validation passed",
    )
    with pytest.raises(Conflict, match="already Approved"):
        store.approve("credit", 1, actor="validator", comment="again")
    with pytest.raises(Conflict, match="already Approved"):
        store.request_approval("credit", 1, actor="dev")
    entries = [
        (e.action, e.actor, e.version, e.before, e.after, e.comment)
        for e in store.audit_log("credit")
        if e.action.startswith("approval.")
    ]
    assert entries == [
        (
            "approval.requested",
            "dev",
            1,
            None,
            {"status": "PendingManualApproval", "evidence": ["runs:/abc/report.html"]},
            "AUC 0.81 on OOT",
        ),
        (
            "approval.approved",
            "validator",
            1,
            {"status": "PendingManualApproval"},
            {"status": "Approved"},
            "independent validation passed",
        ),
    ]


def test_rejection_is_final_and_revocation_is_explicit(versions: Store) -> None:
    store = versions
    with pytest.raises(Conflict, match="request_approval first"):
        store.reject("credit", 2, actor="validator", comment="no")
    store.request_approval("credit", 2, actor="dev")
    store.reject("credit", 2, actor="validator", comment="unstable KS")
    with pytest.raises(Conflict, match="final"):
        store.request_approval("credit", 2, actor="dev")
    store.request_approval("credit", 3, actor="dev")
    store.approve("credit", 3, actor="validator", comment="ok")
    v = store.reject("credit", 3, actor="validator", comment="data issue found after approval")
    assert v.approval_status == "Rejected"
    assert [e.after for e in store.audit_log("credit") if e.version == 3][-1] == {
        "status": "Rejected"
    }


def test_four_eyes_can_be_turned_off_per_model(versions: Store) -> None:
    store = versions
    assert store.registry_policy() == Policy(four_eyes=True, approved_aliases_only=False)
    store.set_registry_policy(
        PolicyChange(four_eyes=False), actor="admin", name="credit", comment="sandbox"
    )
    assert store.registry_policy("credit").four_eyes is False
    assert store.registry_policy().four_eyes is True  # store-wide unchanged
    store.request_approval("credit", 1, actor="dev")
    assert store.approve("credit", 1, actor="dev", comment="sandbox").approval_status == "Approved"
    policy_entries = [e for e in store.audit_log() if e.action == "policy.set"]
    assert [
        (e.model_name, e.before["four_eyes"], e.after["four_eyes"]) for e in policy_entries
    ] == [("credit", True, False)]


def test_aliases_restricted_to_approved_versions(versions: Store) -> None:
    store = versions
    store.set_registered_model_alias("credit", "champion", 1, actor="dev")  # default: allowed
    store.set_registry_policy(
        PolicyChange(approved_aliases_only=True), actor="admin", comment="SR 11-7"
    )
    assert store.registry_policy("credit").approved_aliases_only is True
    with pytest.raises(PolicyViolation, match="not submitted for approval"):
        store.set_registered_model_alias("credit", "challenger", 2, actor="dev")
    store.request_approval("credit", 2, actor="dev")
    with pytest.raises(PolicyViolation, match="PendingManualApproval"):
        store.set_registered_model_alias("credit", "champion", 2, actor="dev")
    store.approve("credit", 2, actor="validator", comment="ok")
    store.set_registered_model_alias("credit", "champion", 2, actor="dev")
    assert store.get_registered_model("credit").aliases == {"champion": 2}
    # a version holding an alias cannot have its approval revoked under the policy
    with pytest.raises(PolicyViolation, match="champion"):
        store.reject("credit", 2, actor="validator", comment="revoke")
    # a per-model override wins over the store-wide setting
    store.set_registry_policy(
        PolicyChange(approved_aliases_only=False), actor="admin", name="credit"
    )
    store.set_registered_model_alias("credit", "challenger", 3, actor="dev")
    assert store.get_registered_model("credit").aliases == {"champion": 2, "challenger": 3}


def test_stages_obey_the_alias_policy(versions: Store) -> None:
    """Staging and Production are MLflow's aliases of old: under approved_aliases_only only an
    Approved version enters them; leaving them (None, Archived) is always allowed; a version
    placed there before the policy is not what Production resolves to; a staged version's
    approval cannot be revoked."""
    store = versions
    store.transition_model_version_stage("credit", 1, "Production", actor="dev")  # no policy yet
    store.set_registry_policy(PolicyChange(approved_aliases_only=True), actor="admin")
    store.request_approval("credit", 2, actor="dev")
    for stage in ("Production", "staging"):
        with pytest.raises(PolicyViolation, match="PendingManualApproval") as e:
            store.transition_model_version_stage("credit", 2, stage, actor="dev")
        assert e.value.details == {"policy": "approved_aliases_only"}
    with pytest.raises(PolicyViolation, match="not submitted for approval"):
        store.transition_model_version_stage("credit", 3, "Production", actor="dev")
    assert [v.stage for v in store.list_model_versions("credit")] == ["None", "None", "Production"]
    assert not [
        e for e in store.audit_log("credit") if e.version == 2 and e.action == "version.stage"
    ]
    # version 1 went to Production before the policy: the policy keeps it from being served
    assert store.get_latest_versions("credit", ["Production"]) == []
    # out of service is always allowed: Archived and None are not promotions
    store.transition_model_version_stage("credit", 3, "Archived", actor="dev")
    store.approve("credit", 2, actor="validator", comment="ok")
    v = store.transition_model_version_stage(
        "credit", 2, "Production", actor="dev", archive_existing_versions=True
    )
    assert v.stage == "Production"
    assert [v.version for v in store.get_latest_versions("credit", ["Production"])] == [2]
    assert store.get_model_version("credit", 1).stage == "Archived"
    with pytest.raises(PolicyViolation, match="stage Production"):
        store.reject("credit", 2, actor="validator", comment="revoke")
    store.transition_model_version_stage("credit", 2, "None", actor="dev")
    store.reject("credit", 2, actor="validator", comment="revoked once out of production")
    assert store.verify_audit().ok


def test_bad_approval_input(versions: Store) -> None:
    store = versions
    n = len(store.audit_log())
    with pytest.raises(InvalidInput, match="single string"):
        store.request_approval("credit", 1, actor="dev", evidence="http://x")
    with pytest.raises(InvalidInput, match="empty"):
        store.request_approval("credit", 1, actor="dev", evidence=[""])
    with pytest.raises(InvalidInput, match="at most"):
        store.request_approval("credit", 1, actor="dev", evidence=[f"l{i}" for i in range(51)])
    with pytest.raises(InvalidInput, match="actor"):
        store.approve("credit", 1, actor=" ", comment="x")
    with pytest.raises(InvalidInput, match="True or False"):
        store.set_registry_policy(PolicyChange(four_eyes="yes"), actor="admin")  # type: ignore[arg-type]
    assert len(store.audit_log()) == n
    assert store.get_model_version("credit", 1).approval is None


def test_approvers_store_wide_and_per_model(versions: Store) -> None:
    """A bank names its validators: only they decide; a model may name its own."""
    store = versions
    assert store.registry_policy().approvers == ()
    policy = store.set_registry_policy(
        PolicyChange(approvers=["val.a", "val.b", "val.a"]), actor="admin", comment="MRM validators"
    )
    assert policy.approvers == ("val.a", "val.b")  # each once, in the order given
    assert store.registry_policy("credit").approvers == ("val.a", "val.b")
    for v in (1, 2, 3):
        store.request_approval("credit", v, actor="dev")
    with pytest.raises(PolicyViolation) as e:
        store.approve("credit", 1, actor="dev.colleague", comment="looks fine")
    assert str(e.value.message) == (
        "dev.colleague may not approve version 1 of 'credit' (policy approvers: only "
        "val.a, val.b may approve or reject)"
    )
    assert e.value.http_status == 403
    with pytest.raises(PolicyViolation, match="may not reject"):
        store.reject("credit", 1, actor="dev.colleague", comment="no")
    assert store.get_model_version("credit", 1).approval_status == "PendingManualApproval"
    assert store.approve("credit", 1, actor="val.a", comment="validated").approval_status == (
        "Approved"
    )

    # a per-model override wins; the store-wide list is untouched
    store.set_registry_policy(
        PolicyChange(approvers=["val.c"]), actor="admin", name="credit", comment="ours"
    )
    assert store.registry_policy("credit").approvers == ("val.c",)
    assert store.registry_policy().approvers == ("val.a", "val.b")
    with pytest.raises(PolicyViolation, match="only val.c may"):
        store.approve("credit", 2, actor="val.a", comment="validated")
    # revoking an approval is a decision too
    with pytest.raises(PolicyViolation, match="only val.c may"):
        store.reject("credit", 1, actor="val.b", comment="revoke")
    assert store.approve("credit", 2, actor="val.c", comment="ok").approval_status == "Approved"
    # four eyes still applies to a named approver who requested the approval
    store.set_registry_policy(
        PolicyChange(approvers=["dev", "val.c"]), actor="admin", name="credit"
    )
    with pytest.raises(PolicyViolation, match="four_eyes"):
        store.approve("credit", 3, actor="dev", comment="mine")
    # an empty override lets anyone decide this model again
    store.set_registry_policy(PolicyChange(approvers=[]), actor="admin", name="credit")
    assert store.registry_policy("credit").approvers == ()
    assert store.reject("credit", 3, actor="anyone", comment="no").approval_status == "Rejected"

    changes = [
        (e.actor, e.model_name, e.before["approvers"], e.after["approvers"], e.comment)
        for e in store.audit_log()
        if e.action == "policy.set"
    ]
    assert changes == [
        ("admin", None, [], ["val.a", "val.b"], "MRM validators"),
        ("admin", "credit", ["val.a", "val.b"], ["val.c"], "ours"),
        ("admin", "credit", ["val.c"], ["dev", "val.c"], ""),
        ("admin", "credit", ["dev", "val.c"], [], ""),
    ]
    refused = [e for e in store.audit_log("credit") if e.actor == "dev.colleague"]
    assert refused == []  # a refusal changes nothing and records nothing
    assert store.verify_audit().ok


def test_setting_the_same_approvers_again_is_not_a_change(versions: Store) -> None:
    store = versions
    store.set_registry_policy(PolicyChange(approvers=["val"]), actor="admin")
    n = len(store.audit_log())
    store.set_registry_policy(PolicyChange(approvers=["val", "val"]), actor="admin")
    assert len(store.audit_log()) == n
    # a model pinning the store-wide value is a change (later store-wide changes skip it)
    store.set_registry_policy(
        PolicyChange(approvers=["val"]), actor="admin", name="credit", comment="pin"
    )
    store.set_registry_policy(PolicyChange(approvers=["val"]), actor="admin", name="credit")
    (pin,) = store.audit_log()[n:]
    assert (pin.model_name, pin.comment) == ("credit", "pin")
    assert (pin.before["approvers"], pin.after["approvers"]) == (["val"], ["val"])
    assert (pin.before["overrides"], pin.after["overrides"]) == ([], ["approvers"])
    store.set_registry_policy(PolicyChange(approvers=["other"]), actor="admin")
    assert store.registry_policy("credit").approvers == ("val",)
    # other fields left None keep their values
    store.set_registry_policy(PolicyChange(four_eyes=False), actor="admin")
    assert store.registry_policy() == Policy(
        four_eyes=False, approved_aliases_only=False, approvers=("other",)
    )


@pytest.mark.parametrize(
    "approvers,message",
    [
        ("val.a", "a single string: wrap it in a list"),
        ({"val.a": True}, "must be a list of user names"),
        ([""], "each entry must be a non-empty user name"),
        (["ok", 7], "each entry must be a non-empty user name, got 7"),
        (["bad\x00name"], "each entry must be a non-empty user name"),
        ([f"u{i}" for i in range(1001)], "at most 1000 names"),
    ],
)
def test_bad_approvers_are_refused_before_any_write(
    versions: Store, approvers: object, message: str
) -> None:
    store = versions
    n = len(store.audit_log())
    for name in (None, "credit"):
        with pytest.raises(InvalidInput, match=message.replace(".", r"\.")):
            store.set_registry_policy(
                PolicyChange(approvers=approvers, four_eyes=False),  # type: ignore[arg-type]
                actor="admin",
                name=name,
            )
    assert len(store.audit_log()) == n
    assert store.registry_policy("credit") == Policy()
