"""The one reader of JSON request bodies, for the REST routes and the MLflow routes alike.

Whatever a client sends, it answers with the data or an :class:`~jupyter_mm.errors.InvalidInput`
(a 400 in the route's own error shape), never an exception that becomes a 500: nesting deeper
than :data:`~jupyter_mm.core.limits.MAX_JSON_DEPTH` (``json.loads`` would otherwise recurse into
a ``RecursionError``, and whatever walks the value next would too), a lone UTF-16 surrogate in a
string or key (no database column takes one), a number with more digits than Python converts.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidInput
from . import limits, validation

WHAT = "the request body"


class NotJSON(InvalidInput):
    """The body does not parse as JSON at all."""


def parse(body: bytes | str) -> Any:
    """The body's JSON value, checked for depth and lone surrogates."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise InvalidInput(f"{WHAT} is nested deeper than {limits.MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise NotJSON(f"{WHAT} is not valid JSON: {e}") from None
    return validation.json_value(data, WHAT)
