"""Datasets a run used, recorded once by content digest."""

from __future__ import annotations

import json

from sqlalchemy import Connection

from ...errors import InvalidInput
from .. import limits, validation
from .. import schema as s
from ..entities import DatasetInput
from .base import (
    StoreBase,
    check_run_id,
    now_ms,
)


class DatasetsMixin(StoreBase):
    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None:
        run_uuid = check_run_id(run_id)
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
