"""Checks on registry input. Each failure is an :class:`InvalidInput` saying what was wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ...errors import InvalidInput
from .. import limits, validation
from .entities import STAGES

_ALIAS_RE = re.compile(r"^[\w\-]+$")
_VERSION_ALIAS_RE = re.compile(r"^[vV]\d+$")
MAX_ALIAS_LENGTH = 250
MAX_SOURCE_LENGTH = 5000
MAX_DESCRIPTION_LENGTH = 100_000
MAX_COMMENT_LENGTH = 10_000
MAX_EVIDENCE_ITEMS = 50
MAX_EVIDENCE_LENGTH = 2000
#: Most identities one ``approvers`` policy names (a list of validators, not a directory).
MAX_APPROVERS = 1000
#: Largest page of a registry search (MLflow: 1,000 models, 200,000 versions).
MAX_MODEL_RESULTS = 1000
MAX_VERSION_RESULTS = 200_000


def _printable(value: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"{what} {value[:80]!r} must not contain control characters")
    return value


def actor(value: Any) -> str:
    """Who acts: a non-blank name. The core never guesses it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"the acting user (actor) must be a non-empty string, got {value!r}")
    return _printable(validation.name(value, "actor"), "actor")


def model_name(value: Any, what: str = "registered model name") -> str:
    """MLflow's rule ('/' and ':' would break ``models:/NAME/...`` URIs) plus ours."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"Missing value for required parameter 'name' ({what})")
    value = validation.name(value, what)
    if value != value.strip():
        raise InvalidInput(f"{what} {value!r} must not start or end with whitespace")
    if "/" in value or ":" in value:
        raise InvalidInput(f"Invalid model name '{value}'. Names cannot contain '/' or ':'.")
    return _printable(value, what)


def version(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"version must be an integer, got {value!r}")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 < value < 2**31:
        raise InvalidInput(f"version must be a positive integer, got {value!r}")
    return value


def alias(value: Any) -> str:
    """``^[\\w-]+$``; ``latest`` and ``v<N>`` are reserved (they are version references)."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("Registered model alias name cannot be empty.")
    if not _ALIAS_RE.match(value):
        raise InvalidInput(
            f"Invalid alias name: '{value}'. Names may only contain alphanumerics, "
            "underscores (_) and dashes (-)."
        )
    if len(value) > MAX_ALIAS_LENGTH:
        raise InvalidInput(f"alias {value[:40]!r}... is longer than {MAX_ALIAS_LENGTH} characters")
    if value.lower() == "latest":
        raise InvalidInput("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS_RE.match(value):
        raise InvalidInput(f"Version alias name '{value}' is reserved.")
    return value


def text(value: Any, what: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}")
    return validation.text(value, what, max_length)


def description(value: Any) -> str:
    return text(value, "description", MAX_DESCRIPTION_LENGTH)


def comment(value: Any, required: bool = False) -> str:
    out = text(value, "comment", MAX_COMMENT_LENGTH)
    if required and not out.strip():
        raise InvalidInput("a comment saying why is required for this decision")
    return out


def source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Missing value for required parameter 'source'")
    return _printable(validation.text(value, "source", MAX_SOURCE_LENGTH), "source")


def tags(values: Any) -> dict[str, str]:
    items = validation.mapping(values, "tags", limits.MAX_BATCH_TAGS)
    out: dict[str, str] = {}
    for k, v in items.items():
        k = validation.key(k, "tag name")
        out[k] = validation.tag_value(k, v)
    return out


def evidence(values: Iterable[Any] | None) -> list[str]:
    """Links to validation evidence (URLs, ``runs:/`` URIs, report digests)."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        raise InvalidInput("evidence must be a list of links, not a single string")
    out = [text(v, "evidence link", MAX_EVIDENCE_LENGTH).strip() for v in values]
    if len(out) > MAX_EVIDENCE_ITEMS:
        raise InvalidInput(f"at most {MAX_EVIDENCE_ITEMS} evidence links, got {len(out)}")
    if any(not v for v in out):
        raise InvalidInput("evidence links must not be empty")
    return out


def policy_flag(field: str, value: Any) -> bool | None:
    """A policy switch (``four_eyes``, ``approved_aliases_only``): True, False, or ``None`` to
    leave it as it is."""
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"policy {field} must be True or False, got {value!r}")
    return value


def approvers(values: Any) -> tuple[str, ...]:
    """The ``approvers`` policy: identities as the server authenticates them, each once, in the
    order given. Empty means anyone may decide."""
    if not isinstance(values, (list, tuple)):
        raise InvalidInput(
            f"policy approvers must be a list of user names, got {values!r}"
            + (" (a single string: wrap it in a list)" if isinstance(values, str) else "")
        )
    out: list[str] = []
    for v in values:
        try:
            name = actor(v)
        except InvalidInput:
            raise InvalidInput(
                f"policy approvers: each entry must be a non-empty user name, got {v!r}"
            ) from None
        if name != name.strip():
            raise InvalidInput(f"policy approvers: {name!r} has leading or trailing spaces")
        if name not in out:
            out.append(name)
    if len(out) > MAX_APPROVERS:
        raise InvalidInput(f"policy approvers: at most {MAX_APPROVERS} names, got {len(out)}")
    return tuple(out)


def stage(value: Any) -> str:
    for s in STAGES:
        if isinstance(value, str) and value.lower() == s.lower():
            return s
    raise InvalidInput(f"stage must be one of {', '.join(STAGES)}, got {value!r}")


def page_size(value: Any, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise InvalidInput(f"Invalid value {value!r} for parameter 'max_results' (1 to {limit})")
    return value
