"""Registered models: create, read, rename, describe, tag, delete and search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from .. import schema as s
from .. import validation
from ..database import read_conn
from . import audit, rules
from . import search as rsearch
from .base import RegistryBase
from .entities import RegisteredModel

_m = s.registered_models.c
_t = s.registered_model_tags.c


class ModelsMixin(RegistryBase):
    def create_registered_model(
        self,
        name: str,
        *,
        actor: str,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        comment: str = "",
    ) -> RegisteredModel:
        """A new, empty registered model owned by ``actor``; ``AlreadyExists`` if the name is
        taken (MLflow's client tolerates that and goes on to create a version)."""
        name, actor = rules.model_name(name), rules.actor(actor)
        description, tag_items = rules.description(description), rules.tags(tags)
        comment = rules.comment(comment)

        def write(conn: Connection) -> None:
            self._require_free_name(conn, name)
            t = audit.now_ms()
            model_id = conn.execute(
                insert(s.registered_models).values(
                    **_never_reused_id(conn),
                    name=name,
                    description=description,
                    owner=actor,
                    creation_time=t,
                    last_update_time=t,
                    last_version=0,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if tag_items:
                conn.execute(
                    insert(s.registered_model_tags),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in tag_items.items()],
                )
            audit.Trail(conn, actor, comment, model_id, name).append(
                "model.created",
                after={"name": name, "description": description, "tags": tag_items},
            )

        self._registry_write(write)
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        with read_conn(self.engine) as conn:
            return self._load_models(conn, [self._model_row(conn, name)])[0]

    def rename_registered_model(
        self, name: str, new_name: str, *, actor: str, comment: str = ""
    ) -> RegisteredModel:
        new_name, actor = (
            rules.model_name(new_name, "new registered model name"),
            rules.actor(actor),
        )
        comment = rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            if new_name == name:
                return
            self._require_free_name(conn, new_name)
            self._touch_model(conn, model.model_id, name=new_name)
            # the model's own webhooks follow it (they name it)
            conn.execute(
                update(s.webhooks)
                .where(s.webhooks.c.model_name == name)
                .values(model_name=new_name)
            )
            audit.Trail(conn, actor, comment, model.model_id, new_name).append(
                "model.renamed", before={"name": name}, after={"name": new_name}
            )

        self._registry_write(write)
        return self.get_registered_model(new_name)

    def update_registered_model(
        self, name: str, *, actor: str, description: str, comment: str = ""
    ) -> RegisteredModel:
        actor, description = rules.actor(actor), rules.description(description)
        comment = rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            if model.description == description:
                return
            self._touch_model(conn, model.model_id, description=description)
            audit.Trail(conn, actor, comment, model.model_id, name).append(
                "model.description",
                before={"description": model.description},
                after={"description": description},
            )

        self._registry_write(write)
        return self.get_registered_model(name)

    def delete_registered_model(self, name: str, *, actor: str, comment: str = "") -> None:
        """Delete the model with its versions, tags, aliases and approvals. The audit trail
        keeps an entry for each alias that disappears, then the deletion itself."""
        actor, comment = rules.actor(actor), rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            self._audit_aliases_dropped(
                conn, model, name, actor=actor, why="registered model deleted"
            )
            versions = [
                r[0]
                for r in conn.execute(
                    select(s.model_versions.c.version)
                    .where(s.model_versions.c.model_id == model.model_id)
                    .order_by(s.model_versions.c.version)
                )
            ]
            conn.execute(delete(s.registered_models).where(_m.model_id == model.model_id))
            audit.Trail(conn, actor, comment, model.model_id, name).append(
                "model.deleted",
                before={"name": name, "description": model.description, "versions": versions},
            )

        self._registry_write(write)

    def set_registered_model_tag(
        self, name: str, key: str, value: Any, *, actor: str, comment: str = ""
    ) -> None:
        key = validation.key(key, "tag name")
        self._set_tag(name, key, validation.tag_value(key, value), actor=actor, comment=comment)

    def delete_registered_model_tag(
        self, name: str, key: str, *, actor: str, comment: str = ""
    ) -> None:
        """Idempotent, as in MLflow: deleting an absent tag changes (and records) nothing."""
        self._set_tag(name, key, None, actor=actor, comment=comment)

    def search_registered_models(
        self,
        filter: str | None = None,
        order_by: list[str] | tuple[str, ...] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        """A page of models and the token of the next page (``None`` on the last one)."""
        where = rsearch.model_filter(filter)
        order = rsearch.model_order(order_by)
        max_results = rules.page_size(max_results, rules.MAX_MODEL_RESULTS)
        return self._search_page(
            select(s.registered_models), where, order, max_results, page_token, self._load_models
        )

    def list_registered_models(self) -> list[RegisteredModel]:
        out: list[RegisteredModel] = []
        token: str | None = None
        while True:
            page, token = self.search_registered_models(
                max_results=rules.MAX_MODEL_RESULTS, page_token=token
            )
            out += page
            if token is None:
                return out


def _never_reused_id(conn: Connection) -> dict[str, int]:
    """On SQLite, an explicit id past every id the audit trail has seen: its ``INTEGER PRIMARY
    KEY`` (no AUTOINCREMENT) would hand a deleted newest model's id to the next one, whose audit
    trail would then begin with the deleted model's entries. PostgreSQL's sequence never goes
    back. Race-free: SQLite's write transactions are exclusive (BEGIN IMMEDIATE)."""
    if conn.dialect.name != "sqlite":
        return {}
    seen = max(
        conn.execute(select(func.max(s.registered_models.c.model_id))).scalar() or 0,
        conn.execute(select(func.max(s.registry_audit.c.model_id))).scalar() or 0,
    )
    return {"model_id": int(seen) + 1}
