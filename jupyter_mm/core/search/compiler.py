"""Turn parsed filters and order_by items into SQLAlchemy expressions over ``schema.runs``.

Every value is a bound parameter. Conditions on metrics, params, tags and datasets are correlated
EXISTS subqueries, so a run lacking the key never matches a comparison and ``NOT`` stays plain
two-valued logic (EXISTS is never NULL). Nullable run columns are guarded for the same reason.
The expressions are dialect-neutral; the one dialect-specific piece (case-sensitive LIKE) picks
its SQL at compile time.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import BigInteger, Boolean, String

from ...errors import InvalidInput
from .. import schema
from ..entities import STALE_HEARTBEAT_MS
from .parser import And, Comparison, Expr, Not, Or, OrderItem, Scalar

_S = TypeVar("_S", bound=Select[Any])

_runs = schema.runs


def _stale_before() -> int:
    return int(time.time() * 1000) - STALE_HEARTBEAT_MS


#: :func:`~jupyter_mm.core.entities.shown_status` in SQL: the cut-off is bound when the statement
#: runs, so a cached statement never holds an old "now".
_STALE = and_(
    _runs.c.status == "RUNNING",
    _runs.c.heartbeat_time.is_not(None),
    _runs.c.heartbeat_time < bindparam("stale_before", callable_=_stale_before, type_=BigInteger),
)
#: The status every reader shows (a RUNNING run with a stopped heartbeat is KILLED).
SHOWN_STATUS: ColumnElement[Any] = case((_STALE, "KILLED"), else_=_runs.c.status)
#: Its end time (the last heartbeat of such a run).
SHOWN_END_TIME: ColumnElement[Any] = case(
    (and_(_STALE, _runs.c.end_time.is_(None)), _runs.c.heartbeat_time), else_=_runs.c.end_time
)
_ATTRIBUTE_COLUMNS: dict[str, ColumnElement[Any]] = {
    "run_id": _runs.c.run_uuid,
    "run_name": _runs.c.name,
    "status": SHOWN_STATUS,
    "start_time": _runs.c.start_time,
    "end_time": SHOWN_END_TIME,
    "user_id": _runs.c.user_id,
    "experiment_id": _runs.c.experiment_id,
    "lifecycle_stage": _runs.c.lifecycle_stage,
    "parent_run_id": _runs.c.parent_run_id,
    "notes": _runs.c.notes,
}
_NULLABLE_ATTRIBUTES = frozenset(
    k for k, c in _ATTRIBUTE_COLUMNS.items() if k == "end_time" or getattr(c, "nullable", False)
)
_KEYED_TABLES = {"metric": schema.latest_metrics, "param": schema.params, "tag": schema.tags}


# ------------------------------------------------------------------- case-sensitive LIKE


class _CaseSensitiveLike(FunctionElement[bool]):
    """``column LIKE pattern ESCAPE '\\'`` that is case-sensitive everywhere.

    SQLite's LIKE ignores ASCII case, so there it becomes GLOB with a translated pattern;
    both patterns travel as bound parameters and each dialect renders only the one it needs.
    """

    type = Boolean()
    name = "cs_like"
    inherit_cache = True


@compiles(_CaseSensitiveLike)
def _compile_like(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern, _ = element.clauses.clauses
    like = column.like(pattern, escape="\\")
    return f"({compiler.process(like, **kw)})"


@compiles(_CaseSensitiveLike, "sqlite")
def _compile_glob(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    column, _, glob = element.clauses.clauses
    return f"({compiler.process(column.op('GLOB', return_type=Boolean)(glob), **kw)})"


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, ``\\`` escapes) into the equivalent GLOB pattern."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
            out.append(f"[{c}]" if c in "*?[" else c)
        elif c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        else:
            out.append(f"[{c}]" if c in "*?[" else c)
        i += 1
    return "".join(out)


def _like(column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    return _CaseSensitiveLike(
        column,
        bindparam(None, pattern, type_=String(), unique=True),
        bindparam(None, like_to_glob(pattern), type_=String(), unique=True),
    )


# ------------------------------------------------------------------------------ filters


def condition(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """``column <op> value`` for one comparison of the grammar (shared with the registry's search)."""
    if op in ("IN", "NOT IN"):
        values: tuple[Scalar, ...] = value
        return column.in_(values) if op == "IN" else column.not_in(values)
    if op.endswith("LIKE"):  # LIKE, ILIKE, NOT LIKE, NOT ILIKE
        cond = column.ilike(value, escape="\\") if "ILIKE" in op else _like(column, value)
        return not_(cond) if op.startswith("NOT") else cond
    comparisons = {
        "=": column.__eq__, "!=": column.__ne__, "<": column.__lt__,
        "<=": column.__le__, ">": column.__gt__, ">=": column.__ge__,
    }  # fmt: skip
    return comparisons[op](value)


def _exists(table: Any, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    sub = select(table.c.run_uuid).where(table.c.run_uuid == _runs.c.run_uuid, *where)
    return exists(sub.correlate(_runs))


def compile_filter(expr: Expr) -> ColumnElement[bool]:
    """The WHERE condition for ``expr``, usable in any SELECT that has ``runs`` in its FROM."""
    if isinstance(expr, And):
        return and_(*(compile_filter(e) for e in expr.operands))
    if isinstance(expr, Or):
        return or_(*(compile_filter(e) for e in expr.operands))
    if isinstance(expr, Not):
        return not_(compile_filter(expr.operand))
    return _compile_comparison(expr)


def _run_attribute(key: str) -> ColumnElement[Any]:
    """The column of a run attribute; the grammar's other attributes (``source_path``, a model
    version's) are not runs'."""
    if key not in _ATTRIBUTE_COLUMNS:
        raise InvalidInput(
            f"Invalid attribute key {key!r} for runs: expected one of "
            f"{', '.join(_ATTRIBUTE_COLUMNS)}"
        )
    return _ATTRIBUTE_COLUMNS[key]


def _compile_comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity == "attribute":
        column = _run_attribute(c.key)
        if c.op in ("IS NULL", "IS NOT NULL"):
            return column.is_(None) if c.op == "IS NULL" else column.is_not(None)
        cond = condition(column, c.op, c.value)
        # NULL would make NOT(cond) NULL too: an absent value simply fails every comparison.
        return and_(column.is_not(None), cond) if c.key in _NULLABLE_ATTRIBUTES else cond
    if c.entity == "dataset":
        inputs = schema.run_inputs
        if c.op in ("IS NULL", "IS NOT NULL"):  # "has no dataset at all" / "has some dataset"
            has = _exists(inputs)
            return not_(has) if c.op == "IS NULL" else has
        return _exists(inputs, condition(inputs.c[c.key], c.op, c.value))
    table = _KEYED_TABLES[c.entity]
    key_matches = table.c.key == c.key
    if c.op in ("IS NULL", "IS NOT NULL"):  # the key is absent / present
        has = _exists(table, key_matches)
        return not_(has) if c.op == "IS NULL" else has
    # For metrics a NULL value is NaN: every comparison with it is NULL, so the row drops out.
    return _exists(table, key_matches, condition(table.c.value, c.op, c.value))


def apply_filter(stmt: _S, expr: Expr | None) -> _S:
    """Add the WHERE for ``expr`` (``None`` = no filter) to a SELECT over ``schema.runs``."""
    return stmt if expr is None else stmt.where(compile_filter(expr))


# ----------------------------------------------------------------------------- order by


def apply_order_by(stmt: _S, items: list[OrderItem] | tuple[OrderItem, ...] = ()) -> _S:
    """LEFT JOIN one alias per metric/param/tag item, then ORDER BY with NULLs last.

    NULLs-last is spelled as ``col IS NULL`` first since SQLite and PostgreSQL disagree on the
    default. Missing metrics sort after NaN ones, which sort after every number. The tie-break
    ``start_time DESC, run_uuid`` makes pagination deterministic.
    """
    stmt, order = _order_terms(stmt, items)
    return stmt.order_by(*order, *_TIE_BREAK)


def split_order_by(
    stmt: _S, items: list[OrderItem] | tuple[OrderItem, ...]
) -> tuple[_S, _S] | None:
    """For an order led by a metric/param/tag, the same ordering as two statements whose results,
    concatenated, equal :func:`apply_order_by`'s: runs with a value for the leading key, ordered
    by it (the database walks the ``(key, value)`` index and stops at the LIMIT instead of sorting
    every run), then the runs without one (missing or NaN), in the full NULLs-last order.
    ``None`` when the order is not led by a keyed item.
    """
    if not items or items[0].entity not in _KEYED_TABLES:
        return None
    first = items[0]
    table = _KEYED_TABLES[first.entity]
    lead = table.alias()
    present, order = _order_terms(
        stmt.join_from(
            _runs,
            lead,
            and_(
                lead.c.run_uuid == _runs.c.run_uuid,
                lead.c.key == first.key,
                lead.c.value.is_not(None),
            ),
        ),
        items[1:],
    )
    lead_order = lead.c.value.asc() if first.ascending else lead.c.value.desc()
    present = present.order_by(lead_order, *order, *_TIE_BREAK)
    absent = apply_order_by(
        stmt.where(~_exists(table, table.c.key == first.key, table.c.value.is_not(None))), items
    )
    return present, absent


_TIE_BREAK = (_runs.c.start_time.desc(), _runs.c.run_uuid)


def _order_terms(
    stmt: _S, items: list[OrderItem] | tuple[OrderItem, ...]
) -> tuple[_S, list[ColumnElement[Any]]]:
    order: list[ColumnElement[Any]] = []
    for item in items:
        if item.entity == "attribute":
            column = _run_attribute(item.key)
            if item.key in _NULLABLE_ATTRIBUTES:
                order.append(column.is_(None))
        elif item.entity in _KEYED_TABLES:
            alias = _KEYED_TABLES[item.entity].alias()
            on = and_(alias.c.run_uuid == _runs.c.run_uuid, alias.c.key == item.key)
            stmt = stmt.outerjoin_from(_runs, alias, on)
            order.append(alias.c.run_uuid.is_(None))
            column = alias.c.value
            if item.entity == "metric":
                order.append(column.is_(None))
        else:
            raise InvalidInput(f"cannot order by {item.entity}s")
        order.append(column.asc() if item.ascending else column.desc())
    return stmt, order
