"""Aliases (``champion``, ``challenger``...): set, moved atomically, deleted, resolved."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ...errors import InvalidInput
from .. import schema as s
from ..database import read_conn
from . import audit, rules
from .base import RegistryBase, put_value, take_value
from .entities import ModelVersion

_al = s.registered_model_aliases.c
_v = s.model_versions.c


class AliasesMixin(RegistryBase):
    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, actor: str, comment: str = ""
    ) -> None:
        """Point ``alias`` at ``version``, moving it from wherever it pointed in the same
        transaction (readers see the old or the new version, never neither). Setting it to
        where it already points changes and records nothing. Under the
        ``approved_aliases_only`` policy the version must be Approved."""
        alias, number = rules.alias(alias), rules.version(version)
        actor, comment = rules.actor(actor), rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            self._version_row(conn, model, number)
            self._refuse_archived(conn, model, number, f"alias {alias!r}")
            self._require_approved(conn, model, number, f"alias {alias!r}")
            at = {"model_id": model.model_id, "alias": alias}
            old = put_value(conn, s.registered_model_aliases, at, "version", number)
            if old == number:
                return
            self._touch_model(conn, model.model_id)
            audit.append(
                conn,
                actor=actor,
                action="alias.set" if old is None else "alias.moved",
                model_id=model.model_id,
                model_name=name,
                version=number,
                alias=alias,
                before=None if old is None else {"version": old},
                after={"version": number},
                comment=comment,
            )

        self._registry_write(write)

    def delete_registered_model_alias(
        self, name: str, alias: str, *, actor: str, comment: str = ""
    ) -> None:
        """Remove ``alias``; an alias that is not set is an error (as in MLflow)."""
        actor, comment = rules.actor(actor), rules.comment(comment)
        if not isinstance(alias, str) or not alias:
            raise InvalidInput("Registered model alias name cannot be empty.")

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            at = {"model_id": model.model_id, "alias": alias}
            old = take_value(conn, s.registered_model_aliases, at, "version")
            if old is None:
                raise InvalidInput(f"Registered model alias {alias} not found.")
            self._touch_model(conn, model.model_id)
            self._audit_alias_deleted(conn, model, name, alias, old, actor=actor, comment=comment)

        self._registry_write(write)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at now; an unknown alias is ``InvalidInput`` (MLflow
        answers 400 there, not 404)."""
        with read_conn(self.engine) as conn:
            model = self._model_row(conn, name)
            number = conn.execute(
                select(_al.version).where(_al.model_id == model.model_id, _al.alias == alias)
            ).scalar()
            if number is None:
                raise InvalidInput(f"Registered model alias {alias} not found.")
            return self._load_version(conn, model, number)
