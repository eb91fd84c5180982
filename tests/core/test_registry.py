"""The model registry on SQLite and PostgreSQL: models, versions, tags, aliases, stages, search,
and bad input (a clear MMError, nothing half-written)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jupyter_mm.core import schema as s
from jupyter_mm.core.registry import audit
from jupyter_mm.core.store import Store
from jupyter_mm.errors import AlreadyExists, FilterSyntaxError, InvalidInput, NotFound


def _count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _actions(store: Store) -> list[str]:
    return [e.action for e in store.audit_log()]


def test_registered_model_lifecycle(store: Store) -> None:
    m = store.create_registered_model(
        "credit", actor="alice", description="PD model", tags={"team": "risk"}
    )
    assert (m.name, m.owner, m.description, m.tags) == (
        "credit",
        "alice",
        "PD model",
        {"team": "risk"},
    )
    assert m.creation_time == m.last_update_time and m.latest_versions == ()
    with pytest.raises(AlreadyExists, match="credit"):
        store.create_registered_model("credit", actor="bob")
    store.update_registered_model("credit", actor="bob", description="PD model, retail")
    store.set_registered_model_tag("credit", "tier", "1", actor="bob")
    store.set_registered_model_tag("credit", "tier", "1", actor="bob")  # no change, no entry
    store.delete_registered_model_tag("credit", "team", actor="bob")
    store.delete_registered_model_tag("credit", "absent", actor="bob")  # idempotent
    renamed = store.rename_registered_model("credit", "credit-retail", actor="bob")
    assert (renamed.description, renamed.tags, renamed.owner) == (
        "PD model, retail",
        {"tier": "1"},
        "alice",
    )
    with pytest.raises(NotFound, match="credit"):
        store.get_registered_model("credit")
    store.create_registered_model("other", actor="bob")
    with pytest.raises(AlreadyExists):
        store.rename_registered_model("other", "credit-retail", actor="bob")
    store.delete_registered_model("credit-retail", actor="carol", comment="retired")
    with pytest.raises(NotFound):
        store.get_registered_model("credit-retail")
    assert _actions(store) == [
        "model.created",
        "model.description",
        "model.tag_set",
        "model.tag_deleted",
        "model.renamed",
        "model.created",
        "model.deleted",
    ]
    deleted = store.audit_log()[-1]
    assert (deleted.actor, deleted.comment, deleted.before["name"]) == (
        "carol",
        "retired",
        "credit-retail",
    )


def test_versions_are_numbered_per_model_and_never_reused(store: Store) -> None:
    run = store.create_run("0")
    store.create_registered_model("a", actor="alice")
    store.create_registered_model("b", actor="alice")
    v1 = store.create_model_version("a", f"runs:/{run.id}/model", actor="alice")
    assert (v1.version, v1.run_id, v1.model_path, v1.status, v1.stage, v1.user_id) == (
        1, run.id, "model", "READY", "None", "alice",
    )  # fmt: skip
    assert store.create_model_version("a", "s3://bucket/m", actor="bob").version == 2
    assert store.create_model_version("b", "s3://bucket/m", actor="bob").version == 1
    store.delete_model_version("a", 2, actor="bob")
    v3 = store.create_model_version(
        "a", "models:/m-abc", actor="bob", logged_model_id="m-abc", run_id=run.id,
        model_path="models/m-abc", description="third", tags={"auc": "0.81"},
    )  # fmt: skip
    assert v3.version == 3  # 2 is not reused
    assert (v3.logged_model_id, v3.model_path, v3.description, v3.tags) == (
        "m-abc", "models/m-abc", "third", {"auc": "0.81"},
    )  # fmt: skip
    assert [v.version for v in store.list_model_versions("a")] == [3, 1]
    with pytest.raises(NotFound, match="version=2"):
        store.get_model_version("a", 2)
    assert store.get_model_version("a", "3").version == 3
    store.update_model_version("a", 3, actor="carol", description="third, recalibrated")
    store.set_model_version_tag("a", 3, "validated", "yes", actor="carol")
    store.delete_model_version_tag("a", 3, "auc", actor="carol")
    got = store.get_model_version("a", 3)
    assert got.description == "third, recalibrated" and got.tags == {"validated": "yes"}
    assert store.get_registered_model("a").last_version == 3


def test_aliases_set_move_delete(store: Store) -> None:
    store.create_registered_model("m", actor="alice")
    for _ in range(3):
        store.create_model_version("m", "s3://b/m", actor="alice")
    store.set_registered_model_alias("m", "champion", 1, actor="alice")
    store.set_registered_model_alias("m", "challenger", 2, actor="alice")
    store.set_registered_model_alias("m", "champion", 2, actor="bob", comment="better KS")
    store.set_registered_model_alias("m", "champion", 2, actor="bob")  # already there: no entry
    m = store.get_registered_model("m")
    assert m.aliases == {"challenger": 2, "champion": 2}
    v2 = store.get_model_version_by_alias("m", "champion")
    assert v2.version == 2 and v2.aliases == ("challenger", "champion")
    assert store.get_model_version("m", 1).aliases == ()
    store.delete_registered_model_alias("m", "challenger", actor="bob")
    with pytest.raises(InvalidInput, match="alias challenger not found"):
        store.get_model_version_by_alias("m", "challenger")
    with pytest.raises(InvalidInput, match="not found"):
        store.delete_registered_model_alias("m", "challenger", actor="bob")
    # deleting the version an alias points at removes the alias, and says so in the trail
    store.delete_model_version("m", 2, actor="carol")
    assert store.get_registered_model("m").aliases == {}
    assert _actions(store)[-2:] == ["alias.deleted", "version.deleted"]
    assert [(e.action, e.before, e.after) for e in store.alias_history("m", "champion")] == [
        ("alias.set", None, {"version": 1}),
        ("alias.moved", {"version": 1}, {"version": 2}),
        ("alias.deleted", {"version": 2}, None),
    ]


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("latest", "reserved"),
        ("LATEST", "reserved"),
        ("v1", "reserved"),
        ("V12", "reserved"),
        ("has space", "Invalid alias"),
        ("a/b", "Invalid alias"),
        ("", "cannot be empty"),
        ("x" * 251, "longer than"),
    ],
)
def test_bad_alias_names(store: Store, alias: str, message: str) -> None:
    store.create_registered_model("m", actor="alice")
    store.create_model_version("m", "s3://b/m", actor="alice")
    before = len(store.audit_log())
    with pytest.raises(InvalidInput, match=message):
        store.set_registered_model_alias("m", alias, 1, actor="alice")
    assert store.get_registered_model("m").aliases == {}
    assert len(store.audit_log()) == before


def test_alias_needs_an_existing_version(store: Store) -> None:
    store.create_registered_model("m", actor="alice")
    with pytest.raises(NotFound, match="version=1"):
        store.set_registered_model_alias("m", "champion", 1, actor="alice")
    with pytest.raises(NotFound, match="nope"):
        store.set_registered_model_alias("nope", "champion", 1, actor="alice")
    assert _actions(store) == ["model.created"]


def test_stages_and_latest_versions(store: Store) -> None:
    store.create_registered_model("m", actor="alice")
    for _ in range(4):
        store.create_model_version("m", "s3://b/m", actor="alice")
    store.transition_model_version_stage("m", 1, "production", actor="alice")
    store.transition_model_version_stage("m", 2, "Staging", actor="alice")
    store.transition_model_version_stage(
        "m", 3, "Production", actor="bob", archive_existing_versions=True
    )
    stages = {v.version: v.stage for v in store.list_model_versions("m")}
    assert stages == {1: "Archived", 2: "Staging", 3: "Production", 4: "None"}
    latest = store.get_latest_versions("m")
    assert [(v.version, v.stage) for v in latest] == [
        (1, "Archived"), (2, "Staging"), (3, "Production"), (4, "None"),
    ]  # fmt: skip
    assert [v.version for v in store.get_latest_versions("m", ["Production"])] == [3]
    assert [v.version for v in store.get_registered_model("m").latest_versions] == [1, 2, 3, 4]
    with pytest.raises(InvalidInput, match="stage must be one of"):
        store.transition_model_version_stage("m", 4, "Live", actor="bob")
    entries = [e for e in store.audit_log() if e.action == "version.stage"]
    assert [(e.version, e.after["stage"]) for e in entries] == [
        (1, "Production"), (2, "Staging"), (3, "Production"), (1, "Archived"),
    ]  # fmt: skip


def test_search_registered_models(store: Store) -> None:
    for name, tags in [
        ("credit-pd", {"team": "risk"}),
        ("credit-lgd", {"team": "risk", "mlflow.prompt.is_prompt": "false"}),
        ("Fraud", {"team": "fraud"}),
        ("prompt", {"mlflow.prompt.is_prompt": "true"}),
    ]:
        store.create_registered_model(name, actor="alice", tags=tags)

    def names(flt: str | None = None, order: list[str] | None = None) -> list[str]:
        return [m.name for m in store.search_registered_models(flt, order_by=order)[0]]

    assert names() == sorted(["credit-pd", "credit-lgd", "Fraud", "prompt"])
    # what the MLflow client sends: the user's filter plus a prompt exclusion
    assert names("name LIKE 'credit%' AND tag.`mlflow.prompt.is_prompt` != 'true'") == [
        "credit-lgd", "credit-pd",
    ]  # fmt: skip
    assert names("tags.`mlflow.prompt.is_prompt` != 'true'") == ["Fraud", "credit-lgd", "credit-pd"]
    assert names("name LIKE 'fraud'") == []  # LIKE is case-sensitive
    assert names("name ILIKE 'fraud'") == ["Fraud"]
    assert names("tags.team = 'risk' OR name = 'Fraud'") == ["Fraud", "credit-lgd", "credit-pd"]
    assert names("name IN ('Fraud', 'prompt')") == ["Fraud", "prompt"]
    assert names("tags.team IS NULL") == ["prompt"]
    assert names(order=["name DESC"]) == ["prompt", "credit-pd", "credit-lgd", "Fraud"]
    assert names(order=["timestamp ASC"]) == ["credit-pd", "credit-lgd", "Fraud", "prompt"]
    page1, token = store.search_registered_models(max_results=3)
    page2, end = store.search_registered_models(max_results=3, page_token=token)
    assert [m.name for m in page1 + page2] == names() and token and end is None
    with pytest.raises(FilterSyntaxError, match="position"):
        store.search_registered_models("name = ")
    with pytest.raises(InvalidInput, match="Invalid filter key 'run_id'"):
        store.search_registered_models("run_id = 'x'")
    with pytest.raises(InvalidInput, match="Invalid order_by"):
        store.search_registered_models(order_by=["tags.team"])
    with pytest.raises(InvalidInput, match="max_results"):
        store.search_registered_models(max_results=1001)


def test_search_model_versions(store: Store) -> None:
    r1, r2 = store.create_run("0"), store.create_run("0")
    store.create_registered_model("a", actor="alice")
    store.create_registered_model("b", actor="alice")
    store.create_model_version("a", f"runs:/{r1.id}/model", actor="alice", tags={"ok": "1"})
    store.create_model_version("a", f"runs:/{r2.id}/model", actor="bob")
    store.create_model_version("b", f"runs:/{r1.id}/model", actor="bob")

    def found(flt: str | None = None, order: list[str] | None = None) -> list[tuple[str, int]]:
        return [(v.name, v.version) for v in store.search_model_versions(flt, order_by=order)[0]]

    assert found("name = 'a'") == [("a", 2), ("a", 1)]
    assert found(f"run_id = '{r1.id}'") == [("b", 1), ("a", 1)]  # latest update first, as MLflow
    assert found("tags.ok = '1'") == [("a", 1)]
    assert found("user_id = 'bob'", ["version_number ASC"]) == [("b", 1), ("a", 2)]
    assert found(order=["name DESC", "version_number ASC"]) == [("b", 1), ("a", 1), ("a", 2)]
    page, token = store.search_model_versions(max_results=2)
    rest, end = store.search_model_versions(max_results=2, page_token=token)
    assert len(page) == 2 and len(rest) == 1 and end is None


def test_bad_input_is_refused_and_nothing_is_written(store: Store) -> None:
    store.create_registered_model("m", actor="alice")
    run = store.create_run("0")
    before = (_count(store, s.model_versions), _count(store, s.registry_audit))
    bad_calls = [
        (InvalidInput, "actor", lambda: store.create_registered_model("x", actor="")),
        (InvalidInput, "actor", lambda: store.create_registered_model("x", actor=None)),  # type: ignore[arg-type]
        (InvalidInput, "cannot contain", lambda: store.create_registered_model("a/b", actor="u")),
        (InvalidInput, "cannot contain", lambda: store.create_registered_model("a:b", actor="u")),
        (InvalidInput, "whitespace", lambda: store.create_registered_model(" x", actor="u")),
        (InvalidInput, "name", lambda: store.create_registered_model("", actor="u")),
        (InvalidInput, "250", lambda: store.create_registered_model("x" * 251, actor="u")),
        (InvalidInput, "control", lambda: store.create_registered_model("x\x07", actor="u")),
        (InvalidInput, "tag name", lambda: store.create_registered_model("x", actor="u", tags={"": "v"})),
        (InvalidInput, "source", lambda: store.create_model_version("m", "", actor="u")),
        (InvalidInput, "no host", lambda: store.create_model_version("m", "runs://h/model", actor="u")),
        (InvalidInput, "path", lambda: store.create_model_version("m", "runs:/nope/../x", actor="u")),
        (InvalidInput, "path", lambda: store.create_model_version("m", f"runs:/{run.id}/../x", actor="u")),
        (InvalidInput, "run_id", lambda: store.create_model_version("m", "s3://x", actor="u", run_id="a" * 33)),
        (NotFound, "nope", lambda: store.create_model_version("nope", "s3://x", actor="u")),
        (InvalidInput, "tag", lambda: store.create_model_version("m", "s3://x", actor="u", tags={"k": None})),
        (InvalidInput, "version", lambda: store.get_model_version("m", "one")),
        (InvalidInput, "version", lambda: store.get_model_version("m", 0)),
        (InvalidInput, "description", lambda: store.update_registered_model("m", actor="u", description=3)),  # type: ignore[arg-type]
    ]  # fmt: skip
    for error, message, call in bad_calls:
        with pytest.raises(error, match=message):
            call()
    assert (_count(store, s.model_versions), _count(store, s.registry_audit)) == before
    assert store.get_registered_model("m").last_version == 0
    store.delete_run(run.id)
    with pytest.raises(InvalidInput, match="deleted"):
        store.create_model_version("m", f"runs:/{run.id}/model", actor="u")
    assert store.get_registered_model("m").last_version == 0


def test_a_change_and_its_audit_entry_commit_together(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_registered_model("m", actor="alice")
    store.create_model_version("m", "s3://b/m", actor="alice")
    store.create_model_version("m", "s3://b/m", actor="alice")
    store.set_registered_model_alias("m", "champion", 1, actor="alice")
    entries = len(store.audit_log())

    def failing_append(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", failing_append)
    with pytest.raises(RuntimeError):
        store.set_registered_model_alias("m", "champion", 2, actor="bob")
    with pytest.raises(RuntimeError):
        store.create_model_version("m", "s3://b/m", actor="bob")
    with pytest.raises(RuntimeError):
        store.delete_registered_model("m", actor="bob")
    monkeypatch.undo()
    m = store.get_registered_model("m")
    assert m.aliases == {"champion": 1} and m.last_version == 2
    assert len(store.audit_log()) == entries
    assert store.verify_audit().ok


def test_unicode_names_comments_and_tags(store: Store) -> None:
    store.create_registered_model("modèle-crédit", actor="José", tags={"équipe": "risque ✓"})
    store.create_model_version("modèle-crédit", "s3://b/m", actor="José")
    store.set_registered_model_alias(
        "modèle-crédit", "champion", 1, actor="Zoë", comment="validé ✓"
    )
    m = store.get_registered_model("modèle-crédit")
    assert m.tags == {"équipe": "risque ✓"} and m.aliases == {"champion": 1}
    (entry,) = store.alias_history("modèle-crédit", "champion")
    assert (entry.actor, entry.comment) == ("Zoë", "validé ✓")
    assert [x.name for x in store.search_registered_models("name LIKE 'modèle%'")[0]] == [
        "modèle-crédit"
    ]
    assert store.verify_audit().ok
    with pytest.raises(InvalidInput, match="NUL"):
        store.set_registered_model_alias("modèle-crédit", "prod", 1, actor="Zoë", comment="a\x00b")


def test_version_sources_follow_mlflows_rules(store: Store) -> None:
    """Sources that escape their root, address a host or are local paths are refused before
    anything is written; a run's artifact URIs fill run and path and must agree with them."""
    from jupyter_mm.core.models.uris import resolve
    from jupyter_mm.core.registry.sources import parse

    run = store.create_run(experiment_id="0")
    other = store.create_run(experiment_id="0")
    root = f"mlflow-artifacts:/0/{run.id}/artifacts"
    store.create_registered_model("m", actor="u")
    refused = [
        f"{root}/../../x", f"{root}/%2E%2E/%2E%2E/x", f"{root}/%252e%252e/x", "s3://b/m?x=../../y",
        "s3://b/m#/../..", "s3://b/m%00", "s3://b/a/./b", "http://host/m", "mlflow-artifacts://h/m",
        "/tmp/m", "file:///tmp/m", "C:\\models\\m", "mlflow-artifacts:/models",
        f"mlflow-artifacts:/7/{run.id}/artifacts/m", "runs://host/x", "models://host/m/1",
    ]  # fmt: skip
    for source in refused:
        with pytest.raises(InvalidInput, match="Invalid model version source"):
            store.create_model_version("m", source, actor="u")
    with pytest.raises(InvalidInput, match="run_id"):
        store.create_model_version("m", f"{root}/model", actor="u", run_id=other.id)
    assert (
        _count(store, s.model_versions) == 0 and store.get_registered_model("m").last_version == 0
    )
    v = store.create_model_version("m", f"{root}/models/m///", actor="u")
    assert (v.run_id, v.model_path) == (run.id, "models/m")
    for source in ("s3://b/models/..../x", "gs://b/m", "dbfs:/m", "models:/other/1"):
        assert store.create_model_version("m", source, actor="u").source == source
    assert parse(f"runs:/{run.id}/a//b").path == "a/b"
    # a row written around the API (an older database) is refused when resolved
    with store.engine.begin() as conn:
        conn.execute(
            s.model_versions.update()
            .where(s.model_versions.c.version == 1)
            .values(source=f"{root}/%2E%2E/x", run_uuid=None, model_path=None)
        )
    with pytest.raises(InvalidInput, match="model version m 1 cannot be resolved"):
        resolve(store, "models:/m/1")
