"""``experiments/search``: MLflow's experiment filter and order_by, applied to the store's list.

Experiments are few (hundreds at most), so filtering runs in Python over
:meth:`Store.list_experiments`. Grammar (MLflow's): comparisons joined by ``AND`` on
``name`` / ``attributes.name`` (``= != LIKE ILIKE``), ``creation_time`` / ``last_update_time``
(``= != < <= > >=``) and ``tags.<key>`` (``= != LIKE ILIKE``); keys may be quoted with backticks or
double quotes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from ...core import limits
from ...core.entities import Experiment
from ...errors import InvalidInput

#: Largest offset a page token may hold (what the store's own tokens allow).
MAX_OFFSET = limits.MAX_STEP

_NUMERIC = {"creation_time", "last_update_time"}
_STRING_OPS = {"=", "!=", "LIKE", "ILIKE"}
_NUMBER_OPS = {"=", "!=", "<", "<=", ">", ">="}


def _like(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{out}$", re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text


Condition = Callable[[Experiment], bool]


def parse_filter(text: str | None) -> list[Condition]:
    if not text or not text.strip():
        return []
    conditions: list[Condition] = []
    for clause in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE):
        m = re.match(
            r"^\s*(?P<lhs>[A-Za-z_]\w*(?:\.(?:`[^`]*`|\"[^\"]*\"|[\w.]+))?)\s*"
            r"(?P<op>!=|<=|>=|=|<|>|(?i:NOT\s+ILIKE|NOT\s+LIKE|ILIKE|LIKE))\s*(?P<rhs>.+?)\s*$",
            clause,
        )
        if m is None:
            raise InvalidInput(f"Invalid clause(s) in filter string: {clause!r}")
        lhs, op, rhs = m.group("lhs"), m.group("op").upper(), m.group("rhs")
        entity, _, key = lhs.partition(".")
        if not key:
            entity, key = "attribute", entity
        entity = entity.lower()
        key = _unquote(key)
        if entity in ("attribute", "attributes", "attr") and key in ("name",):
            get: Callable[[Experiment], Any] = lambda e: e.name  # noqa: E731
            numeric = False
        elif entity in ("attribute", "attributes", "attr") and key in _NUMERIC:
            get = _attr_getter(key)
            numeric = True
        elif entity in ("tag", "tags"):
            get = _tag_getter(key)
            numeric = False
        else:
            raise InvalidInput(f"Invalid attribute key '{lhs}' in experiment filter")
        if numeric:
            if op not in _NUMBER_OPS:
                raise InvalidInput(f"Invalid comparator '{op}' for '{key}'")
            try:
                number = float(rhs)
            except ValueError:
                raise InvalidInput(f"Expected a number for '{key}', got {rhs}") from None
            conditions.append(_number_condition(get, op, number))
        else:
            if op not in _STRING_OPS:
                raise InvalidInput(f"Invalid comparator '{op}' for '{lhs}'")
            if not (len(rhs) >= 2 and rhs[0] == rhs[-1] and rhs[0] in "'\""):
                raise InvalidInput(f"Expected a quoted string value for '{lhs}', got {rhs}")
            conditions.append(_string_condition(get, op, rhs[1:-1]))
    return conditions


def _attr_getter(key: str) -> Callable[[Experiment], Any]:
    return lambda e: getattr(e, key)


def _tag_getter(key: str) -> Callable[[Experiment], Any]:
    return lambda e: e.tags.get(key)


def _number_condition(get: Callable[[Experiment], Any], op: str, n: float) -> Condition:
    ops: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    fn = ops[op]
    return lambda e: get(e) is not None and fn(get(e), n)


def _string_condition(get: Callable[[Experiment], Any], op: str, value: str) -> Condition:
    if op == "=":
        return lambda e: get(e) == value
    if op == "!=":
        return lambda e: get(e) is not None and get(e) != value
    pattern = _like(value, case_sensitive=op == "LIKE")
    return lambda e: get(e) is not None and pattern.match(get(e)) is not None


_ORDER_KEYS = {
    "name": lambda e: e.name,
    "experiment_id": lambda e: int(e.id),
    "creation_time": lambda e: e.creation_time,
    "last_update_time": lambda e: e.last_update_time,
}


def order(experiments: list[Experiment], order_by: list[str]) -> list[Experiment]:
    items = order_by or ["creation_time DESC", "experiment_id ASC"]
    out = list(experiments)
    for item in reversed(items):
        parts = item.strip().split()
        if not parts or len(parts) > 2:
            raise InvalidInput(f"Invalid order_by clause {item!r}")
        key = parts[0].split(".", 1)[-1] if parts[0].startswith("attribute") else parts[0]
        if key not in _ORDER_KEYS:
            raise InvalidInput(f"Invalid order_by key {parts[0]!r}")
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidInput(f"Invalid order_by direction {parts[1]!r}")
        out.sort(key=_ORDER_KEYS[key], reverse=direction == "DESC")
    return out


def encode_offset(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token))["offset"]
        if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise ValueError
        return offset
    except Exception:
        raise InvalidInput(f"Invalid page token {token!r}") from None
