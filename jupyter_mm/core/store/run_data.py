"""Batch writes of params, tags and metrics to a run; params are write-once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete

from ...errors import Conflict, NotFound
from .. import schema as s
from ..entities import Metric
from . import statements as st
from .base import (
    MetricColumns,
    MetricPoint,
    check_batch_id,
    check_run_id,
    now_ms,
    refuse_identity_tags,
    run_update_values,
)
from .interface import BatchShortcuts
from .metrics import MetricsMixin


class RunDataMixin(MetricsMixin, BatchShortcuts):
    """A run's params, tags and metric points; ``log_param`` and ``set_tag`` come from
    :class:`~.interface.BatchShortcuts`."""

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint | Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """Write params, tags and metric points at once; all or nothing.

        A param already recorded with another value is a :class:`Conflict` and nothing is written.
        ``batch_id`` makes the write idempotent: a batch already applied to this run under the same
        id is acknowledged and not applied again (a client retrying after a lost response, or
        replaying its spool). Returns False when it was such a repeat.
        """
        run_uuid = check_run_id(run_id)
        receipt = check_batch_id(batch_id)
        param_items = self._checked_params(params)
        tag_items = self._checked_later_tags(tags)
        points = self._checked_metrics(metrics)
        if not (param_items or tag_items or points or receipt):
            return True

        def write(conn: Connection) -> bool:
            return self._apply_batch(conn, run_uuid, receipt, param_items, tag_items, points)

        return self._write(write)

    def end_run(
        self,
        run_id: str,
        status: str = "FINISHED",
        end_time: int | None = None,
        metrics: Sequence[MetricPoint | Metric] = (),
        tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """Write the last metric points, tags and the final status in one transaction.

        ``batch_id`` as for :meth:`log_batch`; returns False when the batch was a repeat."""
        run_uuid = check_run_id(run_id)
        receipt = check_batch_id(batch_id)
        points = self._checked_metrics(metrics)
        tag_items = self._checked_later_tags(tags)
        values = run_update_values(status, end_time)
        values.setdefault("end_time", None)

        def write(conn: Connection) -> bool:
            if not self._apply_batch(conn, run_uuid, receipt, {}, tag_items, points):
                return False
            conn.execute(st.END_RUN, {"run": run_uuid, **values})
            return True

        return self._write(write)

    def _apply_batch(
        self, conn: Connection, run_uuid: str, receipt: str | None,
        param_items: Mapping[str, str], tag_items: Mapping[str, str],
        points: dict[str, MetricColumns],
    ) -> bool:  # fmt: skip
        """Write a checked batch to an active run (log_batch, end_run); False, writing nothing,
        when its ``receipt`` (batch id) was applied before."""
        self._check_active(conn, run_uuid, lock=bool(points) or bool(receipt))
        if receipt and not self._take_receipt(conn, run_uuid, receipt):
            return False
        if param_items:
            self._write_params(conn, run_uuid, param_items)
        if tag_items:
            self._upsert_tags(conn, run_uuid, tag_items)
        if points:
            self._append_metrics(conn, run_uuid, points)
        return True

    def _take_receipt(self, conn: Connection, run_uuid: str, batch_id: str) -> bool:
        """Record ``batch_id`` for the run; False if it was recorded before."""
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
        stmt = (
            self._upsert(conn, s.write_receipts)
            .on_conflict_do_nothing()
            .returning(s.write_receipts.c.batch_id)
        )
        row = conn.execute(
            stmt, {"run_uuid": run_uuid, "batch_id": batch_id, "created_time": now_ms()}
        ).first()
        return row is not None

    def _upsert_tags(self, conn: Connection, run_uuid: str, tags: Mapping[str, str]) -> None:
        stmt = self._upsert(conn, s.tags)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_uuid", "key"], set_={"value": stmt.excluded.value}
            ),
            [{"run_uuid": run_uuid, "key": k, "value": v} for k, v in tags.items()],
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        run_uuid = check_run_id(run_id)
        refuse_identity_tags([key])

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            res = conn.execute(
                delete(s.tags).where(s.tags.c.run_uuid == run_uuid, s.tags.c.key == key)
            )
            if res.rowcount == 0:
                raise NotFound(f"No tag with name: {key} in run with id {run_uuid}")

        self._write(write)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int = 0,
        timestamp: int | None = None,
    ) -> None:
        self.log_batch(
            run_id,
            metrics=[(key, value, step, timestamp if timestamp is not None else now_ms())],
        )

    def _write_params(self, conn: Connection, run_uuid: str, items: Mapping[str, str]) -> None:
        existing = dict(
            conn.execute(st.PARAMS_OF_RUN, {"run": run_uuid, "keys": list(items)}).all()
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
            conn.execute(st.INSERT_PARAM, new_rows)
