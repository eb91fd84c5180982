"""Approvals and the policies that govern them and aliases.

A version may be submitted once: ``PendingManualApproval`` → ``Approved`` or ``Rejected``.
``Rejected`` is final (register a new version); an ``Approved`` version can be revoked by an
explicit, commented rejection (refused while it holds an alias or the Staging/Production stage
under ``approved_aliases_only``: move it first, which is itself recorded). Decisions need a comment.

Policies (:class:`Policy`) are kept store-wide in ``registry_settings`` (``policy.four_eyes``,
``policy.approved_aliases_only``, ``policy.approvers``, ``policy.require_reproduced``) and may be overridden per registered model
(``registered_models.policy_*``); every change is audited. Defaults: four eyes on (the requester
cannot decide), aliases and stages unrestricted (so MLflow clients can set them on a fresh
store), anyone may decide (``approvers`` empty). ``approvers`` applies to every decision, revocations included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ...errors import Conflict, PolicyViolation
from .. import schema as s
from ..database import read_conn
from . import audit, rules
from .base import _MODEL_COLUMNS, _POLICY_KEYS, RegistryBase, _store_policy, _stored_policy_value
from .entities import APPROVED, PENDING, REJECTED, ModelVersion, Policy, PolicyChange
from .reproducibility import REPRODUCIBILITY_TAG, reproducibility_verdict

_ap = s.model_version_approvals.c
_set = s.registry_settings.c
_m = s.registered_models.c
_vt = s.model_version_tags.c


#: The policy's switches, as ``set_registry_policy`` takes them.
POLICY_FLAGS = ("four_eyes", "approved_aliases_only", "require_reproduced")


def policy_changes(change: PolicyChange) -> dict[str, Any]:
    """What a ``set_registry_policy`` call changes, checked: the fields of ``change`` that are
    not ``None`` (``approvers`` as a tuple). A local store and a tracking server's client both
    check with it, so both refuse the same input before anything is written or sent."""
    changes: dict[str, Any] = {}
    for flag in POLICY_FLAGS:
        value = getattr(change, flag)
        if value is not None:
            changes[flag] = rules.policy_flag(flag, value)
    if change.approvers is not None:
        changes["approvers"] = rules.approvers(change.approvers)
    return changes


class ApprovalsMixin(RegistryBase):
    # -- policies --------------------------------------------------------------------------

    def registry_policy(self, name: str | None = None) -> Policy:
        """The policy in force store-wide, or for one registered model (with its overrides)."""
        with read_conn(self.engine) as conn:
            if name is None:
                return _store_policy(conn)
            return self._policy_for(conn, self._model_row(conn, name))

    def set_registry_policy(
        self, change: PolicyChange, *, actor: str, name: str | None = None, comment: str = ""
    ) -> Policy:
        """Apply ``change`` to the store-wide policy, or to one model's overrides (``name``)."""
        actor, comment = rules.actor(actor), rules.comment(comment)
        changes = policy_changes(change)

        def write(conn: Connection) -> None:
            # a model's entry also lists the fields it overrides, so pinning a value equal to
            # the store-wide one (which later store-wide changes no longer reach) is recorded
            pinned: dict[str, Any] = {}
            if name is None:
                before = _store_policy(conn)
                for field, value in changes.items():
                    key = _POLICY_KEYS[field]
                    updated = conn.execute(
                        update(s.registry_settings)
                        .where(_set.key == key)
                        .values(value=json.dumps(value))
                    )
                    if updated.rowcount == 0:
                        conn.execute(
                            insert(s.registry_settings).values(key=key, value=json.dumps(value))
                        )
                model_id, model_name = None, None
            else:
                model = self._model_row(conn, name)
                before = self._policy_for(conn, model)
                was = sorted(f for f, c in _MODEL_COLUMNS.items() if getattr(model, c) is not None)
                pinned = {"before": was, "after": sorted({*was, *changes})}
                if changes:
                    conn.execute(
                        update(s.registered_models)
                        .where(_m.model_id == model.model_id)
                        .values(
                            **{
                                _MODEL_COLUMNS[f]: _stored_policy_value(f, v)
                                for f, v in changes.items()
                            }
                        )
                    )
                model_id, model_name = model.model_id, name
            old = {**before.__dict__}
            new = {**old, **changes}
            if pinned:
                old["overrides"], new["overrides"] = pinned["before"], pinned["after"]
            if new == old:
                return
            audit.Trail(conn, actor, comment, model_id, model_name).append(
                "policy.set", before=old, after=new
            )

        self._registry_write(write)
        return self.registry_policy(name)

    # -- approvals -------------------------------------------------------------------------

    def request_approval(
        self,
        name: str,
        version: int | str,
        *,
        actor: str,
        comment: str = "",
        evidence: Iterable[str] | None = None,
    ) -> ModelVersion:
        """Submit a version for approval (``PendingManualApproval``) with links to evidence."""
        number, actor = rules.version(version), rules.actor(actor)
        comment, links = rules.comment(comment), rules.evidence(evidence)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            self._version_row(conn, model, number)
            current = self._approval_row(conn, model.model_id, number)
            if current is not None:
                raise Conflict(
                    f"version {number} of {name!r} is already {current.status}"
                    + (
                        "; a rejection is final: register a new version"
                        if current.status == REJECTED
                        else ""
                    )
                )
            t = audit.now_ms()
            conn.execute(
                insert(s.model_version_approvals).values(
                    model_id=model.model_id,
                    version=number,
                    status=PENDING,
                    requested_by=actor,
                    requested_time=t,
                    request_comment=comment,
                    evidence=json.dumps(links),
                )
            )
            audit.Trail(conn, actor, comment, model.model_id, name, number).append(
                "approval.requested", after={"status": PENDING, "evidence": links}
            )

        self._registry_write(write)
        return self.get_model_version(name, number)  # type: ignore[attr-defined]

    def approve(self, name: str, version: int | str, *, actor: str, comment: str) -> ModelVersion:
        """Approve a pending version. Under four eyes the requester cannot approve it."""
        return self._decide(name, version, actor, comment, APPROVED)

    def reject(self, name: str, version: int | str, *, actor: str, comment: str) -> ModelVersion:
        """Reject a pending version, or revoke an approved one."""
        return self._decide(name, version, actor, comment, REJECTED)

    def _decide(
        self, name: str, version: int | str, actor: str, comment: str, decision: str
    ) -> ModelVersion:
        number, actor = rules.version(version), rules.actor(actor)
        comment = rules.comment(comment, required=True)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            self._version_row(conn, model, number)
            current = self._approval_row(conn, model.model_id, number)
            if current is None:
                raise Conflict(
                    f"version {number} of {name!r} has not been submitted for approval; "
                    "request_approval first"
                )
            revoking = decision == REJECTED and current.status == APPROVED
            if current.status != PENDING and not revoking:
                raise Conflict(f"version {number} of {name!r} is already {current.status}")
            policy = self._policy_for(conn, model)
            if policy.approvers and actor not in policy.approvers:
                raise PolicyViolation(
                    f"{actor} may not {'approve' if decision == APPROVED else 'reject'} version "
                    f"{number} of {name!r} (policy approvers: only "
                    f"{', '.join(policy.approvers)} may approve or reject)",
                    policy="approvers",
                )
            if not revoking and policy.four_eyes and actor == current.requested_by:
                raise PolicyViolation(
                    f"{actor} requested the approval of version {number} of {name!r} and so "
                    "cannot decide it (policy four_eyes: another user must)",
                    policy="four_eyes",
                )
            if decision == APPROVED and policy.require_reproduced:
                tag = conn.execute(
                    select(_vt.value).where(
                        _vt.model_id == model.model_id,
                        _vt.version == number,
                        _vt.key == REPRODUCIBILITY_TAG,
                    )
                ).scalar()
                verdict = reproducibility_verdict(tag)
                if verdict != "passed":
                    raise PolicyViolation(
                        f"version {number} of {name!r} cannot be approved without a passing "
                        f"reproducibility check (policy require_reproduced); its check "
                        f"{'has not been run' if verdict is None else verdict}: "
                        "run mm.check_reproducible first",
                        policy="require_reproduced",
                    )
            if revoking and policy.approved_aliases_only:
                held = self._serving_holds(conn, model.model_id, number)
                if held:
                    raise PolicyViolation(
                        f"version {number} of {name!r} holds {', '.join(held)}; move the "
                        "aliases and transition it out of Staging/Production before revoking "
                        "its approval (policy approved_aliases_only)",
                        policy="approved_aliases_only",
                    )
            conn.execute(
                update(s.model_version_approvals)
                .where(_ap.model_id == model.model_id, _ap.version == number)
                .values(
                    status=decision,
                    decided_by=actor,
                    decided_time=audit.now_ms(),
                    decision_comment=comment,
                )
            )
            audit.Trail(conn, actor, comment, model.model_id, name, number).append(
                "approval.approved" if decision == APPROVED else "approval.rejected",
                before={"status": current.status},
                after={"status": decision},
            )

        self._registry_write(write)
        return self.get_model_version(name, number)  # type: ignore[attr-defined]
