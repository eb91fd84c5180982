"""Retirement: deprecate, archive, reactivate, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput


@pytest.fixture
def versions(store: Store) -> Store:
    store.create_registered_model("credit", actor="dev")
    for _ in range(3):
        store.create_model_version("credit", "s3://b/m", actor="dev")
    return store


def _lifecycle_entries(store: Store) -> list[tuple]:
    return [
        (e.action, e.actor, e.version, e.before, e.after, e.comment)
        for e in store.audit_log("credit")
        if e.action in ("version.deprecated", "version.archived", "version.reactivated")
    ]


def test_deprecate_archive_reactivate_each_audited_with_its_reason(versions: Store) -> None:
    store = versions
    v = store.set_model_version_lifecycle(
        "credit", 1, "deprecated", actor="dev", reason="v2 is better"
    )
    assert (v.lifecycle, v.deprecation, v.stage) == ("deprecated", "v2 is better", "None")
    # the same state again records nothing
    store.set_model_version_lifecycle("credit", 1, "deprecated", actor="dev", reason="v2 is better")
    v = store.set_model_version_lifecycle(
        "credit", 1, "archived", actor="risk", reason="retired 2026Q4"
    )
    assert (v.lifecycle, v.stage) == ("archived", "Archived")
    # archived versions stay readable, with their history
    assert store.get_model_version("credit", 1).lifecycle == "archived"
    v = store.set_model_version_lifecycle("credit", 1, "active", actor="risk")
    assert (v.lifecycle, v.deprecation, v.stage) == ("active", None, "None")
    assert _lifecycle_entries(store) == [
        ("version.deprecated", "dev", 1,
         {"stage": "None", "deprecation": None},
         {"stage": "None", "deprecation": "v2 is better"}, "v2 is better"),
        ("version.archived", "risk", 1,
         {"stage": "None", "deprecation": "v2 is better"},
         {"stage": "Archived", "deprecation": "v2 is better"}, "retired 2026Q4"),
        ("version.reactivated", "risk", 1,
         {"stage": "Archived", "deprecation": "v2 is better"},
         {"stage": "None", "deprecation": None}, ""),
    ]  # fmt: skip
    assert store.verify_audit().ok


def test_a_reason_is_required_and_bad_states_are_refused(versions: Store) -> None:
    store = versions
    with pytest.raises(InvalidInput, match="comment saying why"):
        store.set_model_version_lifecycle("credit", 2, "archived", actor="dev", reason=" ")
    with pytest.raises(InvalidInput, match="lifecycle must be one of"):
        store.set_model_version_lifecycle("credit", 2, "retired", actor="dev", reason="x")
    assert store.get_model_version("credit", 2).lifecycle == "active"
    assert _lifecycle_entries(store) == []


def test_nothing_that_serves_points_at_an_archived_version(versions: Store) -> None:
    store = versions
    store.set_registered_model_alias("credit", "champion", 2, actor="dev")
    with pytest.raises(InvalidInput, match="alias 'champion' points at it"):
        store.set_model_version_lifecycle("credit", 2, "archived", actor="dev", reason="old")
    # MLflow's stage transition is the same act under the same rule
    with pytest.raises(InvalidInput, match="alias 'champion' points at it"):
        store.transition_model_version_stage("credit", 2, "Archived", actor="dev")
    store.transition_model_version_stage("credit", 3, "Production", actor="dev")
    with pytest.raises(InvalidInput, match="stage Production"):
        store.set_model_version_lifecycle("credit", 3, "archived", actor="dev", reason="old")
    assert store.get_model_version("credit", 2).stage == "None"

    store.set_model_version_lifecycle("credit", 1, "archived", actor="dev", reason="old")
    with pytest.raises(InvalidInput, match="it is archived"):
        store.set_registered_model_alias("credit", "challenger", 1, actor="dev")
    assert store.get_registered_model("credit").aliases == {"champion": 2}
    # archive_existing_versions would archive version 2, which the champion holds
    store.transition_model_version_stage("credit", 2, "Production", actor="dev")
    with pytest.raises(InvalidInput, match="version 2 of 'credit' cannot be archived"):
        store.transition_model_version_stage(
            "credit", 3, "Production", actor="dev", archive_existing_versions=True
        )
    assert store.get_model_version("credit", 2).stage == "Production"
