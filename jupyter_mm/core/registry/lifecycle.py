"""Retirement: a version is ``active``, ``deprecated`` (it still serves, and says why it should
not for long) or ``archived`` (out of service, kept readable for audit).

Archived is MLflow's ``Archived`` stage, so an MLflow client's ``transition_model_version_stage``
and ``mm.archive_version`` are one act under one rule: nothing that serves may point at an archived
version. Archiving a version an alias or a serving stage holds is refused (move the alias first,
with its own audited reason), and an alias cannot be set on an archived version. Every change is
audited with its reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ...errors import InvalidInput
from ..database import read_conn
from . import audit, rules
from .base import RegistryBase
from .entities import ARCHIVED, LIFECYCLES, ModelVersion


def lifecycle(value: Any) -> str:
    if value not in LIFECYCLES:
        raise InvalidInput(f"lifecycle must be one of {', '.join(LIFECYCLES)}, got {value!r}")
    return str(value)


class LifecycleMixin(RegistryBase):
    def set_model_version_lifecycle(
        self, name: str, version: int | str, state: str, *, actor: str, reason: str = ""
    ) -> ModelVersion:
        """Deprecate, archive or reactivate version ``version`` of ``name``, saying why (a reason
        is required to deprecate or archive). Archiving moves the version to the Archived stage
        and is refused while an alias or a serving stage holds it; reactivating takes an
        archived version back to stage None and clears a deprecation. Setting the state it is
        already in changes and records nothing."""
        number, state, actor = rules.version(version), lifecycle(state), rules.actor(actor)
        reason = rules.comment(reason, required=state != "active")

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model, number)
            before = _state(row.stage, row.deprecation)
            values: dict[str, Any] = {}
            if state == "archived":
                if row.stage != ARCHIVED:
                    self._refuse_if_serving(conn, model, number)
                    values["stage"] = ARCHIVED
            elif row.stage == ARCHIVED:
                values["stage"] = "None"
            if state == "deprecated" and row.deprecation != reason:
                values["deprecation"] = reason
            elif state == "active" and row.deprecation is not None:
                values["deprecation"] = None
            if not values:
                return
            self._update_version(conn, model.model_id, number, **values)
            after = _state(
                values.get("stage", row.stage), values.get("deprecation", row.deprecation)
            )
            audit.Trail(conn, actor, reason, model.model_id, name, number).append(
                f"version.{'reactivated' if state == 'active' else state}",
                before=before,
                after=after,
            )

        self._registry_write(write)
        with read_conn(self.engine) as conn:
            return self._load_version(conn, self._model_row(conn, name), number)

    def _refuse_if_serving(self, conn: Connection, model: Any, number: int) -> None:
        held = self._serving_holds(conn, model.model_id, number)
        if held:
            raise InvalidInput(
                f"version {number} of {model.name!r} cannot be archived while {' and '.join(held)} "
                "points at it: move or delete that first (archived versions never serve)"
            )


def _state(stage: str, deprecation: str | None) -> dict[str, Any]:
    return {"stage": stage, "deprecation": deprecation}
