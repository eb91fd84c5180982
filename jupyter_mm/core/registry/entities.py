"""Plain records the registry returns. Times are milliseconds since the epoch."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
#: SageMaker's vocabulary: a version asks for approval, then is Approved or Rejected.
APPROVAL_STATES = (PENDING, APPROVED, REJECTED)
#: MLflow's deprecated stages, still set by ``transition_model_version_stage``.
STAGES = ("None", "Staging", "Production", "Archived")
#: The stages that serve a version (MLflow's aliases before aliases): moving a version into one
#: is a promotion, governed like an alias by ``approved_aliases_only``; None and Archived are not.
SERVING_STAGES = ("Staging", "Production")
ARCHIVED = "Archived"
#: A version's lifecycle (:attr:`ModelVersion.lifecycle`), as ``set_model_version_lifecycle``
#: takes it.
LIFECYCLES = ("active", "deprecated", "archived")
#: Every version is complete when registered (its files are already in the artifact store).
READY = "READY"


def _utc(ms: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)


@dataclass(frozen=True)
class Approval:
    status: str
    requested_by: str
    requested_time: int
    request_comment: str = ""
    evidence: tuple[str, ...] = ()
    decided_by: str | None = None
    decided_time: int | None = None
    decision_comment: str | None = None


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    logged_model_id: str | None
    model_path: str | None
    status: str
    status_message: str
    stage: str
    description: str
    user_id: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    approval: Approval | None = None
    #: Why the version was deprecated (it still serves, and says so); None: it is not.
    deprecation: str | None = None

    @property
    def approval_status(self) -> str | None:
        return self.approval.status if self.approval else None

    @property
    def lifecycle(self) -> str:
        """``archived`` (the Archived stage: out of service, kept for audit), ``deprecated``
        or ``active``."""
        if self.stage == ARCHIVED:
            return "archived"
        return "deprecated" if self.deprecation is not None else "active"


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    owner: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    #: The newest version in each stage (MLflow's ``latest_versions``).
    latest_versions: tuple[ModelVersion, ...] = ()
    last_version: int = 0


@dataclass(frozen=True)
class Policy:
    """Registry rules, store-wide with per-model overrides.

    ``four_eyes``: whoever requested an approval cannot decide it (on by default: it never gets
    in the way of MLflow clients, which do not use approvals). ``approved_aliases_only``: an
    alias may point only at an Approved version (off by default, so MLflow's
    ``set_registered_model_alias`` keeps working on a fresh store). ``approvers``: who may
    approve or reject versions (empty: anyone, still subject to ``four_eyes``), so a bank can
    name its validators. ``require_reproduced``: a version can be approved only once a
    reproducibility check of it passed (``mm.check_reproducible``; off by default).
    """

    four_eyes: bool = True
    approved_aliases_only: bool = False
    approvers: tuple[str, ...] = ()
    require_reproduced: bool = False


@dataclass(frozen=True, kw_only=True)
class PolicyChange:
    """What ``set_registry_policy`` changes in a :class:`Policy`: the fields given replace the
    policy's, those left ``None`` keep theirs (``approvers=[]`` lets anyone decide again).

    One value from ``mm.set_registry_policy`` or the REST handler down to the store, local or
    remote, which check it (:func:`.approvals.policy_changes`) before writing or sending it.
    """

    four_eyes: bool | None = None
    approved_aliases_only: bool | None = None
    approvers: Sequence[str] | None = None
    require_reproduced: bool | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One registry change: who, when, what (from → to) and why. ``hash`` chains the log."""

    seq: int
    time: int
    actor: str
    action: str
    model_id: int | None
    model_name: str | None
    version: int | None
    alias: str | None
    from_value: str  # canonical JSON, exactly as hashed
    to_value: str
    comment: str
    prev_hash: str
    hash: str

    @property
    def before(self) -> Any:
        return json.loads(self.from_value)

    @property
    def after(self) -> Any:
        return json.loads(self.to_value)

    @property
    def datetime(self) -> _dt.datetime:
        return _utc(self.time)

    def to_json(self) -> dict[str, Any]:
        """The entry as one JSONL record (what :meth:`export_audit` writes)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "time_utc": self.datetime.isoformat(timespec="milliseconds"),
            "actor": self.actor,
            "action": self.action,
            "model_id": self.model_id,
            "model": self.model_name,
            "version": self.version,
            "alias": self.alias,
            "from": self.before,
            "to": self.after,
            "comment": self.comment,
            "from_json": self.from_value,
            "to_json": self.to_value,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: str  # "altered" | "missing" | "broken_link" | "head_mismatch"
    message: str


@dataclass(frozen=True)
class AuditReport:
    """The result of :meth:`verify_audit`. ``head_hash`` may be kept elsewhere as an anchor."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[AuditProblem, ...] = ()

    def __bool__(self) -> bool:
        return self.ok
