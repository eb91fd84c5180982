"""Monitors: a model alias watched on a schedule against its version's reference profile.

A monitor's definition is the audited registered-model tag ``mm.monitor.<id>`` (JSON), so it is
written, read and deleted through the ``TrackingStore`` interface that already carries model
tags (local and remote alike), and every change is in the hash-chained audit trail.

:func:`evaluate` (Jupyter-free) resolves the alias to a version, reads the window from the
prediction log, compares it with the version's reference profile with the monitor's preset, and
keeps the result as a time series: one run per monitor and version in the experiment
``monitoring/<model>``, one metric per statistic and feature (``psi/income``) with step = the
evaluation's number and timestamp = its time, the evaluation id and verdict as tags, and the
evaluation's whole record as the JSON artifact ``mm/evaluations/<step>.json``. The existing
charts, search and comparison views read them like any run. A monitor with a performance rule
(:mod:`.performance_rule`) also judges the window's performance, measured from labels or
estimated from calibrated scores (``performance/auc`` or ``performance/auc_estimated``), with the
run tag ``mm.monitor.performance`` (ok | degraded | unknown). Scheduling lives in
:mod:`.schedule`; the server emits the events.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound
from .current import MAX_ROWS

if TYPE_CHECKING:
    from ..core.store import TrackingStore
    from .current import Window
    from .presets import DriftResult, Thresholds

#: Registered-model tag prefix of monitor definitions: ``mm.monitor.<id>`` holds its JSON.
MONITOR_TAG_PREFIX = "mm.monitor."
#: The experiment holding a model's monitoring runs.
EXPERIMENT_PREFIX = "monitoring/"
#: Run tags of a monitoring run.
TAG_MONITOR, TAG_MODEL, TAG_VERSION = "mm.monitor.id", "mm.monitor.model", "mm.monitor.version"
TAG_EVALUATIONS, TAG_EVALUATION = "mm.monitor.evaluations", "mm.monitor.evaluation_id"
TAG_STATUS, TAG_STATE, TAG_AT = "mm.monitor.status", "mm.monitor.state", "mm.monitor.evaluated_at"
#: ok | degraded | unknown (this evaluation), and the last conclusive one (ok | degraded).
TAG_PERFORMANCE, TAG_PERFORMANCE_STATE = "mm.monitor.performance", "mm.monitor.performance_state"
#: Status of an evaluation whose window holds fewer than ``min_rows`` rows: no verdict, no alarm.
NOT_ENOUGH_DATA = "not-enough-data"
#: Folder of a monitoring run holding one JSON record per evaluation (:func:`evaluation_path`).
EVALUATIONS_DIR = "mm/evaluations"
DEFAULT_MIN_ROWS = 100
_STATUS_LEVEL = {"ok": 0, "warning": 1, "drift": 2}
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: Namespace of the monitoring runs' ids: one run per (model, monitor, version), found again
#: without a search.
_RUN_NS = uuid.UUID("6f0f2b8e-8f0c-4c55-9d7e-6d6f6e69746f")


def parse_duration(text: Any, what: str) -> float:
    """Seconds in ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"``, ``"2w"`` (or a number of seconds)."""
    if isinstance(text, bool):
        raise InvalidInput(f"{what} must be a duration such as '1h', not {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        m = _DURATION_RE.match(str(text))
        if m is None:
            raise InvalidInput(
                f"{what} {text!r} is not a duration: a number and a unit, s, m, h, d or w "
                "('30m', '1h', '7d')"
            )
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if not seconds > 0:
        raise InvalidInput(f"{what} must be longer than zero, not {text!r}")
    return seconds


@dataclass(frozen=True)
class Monitor:
    """A monitor's definition (the JSON of its model tag, plus the model and id)."""

    model: str
    id: str
    alias: str = "champion"
    window: str = "1d"
    every: str = "1h"
    preset: str = "bank"
    thresholds: dict[str, Any] = field(default_factory=dict)
    min_rows: int = DEFAULT_MIN_ROWS
    #: The performance rule (``performance_rule.check_rule``'s shape), None: drift only.
    performance: dict[str, Any] | None = None

    @property
    def tag(self) -> str:
        return MONITOR_TAG_PREFIX + self.id

    @property
    def window_seconds(self) -> float:
        return parse_duration(self.window, "window")

    @property
    def every_seconds(self) -> float:
        return parse_duration(self.every, "every")

    @property
    def experiment(self) -> str:
        return EXPERIMENT_PREFIX + self.model

    def run_id(self, version: int | str) -> str:
        """The id of this monitor's run for ``version`` (the same on every process)."""
        return uuid.uuid5(_RUN_NS, json.dumps([self.model, self.id, str(version)])).hex

    def to_json(self) -> str:
        doc = asdict(self)
        del doc["model"], doc["id"]
        if doc["performance"] is None:  # the tag of a drift-only monitor is as it always was
            del doc["performance"]
        return json.dumps(doc, sort_keys=True, allow_nan=False)

    @classmethod
    def from_tag(cls, model: str, key: str, value: str) -> Monitor:
        doc = json.loads(value)
        return cls(model=model, id=key[len(MONITOR_TAG_PREFIX) :], **doc)


def check(monitor: Monitor) -> Monitor:
    """The monitor, validated (a clear ``InvalidInput`` for each mistake)."""
    from .performance_rule import check_rule
    from .presets import check_preset, check_thresholds

    if not isinstance(monitor.id, str) or not _ID_RE.match(monitor.id):
        raise InvalidInput(
            f"monitor id {monitor.id!r}: 1-64 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit"
        )
    if not isinstance(monitor.alias, str) or not monitor.alias.strip():
        raise InvalidInput("alias must be a non-empty string")
    parse_duration(monitor.window, "window")
    parse_duration(monitor.every, "every")
    check_preset(monitor.preset)
    if (
        isinstance(monitor.min_rows, bool)
        or not isinstance(monitor.min_rows, int)
        or monitor.min_rows < 1
    ):
        raise InvalidInput(f"min_rows must be a positive integer, not {monitor.min_rows!r}")
    check_thresholds(monitor.thresholds or None)
    check_rule(monitor.performance)
    return monitor


def define(
    store: TrackingStore, monitor: Monitor, *, actor: str = "", comment: str = ""
) -> Monitor:
    """Store (or replace) ``monitor`` as the audited model tag ``mm.monitor.<id>`` of its model,
    normalised (thresholds as a dict, the performance rule's defaults filled in). Validated
    first: a bad definition writes nothing."""
    from ..core import limits
    from .performance_rule import check_rule
    from .presets import check_thresholds

    monitor = check(
        replace(
            monitor,
            thresholds=check_thresholds(monitor.thresholds or None),
            performance=check_rule(monitor.performance),
        )
    )
    store.get_registered_model(monitor.model)  # NotFound before anything is written
    value = monitor.to_json()
    if len(value) > limits.MAX_TAG_VALUE_LENGTH:
        raise InvalidInput(
            f"the monitor is {len(value)} characters as JSON; at most "
            f"{limits.MAX_TAG_VALUE_LENGTH} fit a model tag (fewer per-feature thresholds)"
        )
    store.set_registered_model_tag(monitor.model, monitor.tag, value, actor=actor, comment=comment)
    return monitor


def _of_model(model: str, tags: Mapping[str, str]) -> list[Monitor]:
    found = []
    for key, value in sorted(tags.items()):
        if key.startswith(MONITOR_TAG_PREFIX):
            try:
                found.append(Monitor.from_tag(model, key, value))
            except (ValueError, TypeError):  # written by hand into the tag: not a monitor
                continue
    return found


def list_monitors(store: TrackingStore, name: str | None = None) -> list[Monitor]:
    """The monitors of model ``name``, or of every model."""
    if name is not None:
        return _of_model(name, store.get_registered_model(name).tags)
    return [m for rm in store.list_registered_models() for m in _of_model(rm.name, rm.tags)]


def get_monitor(store: TrackingStore, name: str, id: str) -> Monitor:
    for m in list_monitors(store, name):
        if m.id == id:
            return m
    raise NotFound(f"model {name!r} has no monitor {id!r}")


def delete(store: TrackingStore, name: str, id: str, *, actor: str = "", comment: str = "") -> None:
    """Delete the monitor (audited); its monitoring runs stay, as the history they are."""
    get_monitor(store, name, id)
    store.delete_registered_model_tag(name, MONITOR_TAG_PREFIX + id, actor=actor, comment=comment)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a monitor: its verdict and where its figures were kept.

    ``crossed`` is True when this evaluation moved the version's last conclusive verdict from
    below ``drift`` to ``drift`` (the moment to alarm, once per crossing). ``performance`` is
    :func:`performance_rule.assess`'s record (None: the monitor has no performance rule);
    ``performance_crossed`` is True when its last conclusive status became ``degraded`` from
    ``performance_previous`` (``ok``)."""

    id: str
    monitor: Monitor
    version: int
    at: dt.datetime
    status: str
    rows: int
    run_id: str
    step: int
    previous: str
    crossed: bool
    result: DriftResult | None = None
    performance: dict[str, Any] | None = None
    performance_previous: str = "ok"
    performance_crossed: bool = False
    #: rows compared: ``rows`` or, above the reader's ``max_rows``, a uniform sample of them
    compared: int | None = None

    @property
    def drifted(self) -> bool:
        return self.status == "drift"


def _now(now: Any) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return dt.datetime.fromtimestamp(float(now), dt.timezone.utc)
    if isinstance(now, dt.datetime):
        return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
    raise InvalidInput(f"now must be a datetime or epoch seconds, not {now!r}")


def _metric_key(method: str, feature: str) -> str:
    return f"{method}/{'score' if feature == '__score__' else feature}"


def _monitoring_run(store: TrackingStore, monitor: Monitor, version: int) -> Any:
    run_id = monitor.run_id(version)
    try:
        return store.get_run(run_id)
    except NotFound:
        pass
    experiment_id = store.get_or_create_experiment(monitor.experiment)
    return store.create_run(
        experiment_id,
        name=f"{monitor.id}@v{version}",
        run_id=run_id,
        status="FINISHED",
        heartbeat=False,
        tags={TAG_MONITOR: monitor.id, TAG_MODEL: monitor.model, TAG_VERSION: str(version)},
        params={
            "alias": monitor.alias,
            "window": monitor.window,
            "every": monitor.every,
            "preset": monitor.preset,
            "min_rows": monitor.min_rows,
        },  # fmt: skip
    )


def _window_labels(store: TrackingStore, model: str, frame: Any, scores: Any) -> tuple[Any, str]:
    """(labels, scores) of the window's rows that have a label (joined by id), or None with the
    reason when the store's labels cannot be read here."""
    from .labels import join, labels_url, read_labels

    if frame is None or scores is None or getattr(store, "predictions_url", None) is None:
        return None, ("the labels are files beside the store's prediction log, not readable "
                      "through a remote store: not measured")  # fmt: skip
    try:
        labels = read_labels(labels_url(str(store.blobs.url)), model)  # type: ignore[attr-defined]
    except InvalidInput as e:
        return None, f"the labels cannot be read: {e.message}"
    window = frame[["request_id", "row"]].assign(_score=scores)
    joined = join(window, labels).frame
    return (joined["label"].to_numpy(), joined["_score"].to_numpy(dtype=float)), ""


def performance_of(
    store: TrackingStore, monitor: Monitor, profile: Any, window: Window
) -> dict[str, Any] | None:
    """The performance record of this window (the evaluation record's ``performance``), or None
    when the monitor has no performance rule. Labels are joined to the rows read (a uniform
    sample of the window above ``max_rows``)."""
    from .performance_rule import assess

    if monitor.performance is None:
        return None
    rows = window.total
    scores = window.scores if window.current is not None else None
    labelled, why = (None, "") if rows < monitor.min_rows else _window_labels(
        store, monitor.model, window.keys, scores
    )  # fmt: skip
    return assess(monitor.performance, profile.performance, scores, labelled, rows=rows,
                  enough_rows=rows >= monitor.min_rows, notes=[why] if why else [])  # fmt: skip


def evaluation_path(step: int) -> str:
    """The artifact of a monitoring run holding evaluation ``step``'s record."""
    return f"{EVALUATIONS_DIR}/{int(step):06d}.json"


def _plain(value: Any) -> Any:
    """``value`` as strict JSON holds it: numpy scalars as Python numbers, non-finite floats as
    the wire's strings (``core/wire.py``), so the record reads back the same everywhere."""
    from ..core.wire import json_number

    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "item"):  # a numpy scalar
        return _plain(value.item())
    if isinstance(value, float):
        return json_number(value)
    return str(value)


def evaluation_record(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation's JSON record (the monitoring contract's fields): what the UI shows as the
    latest report and what an auditor reads back for any step. ``performance`` is null for a
    monitor without a performance rule."""
    m, result = evaluation.monitor, evaluation.result
    return _plain({
        "id": evaluation.id, "at": evaluation.at.astimezone(dt.timezone.utc).isoformat(),
        "model": m.model, "monitor": m.id, "alias": m.alias, "version": evaluation.version,
        "step": evaluation.step, "status": evaluation.status, "rows": evaluation.rows,
        "compared": evaluation.rows if evaluation.compared is None else evaluation.compared,
        "min_rows": m.min_rows, "preset": m.preset, "window": m.window,
        "notes": [] if result is None else list(result.notes),
        "share": None if result is None else result.share,
        "drift_share": None if result is None else result.drift_share,
        "verdicts": [] if result is None else [v.to_dict() for v in result.verdicts],
        "performance": evaluation.performance,
    })  # fmt: skip


def keep_record(store: TrackingStore, evaluation: Evaluation) -> None:
    """Store the evaluation's record as the artifact :func:`evaluation_path` of its run, through
    the store interface (a local store's blobs or a remote store's upload alike)."""
    data = json.dumps(evaluation_record(evaluation), allow_nan=False, sort_keys=True)
    store.log_artifact(
        evaluation.run_id, evaluation_path(evaluation.step), data.encode(), "application/json"
    )


def evaluate(
    store: TrackingStore, monitor: Monitor, now: Any = None, max_rows: int | None = MAX_ROWS
) -> Evaluation:
    """Evaluate ``monitor`` over the window ending at ``now`` (default: now) and keep the result
    in its monitoring run. A window with fewer than ``min_rows`` rows gives the status
    ``not-enough-data``: no verdict, no crossing. The window is read as ``mm.drift`` reads it:
    above ``max_rows`` rows a seeded uniform sample is compared (the record's ``compared`` and
    the result's notes say so), so memory stays bounded whatever the window holds."""
    from .current import scan_drift_window
    from .presets import merge_thresholds
    from .profile import ReferenceProfile
    from .references import THRESHOLDS_TAG

    at = _now(now)
    mv = store.get_model_version_by_alias(monitor.model, monitor.alias)
    version = int(mv.version)
    found = store.reference_profile(monitor.model, version)
    if found is None:
        raise NotFound(
            f"{monitor.model!r} version {version} (alias {monitor.alias!r}) has no reference "
            "profile to monitor against: mm.set_reference"
        )
    profile = ReferenceProfile.from_json(found["profile"])
    start = at - dt.timedelta(seconds=monitor.window_seconds)
    model_thresholds = store.get_registered_model(monitor.model).tags.get(THRESHOLDS_TAG)
    merged = merge_thresholds(
        json.loads(model_thresholds) if model_thresholds else None, monitor.thresholds or None
    )
    # mm.drift's reader: only the columns compared, streamed, a seeded sample above max_rows
    window = scan_drift_window(store, monitor.model, str(version), profile, start, at,
                               preset=monitor.preset, thresholds=merged,
                               min_rows=monitor.min_rows, max_rows=max_rows,
                               with_keys=monitor.performance is not None)  # fmt: skip
    rows = window.total
    result: DriftResult | None = None
    if window.current is not None:
        result = window.compare()
        result.notes[:0] = window.notes  # the sample, when there is one, said first
        status = result.status
    else:
        status = NOT_ENOUGH_DATA

    run = _monitoring_run(store, monitor, version)
    step = int(run.tags.get(TAG_EVALUATIONS, "0")) + 1
    previous = run.tags.get(TAG_STATE, "ok")
    state = previous if status == NOT_ENOUGH_DATA else status
    crossed = state == "drift" and previous != "drift"
    perf = performance_of(store, monitor, profile, window)
    perf_previous = run.tags.get(TAG_PERFORMANCE_STATE, "ok")
    perf_state = perf_previous if perf is None or perf["status"] == "unknown" else perf["status"]
    perf_crossed = perf_state == "degraded" and perf_previous != "degraded"
    ts = round(at.timestamp() * 1000)
    metrics: list[tuple[str, float, int, int]] = [("rows", float(rows), step, ts)]
    if result is not None:
        metrics.append(("drifted", float(result.drifted), step, ts))
        metrics.append(("status", float(_STATUS_LEVEL[result.status]), step, ts))
        metrics.append(("drift_share", float(result.share), step, ts))
        for v in result.verdicts:
            if v.statistic is not None and v.statistic == v.statistic:  # NaN: nothing to chart
                metrics.append(
                    (_metric_key(v.method, str(v.feature)), float(v.statistic), step, ts)
                )
    tags = {}
    if perf is not None:
        tags = {TAG_PERFORMANCE: perf["status"], TAG_PERFORMANCE_STATE: perf_state}
        metrics.append(("performance/labelled_rows", float(perf["labelled_rows"]), step, ts))
        if perf["value"] is not None:
            key = f"performance/{perf['metric']}{'_estimated' if perf['estimated'] else ''}"
            metrics.append((key, perf["value"], step, ts))
    evaluation_id = uuid.uuid4().hex
    evaluation = Evaluation(
        id=evaluation_id, monitor=monitor, version=version, at=at, status=status, rows=rows,
        run_id=run.id, step=step, previous=previous, crossed=crossed, result=result,
        performance=perf, performance_previous=perf_previous, performance_crossed=perf_crossed,
        compared=window.compared,
    )  # fmt: skip
    keep_record(store, evaluation)  # before the tags that count it: a counted step has its record
    store.log_batch(
        run.id,
        metrics=metrics,
        tags={
            TAG_EVALUATIONS: str(step),
            TAG_EVALUATION: evaluation_id,
            TAG_STATUS: status,
            TAG_STATE: state,
            TAG_AT: at.isoformat(),
            **tags,
        },
    )
    return evaluation


# --- mm.* -----------------------------------------------------------------------------------


def monitor(
    name: str,
    alias: str = "champion",
    window: str = "1d",
    every: str = "1h",
    preset: str = "bank",
    thresholds: Thresholds | None = None,
    min_rows: int = DEFAULT_MIN_ROWS,
    *,
    id: str | None = None,
    performance: dict[str, Any] | None = None,
    comment: str = "",
) -> Monitor:
    """Watch the version behind ``alias`` of model ``name``: every ``every``, the servers over
    this store compare the last ``window`` of its prediction log with the version's reference
    profile (``preset``, ``thresholds`` over the model's own), and keep the figures in the
    experiment ``monitoring/<name>``. A window with fewer than ``min_rows`` rows reports
    ``not-enough-data`` rather than alarm. ``performance`` (``{"metric": "auc", "min": 0.7}``
    and/or ``"max_drop": 0.05`` below the labelled reference's value, ``"min_labels": 100``)
    also watches the model's performance: measured when enough of the window's rows have labels
    (``mm.log_labels``), else estimated from the scores if the reference showed them calibrated
    (never presented as a measurement), else unknown with the reason. Stored (and replaced, by
    ``id``, default the alias) as an audited model tag."""
    from .presets import check_thresholds
    from .references import _actor, _store

    store = _store()
    definition = Monitor(
        model=name,
        id=alias if id is None else id,
        alias=alias,
        window=window,
        every=every,
        preset=preset,
        thresholds=check_thresholds(thresholds or None),  # the dict a Monitor holds
        min_rows=min_rows,
        performance=performance,
    )
    return define(store, definition, actor=_actor(store), comment=comment)


def monitors(name: str | None = None) -> list[Monitor]:
    """The monitors of model ``name``, or of every model."""
    from .references import _store

    return list_monitors(_store(write=False), name)


def delete_monitor(name: str, id: str = "champion", comment: str = "") -> None:
    """Stop monitor ``id`` of model ``name`` (audited); its runs stay as its history."""
    from .references import _actor, _store

    store = _store()
    delete(store, name, id, actor=_actor(store), comment=comment)


def evaluate_monitor(
    name: str, id: str = "champion", now: Any = None, max_rows: int | None = MAX_ROWS
) -> Evaluation:
    """Evaluate monitor ``id`` of model ``name`` now (outside its schedule), recorded like a
    scheduled evaluation; the servers emit the drift events only for their own evaluations.
    Above ``max_rows`` rows in the window a uniform sample is compared, as ``mm.drift`` does."""
    from .references import _store

    store = _store()
    return evaluate(store, get_monitor(store, name, id), now, max_rows)
