"""Experiments: create, rename, delete/restore, tags."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ...errors import AlreadyExists, InvalidInput, NotFound
from .. import schema as s
from .. import validation
from ..entities import Experiment
from ..rows import from_row
from .base import (
    DEFAULT_EXPERIMENT_ID,
    StoreBase,
    is_unique_violation,
    lifecycle_clause,
    now_ms,
    parse_experiment_id,
)


class ExperimentsMixin(StoreBase):
    def create_experiment(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        artifact_location: str | None = None,
    ) -> str:
        name = validation.name(name, "experiment name")
        tag_items = self._checked_tags(tags)
        t = now_ms()

        def write(conn: Connection) -> str:
            if conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.name == name)
            ).first():
                raise AlreadyExists(f"experiment {name!r} already exists")
            exp_id = conn.execute(
                insert(s.experiments).values(
                    name=name,
                    artifact_location=artifact_location,
                    lifecycle_stage="active",
                    creation_time=t,
                    last_update_time=t,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if tag_items:
                conn.execute(
                    insert(s.experiment_tags),
                    [{"experiment_id": exp_id, "key": k, "value": v} for k, v in tag_items.items()],
                )
            return str(exp_id)

        try:
            return self._write(write)
        except Exception as e:
            if is_unique_violation(e):  # created by another process since our check
                raise AlreadyExists(f"experiment {name!r} already exists") from None
            raise

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        exp = self._experiments(s.experiments.c.experiment_id == parse_experiment_id(experiment_id))
        if not exp:
            raise NotFound(f"no experiment with id {experiment_id!r}")
        return exp[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        name = validation.unicode(name, "experiment name") if isinstance(name, str) else name
        exp = self._experiments(s.experiments.c.name == name)
        return exp[0] if exp else None

    def get_or_create_experiment(self, name: str) -> str:
        exp = self.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage != "active":
                raise InvalidInput(
                    f"experiment {name!r} is deleted; restore it or pick another name"
                )
            return exp.id
        try:
            return self.create_experiment(name)
        except AlreadyExists:  # another process created it just now
            found = self.get_experiment_by_name(name)
            assert found is not None
            return found.id

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        return self._experiments(lifecycle_clause(s.experiments.c.lifecycle_stage, view))

    def _experiments(self, where: Any) -> list[Experiment]:
        e = s.experiments.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.experiments).where(where).order_by(e.experiment_id)).all()
            ids = [r.experiment_id for r in rows]
            tags: dict[int, dict[str, str]] = defaultdict(dict)
            if ids:
                for t in conn.execute(
                    select(s.experiment_tags).where(s.experiment_tags.c.experiment_id.in_(ids))
                ):
                    tags[t.experiment_id][t.key] = t.value
        return [
            from_row(Experiment, r, id=str(r.experiment_id), tags=tags[r.experiment_id])
            for r in rows
        ]

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        new_name = validation.name(new_name, "experiment name")
        exp_id = parse_experiment_id(experiment_id)

        def write(conn: Connection) -> None:
            clash = conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.name == new_name)
            ).scalar()
            if clash is not None and clash != exp_id:
                raise AlreadyExists(f"experiment {new_name!r} already exists")
            self._touch_experiment(conn, exp_id, name=new_name)

        self._write(write)

    def delete_experiment(self, experiment_id: str | int) -> None:
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise InvalidInput("the default experiment cannot be deleted")
        self._write(
            lambda c: self._touch_experiment(
                c, parse_experiment_id(experiment_id), lifecycle_stage="deleted"
            )
        )

    def restore_experiment(self, experiment_id: str | int) -> None:
        self._write(
            lambda c: self._touch_experiment(
                c, parse_experiment_id(experiment_id), lifecycle_stage="active"
            )
        )

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: Any) -> None:
        key = validation.key(key, "tag name")
        value = validation.tag_value(key, value)
        exp_id = parse_experiment_id(experiment_id)

        def write(conn: Connection) -> None:
            self._touch_experiment(conn, exp_id)
            stmt = self._upsert(conn, s.experiment_tags).values(
                experiment_id=exp_id, key=key, value=value
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["experiment_id", "key"], set_={"value": value}
                )
            )

        self._write(write)

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        """Remove one tag; a tag the experiment does not have is NotFound (as MLflow)."""
        key = validation.key(key, "tag name")
        exp_id = parse_experiment_id(experiment_id)

        def write(conn: Connection) -> None:
            self._touch_experiment(conn, exp_id)
            res = conn.execute(
                delete(s.experiment_tags).where(
                    s.experiment_tags.c.experiment_id == exp_id, s.experiment_tags.c.key == key
                )
            )
            if res.rowcount == 0:
                raise NotFound(f"No tag with name: {key} in experiment with id {exp_id}")

        self._write(write)

    def _touch_experiment(self, conn: Connection, exp_id: int, **values: Any) -> None:
        res = conn.execute(
            update(s.experiments)
            .where(s.experiments.c.experiment_id == exp_id)
            .values(last_update_time=now_ms(), **values)
        )
        if res.rowcount == 0:
            raise NotFound(f"no experiment with id {exp_id}")
