"""The tracking store: experiments, runs, params, metrics, tags, datasets and the artifact index.

One class over SQLAlchemy Core for SQLite and PostgreSQL. Every write method validates all of its
input first and then writes in one transaction, so a rejected call leaves nothing behind.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from ..errors import AlreadyExists, Conflict, InvalidInput, NotFound, StoreError
from . import database, limits, locations, metric_chunks, migrate, validation
from . import schema as s
from .artifacts import BlobStore, normalize_path, normalize_prefix
from .entities import (
    RUN_STATUSES,
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Metric,
    Run,
)

if TYPE_CHECKING:
    import numpy as np

#: A metric point as the writers hand it over: (key, value, step, timestamp_ms).
MetricPoint = tuple[str, float, int, int]
#: One key's validated points: (steps, timestamps, values) arrays.
MetricColumns = tuple["np.ndarray", "np.ndarray", "np.ndarray"]

DEFAULT_EXPERIMENT_ID = "0"
T = TypeVar("T")


_NUMBER_TYPES: frozenset[type] = frozenset({int, float})
_INT_TYPES: frozenset[type] = frozenset({int})


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """A store opened from a tracking URI (see :mod:`jupyter_mm.core.locations`)."""

    def __init__(self, location: locations.StoreLocation) -> None:
        self.location = location
        try:
            self.engine = database.create(location.db_url)
            migrate.ensure_schema(self.engine)
        except StoreError:
            raise
        except Exception as e:  # unreachable server, unwritable directory, bad credentials...
            raise StoreError(f"cannot open the store at {location.display_uri}: {e}") from e
        self._blobs: BlobStore | None = None

    @classmethod
    def open(cls, uri: str | None = None, artifact_uri: str | None = None) -> Store:
        return cls(locations.resolve(uri, artifact_uri))

    @property
    def display_uri(self) -> str:
        return self.location.display_uri

    @property
    def kind(self) -> str:
        return self.location.kind

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            if not self.location.artifact_url:
                raise StoreError(
                    "this store has no artifact location: set MM_ARTIFACT_URI "
                    "(a directory or an fsspec URL such as s3://bucket/prefix)"
                )
            self._blobs = BlobStore(self.location.artifact_url)
        return self._blobs

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, fn: Callable[[Connection], T]) -> T:
        return database.run_write(self.engine, fn)

    def _upsert(self, conn: Connection, table: Any) -> Any:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        return dialect_insert(table)

    # ---------------------------------------------------------------- experiments

    def create_experiment(
        self, name: str, tags: Mapping[str, Any] | None = None, artifact_location: str | None = None
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

        return self._write(write)

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        exp = self._experiments(s.experiments.c.experiment_id == _exp_id(experiment_id))
        if not exp:
            raise NotFound(f"no experiment with id {experiment_id!r}")
        return exp[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
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
        return self._experiments(_lifecycle_clause(s.experiments.c.lifecycle_stage, view))

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
            Experiment(
                id=str(r.experiment_id),
                name=r.name,
                lifecycle_stage=r.lifecycle_stage,
                artifact_location=r.artifact_location,
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
                tags=tags[r.experiment_id],
            )
            for r in rows
        ]

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        new_name = validation.name(new_name, "experiment name")
        exp_id = _exp_id(experiment_id)

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
            lambda c: self._touch_experiment(c, _exp_id(experiment_id), lifecycle_stage="deleted")
        )

    def restore_experiment(self, experiment_id: str | int) -> None:
        self._write(
            lambda c: self._touch_experiment(c, _exp_id(experiment_id), lifecycle_stage="active")
        )

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: Any) -> None:
        key = validation.key(key, "tag name")
        value = validation.tag_value(key, value)
        exp_id = _exp_id(experiment_id)

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

    def _touch_experiment(self, conn: Connection, exp_id: int, **values: Any) -> None:
        res = conn.execute(
            update(s.experiments)
            .where(s.experiments.c.experiment_id == exp_id)
            .values(last_update_time=now_ms(), **values)
        )
        if res.rowcount == 0:
            raise NotFound(f"no experiment with id {exp_id}")

    # ---------------------------------------------------------------- runs

    def create_run(
        self,
        experiment_id: str | int = DEFAULT_EXPERIMENT_ID,
        name: str | None = None,
        user: str = "",
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        status: str = "RUNNING",
    ) -> Run:
        exp_id = _exp_id(experiment_id)
        run_name = validation.name(name, "run name") if name else _random_name()
        user = validation.text(user or "", "user", limits.MAX_NAME_LENGTH)
        status = _status(status)
        tag_items = self._checked_tags(tags)
        param_items = self._checked_params(params)
        run_uuid = _run_id(run_id) if run_id else uuid.uuid4().hex
        parent = _run_id(parent_run_id) if parent_run_id else None
        t = start_time if start_time is not None else now_ms()

        def write(conn: Connection) -> None:
            stage = conn.execute(
                select(s.experiments.c.lifecycle_stage).where(
                    s.experiments.c.experiment_id == exp_id
                )
            ).scalar()
            if stage is None:
                raise NotFound(f"no experiment with id {experiment_id!r}")
            if stage != "active":
                raise InvalidInput(f"experiment {experiment_id!r} is deleted; restore it first")
            if (
                parent
                and not conn.execute(
                    select(s.runs.c.run_uuid).where(s.runs.c.run_uuid == parent)
                ).first()
            ):
                raise NotFound(f"parent run {parent!r} does not exist")
            conn.execute(
                insert(s.runs).values(
                    run_uuid=run_uuid,
                    name=run_name,
                    experiment_id=exp_id,
                    user_id=user,
                    status=status,
                    start_time=t,
                    heartbeat_time=t,
                    lifecycle_stage="active",
                    parent_run_id=parent,
                    notes="",
                )
            )
            if tag_items:
                conn.execute(
                    insert(s.tags),
                    [{"run_uuid": run_uuid, "key": k, "value": v} for k, v in tag_items.items()],
                )
            if param_items:
                conn.execute(
                    insert(s.params),
                    [{"run_uuid": run_uuid, "key": k, "value": v} for k, v in param_items.items()],
                )

        try:
            self._write(write)
        except Exception as e:
            if "unique" in str(e).lower() or "duplicate key" in str(e).lower():
                raise AlreadyExists(f"run {run_uuid} already exists") from None
            raise
        return Run(
            id=run_uuid,
            name=run_name,
            experiment_id=str(exp_id),
            status=status,
            start_time=t,
            end_time=None,
            user=user,
            lifecycle_stage="active",
            parent_run_id=parent,
            heartbeat_time=t,
            notes="",
            params=dict(param_items),
            tags=dict(tag_items),
        )

    def get_run(self, run_id: str) -> Run:
        runs = self._load_runs([_run_id(run_id)], with_datasets=True)
        if not runs:
            raise NotFound(f"no run with id {run_id!r}")
        return runs[0]

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
        notes: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = _status(status)
            if values["status"] in ("FINISHED", "FAILED", "KILLED") and end_time is None:
                end_time = now_ms()
            if values["status"] == "RUNNING":
                values["end_time"] = None
        if end_time is not None:
            values["end_time"] = int(end_time)
        if name is not None:
            values["name"] = validation.name(name, "run name")
        if notes is not None:
            values["notes"] = validation.text(notes, "notes", limits.MAX_NOTE_LENGTH)
        if values:
            self._update_run(_run_id(run_id), **values)

    def heartbeat(self, run_id: str) -> None:
        self._update_run(_run_id(run_id), heartbeat_time=now_ms())

    def delete_run(self, run_id: str) -> None:
        self._update_run(_run_id(run_id), lifecycle_stage="deleted", deleted_time=now_ms())

    def restore_run(self, run_id: str) -> None:
        self._update_run(_run_id(run_id), lifecycle_stage="active", deleted_time=None)

    def _update_run(self, run_uuid: str, **values: Any) -> None:
        def write(conn: Connection) -> None:
            res = conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_uuid).values(**values))
            if res.rowcount == 0:
                raise NotFound(f"no run with id {run_uuid!r}")

        self._write(write)

    # ---------------------------------------------------------------- params, tags, metrics

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint | Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Write params, tags and metric points at once; all or nothing.

        A param already recorded with another value is a :class:`Conflict` and nothing is written.
        """
        run_uuid = _run_id(run_id)
        param_items = self._checked_params(params)
        tag_items = self._checked_tags(tags)
        points = self._checked_metrics(metrics)
        if not (param_items or tag_items or points):
            return

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            if param_items:
                self._write_params(conn, run_uuid, param_items)
            if tag_items:
                stmt = self._upsert(conn, s.tags)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["run_uuid", "key"], set_={"value": stmt.excluded.value}
                    ),
                    [{"run_uuid": run_uuid, "key": k, "value": v} for k, v in tag_items.items()],
                )
            if points:
                self._append_metrics(conn, run_uuid, points)

        self._write(write)

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, params={key: value})

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        run_uuid = _run_id(run_id)

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            res = conn.execute(
                delete(s.tags).where(s.tags.c.run_uuid == run_uuid, s.tags.c.key == key)
            )
            if res.rowcount == 0:
                raise NotFound(f"run {run_uuid} has no tag {key!r}")

        self._write(write)

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        self.log_batch(
            run_id, metrics=[(key, value, step, timestamp if timestamp is not None else now_ms())]
        )

    def _check_active(self, conn: Connection, run_uuid: str) -> None:
        stage = conn.execute(
            select(s.runs.c.lifecycle_stage).where(s.runs.c.run_uuid == run_uuid)
        ).scalar()
        if stage is None:
            raise NotFound(f"no run with id {run_uuid!r}")
        if stage != "active":
            raise InvalidInput(f"run {run_uuid} is deleted; restore it before logging to it")

    def _write_params(self, conn: Connection, run_uuid: str, items: Mapping[str, str]) -> None:
        existing = dict(
            conn.execute(
                select(s.params.c.key, s.params.c.value).where(
                    s.params.c.run_uuid == run_uuid, s.params.c.key.in_(list(items))
                )
            ).all()
        )
        clashes = {
            k: (existing[k], v) for k, v in items.items() if k in existing and existing[k] != v
        }
        if clashes:
            k, (old, new) = next(iter(clashes.items()))
            raise Conflict(
                f"param {k!r} of run {run_uuid} is already {old!r}; it cannot be changed to {new!r} "
                "(params are write-once: log a new run, or use a tag or metric for values that change)"
            )
        new_rows = [
            {"run_uuid": run_uuid, "key": k, "value": v}
            for k, v in items.items()
            if k not in existing
        ]
        if new_rows:
            conn.execute(insert(s.params), new_rows)

    def _append_metrics(
        self, conn: Connection, run_uuid: str, columns: dict[str, MetricColumns]
    ) -> None:
        import numpy as np

        cap = limits.METRIC_CHUNK_POINTS
        c = s.metric_chunks.c
        latest_rows = []
        for key, (steps, stamps, values) in columns.items():
            last = conn.execute(
                select(c.seq, c.n, c.data)
                .where(c.run_uuid == run_uuid, c.key == key)
                .order_by(c.seq.desc())
                .limit(1)
                .with_for_update()
            ).first()
            # newest point of the batch: highest step, then latest timestamp
            i = int(np.lexsort((stamps, steps))[-1])
            best_v = float(values[i])
            latest_rows.append(
                {
                    "run_uuid": run_uuid,
                    "key": key,
                    "value": None if best_v != best_v else best_v,
                    "step": int(steps[i]),
                    "timestamp": int(stamps[i]),
                }
            )
            seq = 0
            if last is not None:
                seq = last.seq + 1
                if last.n < cap:  # top up the open chunk first
                    old_s, old_t, old_v = metric_chunks.decode(last.data)
                    room = cap - last.n
                    self._put_chunk(
                        conn,
                        run_uuid,
                        key,
                        last.seq,
                        np.concatenate([old_s, steps[:room]]),
                        np.concatenate([old_t, stamps[:room]]),
                        np.concatenate([old_v, values[:room]]),
                        replace=True,
                    )
                    steps, stamps, values = steps[room:], stamps[room:], values[room:]
            for start in range(0, len(values), cap):
                part = slice(start, start + cap)
                self._put_chunk(conn, run_uuid, key, seq, steps[part], stamps[part], values[part])
                seq += 1
        stmt = self._upsert(conn, s.latest_metrics)
        lm = s.latest_metrics.c
        ex = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_uuid", "key"],
                set_={"value": ex.value, "step": ex.step, "timestamp": ex.timestamp},
                where=or_(
                    ex.step > lm.step, and_(ex.step == lm.step, ex.timestamp >= lm.timestamp)
                ),
            ),
            latest_rows,
        )

    def _put_chunk(
        self,
        conn: Connection,
        run_uuid: str,
        key: str,
        seq: int,
        steps: np.ndarray,
        stamps: np.ndarray,
        values: np.ndarray,
        replace: bool = False,
    ) -> None:
        row = {
            "n": len(values),
            "step_min": int(steps.min()),
            "step_max": int(steps.max()),
            "ts_min": int(stamps.min()),
            "ts_max": int(stamps.max()),
            "data": metric_chunks.encode(steps, stamps, values),
        }
        c = s.metric_chunks.c
        if replace:
            conn.execute(
                update(s.metric_chunks)
                .where(c.run_uuid == run_uuid, c.key == key, c.seq == seq)
                .values(**row)
            )
        else:
            conn.execute(insert(s.metric_chunks).values(run_uuid=run_uuid, key=key, seq=seq, **row))

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        step_range: tuple[int | None, int | None] | None = None,
        time_range: tuple[int | None, int | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Arrays ``step``, ``timestamp``, ``value`` in logging order (sorted by step when logged
        out of order), optionally restricted to a step/time range and down-sampled keeping extremes."""
        import numpy as np

        run_uuid = _run_id(run_id)
        c = s.metric_chunks.c
        q = select(c.data).where(c.run_uuid == run_uuid, c.key == key).order_by(c.seq)
        lo, hi = step_range or (None, None)
        tlo, thi = time_range or (None, None)
        if lo is not None:
            q = q.where(c.step_max >= lo)
        if hi is not None:
            q = q.where(c.step_min <= hi)
        if tlo is not None:
            q = q.where(c.ts_max >= tlo)
        if thi is not None:
            q = q.where(c.ts_min <= thi)
        with self.engine.connect() as conn:
            blobs = conn.execute(q).scalars().all()
            if (
                not blobs
                and not conn.execute(
                    select(s.runs.c.run_uuid).where(s.runs.c.run_uuid == run_uuid)
                ).first()
            ):
                raise NotFound(f"no run with id {run_uuid!r}")
        if not blobs:
            empty_i = np.empty(0, np.int64)
            return {"step": empty_i, "timestamp": empty_i.copy(), "value": np.empty(0, np.float64)}
        parts = [metric_chunks.decode(b) for b in blobs]
        steps = np.concatenate([p[0] for p in parts])
        stamps = np.concatenate([p[1] for p in parts])
        values = np.concatenate([p[2] for p in parts])
        mask = None
        for arr, bound, op in (
            (steps, lo, "ge"),
            (steps, hi, "le"),
            (stamps, tlo, "ge"),
            (stamps, thi, "le"),
        ):
            if bound is not None:
                m = arr >= bound if op == "ge" else arr <= bound
                mask = m if mask is None else mask & m
        if mask is not None:
            steps, stamps, values = steps[mask], stamps[mask], values[mask]
        if len(steps) > 1 and bool((np.diff(steps) < 0).any()):
            order = np.argsort(steps, kind="stable")
            steps, stamps, values = steps[order], stamps[order], values[order]
        if max_points:
            keep = metric_chunks.downsample_indices(values, max_points)
            steps, stamps, values = steps[keep], stamps[keep], values[keep]
        return {"step": steps, "timestamp": stamps, "value": values}

    def metric_keys(self, run_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(s.latest_metrics.c.key)
                    .where(s.latest_metrics.c.run_uuid == _run_id(run_id))
                    .order_by(s.latest_metrics.c.key)
                ).scalars()
            )

    # ---------------------------------------------------------------- search

    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: str = "active",
    ) -> tuple[list[Run], str | None]:
        """Runs matching ``filter`` (see :mod:`jupyter_mm.core.search`), one page at a time."""
        from .search import apply_filter, apply_order_by, parse_filter, parse_order_by

        if not isinstance(max_results, int) or not 0 < max_results <= limits.MAX_RESULTS:
            raise InvalidInput(
                f"max_results must be between 1 and {limits.MAX_RESULTS}, got {max_results!r}"
            )
        offset = _decode_token(page_token)
        q = select(s.runs.c.run_uuid).where(_lifecycle_clause(s.runs.c.lifecycle_stage, view))
        if experiment_ids is not None:
            ids = [_exp_id(e) for e in experiment_ids]
            q = q.where(s.runs.c.experiment_id.in_(ids))
        if filter and filter.strip():
            q = apply_filter(q, parse_filter(filter))
        q = apply_order_by(q, parse_order_by(list(order_by or [])))
        q = q.limit(max_results + 1).offset(offset)
        with self.engine.connect() as conn:
            ids_page = list(conn.execute(q).scalars())
        more = len(ids_page) > max_results
        ids_page = ids_page[:max_results]
        runs = self._load_runs(ids_page)
        token = _encode_token(offset + max_results) if more else None
        return runs, token

    def count_runs(
        self, experiment_ids: Iterable[str | int] | None = None, view: str = "active"
    ) -> int:
        q = (
            select(func.count())
            .select_from(s.runs)
            .where(_lifecycle_clause(s.runs.c.lifecycle_stage, view))
        )
        if experiment_ids is not None:
            q = q.where(s.runs.c.experiment_id.in_([_exp_id(e) for e in experiment_ids]))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            n_exp = conn.execute(
                select(func.count())
                .select_from(s.experiments)
                .where(s.experiments.c.lifecycle_stage == "active")
            ).scalar()
        return {"experiments": int(n_exp or 0), "runs": self.count_runs()}

    def _load_runs(self, run_ids: list[str], with_datasets: bool = False) -> list[Run]:
        """Hydrate runs (in the given order) with params, latest metrics and tags: 4 queries a page."""
        if not run_ids:
            return []
        r = s.runs.c
        params: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        latest: dict[str, dict[str, Metric]] = defaultdict(dict)
        datasets: dict[str, list[DatasetInput]] = defaultdict(list)
        rows: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for batch in _batches(run_ids, 900):
                for row in conn.execute(
                    select(s.runs, s.experiments.c.name.label("experiment_name"))
                    .join(s.experiments, s.experiments.c.experiment_id == r.experiment_id)
                    .where(r.run_uuid.in_(batch))
                ):
                    rows[row.run_uuid] = row
                for p in conn.execute(select(s.params).where(s.params.c.run_uuid.in_(batch))):
                    params[p.run_uuid][p.key] = p.value
                for t in conn.execute(select(s.tags).where(s.tags.c.run_uuid.in_(batch))):
                    tags[t.run_uuid][t.key] = t.value
                for m in conn.execute(
                    select(s.latest_metrics).where(s.latest_metrics.c.run_uuid.in_(batch))
                ):
                    v = float("nan") if m.value is None else m.value
                    latest[m.run_uuid][m.key] = Metric(m.key, v, m.step, m.timestamp)
                if with_datasets:
                    d = s.datasets.c
                    for ds in conn.execute(
                        select(
                            s.run_inputs, d.source, d.source_type, d.schema, d.row_count, d.profile
                        )
                        .join(s.datasets, d.digest == s.run_inputs.c.digest)
                        .where(s.run_inputs.c.run_uuid.in_(batch))
                        .order_by(s.run_inputs.c.name)
                    ):
                        datasets[ds.run_uuid].append(
                            DatasetInput(
                                name=ds.name,
                                digest=ds.digest,
                                context=ds.context,
                                source=ds.source,
                                source_type=ds.source_type,
                                schema=json.loads(ds.schema) if ds.schema else None,
                                row_count=ds.row_count,
                                profile=json.loads(ds.profile) if ds.profile else None,
                            )
                        )
        out = []
        for rid in run_ids:
            found = rows.get(rid)
            if found is None:
                continue
            lm = latest[rid]
            out.append(
                Run(
                    id=rid,
                    name=found.name,
                    experiment_id=str(row.experiment_id),
                    status=found.status,
                    start_time=found.start_time,
                    end_time=found.end_time,
                    user=found.user_id,
                    lifecycle_stage=found.lifecycle_stage,
                    parent_run_id=found.parent_run_id,
                    heartbeat_time=found.heartbeat_time,
                    notes=found.notes,
                    params=params[rid],
                    metrics={k: m.value for k, m in lm.items()},
                    tags=tags[rid],
                    latest_metrics=lm,
                    datasets=datasets[rid],
                    experiment=found.experiment_name,
                )
            )
        return out

    # ---------------------------------------------------------------- datasets

    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None:
        run_uuid = _run_id(run_id)
        name = validation.key(dataset.name, "dataset name")
        context = validation.key(dataset.context or "training", "dataset context")
        digest = dataset.digest
        if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
            raise InvalidInput(f"dataset digest must be a SHA-256 hex digest, got {digest!r}")
        row = {
            "digest": digest,
            "name": name,
            "source": validation.text(
                dataset.source or "", "dataset source", limits.MAX_TAG_VALUE_LENGTH
            ),
            "source_type": validation.text(dataset.source_type or "", "dataset source type", 32),
            "schema": json.dumps(dataset.schema) if dataset.schema is not None else "",
            "row_count": dataset.row_count,
            "profile": json.dumps(dataset.profile) if dataset.profile is not None else "",
            "created_time": now_ms(),
        }

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            conn.execute(
                self._upsert(conn, s.datasets)
                .values(**row)
                .on_conflict_do_nothing(index_elements=["digest"])
            )
            conn.execute(
                self._upsert(conn, s.run_inputs)
                .values(run_uuid=run_uuid, digest=digest, context=context, name=name)
                .on_conflict_do_nothing(index_elements=["run_uuid", "digest", "context"])
            )

        self._write(write)

    # ---------------------------------------------------------------- artifacts

    def log_artifact(
        self,
        run_id: str,
        path: str,
        data: bytes | str | os.PathLike[str],
        media_type: str | None = None,
    ) -> ArtifactInfo:
        """Store ``data`` (bytes, or the path of a file to copy) as the run's artifact ``path``."""
        run_uuid = _run_id(run_id)
        logical = normalize_path(path)
        with self.engine.connect() as conn:
            self._check_active(conn, run_uuid)
        if isinstance(data, (bytes, bytearray, memoryview)):
            digest, size = self.blobs.put_bytes(bytes(data))
        else:
            if not os.path.isfile(data):
                raise InvalidInput(f"{os.fspath(data)!r} is not a file")
            digest, size = self.blobs.put_file(data)
        mt = media_type or mimetypes.guess_type(logical)[0] or "application/octet-stream"
        t = now_ms()

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            a = s.artifacts.c
            clash = conn.execute(
                select(a.path)
                .where(
                    a.run_uuid == run_uuid,
                    or_(a.path.startswith(logical + "/"), a.path.in_(_parents(logical))),
                )
                .limit(1)
            ).scalar()
            if clash is not None:
                raise InvalidInput(
                    f"artifact path {logical!r} clashes with the existing artifact {clash!r}"
                )
            stmt = self._upsert(conn, s.artifacts).values(
                run_uuid=run_uuid,
                path=logical,
                digest=digest,
                size=size,
                media_type=mt,
                created_time=t,
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_uuid", "path"],
                    set_={"digest": digest, "size": size, "media_type": mt, "created_time": t},
                )
            )

        self._write(write)
        return ArtifactInfo(path=logical, size=size, digest=digest, media_type=mt, created_time=t)

    def list_artifacts(
        self, run_id: str, prefix: str | None = None, recursive: bool = False
    ) -> list[ArtifactInfo]:
        """Files (and, unless recursive, folders) directly under ``prefix``, sorted by path."""
        run_uuid = _run_id(run_id)
        pre = normalize_prefix(prefix)
        a = s.artifacts.c
        q = select(s.artifacts).where(a.run_uuid == run_uuid)
        if pre:
            q = q.where(a.path.startswith(pre + "/"))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(a.path)).all()
            if (
                not rows
                and not conn.execute(
                    select(s.runs.c.run_uuid).where(s.runs.c.run_uuid == run_uuid)
                ).first()
            ):
                raise NotFound(f"no run with id {run_uuid!r}")
        out: list[ArtifactInfo] = []
        dirs: dict[str, int] = {}
        for row in rows:
            rest = row.path[len(pre) + 1 :] if pre else row.path
            if recursive or "/" not in rest:
                out.append(
                    ArtifactInfo(row.path, row.size, row.digest, row.media_type, row.created_time)
                )
            else:
                d = (pre + "/" if pre else "") + rest.split("/", 1)[0]
                dirs[d] = dirs.get(d, 0) + row.size
        out.extend(
            ArtifactInfo(d, size, "", "inode/directory", 0, is_dir=True) for d, size in dirs.items()
        )
        return sorted(out, key=lambda x: x.path)

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo:
        run_uuid = _run_id(run_id)
        logical = normalize_path(path)
        a = s.artifacts.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.artifacts).where(a.run_uuid == run_uuid, a.path == logical)
            ).first()
        if row is None:
            raise NotFound(f"run {run_uuid} has no artifact {logical!r}")
        return ArtifactInfo(row.path, row.size, row.digest, row.media_type, row.created_time)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The artifact's bytes, checked against their SHA-256."""
        return self.blobs.get_bytes(self.artifact_info(run_id, path).digest)

    def iter_artifact(
        self, run_id: str, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        return self.blobs.iter_verified(self.artifact_info(run_id, path).digest, start, end)

    # ---------------------------------------------------------------- checks

    def _checked_params(self, params: Mapping[str, Any] | None) -> dict[str, str]:
        items = validation.mapping(params, "params", limits.MAX_BATCH_PARAMS)
        out: dict[str, str] = {}
        for k, v in items.items():
            k = validation.key(k, "param name")
            out[k] = validation.param_value(k, v)
        return out

    def _checked_tags(self, tags: Mapping[str, Any] | None) -> dict[str, str]:
        items = validation.mapping(tags, "tags", limits.MAX_BATCH_TAGS)
        out: dict[str, str] = {}
        for k, v in items.items():
            k = validation.key(k, "tag name")
            out[k] = validation.tag_value(k, v)
        return out

    def _checked_metrics(self, metrics: Sequence[MetricPoint | Metric]) -> dict[str, MetricColumns]:
        """Validate points and group them by key as numpy columns (vectorised: ~0.1 µs a point)."""
        import numpy as np

        if not metrics:
            return {}
        if len(metrics) > limits.MAX_BATCH_METRICS:
            raise InvalidInput(
                f"too many metric points in one batch: {len(metrics)}; the limit is {limits.MAX_BATCH_METRICS}"
            )
        try:
            try:  # fast path: plain (key, value, step, timestamp) tuples, unpacked in C
                keys, values, steps, stamps = zip(*metrics, strict=True)
            except TypeError:  # Metric records (not iterable) mixed in
                keys, values, steps, stamps = zip(
                    *(
                        (m.key, m.value, m.step, m.timestamp) if isinstance(m, Metric) else m
                        for m in metrics
                    ),
                    strict=True,
                )
        except (TypeError, ValueError):
            bad = next(
                (
                    m
                    for m in metrics
                    if not isinstance(m, Metric)
                    and (not isinstance(m, (tuple, list)) or len(m) != 4)
                ),
                metrics[0],
            )
            raise InvalidInput(
                f"a metric point is (key, value, step, timestamp), got {bad!r}"
            ) from None
        for k in set(keys):
            validation.key(k, "metric name")
        try:
            if (
                not set(map(type, values)) <= _NUMBER_TYPES
                or not set(map(type, steps)) | set(map(type, stamps)) <= _INT_TYPES
            ):
                raise TypeError
            v = np.asarray(values, dtype=np.float64)
            st = np.asarray(steps, dtype=np.int64)
            ts = np.asarray(stamps, dtype=np.int64)
            if (ts < 0).any():
                raise TypeError
        except (TypeError, ValueError, OverflowError):
            # slow path: find the offending point and say what is wrong with it
            checked = [
                (
                    validation.metric_value(k, val),
                    validation.step(k, stp),
                    validation.timestamp(k, t),
                )
                for k, val, stp, t in zip(keys, values, steps, stamps, strict=True)
            ]
            v = np.array([c[0] for c in checked], dtype=np.float64)
            st = np.array([c[1] for c in checked], dtype=np.int64)
            ts = np.array([c[2] for c in checked], dtype=np.int64)
        if len(set(keys)) == 1:
            return {keys[0]: (st, ts, v)}
        key_arr = np.array(keys, dtype=object)
        return {k: (st[m], ts[m], v[m]) for k in dict.fromkeys(keys) for m in [key_arr == k]}


# ---------------------------------------------------------------- helpers


def _exp_id(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"experiment id must be an integer, got {experiment_id!r}") from None


def _run_id(run_id: Any) -> str:
    if (
        not isinstance(run_id, str)
        or len(run_id) != 32
        or any(c not in "0123456789abcdef" for c in run_id)
    ):
        raise InvalidInput(f"run id must be 32 lowercase hex characters, got {run_id!r}")
    return run_id


def _status(status: str) -> str:
    st = str(status).upper()
    if st not in RUN_STATUSES:
        raise InvalidInput(f"run status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")
    return st


def _lifecycle_clause(column: Any, view: str) -> Any:
    view = view.lower()
    if view in ("active", "active_only"):
        return column == "active"
    if view in ("deleted", "deleted_only"):
        return column == "deleted"
    if view == "all":
        return column.in_(["active", "deleted"])
    raise InvalidInput(f"view must be 'active', 'deleted' or 'all', got {view!r}")


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except Exception:
        raise InvalidInput(f"invalid page token {token!r}") from None


_ADJ = "brave calm eager fancy gentle happy jolly keen lively merry noble proud quick sharp smart swift tidy vivid warm wise".split()
_NOUN = "otter falcon maple river comet cedar lynx heron tulip willow pebble ember quartz badger finch lotus raven sparrow tiger walrus".split()


def _random_name() -> str:
    return f"{random.choice(_ADJ)}-{random.choice(_NOUN)}-{random.randint(100, 999)}"
