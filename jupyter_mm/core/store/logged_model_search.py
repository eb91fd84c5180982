"""``search_logged_models``' filter and order_by, as MLflow 3 reads them.

MLflow's grammar for logged models is smaller than the runs one: comparisons joined by ``AND``,
on attributes (``name``, ``model_id``, ``model_type``, ``status``, ``source_run_id``,
``creation_timestamp``, ``last_updated_timestamp``), ``metrics.<key>``, ``params.<key>`` and
``tags.<key>``; timestamps and metrics take ``= != < <= > >=`` and a number, the rest
``= != LIKE ILIKE IN NOT IN`` and a quoted string. ``order_by`` items are
``{field_name, ascending, dataset_name, dataset_digest}`` over the attributes and ``metrics.<key>``
(the model's latest value of that metric, optionally on one dataset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInput
from .. import limits

#: filter / order_by attribute -> column of ``logged_models``
ATTRIBUTES = {
    "name": "name",
    "model_id": "model_id",
    "model_type": "model_type",
    "status": "status",
    "source_run_id": "source_run_id",
    "experiment_id": "experiment_id",
    "creation_timestamp": "creation_time",
    "creation_timestamp_ms": "creation_time",
    "creation_time": "creation_time",
    "last_updated_timestamp": "last_update_time",
    "last_updated_timestamp_ms": "last_update_time",
}
_NUMERIC_ATTRIBUTES = {"creation_time", "last_update_time"}
_ENTITIES = {"attributes": "attribute", "metrics": "metric", "params": "param", "tags": "tag"}
NUMERIC_OPS = ("<", "<=", ">", ">=", "=", "!=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
#: wire statuses (and our short ones) -> stored status
STATUS_NAMES = {
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
    "PENDING": "PENDING",
    "READY": "READY",
    "FAILED": "FAILED",
    "UPLOAD_FAILED": "FAILED",
}


@dataclass(frozen=True)
class Condition:
    entity: str  # attribute | metric | param | tag
    key: str  # the column for attributes
    op: str
    value: Any  # float for numeric, str, or tuple[str, ...] for IN


@dataclass(frozen=True)
class Order:
    entity: str  # attribute | metric
    key: str
    ascending: bool
    dataset_name: str | None = None
    dataset_digest: str | None = None


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.`])
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    | (?P<ident>(?:`[^`]*`|[\w.])+)
    )""",
    re.VERBOSE,
)


def _invalid_filter(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"Invalid filter string: {text!r}. {why}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _invalid_filter(text, f"Unexpected character at position {pos}.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _entity(ident: str, text: str) -> tuple[str, str]:
    head, dot, rest = ident.partition(".")
    if dot and not head.startswith("`") and head in _ENTITIES:
        entity, key = _ENTITIES[head], rest.strip("`")
    elif dot and re.fullmatch(r"[a-z]+", head):
        raise InvalidInput(
            f"Invalid entity type: {head!r}. Expected one of "
            "['attributes', 'metrics', 'params', 'tags']."
        )
    else:
        entity, key = "attribute", ident.strip("`")
    if not key:
        raise _invalid_filter(text, f"{ident!r} names no key.")
    if entity == "attribute":
        if key not in ATTRIBUTES:
            raise InvalidInput(
                f"Invalid attribute key {key!r} in filter string: expected one of "
                f"{', '.join(sorted(ATTRIBUTES))}"
            )
        key = ATTRIBUTES[key]
    return entity, key


def _string(token: tuple[str, str], text: str, what: str) -> str:
    kind, value = token
    if kind != "str":
        raise _invalid_filter(text, f"{what} compare with a quoted string, got {value}.")
    return value[1:-1].replace("\\'", "'").replace('\\"', '"')


def parse_filter(text: str | None) -> list[Condition]:
    if not text or not text.strip():
        return []
    if len(text) > limits.MAX_FILTER_LENGTH:
        raise InvalidInput(f"filter is longer than {limits.MAX_FILTER_LENGTH} characters")
    toks = _tokens(text)
    out: list[Condition] = []
    i = 0
    while i < len(toks):
        if out:
            if toks[i] != ("ident", toks[i][1]) or toks[i][1].upper() != "AND":
                raise _invalid_filter(
                    text,
                    "Expected a list of comparisons separated by 'AND' "
                    "(e.g. 'metrics.loss > 0.1 AND params.lr = 0.01').",
                )
            i += 1
        if i + 2 > len(toks) or toks[i][0] != "ident":
            raise _invalid_filter(text, "Expected a comparison such as name = 'my-model'.")
        entity, key = _entity(toks[i][1], text)
        i += 1
        kind, op = toks[i]
        if kind == "ident" and op.upper() == "NOT" and i + 1 < len(toks):
            i += 1
            op = "NOT " + toks[i][1].upper()
        elif kind == "ident":
            op = op.upper()
        elif kind != "op":
            raise _invalid_filter(text, f"Expected a comparison operator, got {op!r}.")
        op = "!=" if op == "<>" else op
        numeric = entity == "metric" or key in _NUMERIC_ATTRIBUTES
        allowed = NUMERIC_OPS if numeric else STRING_OPS
        shown = f"{entity}s.{key}" if entity != "attribute" else key
        if op not in allowed:
            raise InvalidInput(
                f"Invalid comparison operator for {shown}: {op!r}. Expected one of {allowed}."
            )
        i += 1
        if i >= len(toks):
            raise _invalid_filter(text, f"Expected a value after {op}.")
        value: Any
        if op in ("IN", "NOT IN"):
            if toks[i] != ("punct", "("):
                raise _invalid_filter(text, f"Expected '(' after {op}.")
            items: list[str] = []
            i += 1
            while True:
                if i >= len(toks):
                    raise _invalid_filter(text, "Unclosed '(' in the value list.")
                items.append(_string(toks[i], text, shown))
                i += 1
                if i < len(toks) and toks[i] == ("punct", ","):
                    i += 1
                    continue
                if i < len(toks) and toks[i] == ("punct", ")"):
                    i += 1
                    break
                raise _invalid_filter(text, "Expected ',' or ')' in the value list.")
            value = tuple(items)
        elif numeric:
            kind, raw = toks[i]
            if kind != "num":
                raise _invalid_filter(text, f"{shown} compares with a number, got {raw}.")
            value = float(raw) if entity == "metric" else int(float(raw))
            i += 1
        else:
            value = _string(toks[i], text, shown)
            if entity == "attribute" and key == "status":
                value = STATUS_NAMES.get(value.upper(), value)
            i += 1
        out.append(Condition(entity, key, op, value))
    return out


def parse_order_by(items: list[Any] | None) -> list[Order]:
    out: list[Order] = []
    for item in items or ():
        if isinstance(item, str):  # "name DESC", as a convenience
            parts = item.split()
            item = {
                "field_name": parts[0] if parts else "",
                "ascending": not (len(parts) > 1 and parts[1].upper() == "DESC"),
            }
        if not isinstance(item, dict) or not isinstance(item.get("field_name"), str):
            raise InvalidInput(f"Invalid order_by item {item!r}: expected a field_name")
        name = item["field_name"]
        ascending = item.get("ascending", True)
        if isinstance(ascending, str):
            ascending = ascending.lower() != "false"
        head, dot, key = name.partition(".")
        if not dot:
            if name not in ATTRIBUTES:
                raise InvalidInput(f"Invalid order by field name: {name}")
            out.append(Order("attribute", ATTRIBUTES[name], bool(ascending)))
            continue
        if head != "metrics" or not key:
            raise InvalidInput(f"Invalid order by field name: {name}. Only metrics are supported.")
        out.append(
            Order(
                "metric",
                key.strip("`"),
                bool(ascending),
                item.get("dataset_name") or None,
                item.get("dataset_digest") or None,
            )
        )
    return out
