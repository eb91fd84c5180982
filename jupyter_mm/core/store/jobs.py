"""Background jobs as the store keeps them: one row each, with its state, its live log and its result.

The job runner (``jupyter_mm/loop/jobs.py``) is above core; this is only the record, so that every
process over the store (a Jupyter server, each team-server worker, a notebook's own runner) sees the
same jobs, a cancel reaches the process running the job, and a restart leaves no job silently gone.

States: ``queued`` → ``running`` → ``finished`` | ``failed`` | ``cancelled``; ``lost`` when the process
that owned an unfinished job is gone (:meth:`JobsMixin.mark_lost_jobs`). Every transition is one
conditional update, so a late writer (a worker that outlived its server) never overwrites a verdict.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from ...errors import Conflict, InvalidInput, NotFound
from .. import schema as s
from ..database import read_conn
from ..rows import from_row
from .base import StoreBase, now_ms

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, LOST = (
    "queued", "running", "finished", "failed", "cancelled", "lost",
)  # fmt: skip
STATES = (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, LOST)
ACTIVE = (QUEUED, RUNNING)
#: Why a job was marked lost, by the state it was in: a queued one never ran, a running one may
#: have done part of its work.
_LOST_REASONS = {
    QUEUED: "the process that queued this job stopped before starting it (a server restart or "
    "a crash); nothing of it ran: start it again",
    RUNNING: "the process running this job stopped before it ended (a server restart or a "
    "crash); its outcome is unknown",
}
TERMINAL = (FINISHED, FAILED, CANCELLED, LOST)
KINDS = ("rerun", "reproducibility", "retraining")
#: Characters of log a job keeps; beyond it one notice, then nothing (the run keeps its outputs).
MAX_LOG_CHARS = 4_000_000
#: Largest slice of a log one read returns.
MAX_LOG_READ = 1_000_000
MAX_ERROR_CHARS = 20_000
_TRUNCATED = "\n[jupyter-mm: the log reached its limit; later output is in the run's records]\n"
_j = s.jobs.c


@dataclass(frozen=True)
class Job:
    """One job. ``log`` is the slice asked for (from ``log_offset``), ``log_size`` the whole
    log's length, so a reader asks again from ``log_offset + len(log)``."""

    id: str
    kind: str
    state: str
    spec: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    run_id: str | None
    result_run_id: str | None
    created_by: str
    owner: str | None
    cancel_requested: bool
    created_time: int
    started_time: int | None
    ended_time: int | None
    updated_time: int
    log_size: int
    log_offset: int = 0
    log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    def to_json(self, with_log: bool = False) -> dict[str, Any]:
        out = {
            "job_id": self.id,
            "kind": self.kind,
            "state": self.state,
            "spec": self.spec,
            "result": self.result,
            "error": self.error,
            "run_id": self.run_id,
            "result_run_id": self.result_run_id,
            "created_by": self.created_by,
            "owner": self.owner,
            "cancel_requested": self.cancel_requested,
            "created_time": self.created_time,
            "started_time": self.started_time,
            "ended_time": self.ended_time,
            "updated_time": self.updated_time,
            "log_size": self.log_size,
        }
        if with_log:
            out["log"] = {
                "offset": self.log_offset,
                "text": self.log,
                "next_offset": self.log_offset + len(self.log),
                "complete": self.done and self.log_offset + len(self.log) >= self.log_size,
            }
        return out


def _row_job(row: Any, offset: int = 0, text: str = "") -> Job:
    return from_row(
        Job,
        row,
        id=row.job_id,
        spec=json.loads(row.spec),
        result=json.loads(row.result) if row.result else None,
        cancel_requested=bool(row.cancel_requested),
        log_size=int(row.log_size),
        log_offset=offset,
        log=text or "",
    )


_COLUMNS = [c for c in s.jobs.c if c.name != "log"]


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, default=str)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what} is not plain JSON: {e}") from None


class JobsMixin(StoreBase):
    def create_job(
        self,
        kind: str,
        spec: dict[str, Any],
        *,
        created_by: str,
        run_id: str | None = None,
        owner: str | None = None,
    ) -> Job:
        """Record a new ``queued`` job (before anything runs, so it can never be silently gone)."""
        if kind not in KINDS:
            raise InvalidInput(f"job kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(created_by, str) or not created_by.strip():
            raise InvalidInput("a job needs the user who asked for it (created_by)")
        raw = _json(spec, "the job's spec")
        job_id, t = uuid.uuid4().hex, now_ms()

        def write(conn: Connection) -> None:
            conn.execute(
                insert(s.jobs).values(
                    job_id=job_id,
                    kind=kind,
                    state=QUEUED,
                    spec=raw,
                    result=None,
                    error=None,
                    log="",
                    log_size=0,
                    run_id=run_id,
                    result_run_id=None,
                    created_by=created_by[:250],
                    owner=owner,
                    cancel_requested=False,
                    created_time=t,
                    started_time=None,
                    ended_time=None,
                    updated_time=t,
                )  # fmt: skip
            )

        self._write(write)
        return self.get_job(job_id)

    def get_job(self, job_id: str, log_offset: int = 0, log_limit: int = MAX_LOG_READ) -> Job:
        """The job, with its log from ``log_offset`` (characters), at most ``log_limit`` of them."""
        if isinstance(log_offset, bool) or not isinstance(log_offset, int) or log_offset < 0:
            raise InvalidInput(f"log offset must be a non-negative integer, got {log_offset!r}")
        if isinstance(log_limit, bool) or not isinstance(log_limit, int) or log_limit < 0:
            raise InvalidInput(f"log limit must be a non-negative integer, got {log_limit!r}")
        log_limit = min(log_limit, MAX_LOG_READ)
        with read_conn(self.engine) as conn:
            row = conn.execute(
                select(*_COLUMNS, func.substr(_j.log, log_offset + 1, log_limit).label("part"))
                .where(_j.job_id == str(job_id))
            ).first()  # fmt: skip
        if row is None:
            raise NotFound(f"no job with id {job_id!r}")
        return _row_job(row, log_offset, row.part if log_limit else "")

    def list_jobs(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        run_id: str | None = None,
        owner: str | None = None,
        max_results: int = 100,
    ) -> list[Job]:
        """Jobs, newest first (without their logs)."""
        if state is not None and state not in STATES:
            raise InvalidInput(f"job state must be one of {', '.join(STATES)}, got {state!r}")
        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"job kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if (
            isinstance(max_results, bool)
            or not isinstance(max_results, int)
            or not (0 < max_results <= 1000)
        ):
            raise InvalidInput(f"max_results must be 1 to 1000, got {max_results!r}")
        q = select(*_COLUMNS)
        for column, value in ((_j.state, state), (_j.kind, kind), (_j.run_id, run_id),
                              (_j.owner, owner)):  # fmt: skip
            if value is not None:
                q = q.where(column == value)
        q = q.order_by(_j.created_time.desc(), _j.job_id).limit(max_results)
        with read_conn(self.engine) as conn:
            return [_row_job(r) for r in conn.execute(q)]

    def _transition(
        self, job_id: str, from_states: tuple[str, ...], values: dict[str, Any],
        owner: str | None = None,
    ) -> bool:  # fmt: skip
        def write(conn: Connection) -> bool:
            cond = and_(_j.job_id == job_id, _j.state.in_(from_states))
            if owner is not None:
                cond = and_(cond, _j.owner == owner)
            done = conn.execute(update(s.jobs).where(cond).values(updated_time=now_ms(), **values))
            return bool(done.rowcount)

        return self._write(write)

    def start_job(self, job_id: str, owner: str) -> bool:
        """``queued`` → ``running`` under ``owner`` (``host:pid``); False if no longer queued."""
        return self._transition(
            job_id, (QUEUED,), {"state": RUNNING, "owner": owner, "started_time": now_ms()}
        )

    def set_job_owner(self, job_id: str, owner: str) -> bool:
        """Hand a running job to another process (the worker that executes it)."""
        return self._transition(job_id, ACTIVE, {"owner": owner})

    def append_job_log(self, job_id: str, text: str) -> None:
        """Append output to a running job's log (also its heartbeat); nothing once it ended."""
        if not text:
            self._transition(job_id, (RUNNING,), {})
            return

        def write(conn: Connection) -> None:
            size = conn.execute(
                select(_j.log_size).where(_j.job_id == job_id, _j.state == RUNNING)
            ).scalar()
            if size is None or size >= MAX_LOG_CHARS:
                return
            part = text if size + len(text) <= MAX_LOG_CHARS else _TRUNCATED
            conn.execute(
                update(s.jobs)
                .where(_j.job_id == job_id)
                .values(
                    log=_j.log + part,
                    log_size=_j.log_size + (len(part) if part is text else MAX_LOG_CHARS),
                    updated_time=now_ms(),
                )
            )

        self._write(write)

    def finish_job(
        self,
        job_id: str,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        result_run_id: str | None = None,
        owner: str | None = None,
    ) -> bool:
        """End an unfinished job (``finished``, ``failed``, ``cancelled``); False if it had already
        ended (e.g. it was marked ``lost``): the first verdict stands."""
        if state not in (FINISHED, FAILED, CANCELLED):
            raise InvalidInput(f"a job ends finished, failed or cancelled, not {state!r}")
        values: dict[str, Any] = {"state": state, "ended_time": now_ms()}
        if result is not None:
            values["result"] = _json(result, "the job's result")
        if error is not None:
            values["error"] = error[-MAX_ERROR_CHARS:]
        if result_run_id is not None:
            values["result_run_id"] = result_run_id
        return self._transition(job_id, ACTIVE, values, owner)

    def cancel_job(self, job_id: str) -> Job:
        """Cancel: a queued job at once; a running one is asked (its runner stops it and records
        ``cancelled``). An ended job cannot be cancelled (Conflict)."""
        job = self.get_job(job_id, log_limit=0)
        if job.state == QUEUED and self._transition(
            job.id,
            (QUEUED,),
            {"state": CANCELLED, "ended_time": now_ms(), "cancel_requested": True},  # fmt: skip
        ):
            return self.get_job(job.id, log_limit=0)
        if self._transition(job.id, (RUNNING,), {"cancel_requested": True}):
            return self.get_job(job.id, log_limit=0)
        job = self.get_job(job.id, log_limit=0)
        raise Conflict(
            f"job {job.id} is already {job.state}; only a queued or running job can be cancelled"
        )

    def mark_lost_jobs(self, owners_gone: list[str], stale_before: int | None = None) -> list[str]:
        """Mark ``lost`` the unfinished jobs owned by a process known to be gone (``owners_gone``),
        or not heard of since ``stale_before`` (ms): a restart never leaves one silently gone."""
        conds: list[Any] = []
        if owners_gone:
            conds.append(_j.owner.in_(owners_gone))
        if stale_before is not None:
            conds.append(_j.updated_time < stale_before)
        if not conds:
            return []
        from sqlalchemy import or_

        def write(conn: Connection) -> list[str]:
            where = and_(_j.state.in_(ACTIVE), or_(*conds))
            ids = [r[0] for r in conn.execute(select(_j.job_id).where(where))]
            for state, error in _LOST_REASONS.items() if ids else ():
                conn.execute(
                    update(s.jobs)
                    .where(_j.job_id.in_(ids), _j.state == state)
                    .values(state=LOST, ended_time=now_ms(), updated_time=now_ms(), error=error)
                )
            return ids

        return self._write(write)

    def touch_queued_jobs(self, owner: str) -> None:
        """The heartbeat of ``owner``'s queued jobs (a runner beats for those it has not started)."""

        def write(conn: Connection) -> None:
            conn.execute(
                update(s.jobs)
                .where(_j.owner == owner, _j.state == QUEUED)
                .values(updated_time=now_ms())
            )

        self._write(write)

    def unfinished_job_owners(self) -> list[str]:
        """Distinct owners of queued or running jobs."""
        with read_conn(self.engine) as conn:
            return [
                r[0]
                for r in conn.execute(
                    select(_j.owner).where(_j.state.in_(ACTIVE), _j.owner.is_not(None)).distinct()
                )
            ]
