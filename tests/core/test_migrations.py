"""Schema migrations: the Alembic history matches the tables, and upgrades keep every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select

from jupyter_mm.core import migrate
from jupyter_mm.core import schema as s
from jupyter_mm.core.database import create
from jupyter_mm.core.registry import Policy, PolicyChange
from jupyter_mm.core.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("empty_postgres_url")


def test_migrations_match_the_schema(empty_db_url: str) -> None:
    engine = create(empty_db_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), s.metadata)
    assert diff == [], f"schema.py and migrations/versions disagree: {diff}"
    assert migrate.current_revision(engine) == migrate.HEAD
    engine.dispose()


def test_head_constant_is_the_newest_revision() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert script.get_current_head() == migrate.HEAD


def test_every_upgrade_keeps_every_row(empty_db_url: str, tmp_path: Path) -> None:
    """Fill the store at each historical revision, upgrade to head, and count rows."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    engine = create(empty_db_url)
    counts: dict[str, int] = {}
    for rev in revisions:
        migrate.upgrade(engine, rev)
        st = (
            Store.open(empty_db_url.replace("+psycopg", ""), artifact_uri=str(tmp_path / "a"))
            if rev == migrate.HEAD
            else None
        )
        if st is not None:
            run = st.create_run("0", params={"p": rev}, tags={"t": rev})
            st.log_batch(run.id, metrics=[("m", 1.0, i, i) for i in range(5000)])
            st.log_artifact(run.id, f"{rev}.txt", rev.encode())
            st.put_proxy_file(f"proxied/{rev}.txt", rev.encode())
            _fill_registry(st, run.id)
            st.close()
    with engine.connect() as conn:
        for table in s.metadata.sorted_tables:
            counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    migrate.upgrade(engine)  # idempotent at head
    with engine.connect() as conn:
        for table in s.metadata.sorted_tables:
            assert (
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                == counts[table.name]
            )
    assert counts["runs"] == 1 and counts["metric_chunks"] >= 2
    registry = (
        "registered_models registered_model_tags model_versions model_version_tags "
        "registered_model_aliases model_version_approvals registry_settings registry_audit"
    )
    assert all(counts[name] >= 1 for name in registry.split()), counts
    assert all(counts[t] == 1 for t in ("webhooks", "webhook_deliveries", "webhook_attempts"))
    assert counts["proxy_artifacts"] == 1
    engine.dispose()


def _fill_registry(st: Store, run_id: str) -> None:
    """A row in every registry table."""
    st.create_registered_model("m", actor="dev", tags={"team": "risk"})
    st.create_model_version("m", f"runs:/{run_id}/model", actor="dev", tags={"auc": "0.8"})
    st.set_registered_model_alias("m", "champion", 1, actor="dev")
    st.request_approval("m", 1, actor="dev", evidence=["runs:/x/report"])
    st.set_registry_policy(PolicyChange(four_eyes=True), actor="admin")
    st.set_registry_policy(PolicyChange(approvers=["validator"]), actor="admin", name="m")
    # a webhook with a delivery and an attempt
    hook = st.create_webhook(
        "h", "http://127.0.0.1:9/h", ["model_version.created"], actor="dev", allow_private=True
    )
    st.create_model_version("m", f"runs:/{run_id}/model", actor="dev")
    st.enqueue_webhook_events()
    [due] = st.claim_webhook_deliveries()
    st.record_webhook_attempt(
        due.delivery_id, time=1, duration_ms=1, response_status=200, response_body="ok",
        error=None, outcome="succeeded",
    )  # fmt: skip
    assert st.webhook_deliveries(hook.webhook_id)[0].attempts == 1


def test_opening_a_current_store_does_not_migrate(tmp_path: Path) -> None:
    Store.open(str(tmp_path / "st")).close()
    db = tmp_path / "st" / "mm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (migrate.HEAD,))
    engine = create_engine(f"sqlite:///{db}")
    assert migrate.current_revision(engine) == migrate.HEAD
    engine.dispose()


def test_0004_keeps_policies_and_adds_approvers(empty_db_url: str, tmp_path: Path) -> None:
    """Policies set before 0004 stay in force; a model's approvers start as the store-wide
    setting (NULL), and downgrading drops only the new column."""
    from alembic import command
    from sqlalchemy import insert, inspect

    engine = create(empty_db_url)
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            insert(s.registered_models).values(
                model_id=1,
                name="m",
                description="",
                owner="dev",
                creation_time=1,
                last_update_time=1,
                last_version=0,
                policy_four_eyes=False,
            )  # fmt: skip
        )
        conn.execute(
            insert(s.registry_settings).values(key="policy.approved_aliases_only", value="true")
        )
    st = Store.open(empty_db_url.replace("+psycopg", ""), artifact_uri=str(tmp_path / "a"))
    assert migrate.current_revision(engine) == migrate.HEAD
    assert st.registry_policy("m") == Policy(four_eyes=False, approved_aliases_only=True)
    st.create_model_version("m", "s3://b/m", actor="dev")
    st.set_registry_policy(PolicyChange(approvers=["val"]), actor="admin", name="m")
    assert st.registry_policy("m").approvers == ("val",)
    st.close()
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0003")
        conn.commit()
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("registered_models")}
        assert "policy_approvers" not in columns and "policy_four_eyes" in columns
        assert conn.execute(select(func.count()).select_from(s.model_versions)).scalar_one() == 1
    engine.dispose()


def test_0005_versions_start_active_and_downgrade_keeps_them(
    empty_db_url: str, tmp_path: Path
) -> None:
    """Versions registered before 0005 are active (no deprecation); downgrading drops only the
    new column."""
    from alembic import command
    from sqlalchemy import inspect

    engine = create(empty_db_url)
    migrate.upgrade(engine, "0004")
    engine.dispose()
    st = Store.open(empty_db_url.replace("+psycopg", ""), artifact_uri=str(tmp_path / "a"))
    st.create_registered_model("m", actor="dev")
    st.create_model_version("m", "s3://b/m", actor="dev")
    assert st.get_model_version("m", 1).lifecycle == "active"
    st.set_model_version_lifecycle("m", 1, "deprecated", actor="dev", reason="superseded")
    st.close()
    engine = create(empty_db_url)
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0004")
        conn.commit()
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("model_versions")}
        assert "deprecation" not in columns and "stage" in columns
        assert conn.execute(select(func.count()).select_from(s.model_versions)).scalar_one() == 1
    engine.dispose()


def test_0006_adds_the_webhook_tables_and_downgrades_cleanly(
    empty_db_url: str, tmp_path: Path
) -> None:
    from alembic import command
    from sqlalchemy import inspect

    engine = create(empty_db_url)
    migrate.upgrade(engine, "0005")
    st = Store.open(empty_db_url.replace("+psycopg", ""), artifact_uri=str(tmp_path / "a"))
    assert migrate.current_revision(engine) == migrate.HEAD
    st.create_registered_model("m", actor="dev")
    st.create_webhook(
        "h", "http://10.0.0.1/h", ["approval.decided"], actor="dev", allow_private=True
    )
    st.close()
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0005")
        conn.commit()
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert not tables & {"webhooks", "webhook_deliveries", "webhook_attempts"}
        assert conn.execute(select(func.count()).select_from(s.registered_models)).scalar_one() == 1
    engine.dispose()


def test_0011_adds_the_proxy_files_table_and_downgrades_cleanly(
    empty_db_url: str, tmp_path: Path
) -> None:
    """Stores from before 0011 gain an empty ``proxy_artifacts``; downgrading drops only it."""
    from alembic import command
    from sqlalchemy import inspect

    engine = create(empty_db_url)
    migrate.upgrade(engine, "0008")
    with engine.connect() as conn:
        assert "proxy_artifacts" not in inspect(conn).get_table_names()
    st = Store.open(empty_db_url.replace("+psycopg", ""), artifact_uri=str(tmp_path / "a"))
    assert migrate.current_revision(engine) == migrate.HEAD
    run = st.create_run("0")
    st.log_artifact(run.id, "kept.txt", b"kept")
    assert st.list_proxy_files() == []
    st.put_proxy_file("dir/b.pkl", b"b")
    assert [i.path for i in st.list_proxy_files("dir")] == ["dir/b.pkl"]
    st.close()
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0008")
        conn.commit()
    with engine.connect() as conn:
        assert "proxy_artifacts" not in inspect(conn).get_table_names()
        assert conn.execute(select(func.count()).select_from(s.artifacts)).scalar_one() == 1
    migrate.upgrade(engine)  # and up again
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.proxy_artifacts)).scalar_one() == 0
    engine.dispose()


def test_downgrading_added_columns_keeps_the_rows_that_refer_to_their_table(
    empty_db_url: str, tmp_path: Path
) -> None:
    """0010 and 0008 add columns to tables others reference ON DELETE CASCADE (``webhooks``,
    ``registered_models``): their downgrades drop only the columns, never the referring rows."""
    from alembic import command
    from sqlalchemy import inspect

    engine = create(empty_db_url)
    migrate.upgrade(engine)
    st = Store.open(empty_db_url.replace("+psycopg", ""), artifact_uri=str(tmp_path / "a"))
    _fill_registry(st, st.create_run("0").id)
    st.close()
    kept = (s.model_versions, s.registered_model_aliases, s.webhook_deliveries, s.webhook_attempts)
    with engine.connect() as conn:
        before = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in kept]
        assert all(before), before
        command.downgrade(migrate.alembic_config(conn), "0007")
        conn.commit()
    with engine.connect() as conn:
        assert "target" not in {c["name"] for c in inspect(conn).get_columns("webhooks")}
        columns = {c["name"] for c in inspect(conn).get_columns("registered_models")}
        assert "policy_require_reproduced" not in columns and "policy_approvers" in columns
        assert [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in kept] == (
            before
        )
    engine.dispose()
