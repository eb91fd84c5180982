"""Plumbing the registry's mixins share: the locked write transaction, lookups and row loading."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Table, and_, delete, func, insert, select, update

from ...errors import AlreadyExists, InvalidInput, NotFound, PolicyViolation
from .. import schema as s
from ..database import read_conn
from ..rows import from_row
from . import audit, rules
from .entities import (
    APPROVED,
    ARCHIVED,
    SERVING_STAGES,
    Approval,
    ModelVersion,
    Policy,
    RegisteredModel,
)

if TYPE_CHECKING:
    from ..store.base import StoreBase as _Base
else:  # the store imports this package: no runtime import of it here
    _Base = object

T = TypeVar("T")
_m = s.registered_models.c
_v = s.model_versions.c
_set = s.registry_settings.c
_POLICY_KEYS = {
    "four_eyes": "policy.four_eyes",
    "approved_aliases_only": "policy.approved_aliases_only",
    "approvers": "policy.approvers",
    "require_reproduced": "policy.require_reproduced",
}
_MODEL_COLUMNS = {
    "four_eyes": "policy_four_eyes",
    "approved_aliases_only": "policy_approved_aliases",
    "approvers": "policy_approvers",  # a JSON list
    "require_reproduced": "policy_require_reproduced",
}


def _policy_value(field: str, value: Any) -> Any:
    """A stored policy value as :class:`Policy` holds it (lists are kept as JSON)."""
    if field == "approvers":
        return tuple(json.loads(value) if isinstance(value, str) else value)
    return bool(value)


def _stored_policy_value(field: str, value: Any) -> Any:
    """A :class:`Policy` value as its ``registered_models`` column holds it."""
    return json.dumps(list(value)) if field == "approvers" else value


def _store_policy(conn: Connection) -> Policy:
    values = {
        r.key: r.value
        for r in conn.execute(
            select(_set.key, _set.value).where(_set.key.in_(_POLICY_KEYS.values()))
        )
    }
    defaults = Policy()
    return Policy(
        **{
            field: (
                _policy_value(field, json.loads(values[key]))
                if key in values
                else getattr(defaults, field)
            )
            for field, key in _POLICY_KEYS.items()
        }
    )


class RegistryBase(_Base):
    def _registry_write(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` in one write transaction holding the registry lock, so the change and its audit
        entries commit together, or not at all."""

        def run(conn: Connection) -> T:
            audit.lock(conn)
            return fn(conn)

        return self._write(run)

    def _policy_for(self, conn: Connection, model: Any) -> Policy:
        base = _store_policy(conn)
        overrides = {
            field: getattr(model, column)
            for field, column in _MODEL_COLUMNS.items()
            if getattr(model, column) is not None
        }
        return Policy(**{**base.__dict__, **{k: _policy_value(k, v) for k, v in overrides.items()}})

    def _require_approved(self, conn: Connection, model: Any, number: int, target: str) -> None:
        """Under ``approved_aliases_only``, ``target`` (an alias, or a serving stage: stages are
        MLflow's aliases of old) may name only an Approved version: else PolicyViolation."""
        if not self._policy_for(conn, model).approved_aliases_only:
            return
        approval = self._approval_row(conn, model.model_id, number)
        if approval is None or approval.status != APPROVED:
            state = approval.status if approval else "not submitted for approval"
            raise PolicyViolation(
                f"{target} can point only at an Approved version of {model.name!r} "
                f"(policy approved_aliases_only); version {number} is {state}",
                policy="approved_aliases_only",
            )

    def _aliases_on(self, conn: Connection, model_id: int, number: int) -> list[str]:
        """The aliases pointing at version ``number``, as ``alias 'name'`` phrases."""
        al = s.registered_model_aliases.c
        return [
            f"alias {r[0]!r}"
            for r in conn.execute(
                select(al.alias)
                .where(al.model_id == model_id, al.version == number)
                .order_by(al.alias)
            )
        ]

    def _serving_holds(self, conn: Connection, model_id: int, number: int) -> list[str]:
        """What makes ``number`` serve: the aliases pointing at it and its serving stage."""
        held = self._aliases_on(conn, model_id, number)
        stage = conn.execute(
            select(_v.stage).where(_v.model_id == model_id, _v.version == number)
        ).scalar()
        if stage in SERVING_STAGES:
            held.append(f"stage {stage}")
        return held

    def _refuse_archived(self, conn: Connection, model: Any, number: int, target: str) -> None:
        """An alias (``target``) never points at an archived version: retired versions never
        serve (see :mod:`.lifecycle`)."""
        stage = conn.execute(
            select(_v.stage).where(_v.model_id == model.model_id, _v.version == number)
        ).scalar()
        if stage == ARCHIVED:
            raise InvalidInput(
                f"{target} cannot point at version {number} of {model.name!r}: it is archived "
                "(retired versions never serve; reactivate it first)"
            )

    def _touch_model(self, conn: Connection, model_id: int, **values: Any) -> None:
        """Set the model's ``values`` (columns), and its last update time to now."""
        conn.execute(
            update(s.registered_models)
            .where(_m.model_id == model_id)
            .values(last_update_time=audit.now_ms(), **values)
        )

    def _update_version(
        self, conn: Connection, model_id: int, version: int, *, touch_model: bool = True,
        **values: Any,
    ) -> None:  # fmt: skip
        """Set the version's ``values`` (columns); its update time becomes now, and its model's
        too unless ``touch_model`` is false (MLflow leaves the registered model's time alone
        when a version's description or tags change, and moves it on a stage transition)."""
        t = audit.now_ms()
        conn.execute(
            update(s.model_versions)
            .where(_v.model_id == model_id, _v.version == version)
            .values(last_update_time=t, **values)
        )
        if touch_model:
            conn.execute(
                update(s.registered_models)
                .where(_m.model_id == model_id)
                .values(last_update_time=t)
            )

    def _set_tag(
        self, name: str, key: str, value: str | None, *, actor: str, comment: str,
        version: int | None = None,
    ) -> None:  # fmt: skip
        """Set (``value`` None: delete) one checked tag of model ``name``, or of its ``version``,
        in one audited write; the update times move only when the tag changed."""
        actor, comment = rules.actor(actor), rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            if version is not None:
                self._version_row(conn, model, version)
            if not self._write_tag(
                conn, model, name, key, value, actor=actor, comment=comment, version=version
            ):
                return
            if version is None:
                self._touch_model(conn, model.model_id)
            else:
                self._update_version(conn, model.model_id, version, touch_model=False)

        self._registry_write(write)

    def _audit_aliases_dropped(
        self,
        conn: Connection,
        model: Any,
        name: str,
        *,
        actor: str,
        why: str,
        version: int | None = None,
    ) -> None:
        """An ``alias.deleted`` entry for each alias of ``model`` (of its ``version`` only, when
        given) that a deletion is about to take away, so the trail says where each one went."""
        al = s.registered_model_aliases.c
        stmt = select(al.alias, al.version).where(al.model_id == model.model_id)
        if version is not None:
            stmt = stmt.where(al.version == version)
        for a in conn.execute(stmt.order_by(al.alias)):
            self._audit_alias_deleted(
                conn, model, name, a.alias, a.version, actor=actor, comment=why
            )

    def _audit_alias_deleted(
        self, conn: Connection, model: Any, name: str, alias: str, version: int, *, actor: str,
        comment: str,
    ) -> None:  # fmt: skip
        """The ``alias.deleted`` entry of ``alias``, which pointed at ``version``."""
        audit.append(
            conn,
            actor=actor,
            action="alias.deleted",
            model_id=model.model_id,
            model_name=name,
            version=version,
            alias=alias,
            before={"version": version},
            after=None,
            comment=comment,
        )

    def _write_tag(
        self, conn: Connection, model: Any, name: str, key: str, value: str | None, *,
        actor: str, comment: str, version: int | None = None,
    ) -> bool:  # fmt: skip
        """Set (``value`` None: delete) one tag of ``model``, or of its ``version`` when given,
        with its audit entry (``model.tag_set``, ``version.tag_deleted``...). False, and nothing
        written or recorded, when the tag already held ``value``."""
        if version is None:
            table, kind = s.registered_model_tags, "model"
            at: dict[str, Any] = {"model_id": model.model_id, "key": key}
        else:
            table, kind = s.model_version_tags, "version"
            at = {"model_id": model.model_id, "version": version, "key": key}
        if value is None:
            old = take_value(conn, table, at, "value")
        else:
            old = put_value(conn, table, at, "value", value)
        if old == value:
            return False
        audit.append(
            conn,
            actor=actor,
            action=f"{kind}.tag_deleted" if value is None else f"{kind}.tag_set",
            model_id=model.model_id,
            model_name=name,
            version=version,
            before=None if old is None else {key: old},
            after=None if value is None else {key: value},
            comment=comment,
        )
        return True

    # -- lookups ---------------------------------------------------------------------------

    def _require_free_name(self, conn: Connection, name: str) -> None:
        if conn.execute(select(_m.model_id).where(_m.name == name)).first():
            raise AlreadyExists(f"Registered Model (name={name}) already exists.")

    def _model_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(s.registered_models).where(_m.name == name)).first()
        if row is None:
            raise NotFound(f"Registered Model with name={name} not found")
        return row

    def _version_row(self, conn: Connection, model: Any, version: int) -> Any:
        row = conn.execute(
            select(s.model_versions).where(_v.model_id == model.model_id, _v.version == version)
        ).first()
        if row is None:
            raise NotFound(f"Model Version (name={model.name}, version={version}) not found")
        return row

    def _approval_row(self, conn: Connection, model_id: int, version: int) -> Any:
        a = s.model_version_approvals.c
        return conn.execute(
            select(s.model_version_approvals).where(a.model_id == model_id, a.version == version)
        ).first()

    # -- loading entities ------------------------------------------------------------------

    def _load_version(self, conn: Connection, model: Any, number: int) -> ModelVersion:
        """The entity of version ``number`` of ``model`` (a ``registered_models`` row)."""
        row = conn.execute(
            versions_with_names().where(_v.model_id == model.model_id, _v.version == number)
        ).first()
        if row is None:
            self._version_row(conn, model, number)  # raises NotFound
        return self._load_versions(conn, [row])[0]

    def _search_page(
        self,
        stmt: Any,
        where: Any,
        order: list[Any],
        max_results: int,
        page_token: str | None,
        load: Callable[[Connection, list[Any]], list[T]],
    ) -> tuple[list[T], str | None]:
        """One page of a registry search (``max_results`` rows from the token's offset) and the
        token of the next page, ``None`` on the last one."""
        from ..store.base import decode_token, encode_token

        offset = decode_token(page_token)[1]
        if where is not None:
            stmt = stmt.where(where)
        stmt = stmt.order_by(*order).offset(offset).limit(max_results + 1)
        with read_conn(self.engine) as conn:
            rows = conn.execute(stmt).all()
            items = load(conn, list(rows[:max_results]))
        token = encode_token(0, offset + max_results) if len(rows) > max_results else None
        return items, token

    def _load_versions(self, conn: Connection, rows: Iterable[Any]) -> list[ModelVersion]:
        """Entities for ``model_versions`` rows that carry the model's ``name`` too."""
        rows = list(rows)
        if not rows:
            return []
        ids = sorted({r.model_id for r in rows})
        tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
        aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
        approvals: dict[tuple[int, int], Approval] = {}
        t, al, ap = s.model_version_tags, s.registered_model_aliases, s.model_version_approvals
        for id_chunk in _chunks(ids, 500):
            for r in conn.execute(select(t).where(t.c.model_id.in_(id_chunk))):
                tags[(r.model_id, r.version)][r.key] = r.value
            for r in conn.execute(
                select(al).where(al.c.model_id.in_(id_chunk)).order_by(al.c.alias)
            ):
                aliases[(r.model_id, r.version)].append(r.alias)
            for r in conn.execute(select(ap).where(ap.c.model_id.in_(id_chunk))):
                approvals[(r.model_id, r.version)] = _approval(r)
        return [
            from_row(
                ModelVersion,
                r,
                run_id=r.run_uuid,
                tags=tags.get((r.model_id, r.version), {}),
                aliases=tuple(aliases.get((r.model_id, r.version), ())),
                approval=approvals.get((r.model_id, r.version)),
            )
            for r in rows
        ]

    def _load_models(self, conn: Connection, rows: Iterable[Any]) -> list[RegisteredModel]:
        rows = list(rows)
        if not rows:
            return []
        ids = [r.model_id for r in rows]
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        aliases: dict[int, dict[str, int]] = defaultdict(dict)
        latest: dict[int, list[ModelVersion]] = defaultdict(list)
        t, al = s.registered_model_tags, s.registered_model_aliases
        for id_chunk in _chunks(ids, 500):
            for r in conn.execute(select(t).where(t.c.model_id.in_(id_chunk))):
                tags[r.model_id][r.key] = r.value
            for r in conn.execute(
                select(al).where(al.c.model_id.in_(id_chunk)).order_by(al.c.alias)
            ):
                aliases[r.model_id][r.alias] = r.version
            # the newest version of each stage (MLflow's latest_versions), found by the database
            newest = (
                select(_v.model_id, _v.stage, func.max(_v.version).label("version"))
                .where(_v.model_id.in_(id_chunk))
                .group_by(_v.model_id, _v.stage)
                .subquery()
            )
            latest_rows = conn.execute(
                versions_with_names()
                .join(
                    newest,
                    and_(newest.c.model_id == _v.model_id, newest.c.version == _v.version),
                )
                .order_by(_v.model_id, _v.version)
            ).all()
            by_name = {r.name: r.model_id for r in rows}
            for v in self._load_versions(conn, latest_rows):
                latest[by_name[v.name]].append(v)
        return [
            from_row(
                RegisteredModel,
                r,
                tags=tags.get(r.model_id, {}),
                aliases=aliases.get(r.model_id, {}),
                latest_versions=tuple(sorted(latest.get(r.model_id, []), key=lambda v: v.version)),
            )
            for r in rows
        ]


def _approval(r: Any) -> Approval:
    try:
        evidence = tuple(json.loads(r.evidence or "[]"))
    except ValueError:
        evidence = ()
    return from_row(Approval, r, evidence=evidence)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def put_value(
    conn: Connection, table: Table, key: Mapping[str, Any], column: str, value: Any
) -> Any:
    """Set ``column`` of ``table``'s row at ``key`` to ``value``, inserting the row when there is
    none. Returns what it held before (``None``: no row); writes nothing when it held ``value``."""
    where = [table.c[k] == v for k, v in key.items()]
    old = conn.execute(select(table.c[column]).where(*where)).scalar()
    if old == value:
        return old
    if old is None:
        conn.execute(insert(table).values(**key, **{column: value}))
    else:
        conn.execute(update(table).where(*where).values(**{column: value}))
    return old


def take_value(conn: Connection, table: Table, key: Mapping[str, Any], column: str) -> Any:
    """Delete ``table``'s row at ``key``; returns its ``column`` (``None``: there was no row)."""
    where = [table.c[k] == v for k, v in key.items()]
    old = conn.execute(select(table.c[column]).where(*where)).scalar()
    if old is not None:
        conn.execute(delete(table).where(*where))
    return old


def versions_with_names() -> Any:
    """``SELECT model_versions.*, registered_models.name`` (what :meth:`_load_versions` reads)."""
    return select(s.model_versions, _m.name).join_from(
        s.model_versions, s.registered_models, _m.model_id == _v.model_id
    )


def check_not_deleted_run(conn: Connection, run_id: str) -> None:
    """A version may come from a run only if the run exists (deleted runs are refused too)."""
    stage = conn.execute(
        select(s.runs.c.lifecycle_stage).where(s.runs.c.run_uuid == run_id)
    ).scalar()
    if stage is None:
        raise NotFound(f"no run with id {run_id!r}")
    if stage != "active":
        raise InvalidInput(f"run {run_id} is deleted; restore it before registering its model")
