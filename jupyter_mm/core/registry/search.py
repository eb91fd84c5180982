"""Registry search: our filter grammar (``core/search``'s parser) compiled over the registry tables.

Registered models filter on ``name`` and ``tags.<key>``; versions on ``name``, ``run_id``,
``user_id``, ``source_path`` and ``tags.<key>``; both with ``= != LIKE ILIKE IN``, ``AND`` / ``OR`` / ``NOT`` and
parentheses. A tag condition ``tags.k != 'v'`` also matches an entity without tag ``k``
(MLflow's client appends ``tags.`mlflow.prompt.is_prompt` != 'true'`` to every model search and
expects untagged models back). ``order_by`` takes ``name``, ``creation_timestamp`` (or
``timestamp``), ``last_updated_timestamp`` and, for versions, ``version_number``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select

from ...errors import InvalidInput
from .. import schema as s
from ..search import And, Comparison, Expr, Not, Or, parse_filter
from ..search.compiler import condition

_m = s.registered_models.c
_v = s.model_versions.c


def _tag_condition(table: Any, owner: list[tuple[Any, Any]], c: Comparison) -> ColumnElement[bool]:
    def has(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        link = [col == outer for col, outer in owner]
        return exists(select(table.c.key).where(*link, table.c.key == c.key, *where))

    if c.op == "IS NULL":
        return not_(has())
    if c.op == "IS NOT NULL":
        return has()
    if c.op == "!=":
        return not_(has(table.c.value == c.value))
    if not isinstance(c.value, (str, tuple)):
        raise InvalidInput(f"tags compare with strings: write tags.{c.key} {c.op} '{c.value}'")
    return has(condition(table.c.value, c.op, c.value))


def _compile(expr: Expr, attributes: dict[str, Any], tag: Any) -> ColumnElement[bool]:
    if isinstance(expr, And):
        return and_(*(_compile(e, attributes, tag) for e in expr.operands))
    if isinstance(expr, Or):
        return or_(*(_compile(e, attributes, tag) for e in expr.operands))
    if isinstance(expr, Not):
        return not_(_compile(expr.operand, attributes, tag))
    if expr.entity == "tag":
        return tag(expr)
    if expr.entity == "attribute" and expr.key in attributes:
        column = attributes[expr.key]
        if expr.op in ("IS NULL", "IS NOT NULL"):
            return column.is_(None) if expr.op == "IS NULL" else column.is_not(None)
        cond = condition(column, expr.op, expr.value)
        return and_(column.is_not(None), cond) if column.nullable else cond
    names = ", ".join(["name", *sorted(k for k in attributes if k != "run_name"), "tags.<key>"])
    shown = "name" if expr.key == "run_name" else expr.key
    raise InvalidInput(f"Invalid filter key {shown!r}: expected one of {names}")


def model_filter(text: str | None) -> ColumnElement[bool] | None:
    t = s.registered_model_tags
    attributes = {"run_name": _m.name, "user_id": _m.owner}
    return _filter(text, attributes, t, [(t.c.model_id, _m.model_id)])


def version_filter(text: str | None) -> ColumnElement[bool] | None:
    t = s.model_version_tags
    attributes = {
        "run_name": _m.name,
        "run_id": _v.run_uuid,
        "user_id": _v.user_id,
        "source_path": _v.source,
    }
    return _filter(text, attributes, t, [(t.c.model_id, _v.model_id), (t.c.version, _v.version)])


def _filter(
    text: str | None, attributes: dict[str, Any], tags: Any, joins: list[tuple[Any, Any]]
) -> ColumnElement[bool] | None:
    """The condition of a filter string over models or versions: ``attributes`` by filter key,
    ``tags.<key>`` in the ``tags`` table joined on ``joins``."""
    expr = parse_filter(text)
    if expr is None:
        return None
    return _compile(expr, attributes, lambda c: _tag_condition(tags, joins, c))


_MODEL_ORDER = {
    "name": _m.name,
    "creation_timestamp": _m.creation_time,
    "timestamp": _m.creation_time,
    "last_updated_timestamp": _m.last_update_time,
}
_VERSION_ORDER = {
    "name": _m.name,
    "version_number": _v.version,
    "creation_timestamp": _v.creation_time,
    "timestamp": _v.creation_time,
    "last_updated_timestamp": _v.last_update_time,
}


def _order(items: list[str] | tuple[str, ...] | None, columns: dict[str, Any]) -> list[Any]:
    out = []
    for item in items or ():
        if not isinstance(item, str):
            raise InvalidInput(f"order_by items must be strings, got {item!r}")
        parts = item.split()
        key = parts[0].removeprefix("attributes.").removeprefix("attribute.") if parts else ""
        if not parts or len(parts) > 2 or key not in columns:
            raise InvalidInput(
                f"Invalid order_by clause {item!r}: expected one of {', '.join(columns)} "
                "with an optional ASC or DESC"
            )
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidInput(f"Invalid order_by clause {item!r}: expected ASC or DESC")
        out.append(columns[key].asc() if direction == "ASC" else columns[key].desc())
    return out


def model_order(items: list[str] | tuple[str, ...] | None) -> list[Any]:
    return [*_order(items, _MODEL_ORDER), _m.name.asc()]


def version_order(items: list[str] | tuple[str, ...] | None) -> list[Any]:
    """MLflow's order: the given clauses, then name ascending and version descending; with
    none, the most recently updated first."""
    order = _order(items, _VERSION_ORDER) or [_v.last_update_time.desc()]
    return [*order, _m.name.asc(), _v.version.desc()]
