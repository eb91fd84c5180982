"""``POST jupyter-mm/api/metrics/history``: histories of several runs and keys in one request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core import limits
from ...errors import InvalidInput
from .base import MMHandler
from .common import MAX_BATCH_JSON_BYTES, int_field, json_numbers, json_object, parse_run

if TYPE_CHECKING:
    from ...core.store import Store

#: Most runs, keys and (run, key) series one request may ask for.
MAX_HISTORY_RUNS = 1000
MAX_HISTORY_KEYS = 1000
MAX_HISTORY_SERIES = 10_000
#: Largest ``max_points`` (points per series after down-sampling).
MAX_HISTORY_POINTS = 1_000_000


def _range(value: Any, what: str) -> tuple[int | None, int | None] | None:
    """``[lo, hi]`` or ``{"min": lo, "max": hi}``; either end may be null."""
    if value is None:
        return None
    if isinstance(value, dict):
        extra = set(value) - {"min", "max"}
        if extra:
            raise InvalidInput(f"'{what}' takes 'min' and 'max', not {', '.join(sorted(extra))}")
        lo, hi = value.get("min"), value.get("max")
    elif isinstance(value, list) and len(value) == 2:
        lo, hi = value
    else:
        raise InvalidInput(f"'{what}' must be [min, max] (either may be null)")
    low = int_field(lo, f"{what} min", limits.MIN_STEP, limits.MAX_STEP)
    high = int_field(hi, f"{what} max", limits.MIN_STEP, limits.MAX_STEP)
    return (low, high)


def _key_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise InvalidInput("'keys' must be a list of metric names")
    if len(value) > MAX_HISTORY_KEYS:
        raise InvalidInput(f"too many keys: {len(value)} (limit {MAX_HISTORY_KEYS})")
    return list(dict.fromkeys(value))


def histories(
    store: Store,
    run_ids: list[str],
    keys: list[str] | None,
    max_points: int | None,
    step_range: tuple[int | None, int | None] | None,
    time_range: tuple[int | None, int | None] | None,
) -> dict[str, Any]:
    series: list[dict[str, Any]] = []
    for rid in run_ids:
        run_keys = keys if keys is not None else store.metric_keys(rid)
        if keys is None:
            store.get_run(rid)  # a run without metrics still has to exist
        for key in run_keys:
            if len(series) >= MAX_HISTORY_SERIES:
                raise InvalidInput(
                    f"too many series: more than {MAX_HISTORY_SERIES}; ask for fewer runs or keys"
                )
            h = store.get_metric_history(
                rid, key, max_points=max_points, step_range=step_range, time_range=time_range
            )
            series.append(
                {
                    "run_id": rid,
                    "key": key,
                    "step": h["step"].tolist(),
                    "timestamp": h["timestamp"].tolist(),
                    "value": json_numbers(h["value"]),
                }
            )
    return {"series": series}


class MetricHistoryHandler(MMHandler):
    """``POST metrics/history {run_ids, keys, max_points, step_range, time_range}``.

    Answers ``{"series": [{run_id, key, step: [...], timestamp: [...], value: [...]}]}``, one
    series per run and key (every key of each run when ``keys`` is omitted). With ``max_points``
    each series is down-sampled keeping every bucket's minimum and maximum. Non-finite values are
    the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    """

    auth_resource = "jupyter_mm:metrics"

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(
            self,
            ("run_ids", "keys", "max_points", "step_range", "time_range"),
            limit=MAX_BATCH_JSON_BYTES,
        )
        ids = body.get("run_ids")
        if not isinstance(ids, list) or not ids:
            raise InvalidInput("'run_ids' must be a non-empty list of run ids")
        if len(ids) > MAX_HISTORY_RUNS:
            raise InvalidInput(f"too many run ids: {len(ids)} (limit {MAX_HISTORY_RUNS})")
        run_ids = list(dict.fromkeys(parse_run(r) for r in ids))
        keys = _key_list(body.get("keys"))
        max_points = int_field(body.get("max_points"), "max_points", 1, MAX_HISTORY_POINTS)
        step_range = _range(body.get("step_range"), "step_range")
        time_range = _range(body.get("time_range"), "time_range")
        self.send_json(
            await self.call_store(histories, run_ids, keys, max_points, step_range, time_range)
        )
