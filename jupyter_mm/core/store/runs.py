"""Runs: create, read, update, delete/restore, search and counts."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from ...errors import AlreadyExists, InvalidInput, NotFound
from .. import database, limits, validation
from .. import schema as s
from ..entities import DatasetInput, Metric, Run, shown_end_time, shown_status
from ..rows import from_row
from . import statements as st
from .base import (
    DEFAULT_EXPERIMENT_ID,
    IDENTITY_TAGS,
    StoreBase,
    batches,
    check_run_id,
    check_status,
    decode_token,
    encode_token,
    is_unique_violation,
    lifecycle_clause,
    now_ms,
    parse_experiment_id,
    random_run_name,
    run_update_values,
)


class RunsMixin(StoreBase):
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
        heartbeat: bool = True,
    ) -> Run:
        """Create a run. ``heartbeat=False`` for writers that never beat one (the MLflow client):
        their RUNNING runs are then not shown KILLED after a minute of silence. An identity tag
        (``mlflow.user``) among ``tags`` is replaced by ``user``, or names it when ``user`` is
        empty, so the two never disagree (see ``IDENTITY_TAGS``)."""
        exp_id = parse_experiment_id(experiment_id)
        run_name = validation.name(name, "run name") if name else random_run_name()
        user = validation.text(user or "", "user", limits.MAX_NAME_LENGTH)
        status = check_status(status)
        tag_items = self._checked_tags(tags)
        for k in IDENTITY_TAGS.intersection(tag_items):
            user = user or validation.text(tag_items[k], "user", limits.MAX_NAME_LENGTH)
            tag_items[k] = user
        param_items = self._checked_params(params)
        run_uuid = check_run_id(run_id) if run_id else uuid.uuid4().hex
        parent = check_run_id(parent_run_id) if parent_run_id else None
        t = validation.millis(start_time, "start_time") if start_time is not None else now_ms()

        def write(conn: Connection) -> None:
            stage = conn.execute(st.EXPERIMENT_STAGE, {"exp": exp_id}).scalar()
            if stage is None:
                raise NotFound(f"no experiment with id {experiment_id!r}")
            if stage != "active":
                raise InvalidInput(f"experiment {experiment_id!r} is deleted; restore it first")
            if parent and not conn.execute(st.RUN_EXISTS, {"run": parent}).first():
                raise NotFound(f"parent run {parent!r} does not exist")
            conn.execute(
                st.INSERT_RUN,
                {
                    "run_uuid": run_uuid,
                    "name": run_name,
                    "experiment_id": exp_id,
                    "user_id": user,
                    "status": status,
                    "start_time": t,
                    "end_time": None,
                    "heartbeat_time": t if heartbeat else None,
                    "lifecycle_stage": "active",
                    "deleted_time": None,
                    "parent_run_id": parent,
                    "notes": "",
                },
            )
            if tag_items:
                conn.execute(
                    st.INSERT_TAG,
                    [{"run_uuid": run_uuid, "key": k, "value": v} for k, v in tag_items.items()],
                )
            if param_items:
                conn.execute(
                    st.INSERT_PARAM,
                    [{"run_uuid": run_uuid, "key": k, "value": v} for k, v in param_items.items()],
                )

        try:
            self._write(write)
        except Exception as e:
            if is_unique_violation(e):
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
            heartbeat_time=t if heartbeat else None,
            notes="",
            params=dict(param_items),
            tags=dict(tag_items),
        )

    def get_run(self, run_id: str) -> Run:
        with database.read_conn(self.engine) as conn:
            runs = self._load_runs(conn, [check_run_id(run_id)], with_datasets=True)
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
        values = run_update_values(status, end_time, name, notes)
        if values:
            self._update_run(check_run_id(run_id), **values)

    def heartbeat(self, run_id: str) -> None:
        self._update_run(check_run_id(run_id), heartbeat_time=now_ms())

    def delete_run(self, run_id: str) -> None:
        self._update_run(check_run_id(run_id), lifecycle_stage="deleted", deleted_time=now_ms())

    def restore_run(self, run_id: str) -> None:
        self._update_run(check_run_id(run_id), lifecycle_stage="active", deleted_time=None)

    def _update_run(self, run_uuid: str, **values: Any) -> None:
        def write(conn: Connection) -> None:
            res = conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_uuid).values(**values))
            if res.rowcount == 0:
                raise NotFound(f"no run with id {run_uuid!r}")

        self._write(write)

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
        from ..search import (
            apply_filter,
            apply_order_by,
            parse_filter,
            parse_order_by,
            split_order_by,
        )

        if not isinstance(max_results, int) or not 0 < max_results <= limits.MAX_RESULTS:
            raise InvalidInput(
                f"max_results must be between 1 and {limits.MAX_RESULTS}, got {max_results!r}"
            )
        phase, offset = decode_token(page_token)
        q = select(s.runs.c.run_uuid).where(lifecycle_clause(s.runs.c.lifecycle_stage, view))
        if experiment_ids is not None:
            ids = [parse_experiment_id(e) for e in experiment_ids]
            q = q.where(s.runs.c.experiment_id.in_(ids))
        if filter and filter.strip():
            q = apply_filter(q, parse_filter(filter))
        items = parse_order_by(list(order_by or []))
        # An order led by a metric/param/tag runs as two phases (runs with a value, then without)
        # so the database can walk the value index and stop at the page instead of sorting all.
        phases = split_order_by(q, items) or (apply_order_by(q, items),)
        if phase >= len(phases):
            raise InvalidInput(f"invalid page token {page_token!r}")
        # one snapshot for the ids and their data, so a page always agrees with its filter
        with database.read_conn(self.engine) as conn:
            ids_page: list[str] = []
            token = None
            while phase < len(phases):
                want = max_results - len(ids_page)
                got = list(conn.execute(phases[phase].limit(want + 1).offset(offset)).scalars())
                ids_page.extend(got[:want])
                if len(got) > want:  # more in this phase
                    token = encode_token(phase, offset + want)
                    break
                phase, offset = phase + 1, 0
            else:
                token = None
            runs = self._load_runs(conn, ids_page)
        return runs, token

    def count_runs(
        self, experiment_ids: Iterable[str | int] | None = None, view: str = "active"
    ) -> int:
        q = (
            select(func.count())
            .select_from(s.runs)
            .where(lifecycle_clause(s.runs.c.lifecycle_stage, view))
        )
        if experiment_ids is not None:
            q = q.where(
                s.runs.c.experiment_id.in_([parse_experiment_id(e) for e in experiment_ids])
            )
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

    def _load_runs(
        self, conn: Connection, run_ids: list[str], with_datasets: bool = False
    ) -> list[Run]:
        """Hydrate runs (in the given order) with params, latest metrics and tags: 4 queries a page."""
        if not run_ids:
            return []
        r = s.runs.c
        params: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        latest: dict[str, dict[str, Metric]] = defaultdict(dict)
        datasets: dict[str, list[DatasetInput]] = defaultdict(list)
        rows: dict[str, Any] = {}
        for batch in batches(run_ids, 900):
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
                        s.run_inputs,
                        d.source,
                        d.source_type,
                        d.schema,
                        d.row_count,
                        d.profile,
                    )
                    .join(s.datasets, d.digest == s.run_inputs.c.digest)
                    .where(s.run_inputs.c.run_uuid.in_(batch))
                    .order_by(s.run_inputs.c.name)
                ):
                    datasets[ds.run_uuid].append(
                        from_row(
                            DatasetInput,
                            ds,
                            schema=json.loads(ds.schema) if ds.schema else None,
                            profile=json.loads(ds.profile) if ds.profile else None,
                        )
                    )
        out = []
        now = now_ms()
        for rid in run_ids:
            found = rows.get(rid)
            if found is None:
                continue
            lm = latest[rid]
            out.append(
                from_row(
                    Run,
                    found,
                    id=rid,
                    experiment_id=str(found.experiment_id),
                    status=shown_status(found.status, found.heartbeat_time, now),
                    end_time=shown_end_time(
                        found.status, found.end_time, found.heartbeat_time, now
                    ),
                    user=found.user_id,
                    params=params[rid],
                    metrics={k: m.value for k, m in lm.items()},
                    tags=tags[rid],
                    latest_metrics=lm,
                    datasets=datasets[rid],
                    experiment=found.experiment_name,
                )
            )
        return out
