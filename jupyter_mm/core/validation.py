"""Checks applied to everything before it is written. Each failure is an :class:`InvalidInput`
saying what was wrong; a batch is checked whole before any of it is written."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import InvalidInput
from . import limits

# Unicode letters and digits are welcome; a few separators too. No control characters,
# no leading/trailing whitespace, no path tricks ("/" alone is allowed for grouping: "val/loss").
_KEY_RE = re.compile(r"^[\w\-. /:]+$", re.UNICODE)


def unicode(value: str, what: str) -> str:
    """``value`` unless it holds a lone UTF-16 surrogate (``"\\ud800"`` from a JSON escape or
    ``surrogateescape``): no database stores one, so it is refused here rather than at the write."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidInput(
                f"{what} holds a lone UTF-16 surrogate {value[e.start]!r} at position {e.start}: "
                "text must be valid Unicode",
                {"position": e.start},
            ) from None
    return value


def json_value(value: Any, what: str, max_depth: int = limits.MAX_JSON_DEPTH) -> Any:
    """``value`` (as ``json.loads`` returns it) unless it nests arrays and objects deeper than
    ``max_depth`` or holds a lone surrogate in a string or a key. Iterative, so a deep value
    cannot exhaust the stack of whoever checks it; cheap on large flat batches."""
    if isinstance(value, str):
        return unicode(value, f"a string in {what}")
    level: list[Any] = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:  # one level of nesting per pass
        depth += 1
        if depth > max_depth:
            raise InvalidInput(f"{what} is nested deeper than {max_depth} levels")
        inner: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                for k in node:
                    if not k.isascii():
                        unicode(k, f"a key in {what}")
                node = node.values()
            for item in node:
                if isinstance(item, str):
                    if not item.isascii():
                        unicode(item, f"a string in {what}")
                elif isinstance(item, (dict, list)):
                    inner.append(item)
        level = inner
    return value


def key(value: Any, what: str = "key") -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}: {value!r}")
    unicode(value, what)
    if not value:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > limits.MAX_KEY_LENGTH:
        raise InvalidInput(
            f"{what} {value[:40]!r}... is {len(value)} characters long; "
            f"the limit is {limits.MAX_KEY_LENGTH}"
        )
    if value != value.strip() or not _KEY_RE.match(value):
        raise InvalidInput(
            f"invalid {what} {value!r}: use letters, digits, '_', '-', '.', ' ', ':' and '/', "
            "with no leading or trailing spaces"
        )
    if value.startswith("/") or "//" in value or any(p in (".", "..") for p in value.split("/")):
        raise InvalidInput(
            f"invalid {what} {value!r}: '/' separates names; no empty, '.' or '..' parts"
        )
    return value


def text(value: Any, what: str, max_length: int) -> str:
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    unicode(value, what)
    if len(value) > max_length:
        raise InvalidInput(f"{what} is {len(value)} characters long; the limit is {max_length}")
    return value


def param_value(k: str, value: Any) -> str:
    if value is None:
        raise InvalidInput(f"param {k!r} has no value (None)")
    return text(value, f"value of param {k!r}", limits.MAX_PARAM_VALUE_LENGTH)


def tag_value(k: str, value: Any) -> str:
    if value is None:
        raise InvalidInput(f"tag {k!r} has no value (None)")
    return text(value, f"value of tag {k!r}", limits.MAX_TAG_VALUE_LENGTH)


def run_id(value: Any) -> str:
    """A run's id: 32 lowercase hex characters."""
    if (
        not isinstance(value, str)
        or len(value) != 32
        or any(c not in "0123456789abcdef" for c in value)
    ):
        raise InvalidInput(f"run id must be 32 lowercase hex characters, got {value!r}")
    return value


def run_status(status: Any) -> str:
    """One of :data:`~.entities.RUN_STATUSES`, in any case (``finished`` is ``FINISHED``)."""
    from .entities import RUN_STATUSES

    st = str(status).upper()
    if st not in RUN_STATUSES:
        raise InvalidInput(f"run status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")
    return st


def metric_batch(count: int) -> None:
    """At most :data:`~.limits.MAX_BATCH_METRICS` metric points travel or commit together."""
    if count > limits.MAX_BATCH_METRICS:
        raise InvalidInput(
            f"too many metric points in one batch: {count}; the limit is {limits.MAX_BATCH_METRICS}"
        )


def metric_value(k: str, value: Any) -> float:
    """Floats, ints, bools, numpy scalars. NaN and ±Inf are kept as they are."""
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidInput(f"metric {k!r} must be a number, got {type(value).__name__}: {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            f"metric {k!r} must be a number, got {type(value).__name__}: {value!r}"
        ) from None
    if not math.isnan(v) and not math.isinf(v) and abs(v) > limits.MAX_ABS_METRIC:
        raise InvalidInput(f"metric {k!r} value {value!r} is out of range")
    return v


def step(k: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numbers

            if isinstance(value, numbers.Integral):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise InvalidInput(
                f"step of metric {k!r} must be an integer, got {type(value).__name__}: {value!r}"
            ) from None
    if not limits.MIN_STEP <= value <= limits.MAX_STEP:
        raise InvalidInput(f"step {value} of metric {k!r} does not fit in 64 bits")
    return int(value)


def timestamp(k: str, value: Any) -> int:
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        ts = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            f"timestamp of metric {k!r} must be milliseconds, got {value!r}"
        ) from None
    if not 0 <= ts <= limits.MAX_STEP:
        raise InvalidInput(f"timestamp {value!r} of metric {k!r} is out of range")
    return ts


def millis(value: Any, what: str) -> int:
    """A time in milliseconds since the epoch: an integer that fits the 64-bit column."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer (milliseconds), got {value!r}")
    if not 0 <= value <= limits.MAX_STEP:
        raise InvalidInput(f"{what} {value} is out of range (0 to {limits.MAX_STEP})")
    return value


def name(value: Any, what: str) -> str:
    value = text(value, what, limits.MAX_NAME_LENGTH)
    if not value.strip():
        raise InvalidInput(f"{what} must not be blank")
    return value


def known_fields(given: Iterable[str], allowed: Sequence[str], what: str = "field") -> None:
    """Refuse names outside ``allowed`` (a typo must not be silently ignored), listing them and
    what is allowed, in ``allowed``'s order."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"unknown {what}(s) {', '.join(map(repr, unknown))}; expected some of "
            f"{', '.join(allowed)}"
        )


def mapping(values: Any, what: str, max_items: int) -> Mapping[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"{what} must be a mapping of names to values, got {type(values).__name__}"
        )
    if len(values) > max_items:
        raise InvalidInput(f"too many {what} in one call: {len(values)}; the limit is {max_items}")
    return values
