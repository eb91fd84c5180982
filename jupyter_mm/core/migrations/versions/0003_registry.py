"""model registry: registered models, versions, tags, aliases, approvals, settings, audit trail

The audit trail is append-only in the database too: triggers refuse UPDATE and DELETE on
``registry_audit`` (its hash chain detects tampering by anyone who drops them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mm.core.migrations._helpers import (
    BigInt,
    cascade_fk,
    key_value_table,
    update_times,
)

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("model_id", BigInt, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=250), nullable=False),
        *update_times(),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("policy_four_eyes", sa.Boolean(), nullable=True),
        sa.Column("policy_approved_aliases", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("name", name=op.f("uq_registered_models_name")),
    )
    op.create_table(
        "registry_audit",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.BigInteger(), nullable=True),
        sa.Column("model_name", sa.String(length=250), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("alias", sa.String(length=250), nullable=True),
        sa.Column("from_value", sa.Text(), nullable=False),
        sa.Column("to_value", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_registry_audit")),
    )
    op.create_index("ix_registry_audit_model_alias", "registry_audit", ["model_id", "alias", "seq"])
    op.create_index("ix_registry_audit_model_name", "registry_audit", ["model_name", "seq"])

    op.create_table(
        "registry_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_registry_settings")),
    )
    op.create_table(
        "model_versions",
        sa.Column("model_id", BigInt, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("run_uuid", sa.String(length=32), nullable=True),
        sa.Column("logged_model_id", sa.String(length=64), nullable=True),
        sa.Column("model_path", sa.String(length=1024), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=250), nullable=False),
        *update_times(),
        cascade_fk("model_versions", "model_id", "registered_models"),
        sa.PrimaryKeyConstraint("model_id", "version", name=op.f("pk_model_versions")),
    )
    op.create_index("ix_model_versions_run_uuid", "model_versions", ["run_uuid"])

    key_value_table("registered_model_tags", "model_id", BigInt, "registered_models")
    op.create_table(
        "model_version_approvals",
        sa.Column("model_id", BigInt, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=250), nullable=False),
        sa.Column("requested_time", sa.BigInteger(), nullable=False),
        sa.Column("request_comment", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=250), nullable=True),
        sa.Column("decided_time", sa.BigInteger(), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        cascade_fk("model_version_approvals", ["model_id", "version"], "model_versions"),
        sa.PrimaryKeyConstraint("model_id", "version", name=op.f("pk_model_version_approvals")),
    )
    op.create_table(
        "model_version_tags",
        sa.Column("model_id", BigInt, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        cascade_fk("model_version_tags", ["model_id", "version"], "model_versions"),
        sa.PrimaryKeyConstraint("model_id", "version", "key", name=op.f("pk_model_version_tags")),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("model_id", BigInt, nullable=False),
        sa.Column("alias", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        cascade_fk("registered_model_aliases", ["model_id", "version"], "model_versions"),
        cascade_fk("registered_model_aliases", "model_id", "registered_models"),
        sa.PrimaryKeyConstraint("model_id", "alias", name=op.f("pk_registered_model_aliases")),
    )
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


_MESSAGE = "registry_audit is append-only"
APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER registry_audit_no_{verb.lower()} BEFORE {verb} ON registry_audit "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        for verb in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE FUNCTION registry_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$",
        "CREATE TRIGGER registry_audit_append_only BEFORE UPDATE OR DELETE ON registry_audit "
        "FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only()",
    ],
}


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER registry_audit_append_only ON registry_audit")
        op.execute("DROP FUNCTION registry_audit_append_only()")
    op.drop_table("registered_model_aliases")
    op.drop_table("model_version_tags")
    op.drop_table("model_version_approvals")
    op.drop_table("registered_model_tags")
    op.drop_index("ix_model_versions_run_uuid", table_name="model_versions")

    op.drop_table("model_versions")
    op.drop_table("registry_settings")
    op.drop_index("ix_registry_audit_model_name", table_name="registry_audit")
    op.drop_index("ix_registry_audit_model_alias", table_name="registry_audit")

    op.drop_table("registry_audit")
    op.drop_table("registered_models")
