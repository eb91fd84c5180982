"""Params a ``%%track`` cell declares by plain assignment: ``lr = 0.01``, ``depth = 3``,
``kind = "rf"``, ``layers = (64, 32)``. Only top-level assignments of literals count: anything
computed is left to ``--params NAME`` or ``mm.log_param``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any


def literal_assignments(source: str) -> dict[str, Any]:
    """``{name: value}`` for top-level ``name = <literal>`` statements (last assignment wins)."""
    return {name: literal for name, _, literal in literal_assignment_nodes(source)}


def literal_assignment_nodes(source: str) -> Iterator[tuple[str, ast.expr, Any]]:
    """``(name, value node, value)`` for each top-level ``name = <literal>`` in order (none if
    ``source`` is not Python); the node says where the literal stands (``mm.rerun`` edits it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            literal = ast.literal_eval(value)  # numbers, strings, tuples/lists of them, -x, True
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if not _simple(literal):
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                yield target.id, value, literal


def _simple(value: Any, depth: int = 0) -> bool:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return not isinstance(value, str) or len(value) <= 1000
    if isinstance(value, (tuple, list)) and depth == 0 and len(value) <= 100:
        return all(_simple(v, depth + 1) for v in value)
    return False


def param_text(value: Any) -> str:
    """How a param value is recorded: strings as they are, others as their Python literal."""
    return value if isinstance(value, str) else repr(value)
