"""Model versions: register (numbered per model, never reused), read, describe, tag, stage,
delete and search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from ...errors import InvalidInput
from .. import schema as s
from .. import validation
from ..database import read_conn
from . import audit, rules, sources
from . import search as rsearch
from .base import RegistryBase, check_not_deleted_run, versions_with_names
from .entities import APPROVED, ARCHIVED, READY, SERVING_STAGES, STAGES, ModelVersion

_m = s.registered_models.c
_v = s.model_versions.c
_t = s.model_version_tags.c


def _check_source_experiment(conn: Connection, src: sources.Source) -> None:
    """An ``mlflow-artifacts:/<exp>/<run>/...`` source lies within its run's artifact root only
    when ``<exp>`` is that run's experiment (``<exp>/models/<id>/...``: the model's)."""
    if src.run_id is None:
        lm = s.logged_models.c
        experiment = conn.execute(
            select(lm.experiment_id).where(lm.model_id == src.logged_model_id)
        ).scalar()
        if str(experiment) != src.experiment_id:
            raise InvalidInput(
                f"Invalid model version source: '{src.uri}'. No logged model "
                f"{src.logged_model_id} in experiment {src.experiment_id}."
            )
        return
    experiment = conn.execute(
        select(s.runs.c.experiment_id).where(s.runs.c.run_uuid == src.run_id)
    ).scalar()
    if str(experiment) != src.experiment_id:
        raise InvalidInput(
            f"Invalid model version source: '{src.uri}'. It is not within the artifact root of "
            f"run {src.run_id} (mlflow-artifacts:/{experiment}/{src.run_id}/artifacts)."
        )


#: MLflow's column for a version's run id (``String(32)``): any value up to that length.
MAX_RUN_ID_LENGTH = 32


def _is_run(conn: Connection, run_id: str) -> bool:
    found = conn.execute(select(s.runs.c.run_uuid).where(s.runs.c.run_uuid == run_id)).first()
    return found is not None


class VersionsMixin(RegistryBase):
    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        actor: str,
        run_id: str | None = None,
        logged_model_id: str | None = None,
        model_path: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        comment: str = "",
    ) -> ModelVersion:
        """Register ``source`` as the model's next version (status READY).

        The source must pass :func:`.sources.parse` (MLflow's rules: nothing that escapes its
        root, addresses a host or is a local path). ``runs:/<run>/<path>`` and
        ``mlflow-artifacts:/<exp>/<run>/artifacts/<path>`` sources fill ``run_id`` and
        ``model_path`` (the model's directory among the run's artifacts) when not given, and
        must agree with them when given. A run, when named, must exist.
        """
        src = sources.parse(source)  # refuses what MLflow refuses: escapes, hosts, local paths
        source, actor = src.uri, rules.actor(actor)
        description, tag_items = rules.description(description), rules.tags(tags)
        comment = rules.comment(comment)
        if src.logged_model_id and logged_model_id not in (None, src.logged_model_id):
            raise InvalidInput(
                f"Invalid model version source: '{source}'. The model_id request parameter "
                f"{logged_model_id!r} must identify the logged model the source names."
            )
        if src.run_id is not None:
            if run_id is not None and run_id != src.run_id:
                raise InvalidInput(
                    f"Invalid model version source: '{source}'. The run_id request parameter "
                    f"{run_id!r} must identify the run that contains the source."
                )
            run_id = src.run_id
            model_path = model_path if model_path is not None else src.path
        if run_id is not None:
            # any id MLflow accepts is kept (a run of another server, an import); only a run of
            # this store is resolved into its artifacts (see ``write``)
            run_id = rules.text(run_id, "run_id", MAX_RUN_ID_LENGTH) or None
        if model_path:
            from ..artifacts import normalize_path

            model_path = normalize_path(model_path)
        if logged_model_id is not None:
            logged_model_id = rules.text(logged_model_id, "logged model id", 64) or None
        created: list[int] = []

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            path = model_path
            if run_id is not None and _is_run(conn, run_id):
                check_not_deleted_run(conn, run_id)
            elif run_id is not None:
                path = None  # a reference to a run elsewhere: its files are not ours to resolve
            if src.experiment_id is not None:
                _check_source_experiment(conn, src)
            number = model.last_version + 1
            t = audit.now_ms()
            conn.execute(
                update(s.registered_models)
                .where(_m.model_id == model.model_id)
                .values(last_version=number, last_update_time=t)
            )
            conn.execute(
                insert(s.model_versions).values(
                    model_id=model.model_id,
                    version=number,
                    source=source,
                    run_uuid=run_id,
                    logged_model_id=logged_model_id,
                    model_path=path or None,
                    status=READY,
                    status_message="",
                    stage="None",
                    description=description,
                    user_id=actor,
                    creation_time=t,
                    last_update_time=t,
                )
            )
            if tag_items:
                conn.execute(
                    insert(s.model_version_tags),
                    [
                        {"model_id": model.model_id, "version": number, "key": k, "value": v}
                        for k, v in tag_items.items()
                    ],
                )
            audit.Trail(conn, actor, comment, model.model_id, name, number).append(
                "version.created",
                after={
                    "version": number,
                    "source": source,
                    "run_id": run_id,
                    "logged_model_id": logged_model_id,
                    "model_path": path or None,
                    "description": description,
                    "tags": tag_items,
                },
            )
            created.append(number)

        self._registry_write(write)
        return self.get_model_version(name, created[-1])

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        number = rules.version(version)
        with read_conn(self.engine) as conn:
            return self._load_version(conn, self._model_row(conn, name), number)

    def update_model_version(
        self, name: str, version: int | str, *, actor: str, description: str, comment: str = ""
    ) -> ModelVersion:
        number, actor = rules.version(version), rules.actor(actor)
        description, comment = rules.description(description), rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model, number)
            if row.description == description:
                return
            self._update_version(
                conn, model.model_id, number, description=description, touch_model=False
            )
            audit.Trail(conn, actor, comment, model.model_id, name, number).append(
                "version.description",
                before={"description": row.description},
                after={"description": description},
            )

        self._registry_write(write)
        return self.get_model_version(name, number)

    def delete_model_version(
        self, name: str, version: int | str, *, actor: str, comment: str = ""
    ) -> None:
        """Delete a version with its tags, approval and aliases (each alias deletion audited)."""
        number, actor, comment = rules.version(version), rules.actor(actor), rules.comment(comment)

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model, number)
            self._audit_aliases_dropped(
                conn, model, name, actor=actor, why="model version deleted", version=number
            )
            conn.execute(
                delete(s.model_versions).where(_v.model_id == model.model_id, _v.version == number)
            )
            self._touch_model(conn, model.model_id)
            audit.Trail(conn, actor, comment, model.model_id, name, number).append(
                "version.deleted",
                before={"version": number, "source": row.source, "run_id": row.run_uuid},
            )

        self._registry_write(write)

    def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: Any, *, actor: str,
        comment: str = "",
    ) -> None:  # fmt: skip
        number = rules.version(version)
        key = validation.key(key, "tag name")
        value = validation.tag_value(key, value)
        self._set_tag(name, key, value, actor=actor, comment=comment, version=number)

    def delete_model_version_tag(
        self, name: str, version: int | str, key: str, *, actor: str, comment: str = ""
    ) -> None:
        number = rules.version(version)
        self._set_tag(name, key, None, actor=actor, comment=comment, version=number)

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        *,
        actor: str,
        archive_existing_versions: bool = False,
        comment: str = "",
    ) -> ModelVersion:
        """MLflow's deprecated stages (prefer aliases). ``archive_existing_versions`` moves the
        other versions in the target stage to Archived; every change is audited.

        Staging and Production serve a version, as an alias does, so under
        ``approved_aliases_only`` only an Approved version may enter them (PolicyViolation);
        moving to None or Archived takes a version out of service and is always allowed."""
        number, stage, actor = rules.version(version), rules.stage(stage), rules.actor(actor)
        comment = rules.comment(comment)
        if archive_existing_versions and stage not in ("Staging", "Production"):
            raise InvalidInput(
                "archive_existing_versions applies only to the Staging and Production stages"
            )

        def write(conn: Connection) -> None:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model, number)
            if stage in SERVING_STAGES and row.stage != stage:
                self._require_approved(conn, model, number, f"stage {stage}")
            changes = [(number, row.stage)] if row.stage != stage else []
            if archive_existing_versions:
                changes += [
                    (r.version, stage)
                    for r in conn.execute(
                        select(_v.version)
                        .where(
                            _v.model_id == model.model_id, _v.stage == stage, _v.version != number
                        )
                        .order_by(_v.version)
                    )
                ]
            if stage == ARCHIVED or archive_existing_versions:
                # an alias never points at an archived version (core/registry/lifecycle.py)
                for v, _ in changes:
                    held = self._aliases_on(conn, model.model_id, v)
                    if held and (v != number or stage == ARCHIVED):
                        raise InvalidInput(
                            f"version {v} of {name!r} cannot be archived while "
                            f"{' and '.join(held)} points at it: move or delete that first"
                        )
            for v, old in changes:
                new = stage if v == number else ARCHIVED
                self._update_version(conn, model.model_id, v, stage=new)
                trail = audit.Trail(conn, actor, comment, model.model_id, name, v)
                trail.append("version.stage", before={"stage": old}, after={"stage": new})

        self._registry_write(write)
        return self.get_model_version(name, number)

    def get_latest_versions(
        self, name: str, stages: list[str] | tuple[str, ...] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (every stage when empty): what
        ``models:/NAME/Production`` resolves to. Under ``approved_aliases_only`` only Approved
        versions count for Staging and Production, so a version placed there before the policy
        was turned on is never served by it."""
        wanted = [rules.stage(x) for x in stages or ()] or list(STAGES)
        with read_conn(self.engine) as conn:
            model = self._model_row(conn, name)
            stmt = versions_with_names().where(_v.model_id == model.model_id, _v.stage.in_(wanted))
            if self._policy_for(conn, model).approved_aliases_only:
                ap = s.model_version_approvals.c
                approved = select(ap.version).where(
                    ap.model_id == model.model_id, ap.status == APPROVED
                )
                stmt = stmt.where(or_(_v.stage.not_in(SERVING_STAGES), _v.version.in_(approved)))
            newest: dict[str, Any] = {}
            for r in conn.execute(stmt.order_by(_v.version)):
                newest[r.stage] = r
            rows = sorted(newest.values(), key=lambda r: r.version)
            return self._load_versions(conn, rows)

    def search_model_versions(
        self,
        filter: str | None = None,
        order_by: list[str] | tuple[str, ...] | None = None,
        max_results: int = 10_000,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        where = rsearch.version_filter(filter)
        order = rsearch.version_order(order_by)
        max_results = rules.page_size(max_results, rules.MAX_VERSION_RESULTS)
        return self._search_page(
            versions_with_names(), where, order, max_results, page_token, self._load_versions
        )

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of one model, newest first."""
        with read_conn(self.engine) as conn:
            model = self._model_row(conn, name)
            rows = conn.execute(
                versions_with_names()
                .where(_v.model_id == model.model_id)
                .order_by(_v.version.desc())
            ).all()
            return self._load_versions(conn, rows)
