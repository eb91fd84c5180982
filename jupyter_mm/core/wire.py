"""Numbers on the wire. JSON has no NaN or ±Infinity literals, so non-finite values travel as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (proto3 JSON's spelling, which MLflow's
clients parse). One module, so the REST API, the MLflow routes, the remote client and the registry's
lineage all write and read them the same way."""

from __future__ import annotations

import math
from typing import Any

NON_FINITE_STRINGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def json_number(value: float) -> float | str:
    """A float as JSON can carry it: non-finite values become their strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def from_json_number(value: Any) -> float:
    """The inverse of :func:`json_number` (a number, or one of the three strings)."""
    return NON_FINITE_STRINGS[value] if isinstance(value, str) else float(value)
