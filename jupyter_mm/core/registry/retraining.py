"""Retraining policies and retraining records, as the store keeps them (audited).

A registered model may have one **retraining policy** (:func:`normalize_policy` says what it holds);
setting or deleting it is an audited registry change. Each retraining it starts is one **record**
(:class:`Retraining`): the trigger, the run re-run and the overrides, the job, the candidate run,
the gate's result, the candidate's version; every step of it is an audit entry of the model
(``retraining.started``, ``.handed_off``, ``.job_queued``, ``.gate_failed``,
``.pending_approval``, ``.failed``), so a retraining exports with the audit trail.

The record's ``event_key`` is unique per model: one event (a monitor's evaluation, a schedule's
period) starts at most one retraining, however many server processes hear it. What runs a
retraining (the job, the gate, registering the candidate) is above core: ``jupyter_mm/loop/retraining.py``.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ...errors import Conflict, InvalidInput, NotFound
from .. import schema as s
from ..database import read_conn
from . import audit, rules
from .base import RegistryBase

TRIGGERS = ("drift", "performance", "schedule", "manual")
EXECUTORS = ("local", "webhook")
RUNNING, HANDED_OFF, GATE_FAILED, PENDING_APPROVAL, FAILED = (
    "running", "handed_off", "gate_failed", "pending_approval", "failed",
)  # fmt: skip
STATES = (RUNNING, HANDED_OFF, GATE_FAILED, PENDING_APPROVAL, FAILED)
#: Shortest schedule interval, in seconds.
MIN_SCHEDULE_SECONDS = 60
MAX_GATE_THRESHOLDS = 20
_POLICY_FIELDS = (
    "triggers",
    "schedule",
    "alias",
    "run_id",
    "params",
    "gate",
    "gate_dataset",
    "executor",
    "enabled",
)
_GATE_FIELDS = (
    "metric", "threshold", "min_absolute_change", "min_relative_change", "greater_is_better",
)  # fmt: skip
_DATASET_FIELDS = ("name", "label", "path")
#: File types a gate dataset's ``path`` may name (read as a table).
DATASET_SUFFIXES = ("csv", "parquet", "pq")
_p = s.retraining_policies.c
_r = s.retrainings.c
_m = s.registered_models.c


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{what} must be a number, got {value!r:.80}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidInput(f"{what} must be a finite number, got {value!r:.80}") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{what} must be a finite number, got {value!r:.80}")
    return number


def _fields(value: Any, fields: tuple[str, ...], must: str, unknown: str) -> None:
    """``value`` is an object of only ``fields``, else an InvalidInput: ``must`` (what it must
    be) when it is not an object, ``unknown`` followed by the first field it should not have."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{must}, got {value!r:.80}")
    extra = sorted(set(value) - set(fields))
    if extra:
        raise InvalidInput(f"{unknown} {extra[0]!r}; the fields are {', '.join(fields)}")


def _threshold(value: Any, i: int) -> dict[str, Any]:
    """One gate threshold: MLflow's ``MetricThreshold`` fields plus the metric's name."""
    where = f"gate[{i}]"
    _fields(
        value,
        _GATE_FIELDS,
        f"{where} must be an object with 'metric' and a threshold",
        f"{where}: unknown field",
    )
    metric = value.get("metric")
    if not isinstance(metric, str) or not metric.strip() or len(metric) > 250:
        raise InvalidInput(
            f"{where}.metric must be a metric key (a non-empty string), got {metric!r:.80}"
        )
    gib = value.get("greater_is_better", True)
    if not isinstance(gib, bool):
        raise InvalidInput(f"{where}.greater_is_better must be true or false, got {gib!r:.80}")
    out: dict[str, Any] = {"metric": metric, "greater_is_better": gib}
    if value.get("threshold") is not None:
        out["threshold"] = _number(value["threshold"], f"{where}.threshold")
    if value.get("min_absolute_change") is not None:
        change = _number(value["min_absolute_change"], f"{where}.min_absolute_change")
        if change <= 0:
            raise InvalidInput(
                f"{where}.min_absolute_change must be a positive number, got {change}"
            )
        out["min_absolute_change"] = change
    if value.get("min_relative_change") is not None:
        rel = _number(value["min_relative_change"], f"{where}.min_relative_change")
        if not 0 < rel <= 1:
            raise InvalidInput(f"{where}.min_relative_change must be a number in (0, 1], got {rel}")
        out["min_relative_change"] = rel
    if len(out) == 2:
        raise InvalidInput(
            f"{where} ({metric}) needs at least one of threshold, min_absolute_change, min_relative_change"
        )
    return out


def _text(value: Any, what: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > longest or "\x00" in value:
        raise InvalidInput(
            f"{what} must be a non-empty string of at most {longest} characters, got {value!r:.80}"
        )
    return value


def gate_dataset(value: Any) -> dict[str, Any] | None:
    """The dataset the gate scores both models on, or None (the gate compares logged metrics):
    ``{"name": <a dataset logged in the champion's source run or the candidate run>,
    "label": <its target column>}``, or ``{"path": <a CSV/Parquet file>, "label": ...}`` (the
    name then defaults to the file's)."""
    if value is None:
        return None
    _fields(
        value,
        _DATASET_FIELDS,
        "gate_dataset must be an object with 'name' (or 'path') and 'label'",
        "gate_dataset: unknown field",
    )
    if value.get("name") is None and value.get("path") is None:
        raise InvalidInput("gate_dataset needs 'name' (a logged dataset) or 'path' (a file)")
    out: dict[str, Any] = {}
    if value.get("path") is not None:
        path = _text(value["path"], "gate_dataset.path", 4096)
        if path.lower().rsplit(".", 1)[-1] not in DATASET_SUFFIXES or "." not in path:
            raise InvalidInput(f"gate_dataset.path must be a CSV or Parquet file, got {path!r:.80}")
        out["path"] = path
    name = value.get("name")
    if name is None:
        name = out["path"].replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "dataset"
    out["name"] = _text(name, "gate_dataset.name", 500)
    out["label"] = _text(value.get("label"), "gate_dataset.label (the target column)", 250)
    return out


def normalize_policy(value: Any) -> dict[str, Any]:
    """A retraining policy, checked and with its defaults::

    {"triggers": ["drift", "performance", "schedule", "manual"],  # at least one
     "schedule": {"every": 86400},      # seconds; required with the "schedule" trigger
     "alias": "champion",               # the champion: the gate's baseline
     "run_id": null,                    # the run to re-run; null: the champion's source run
     "params": {"window_days": 30},     # overrides for the re-run
     "gate": [{"metric": "auc", "threshold": 0.7, "min_absolute_change": 0.01,
               "min_relative_change": 0.02, "greater_is_better": true}],
     "gate_dataset": {"name": "holdout", "label": "default"},  # null: the logged metrics
     "executor": "local",               # or "webhook": publish retraining.requested instead
     "enabled": true}
    """
    _fields(
        value,
        _POLICY_FIELDS,
        "a retraining policy must be an object",
        "unknown retraining policy field",
    )
    triggers = value.get("triggers")
    if isinstance(triggers, str) or not isinstance(triggers, (list, tuple)) or not triggers:
        raise InvalidInput(
            f"'triggers' must be a non-empty list of {', '.join(TRIGGERS)}, got {triggers!r:.80}"
        )
    for t in triggers:
        if t not in TRIGGERS:
            raise InvalidInput(f"unknown trigger {t!r:.80}; the triggers are {', '.join(TRIGGERS)}")
    out: dict[str, Any] = {"triggers": [t for t in TRIGGERS if t in triggers]}
    schedule = value.get("schedule")
    if "schedule" in out["triggers"]:
        if not isinstance(schedule, Mapping) or set(schedule) != {"every"}:
            raise InvalidInput("the 'schedule' trigger needs 'schedule': {\"every\": <seconds>}")
        every = _number(schedule["every"], "schedule.every")
        if every < MIN_SCHEDULE_SECONDS or every != int(every):
            raise InvalidInput(
                f"schedule.every must be whole seconds, at least {MIN_SCHEDULE_SECONDS}, got {every:g}"
            )
        out["schedule"] = {"every": int(every)}
    elif schedule is not None:
        raise InvalidInput("'schedule' is set but 'triggers' does not include \"schedule\"")
    out["alias"] = rules.alias(value.get("alias", "champion"))
    run_id = value.get("run_id")
    if run_id is not None and (
        not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 32
    ):
        raise InvalidInput(f"'run_id' must be a run id or null, got {run_id!r:.80}")
    out["run_id"] = run_id
    out["params"] = params(value.get("params"))
    gate = value.get("gate", [])
    if isinstance(gate, Mapping):
        gate = [gate]
    if not isinstance(gate, (list, tuple)) or len(gate) > MAX_GATE_THRESHOLDS:
        raise InvalidInput(
            f"'gate' must be a list of at most {MAX_GATE_THRESHOLDS} thresholds, got {gate!r:.80}"
        )
    out["gate"] = [_threshold(g, i) for i, g in enumerate(gate)]
    out["gate_dataset"] = gate_dataset(value.get("gate_dataset"))
    if out["gate_dataset"] is not None and not out["gate"]:
        raise InvalidInput("'gate_dataset' is set but 'gate' has no threshold to measure on it")
    executor = value.get("executor", "local")
    if executor not in EXECUTORS:
        raise InvalidInput(
            f"'executor' must be one of {', '.join(EXECUTORS)}, got {executor!r:.80}"
        )
    out["executor"] = executor
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput(f"'enabled' must be true or false, got {enabled!r:.80}")
    out["enabled"] = enabled
    return out


def params(value: Any) -> dict[str, Any]:
    """Re-run overrides: an object of name to a JSON scalar."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"'params' must be an object of name to value, got {value!r:.80}")
    for k, v in value.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise InvalidInput(f"a parameter name must be a Python identifier, got {k!r:.80}")
        if v is not None and not isinstance(v, (str, bool, int, float)):
            raise InvalidInput(f"parameter {k!r} must be a string, number, boolean or null")
        if isinstance(v, float) and not math.isfinite(v):
            raise InvalidInput(f"parameter {k!r} must be finite, got {v}")
    return dict(value)


@dataclass(frozen=True)
class Retraining:
    """One retraining. ``approval`` is the candidate version's approval status, read live."""

    id: str
    model: str
    event_key: str
    trigger: dict[str, Any]
    policy: dict[str, Any]
    state: str
    source_run_id: str | None
    params: dict[str, Any]
    job_id: str | None
    run_id: str | None
    champion_version: int | None
    gate: dict[str, Any] | None
    version: int | None
    approval: str | None
    error: str | None
    created_by: str
    created_time: int
    updated_time: int

    def to_json(self) -> dict[str, Any]:
        return {
            "retraining_id": self.id, "model": self.model, "event_key": self.event_key,
            "trigger": self.trigger, "policy": self.policy, "state": self.state,
            "source_run_id": self.source_run_id, "params": self.params, "job_id": self.job_id,
            "run_id": self.run_id, "champion_version": self.champion_version, "gate": self.gate,
            "version": self.version, "approval": self.approval, "error": self.error,
            "created_by": self.created_by, "created_time": self.created_time,
            "updated_time": self.updated_time,
        }  # fmt: skip


def _key(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 160:
        raise InvalidInput(
            "a retraining's event key must be a non-empty string of at most 160 characters"
        )
    return value


class RetrainingMixin(RegistryBase):
    # -- the policy ------------------------------------------------------------------------

    def retraining_policy(self, name: str) -> dict[str, Any] | None:
        """The model's retraining policy (normalised), or None."""
        with read_conn(self.engine) as conn:
            model = self._model_row(conn, name)
            value = conn.execute(select(_p.policy).where(_p.model_id == model.model_id)).scalar()
        return None if value is None else json.loads(value)

    def retraining_policies(self) -> list[tuple[str, dict[str, Any], int]]:
        """Every model's policy: ``(model name, policy, time it was set)``."""
        with read_conn(self.engine) as conn:
            rows = conn.execute(
                select(_m.name, _p.policy, _p.updated_time).join(
                    s.registered_models, _m.model_id == _p.model_id
                )
            ).all()
        return [(r.name, json.loads(r.policy), int(r.updated_time)) for r in rows]

    def set_retraining_policy(
        self, name: str, policy: Mapping[str, Any] | None, *, actor: str, comment: str = ""
    ) -> dict[str, Any] | None:
        """Set (or, with ``None``, delete) the model's retraining policy; audited."""
        actor, comment = rules.actor(actor), rules.comment(comment)
        new = None if policy is None else normalize_policy(policy)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            raw = conn.execute(select(_p.policy).where(_p.model_id == model.model_id)).scalar()
            old = None if raw is None else json.loads(raw)
            if old == new:
                return
            if new is None:
                conn.execute(delete(s.retraining_policies).where(_p.model_id == model.model_id))
            else:
                values = {"policy": audit.canonical(new), "updated_by": actor,
                          "updated_time": audit.now_ms()}  # fmt: skip
                if old is None:
                    conn.execute(
                        insert(s.retraining_policies).values(model_id=model.model_id, **values)
                    )
                else:
                    conn.execute(
                        update(s.retraining_policies)
                        .where(_p.model_id == model.model_id)
                        .values(**values)
                    )
            audit.Trail(conn, actor, comment, model.model_id, name).append(
                "retraining_policy.set" if new is not None else "retraining_policy.deleted",
                before=old,
                after=new,
            )

        self._registry_write(write)
        return new

    # -- records ---------------------------------------------------------------------------

    def create_retraining(
        self,
        name: str,
        *,
        event_key: str,
        trigger: Mapping[str, Any],
        policy: Mapping[str, Any],
        source_run_id: str | None,
        params: Mapping[str, Any],
        champion_version: int | None,
        state: str = RUNNING,
        actor: str,
    ) -> tuple[Retraining, bool]:
        """Record a retraining started by ``event_key``, or find the one it already started:
        ``(record, created)``. Audited as ``retraining.started`` (``.handed_off`` when handed
        to a webhook)."""
        actor, key = rules.actor(actor), _key(event_key)
        if state not in (RUNNING, HANDED_OFF):
            raise InvalidInput(f"a retraining starts running or handed_off, not {state!r}")

        def write(conn: Connection) -> tuple[str, bool]:
            model = self._model_row(conn, name)
            found = conn.execute(
                select(_r.retraining_id).where(_r.model_id == model.model_id, _r.event_key == key)
            ).scalar()
            if found is not None:
                return str(found), False
            rid, t = uuid.uuid4().hex, audit.now_ms()
            row = {
                "retraining_id": rid, "model_id": model.model_id, "event_key": key,
                "trigger": audit.canonical(dict(trigger)), "policy": audit.canonical(dict(policy)),
                "state": state, "source_run_id": source_run_id,
                "params": audit.canonical(dict(params)), "champion_version": champion_version,
                "created_by": actor, "created_time": t, "updated_time": t,
            }  # fmt: skip
            conn.execute(insert(s.retrainings).values(**row))
            why = f"retraining {rid} ({key})"
            audit.Trail(conn, actor, why, model.model_id, name, champion_version).append(
                "retraining.started" if state == RUNNING else "retraining.handed_off",
                after={"retraining_id": rid, "trigger": dict(trigger), "source_run_id": source_run_id,
                       "params": dict(params), "state": state, "executor": policy.get("executor")},
            )  # fmt: skip
            return rid, True

        rid, created = self._registry_write(write)
        return self.get_retraining(rid), created

    def update_retraining(
        self, retraining_id: str, *, action: str, actor: str, state: str | None = None,
        **fields: Any,
    ) -> Retraining:  # fmt: skip
        """Record a step of a running retraining (``action``: ``job_queued``, ``gate_failed``,
        ``pending_approval``, ``failed``), audited as ``retraining.<action>``. A retraining that
        already ended is a Conflict: its outcome stands (``job_queued`` without a ``state`` is
        still recorded: a fast job may end before its submitter records it)."""
        actor = rules.actor(actor)
        allowed = {"job_id", "run_id", "gate", "version", "error"}
        if set(fields) - allowed:
            raise InvalidInput(f"unknown retraining fields: {sorted(set(fields) - allowed)}")
        if state is not None and state not in STATES:
            raise InvalidInput(f"unknown retraining state {state!r}")
        values: dict[str, Any] = {
            k: audit.canonical(v) if k == "gate" else v for k, v in fields.items()
        }
        if "error" in values and values["error"] is not None:
            values["error"] = str(values["error"])[:20_000]

        def write(conn: Connection) -> None:
            row = self._retraining_row(conn, retraining_id)
            if row.state != RUNNING and (action != "job_queued" or state is not None):
                raise Conflict(f"retraining {retraining_id} is already {row.state}")
            model_name = conn.execute(select(_m.name).where(_m.model_id == row.model_id)).scalar()
            conn.execute(
                update(s.retrainings)
                .where(_r.retraining_id == retraining_id)
                .values(
                    **values, **({"state": state} if state else {}), updated_time=audit.now_ms()
                )
            )
            after = {
                "retraining_id": retraining_id,
                **fields,
                **({"state": state} if state else {}),
            }
            if isinstance(after.get("error"), str):
                after["error"] = after["error"][:2000]
            why = f"retraining {retraining_id}"
            audit.Trail(conn, actor, why, row.model_id, model_name, fields.get("version")).append(
                f"retraining.{action}", before={"state": row.state}, after=after
            )

        self._registry_write(write)
        return self.get_retraining(retraining_id)

    def get_retraining(self, retraining_id: str) -> Retraining:
        with read_conn(self.engine) as conn:
            return self._load_retraining(conn, self._retraining_row(conn, retraining_id))

    def list_retrainings(self, name: str, max_results: int = 100) -> list[Retraining]:
        """The model's retrainings, newest first."""
        with read_conn(self.engine) as conn:
            model = self._model_row(conn, name)
            rows = conn.execute(
                select(s.retrainings)
                .where(_r.model_id == model.model_id)
                .order_by(_r.created_time.desc(), _r.retraining_id.desc())
                .limit(max(1, min(int(max_results), 1000)))
            ).all()
            return [self._load_retraining(conn, r, model.name) for r in rows]

    def _retraining_row(self, conn: Connection, retraining_id: str) -> Any:
        row = conn.execute(
            select(s.retrainings).where(_r.retraining_id == str(retraining_id))
        ).first()
        if row is None:
            raise NotFound(f"retraining {retraining_id!r} not found")
        return row

    def _load_retraining(self, conn: Connection, row: Any, name: str | None = None) -> Retraining:
        if name is None:
            name = conn.execute(select(_m.name).where(_m.model_id == row.model_id)).scalar()
        approval = None
        if row.version is not None:
            found = self._approval_row(conn, row.model_id, int(row.version))
            approval = found.status if found is not None else None
        state, error = row.state, row.error
        if state == RUNNING and row.job_id is not None:
            # a job that ended without the worker's verdict (its process died): shown failed,
            # computed like a run's KILLED, never left looking alive
            j = s.jobs.c
            job = conn.execute(select(j.state, j.error).where(j.job_id == row.job_id)).first()
            if job is not None and job.state in ("failed", "cancelled", "lost"):
                state, error = (
                    FAILED,
                    f"the retraining's job {row.job_id} {job.state}: {job.error or ''}".strip(),
                )
        return Retraining(
            id=row.retraining_id, model=str(name), event_key=row.event_key,
            trigger=json.loads(row.trigger), policy=json.loads(row.policy), state=state,
            source_run_id=row.source_run_id, params=json.loads(row.params), job_id=row.job_id,
            run_id=row.run_id, champion_version=row.champion_version,
            gate=json.loads(row.gate) if row.gate else None, version=row.version,
            approval=approval, error=error, created_by=row.created_by,
            created_time=int(row.created_time), updated_time=int(row.updated_time),
        )  # fmt: skip
