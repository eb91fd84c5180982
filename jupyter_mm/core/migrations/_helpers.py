"""Shapes the revisions in ``versions/`` repeat, written once.

Old revisions use these too, and each call emits exactly the DDL the revision wrote out by hand
(proved by dumping every statement of the history, up and down, on SQLite and PostgreSQL, before
and after). A revision applied somewhere must never change what it emits: change a helper only
if the DDL stays the same, else give the new revision a helper of its own.

Revisions leave out ``branch_labels`` and ``depends_on``: Alembic reads both with a default of
none, and no revision here has either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

# BigInteger is INTEGER on SQLite so that autoincrement works there (as in schema.py).
BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def cascade_fk(table: str, columns: str | Sequence[str], referred: str) -> sa.ForeignKeyConstraint:
    """``table``'s rows go with the ``referred`` row whose same-named ``columns`` they hold."""
    names = [columns] if isinstance(columns, str) else list(columns)
    return sa.ForeignKeyConstraint(
        names,
        [f"{referred}.{name}" for name in names],
        name=op.f(f"fk_{table}_{names[0]}_{referred}"),
        ondelete="CASCADE",
    )


def key_value_table(name: str, owner: str, owner_type: sa.types.TypeEngine, referred: str) -> None:
    """A ``(owner, key) -> value`` table (tags, params) whose rows go with their owner's row."""
    op.create_table(
        name,
        sa.Column(owner, owner_type, nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        cascade_fk(name, owner, referred),
        sa.PrimaryKeyConstraint(owner, "key", name=op.f(f"pk_{name}")),
    )


def update_times() -> list[sa.Column]:
    """When the row was created and last changed (epoch milliseconds): MLflow's pair of columns."""
    return [
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
    ]


def blob_columns() -> list[sa.Column]:
    """A logical path and the content-addressed blob of the artifact store it names."""
    return [
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
    ]


def stored_file_columns() -> list[sa.Column]:
    """A file of a run or a logged model: its path and blob, media type and time."""
    return [
        *blob_columns(),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
    ]


def added_columns(table: str, *columns: sa.Column) -> tuple[Callable[[], None], Callable[[], None]]:
    """``upgrade`` and ``downgrade`` for ``columns`` added to an existing ``table``, from one list.

    Downgrade drops them with a plain DROP COLUMN (SQLite >= 3.35), never a batch rebuild: with
    foreign keys on, recreating a table that others reference ON DELETE CASCADE (registered
    models, model versions, webhooks) would delete every row that refers to it.
    """

    def upgrade() -> None:
        for column in columns:
            op.add_column(table, column)

    def downgrade() -> None:
        for column in reversed(columns):
            op.drop_column(table, column.name)

    return upgrade, downgrade
