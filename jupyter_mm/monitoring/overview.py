"""A model's monitoring at a glance, per version: its status word, the monitors watching it,
its latest evaluation record and the history of its evaluations (what the Models panel and the
version view show; ``GET registry/models/{name}/monitoring``).

Read only from what :func:`.monitors.evaluate` keeps, through the ``TrackingStore`` interface:
the monitoring runs' tags (status), their ``rows`` / ``status`` / ``drift_share`` metrics (the
history: one point per evaluation, so a year of hourly evaluations is a few chunk reads, not
8,760 artifacts) and one JSON record (the latest). Jupyter-free.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NotFound
from .monitors import (
    EXPERIMENT_PREFIX,
    NOT_ENOUGH_DATA,
    TAG_AT,
    TAG_EVALUATIONS,
    TAG_MODEL,
    TAG_MONITOR,
    TAG_PERFORMANCE,
    TAG_STATUS,
    TAG_VERSION,
    _of_model,
    evaluation_path,
)

if TYPE_CHECKING:
    from ..core.entities import Run
    from ..core.store import TrackingStore

NO_DATA = "no-data"
PERFORMANCE_DOWN = "performance-down"
#: A version's status words, best (nothing to say) to worst.
STATUSES = (NO_DATA, NOT_ENOUGH_DATA, "ok", "warning", "drift", PERFORMANCE_DOWN)
_RANK = {s: i for i, s in enumerate(STATUSES)}
#: The ``status`` metric's values (``monitors._STATUS_LEVEL``) as words.
_LEVEL_STATUS = {0: "ok", 1: "warning", 2: "drift"}
DEFAULT_HISTORY = 100
MAX_HISTORY = 1000


def run_status(tags: Mapping[str, str]) -> str:
    """A monitoring run's status: ``performance-down`` when its performance is degraded, else
    its drift status (``no-data`` before its first evaluation)."""
    if tags.get(TAG_PERFORMANCE) == "degraded":
        return PERFORMANCE_DOWN
    status = tags.get(TAG_STATUS, NO_DATA)
    return status if status in _RANK else NO_DATA


def worst(statuses: Iterable[str]) -> str:
    """The worst of ``statuses`` (``no-data`` for none)."""
    return max(statuses, key=lambda s: _RANK.get(s, 0), default=NO_DATA)


def _runs(store: TrackingStore, name: str) -> list[Run]:
    """The model's monitoring runs (its experiment holds nothing else)."""
    experiment = store.get_experiment_by_name(EXPERIMENT_PREFIX + name)
    if experiment is None:
        return []
    found: list[Run] = []
    token: str | None = None
    while True:
        page, token = store.search_runs([experiment.id], page_token=token)
        found.extend(r for r in page if r.tags.get(TAG_MODEL) == name and TAG_VERSION in r.tags)
        if not token:
            return found


def _history(store: TrackingStore, run: Run, limit: int) -> list[dict[str, Any]]:
    """The run's last ``limit`` evaluations, oldest first: step, time, status, rows and the
    measured share of drifted features (null when there was no verdict)."""
    count = int(run.tags.get(TAG_EVALUATIONS, "0") or 0)
    if count < 1:
        return []
    steps = (max(1, count - limit + 1), count)
    rows = store.get_metric_history(run.id, "rows", step_range=steps)
    status = store.get_metric_history(run.id, "status", step_range=steps)
    share = store.get_metric_history(run.id, "drift_share", step_range=steps)
    level = {int(s): int(v) for s, v in zip(status["step"], status["value"], strict=True)}
    shares = {int(s): float(v) for s, v in zip(share["step"], share["value"], strict=True)}
    out = []
    for step, ts, n in zip(rows["step"], rows["timestamp"], rows["value"], strict=True):
        step = int(step)
        out.append({
            "monitor": run.tags.get(TAG_MONITOR, ""),
            "step": step,
            "at": dt.datetime.fromtimestamp(int(ts) / 1000, dt.timezone.utc).isoformat(),
            "status": _LEVEL_STATUS.get(level[step], "ok") if step in level else NOT_ENOUGH_DATA,
            "rows": int(n),
            "drift_share": shares.get(step),
        })  # fmt: skip
    return out


def latest_record(store: TrackingStore, run: Run) -> dict[str, Any] | None:
    """The run's last evaluation record (None before the first, or for evaluations kept before
    records were)."""
    count = int(run.tags.get(TAG_EVALUATIONS, "0") or 0)
    if count < 1:
        return None
    try:
        record: dict[str, Any] = json.loads(store.read_artifact(run.id, evaluation_path(count)))
    except NotFound:
        return None
    return record


def _at(run: Run) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(run.tags.get(TAG_AT, ""))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def model_monitoring(
    store: TrackingStore, name: str, history: int = DEFAULT_HISTORY
) -> dict[str, Any]:
    """Model ``name``'s monitors and, per version (newest first): ``status`` (the worst of its
    monitoring runs'), ``monitors`` (the ids of those whose alias points to it now),
    ``evaluations`` (how many), ``latest`` (the newest evaluation's record) and ``history``
    (at most ``history`` evaluations, oldest first). ``NotFound`` for an unknown model."""
    model = store.get_registered_model(name)
    monitors = _of_model(name, model.tags)
    versions = store.list_model_versions(name)
    by_version: dict[int, list[Run]] = {}
    for run in _runs(store, name):
        try:
            by_version.setdefault(int(run.tags[TAG_VERSION]), []).append(run)
        except ValueError:  # a hand-edited tag: not one of ours
            continue
    out = []
    for mv in sorted(versions, key=lambda v: -int(v.version)):
        number = int(mv.version)
        runs = sorted(by_version.get(number, []), key=_at)
        past = [h for run in runs for h in _history(store, run, history)]
        past.sort(key=lambda h: (h["at"], h["monitor"], h["step"]))
        out.append({
            "version": number,
            "status": worst(run_status(r.tags) for r in runs),
            "monitors": [m.id for m in monitors if model.aliases.get(m.alias) == number],
            "evaluations": sum(int(r.tags.get(TAG_EVALUATIONS, "0") or 0) for r in runs),
            "latest": latest_record(store, runs[-1]) if runs else None,
            "history": past[-history:],
        })  # fmt: skip
    return {
        "name": name,
        "monitors": [
            {
                "id": m.id,
                "alias": m.alias,
                "window": m.window,
                "every": m.every,
                "preset": m.preset,
                "min_rows": m.min_rows,
                "version": model.aliases.get(m.alias),
            }
            for m in monitors
        ],  # fmt: skip
        "versions": out,
    }
