"""Records built from rows (``core/rows.from_row``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from jupyter_mm.core.rows import from_row


@dataclass(frozen=True)
class _Record:
    id: str
    name: str
    size: int
    tags: dict[str, str] = field(default_factory=dict)
    note: str = "none"


def _row(sql: str) -> sa.Row:
    with sa.create_engine("sqlite://").connect() as conn:
        return conn.execute(sa.text(sql)).one()


def test_fields_come_from_same_named_columns_unless_overridden() -> None:
    row = _row("SELECT 'r1' AS record_id, 'a' AS name, 3 AS size, 'kept' AS note, 1 AS extra")
    record = from_row(_Record, row, id=row.record_id, size=row.size * 2)
    assert record == _Record(id="r1", name="a", size=6, note="kept")


def test_a_field_with_a_default_may_have_no_column_a_required_one_may_not() -> None:
    row = _row("SELECT 'r1' AS id, 'a' AS name, 3 AS size")
    assert from_row(_Record, row) == _Record(id="r1", name="a", size=3)
    with pytest.raises(TypeError, match="size"):
        from_row(_Record, _row("SELECT 'r1' AS id, 'a' AS name"))
