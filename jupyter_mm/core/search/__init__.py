"""MLflow-compatible run search: parse ``filter_string`` / ``order_by`` and compile them to SQL.

Typical use by a store::

    stmt = select(runs).where(runs.c.experiment_id.in_(ids))
    stmt = apply_filter(stmt, parse_filter(filter_string))
    stmt = apply_order_by(stmt, parse_order_by(order_by))
"""

from __future__ import annotations

from .compiler import apply_filter, apply_order_by, compile_filter, split_order_by
from .parser import And, Comparison, Expr, Not, Or, OrderItem, parse_filter, parse_order_by

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "Not",
    "Or",
    "OrderItem",
    "apply_filter",
    "apply_order_by",
    "compile_filter",
    "parse_filter",
    "parse_order_by",
    "split_order_by",
]
