"""MLflow 3 logged models: an entity of its own (``m-<32 hex>``), with an optional source run,
its status (PENDING, READY, FAILED), tags, params, metrics logged with its id, its files and the
runs it is an input or output of.

Files are content-addressed blobs like every artifact. A model created with an existing source
run keeps them among that run's artifacts under ``models/<model_id>/`` (``artifact_run_id``), so
the run's lineage, sidebar and ``runs:/`` URIs hold them; a model created without a run indexes
them itself (``logged_model_artifacts``). Deleting a model marks it deleted; nothing is erased.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, or_, select

from ...errors import Conflict, InvalidInput, NotFound
from .. import limits, validation
from .. import schema as s
from ..artifacts import normalize_paths
from ..entities import (
    LOGGED_MODEL_STATUSES,
    ArtifactInfo,
    LoggedModel,
    LoggedModelMetric,
    RunModelLink,
)
from ..rows import from_row
from ..search.compiler import condition
from .artifact_index import index_entry, list_index, store_blobs, write_index
from .base import StoreBase, now_ms, parse_experiment_id, random_run_name
from .logged_model_search import STATUS_NAMES, parse_filter, parse_order_by

#: MLflow's page size of search_logged_models (and our largest).
DEFAULT_MODEL_RESULTS = 100
MAX_MODEL_RESULTS = 1000
#: Marks a model row made by migration 0007 from a run's JSON record not yet read back.
ADOPT_MARK = "mm:adopt-run-record"
_LEGACY_RECORD = ".mlflow/models/{}.json"
_NAME_FORBIDDEN = "/:.%\"'"

_lm = s.logged_models.c


def check_model_id(model_id: Any) -> str:
    """A logged model id; any other string names no model (MLflow's NotFound message)."""
    if (
        not isinstance(model_id, str)
        or len(model_id) != 34
        or not model_id.startswith("m-")
        or any(c not in "0123456789abcdef" for c in model_id[2:])
    ):
        raise NotFound(f"Logged model with ID '{model_id}' not found.")
    return model_id


def check_model_name(name: str | None) -> str:
    if name is None or name == "":
        return random_run_name()
    name = validation.name(name, "logged model name")
    if any(c in name for c in _NAME_FORBIDDEN):
        raise InvalidInput(
            f"Invalid model name ({name!r}) provided. Model name must not contain any of the "
            "following characters: ['/', ':', '.', '%', '\"', \"'\"]"
        )
    return name


def check_status(status: Any) -> str:
    value = STATUS_NAMES.get(str(status).upper()) if status is not None else None
    if value is None:
        raise InvalidInput(
            f"Invalid model status {status!r}: expected one of "
            "LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED"
        )
    return value


def _token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset, "q": query}).encode()).decode()


def _offset(token: str | None, query: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["offset"]
        if not isinstance(offset, int) or offset < 0 or data.get("q") != query:
            raise ValueError
        return offset
    except Exception:
        raise InvalidInput(
            f"Invalid page token {token!r}: not from this search (experiment_ids, filter, "
            "datasets and order_by must stay the same across pages)"
        ) from None


class LoggedModelsMixin(StoreBase):
    # -- the entity -------------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        *,
        source_run_id: str | None = None,
        model_type: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        creator: str = "",
    ) -> LoggedModel:
        """A PENDING model. With ``source_run_id`` naming a run of this store, its files will be
        that run's artifacts; another id is kept as given (MLflow does not check it)."""
        exp_id = parse_experiment_id(experiment_id)
        name = check_model_name(name)
        model_type = validation.text(model_type or "", "model type", 500)
        tag_rows = self._checked_tags(tags)
        param_rows = self._checked_params(params)
        if source_run_id is not None and source_run_id != "":
            source_run_id = validation.text(source_run_id, "source_run_id", 32)
        else:
            source_run_id = None
        model_id = "m-" + uuid.uuid4().hex
        t = now_ms()

        def write(conn: Connection) -> None:
            stage = conn.execute(
                select(s.experiments.c.lifecycle_stage).where(
                    s.experiments.c.experiment_id == exp_id
                )
            ).scalar()
            if stage is None:
                raise NotFound(f"No Experiment with id={exp_id} exists")
            if stage != "active":
                raise InvalidInput(f"The experiment {exp_id} must be in the 'active' state.")
            artifact_run = None
            if source_run_id is not None:
                row = conn.execute(
                    select(s.runs.c.experiment_id, s.runs.c.user_id).where(
                        s.runs.c.run_uuid == source_run_id
                    )
                ).first()
                if row is not None:
                    artifact_run = source_run_id
            conn.execute(
                s.logged_models.insert().values(
                    model_id=model_id,
                    experiment_id=exp_id,
                    name=name,
                    model_type=model_type,
                    status="PENDING",
                    status_message="",
                    source_run_id=source_run_id,
                    artifact_run_uuid=artifact_run,
                    creator=validation.text(creator or "", "creator", limits.MAX_NAME_LENGTH),
                    lifecycle_stage="active",
                    creation_time=t,
                    last_update_time=t,
                )
            )
            for table, rows in (
                (s.logged_model_tags, tag_rows),
                (s.logged_model_params, param_rows),
            ):
                if rows:
                    conn.execute(
                        table.insert(),
                        [{"model_id": model_id, "key": k, "value": v} for k, v in rows.items()],
                    )

        self._write(write)
        return self.get_logged_model(model_id)

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        check_model_id(model_id)
        with self.engine.connect() as conn:
            row = conn.execute(select(s.logged_models).where(_lm.model_id == model_id)).first()
        if row is None or (row.lifecycle_stage != "active" and not allow_deleted):
            raise NotFound(f"Logged model with ID '{model_id}' not found.")
        return self._models([row])[0]

    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str | None = None
    ) -> LoggedModel:
        value = check_status(status)
        values: dict[str, Any] = {"status": value, "last_update_time": now_ms()}
        if status_message is not None:
            values["status_message"] = validation.text(status_message, "status message", 1000)
        self._update_model(model_id, values)
        return self.get_logged_model(model_id, allow_deleted=True)

    def delete_logged_model(self, model_id: str) -> None:
        """Marks the model deleted (MLflow's soft delete); its files and rows stay."""
        self._update_model(model_id, {"lifecycle_stage": "deleted", "last_update_time": now_ms()})

    def _update_model(self, model_id: str, values: dict[str, Any]) -> None:
        check_model_id(model_id)

        def write(conn: Connection) -> None:
            done = conn.execute(
                s.logged_models.update().where(_lm.model_id == model_id).values(**values)
            )
            if not done.rowcount:
                raise NotFound(f"Logged model with ID '{model_id}' not found.")

        self._write(write)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        rows = self._checked_tags(tags)
        self._write_model_items(model_id, s.logged_model_tags, rows, replace=True)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Write-once, as run params: the same value again is accepted, another one refused."""
        rows = self._checked_params(params)
        self._write_model_items(model_id, s.logged_model_params, rows, replace=False)

    def _write_model_items(
        self, model_id: str, table: Any, rows: dict[str, str], replace: bool
    ) -> None:
        check_model_id(model_id)

        def write(conn: Connection) -> None:
            self._require_model(conn, model_id)
            if not rows:
                return
            if not replace:
                have: dict[str, str] = dict(
                    conn.execute(
                        select(table.c.key, table.c.value).where(
                            table.c.model_id == model_id, table.c.key.in_(list(rows))
                        )
                    ).all()
                )
                changed = sorted(k for k, v in rows.items() if k in have and have[k] != v)
                if changed:
                    raise Conflict(
                        f"Changing param values is not allowed. Param with key={changed[0]!r} "
                        f"was already logged with value={have[changed[0]]!r} for logged model "
                        f"{model_id!r}. Attempted logging new value {rows[changed[0]]!r}."
                    )
            stmt = self._upsert(conn, table)
            stmt = (
                stmt.on_conflict_do_update(
                    index_elements=["model_id", "key"], set_={"value": stmt.excluded.value}
                )
                if replace
                else stmt.on_conflict_do_nothing(index_elements=["model_id", "key"])
            )
            conn.execute(
                stmt, [{"model_id": model_id, "key": k, "value": v} for k, v in rows.items()]
            )
            conn.execute(
                s.logged_models.update()
                .where(_lm.model_id == model_id)
                .values(last_update_time=now_ms())
            )

        self._write(write)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        check_model_id(model_id)
        t = s.logged_model_tags

        def write(conn: Connection) -> None:
            self._require_model(conn, model_id)
            done = conn.execute(t.delete().where(t.c.model_id == model_id, t.c.key == key))
            if not done.rowcount:
                raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")

        self._write(write)

    def _require_model(self, conn: Connection, model_id: str) -> None:
        if conn.execute(select(_lm.model_id).where(_lm.model_id == model_id)).first() is None:
            raise NotFound(f"Logged model with ID '{model_id}' not found.")

    # -- metrics and links ------------------------------------------------------------------

    def check_logged_models(self, model_ids: Sequence[str]) -> None:
        """NotFound unless every id names a logged model (deleted ones included)."""
        wanted = {check_model_id(m) for m in model_ids}
        if not wanted:
            return
        with self.engine.connect() as conn:
            found = set(
                conn.execute(select(_lm.model_id).where(_lm.model_id.in_(wanted))).scalars()
            )
        for model_id in sorted(wanted - found):
            raise NotFound(f"Logged model with ID '{model_id}' not found.")

    def log_logged_model_metrics(
        self,
        run_id: str,
        points: Sequence[tuple[str, str, float, int, int, str | None, str | None]],
    ) -> None:
        """Record ``(model_id, key, value, step, timestamp, dataset_name, dataset_digest)``
        points the run logged with a model id (the run's own history holds them too). A point
        already recorded is kept once, as MLflow keeps it."""
        if not points:
            return
        run_uuid = validation.run_id(run_id)
        self.check_logged_models([p[0] for p in points])
        rows = []
        for model_id, key, value, step, ts, ds_name, ds_digest in points:
            key = validation.key(key, "metric name")
            value = float(value)
            rows.append(
                {
                    "model_id": model_id,
                    "key": key,
                    "value": None if math.isnan(value) else value,
                    "step": validation.step(key, step),
                    "timestamp": validation.timestamp(key, ts),
                    "run_uuid": run_uuid,
                    "dataset_name": validation.text(ds_name, "dataset name", 250)
                    if ds_name
                    else None,
                    "dataset_digest": validation.text(ds_digest, "dataset digest", 64)
                    if ds_digest
                    else None,
                }
            )

        def write(conn: Connection) -> None:
            stmt = self._upsert(conn, s.logged_model_metrics).on_conflict_do_nothing(
                index_elements=["model_id", "key", "timestamp", "step", "run_uuid"]
            )
            conn.execute(stmt, rows)

        self._write(write)

    def link_run_models(
        self, run_id: str, models: Sequence[tuple[str, int]], direction: str
    ) -> None:
        """The run's model inputs (``direction="input"``) or outputs: ``(model_id, step)``."""
        if direction not in ("input", "output"):
            raise InvalidInput(f"direction must be 'input' or 'output', got {direction!r}")
        run_uuid = validation.run_id(run_id)
        self.check_logged_models([m for m, _ in models])
        t = now_ms()
        rows = [
            {"run_uuid": run_uuid, "model_id": m, "direction": direction, "step": int(step),
             "created_time": t}
            for m, step in models
        ]  # fmt: skip

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            if rows:
                stmt = self._upsert(conn, s.run_model_links)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["run_uuid", "model_id", "direction"],
                        set_={"step": stmt.excluded.step},
                    ),
                    rows,
                )

        self._write(write)

    def run_model_links(self, run_ids: Sequence[str]) -> dict[str, list[RunModelLink]]:
        """Each run's model inputs and outputs, oldest link first."""
        out: dict[str, list[RunModelLink]] = {r: [] for r in run_ids}
        if not run_ids:
            return out
        link = s.run_model_links.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.run_model_links)
                .where(link.run_uuid.in_(list(run_ids)))
                .order_by(link.created_time, link.model_id)
            ).all()
        for r in rows:
            out.setdefault(r.run_uuid, []).append(
                RunModelLink(r.run_uuid, r.model_id, r.direction, r.step)
            )
        return out

    def model_runs(self, model_id: str) -> list[str]:
        """The runs a model is an output of, newest link first."""
        link = s.run_model_links.c
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(link.run_uuid)
                    .where(link.model_id == model_id, link.direction == "output")
                    .order_by(link.created_time.desc())
                ).scalars()
            )

    # -- search -----------------------------------------------------------------------------

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        order_by: Sequence[Any] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> tuple[list[LoggedModel], str | None]:
        """Active models of the experiments, as MLflow's ``search_logged_models``: filter,
        datasets (models with metrics on them), order_by (newest first by default), pages."""
        limit = max_results or DEFAULT_MODEL_RESULTS
        if not 0 < limit <= MAX_MODEL_RESULTS:
            raise InvalidInput(
                f"Invalid value {max_results} for parameter 'max_results': expected 1 to "
                f"{MAX_MODEL_RESULTS}"
            )
        conditions = parse_filter(filter)
        orders = parse_order_by(list(order_by or []))
        ds_rows: list[tuple[str, str | None]] = []
        for d in datasets or ():
            if not isinstance(d, Mapping) or not d.get("dataset_name"):
                raise InvalidInput("`dataset_name` in the `datasets` clause must be specified.")
            ds_rows.append((str(d["dataset_name"]), d.get("dataset_digest") or None))
        exp_ids = [int(e) for e in experiment_ids if str(e).strip().isdigit()]
        query = hashlib.sha256(
            json.dumps(
                [sorted(str(e) for e in experiment_ids), filter or "", ds_rows,
                 [o.__dict__ for o in orders]],
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]  # fmt: skip
        offset = _offset(page_token, query)
        if not exp_ids:
            return [], None
        met = s.logged_model_metrics
        ds_clause = (
            or_(
                *(
                    and_(met.c.dataset_name == n, *([met.c.dataset_digest == d] if d else []))
                    for n, d in ds_rows
                )
            )
            if ds_rows
            else None
        )
        where: list[Any] = [_lm.lifecycle_stage == "active", _lm.experiment_id.in_(exp_ids)]
        has_metric_filter = False
        for c in conditions:
            if c.entity == "attribute":
                where.append(and_(_lm[c.key].is_not(None), condition(_lm[c.key], c.op, c.value)))
                continue
            table = {"metric": met, "param": s.logged_model_params, "tag": s.logged_model_tags}[
                c.entity
            ]
            value_col = table.c.value
            extra = []
            if c.entity == "metric":
                has_metric_filter = True
                if ds_clause is not None:
                    extra.append(ds_clause)
            where.append(
                exists(
                    select(table.c.model_id).where(
                        table.c.model_id == _lm.model_id,
                        table.c.key == c.key,
                        condition(value_col, c.op, c.value),
                        *extra,
                    )
                )
            )
        if ds_clause is not None and not has_metric_filter:
            where.append(
                exists(select(met.c.model_id).where(met.c.model_id == _lm.model_id, ds_clause))
            )
        stmt = select(s.logged_models).where(*where)
        order_terms: list[Any] = []
        for i, o in enumerate(orders):
            col: Any
            if o.entity == "attribute":
                col = _lm[o.key]
            else:
                ranked = (
                    select(
                        met.c.model_id,
                        met.c.value,
                        func.row_number()
                        .over(
                            partition_by=met.c.model_id,
                            order_by=[met.c.timestamp.desc(), met.c.step.desc(), met.c.run_uuid],
                        )
                        .label("rn"),
                    )
                    .where(
                        met.c.key == o.key,
                        *([met.c.dataset_name == o.dataset_name] if o.dataset_name else []),
                        *([met.c.dataset_digest == o.dataset_digest] if o.dataset_digest else []),
                    )
                    .subquery(f"om{i}")
                )
                latest = (
                    select(ranked.c.model_id, ranked.c.value)
                    .where(ranked.c.rn == 1)
                    .subquery(f"ol{i}")
                )
                stmt = stmt.outerjoin(latest, latest.c.model_id == _lm.model_id)
                col = latest.c.value
            order_terms += [
                case((col.is_(None), 1), else_=0),
                col.asc() if o.ascending else col.desc(),
            ]
        if not any(o.entity == "attribute" and o.key == "creation_time" for o in orders):
            order_terms.append(_lm.creation_time.desc())
        order_terms.append(_lm.model_id.asc())
        stmt = stmt.order_by(*order_terms).offset(offset).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        token = _token(offset + limit, query) if len(rows) > limit else None
        return self._models(rows[:limit]), token

    # -- reading rows -----------------------------------------------------------------------

    def _models(self, rows: Sequence[Any]) -> list[LoggedModel]:
        """Entities of ``logged_models`` rows, their tags, params and metrics read in 3 queries."""
        if any(r.status_message == ADOPT_MARK for r in rows):
            for r in rows:
                if r.status_message == ADOPT_MARK:
                    self._adopt_run_record(r.model_id, r.artifact_run_uuid)
            ids = [r.model_id for r in rows]
            with self.engine.connect() as conn:
                fresh = {
                    r.model_id: r
                    for r in conn.execute(select(s.logged_models).where(_lm.model_id.in_(ids)))
                }
            rows = [fresh[i] for i in ids]
        ids = [r.model_id for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, list[LoggedModelMetric]] = {i: [] for i in ids}
        if ids:
            met = s.logged_model_metrics.c
            with self.engine.connect() as conn:
                for table, into in ((s.logged_model_tags, tags), (s.logged_model_params, params)):
                    for r in conn.execute(
                        select(table).where(table.c.model_id.in_(ids)).order_by(table.c.key)
                    ):
                        into[r.model_id][r.key] = r.value
                for r in conn.execute(
                    select(s.logged_model_metrics)
                    .where(met.model_id.in_(ids))
                    .order_by(met.key, met.step, met.timestamp)
                ):
                    metrics[r.model_id].append(
                        from_row(
                            LoggedModelMetric,
                            r,
                            value=math.nan if r.value is None else r.value,
                            run_id=r.run_uuid,
                        )
                    )
        return [
            from_row(
                LoggedModel,
                r,
                experiment_id=str(r.experiment_id),
                artifact_run_id=r.artifact_run_uuid,
                tags=tags[r.model_id],
                params=params[r.model_id],
                metrics=metrics[r.model_id],
            )
            for r in rows
        ]

    def _adopt_run_record(self, model_id: str, run_uuid: str | None) -> None:
        """Complete a model migration 0007 made from a run's tag with the JSON record the MLflow
        adapter kept in the run before (status, type, tags, params, metrics, times)."""
        record: dict[str, Any] = {}
        if run_uuid is not None:
            try:
                data = json.loads(self.read_artifact(run_uuid, _LEGACY_RECORD.format(model_id)))  # type: ignore[attr-defined]
                record = data if isinstance(data, dict) else {}
            except (NotFound, InvalidInput, ValueError):
                record = {}
        status = STATUS_NAMES.get(str(record.get("status", "")).upper(), "READY")

        def items(field: str) -> dict[str, str]:
            value = record.get(field)
            return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

        def write(conn: Connection) -> None:
            values: dict[str, Any] = {"status": status, "status_message": ""}
            if isinstance(record.get("model_type"), str):
                values["model_type"] = record["model_type"][:500]
            for field, column in (
                ("creation_timestamp_ms", "creation_time"),
                ("last_updated_timestamp_ms", "last_update_time"),
            ):
                if isinstance(record.get(field), int):
                    values[column] = record[field]
            if record.get("deleted"):
                values["lifecycle_stage"] = "deleted"
            done = conn.execute(
                s.logged_models.update()
                .where(_lm.model_id == model_id, _lm.status_message == ADOPT_MARK)
                .values(**values)
            )
            if not done.rowcount:
                return  # another process adopted it first
            for table, field in ((s.logged_model_tags, "tags"), (s.logged_model_params, "params")):
                rows = [
                    {"model_id": model_id, "key": k, "value": v} for k, v in items(field).items()
                ]
                if rows:
                    conn.execute(
                        self._upsert(conn, table).on_conflict_do_nothing(
                            index_elements=["model_id", "key"]
                        ),
                        rows,
                    )
            points = [
                {
                    "model_id": model_id,
                    "key": str(m["key"]),
                    "value": float(m["value"]) if not math.isnan(float(m["value"])) else None,
                    "step": int(m.get("step", 0)),
                    "timestamp": int(m["timestamp"]),
                    "run_uuid": run_uuid,
                }
                for m in record.get("metrics") or []
                if isinstance(m, dict) and "key" in m and "timestamp" in m and "value" in m
            ]
            if points:
                conn.execute(
                    self._upsert(conn, s.logged_model_metrics).on_conflict_do_nothing(
                        index_elements=["model_id", "key", "timestamp", "step", "run_uuid"]
                    ),
                    points,
                )

        self._write(write)

    # -- the files of a model without a run ---------------------------------------------------

    def log_model_artifacts(
        self,
        model_id: str,
        items: Sequence[tuple[str, bytes | str | os.PathLike[str], str | None]],
    ) -> list[ArtifactInfo]:
        """Store ``(path, data, media_type)`` files of a model that has no run of its own:
        blobs first, then every path in one transaction."""
        model = self.get_logged_model(model_id, allow_deleted=True)
        if model.artifact_run_id is not None:
            raise InvalidInput(
                f"the files of logged model {model_id} are artifacts of run "
                f"{model.artifact_run_id} under {model.files_prefix}/"
            )
        logicals = normalize_paths([p for p, _, _ in items])
        stored = store_blobs(self, items)
        owner = ("model_id", model_id)
        return write_index(self, s.logged_model_artifacts, owner, logicals, stored)

    def list_model_artifacts(
        self, model_id: str, prefix: str | None = None, recursive: bool = False
    ) -> list[ArtifactInfo]:
        """Files (and, unless recursive, folders) directly under ``prefix`` of a model without
        a run, sorted by path."""
        check_model_id(model_id)

        def require(conn: Connection) -> None:
            self._require_model(conn, model_id)

        owner = ("model_id", model_id)
        return list_index(self, s.logged_model_artifacts, owner, prefix, recursive, require)

    def model_artifact_info(self, model_id: str, path: str) -> ArtifactInfo:
        check_model_id(model_id)
        owner, whose = ("model_id", model_id), f"logged model {model_id}"
        return index_entry(self, s.logged_model_artifacts, owner, path, whose)

    def read_model_artifact(self, model_id: str, path: str) -> bytes:
        return self.blobs.get_bytes(self.model_artifact_info(model_id, path).digest)

    def iter_model_artifact(self, model_id: str, path: str) -> Iterator[bytes]:
        return self.blobs.iter_verified(self.model_artifact_info(model_id, path).digest, 0, None)


__all__ = ["LOGGED_MODEL_STATUSES", "LoggedModelsMixin", "check_model_id"]
