"""Statements on the hot paths, built once with bound parameters.

Building a SQLAlchemy statement per call costs more than running it on SQLite; a statement object
that is reused hits the compiled cache directly.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, update

from .. import schema as s

_r, _p, _c = s.runs.c, s.params.c, s.metric_chunks.c

EXPERIMENT_STAGE = select(s.experiments.c.lifecycle_stage).where(
    s.experiments.c.experiment_id == bindparam("exp")
)
RUN_EXISTS = select(_r.run_uuid).where(_r.run_uuid == bindparam("run"))
RUN_STAGE = select(_r.lifecycle_stage).where(_r.run_uuid == bindparam("run"))
#: FOR NO KEY UPDATE on PostgreSQL: serialises appends to one run, not inserts that reference it.
RUN_STAGE_LOCKED = RUN_STAGE.with_for_update(key_share=True)
INSERT_RUN = insert(s.runs)
END_RUN = (
    update(s.runs)
    .where(_r.run_uuid == bindparam("run"))
    .values(status=bindparam("status"), end_time=bindparam("end_time"))
)
INSERT_TAG = insert(s.tags)
INSERT_PARAM = insert(s.params)
PARAMS_OF_RUN = select(_p.key, _p.value).where(
    _p.run_uuid == bindparam("run"), _p.key.in_(bindparam("keys", expanding=True))
)

_mc = s.metric_chunks.alias("mc")
#: Each key's newest chunk (the one that may still have room).
LAST_CHUNKS = select(_mc.c.key, _mc.c.seq, _mc.c.n, _mc.c.data).where(
    _mc.c.run_uuid == bindparam("run"),
    _mc.c.key.in_(bindparam("keys", expanding=True)),
    _mc.c.seq
    == select(func.max(_c.seq))
    .where(_c.run_uuid == _mc.c.run_uuid, _c.key == _mc.c.key)
    .scalar_subquery(),
)
INSERT_CHUNK = insert(s.metric_chunks)
UPDATE_CHUNK = (
    update(s.metric_chunks)
    .where(
        _c.run_uuid == bindparam("b_run"),
        _c.key == bindparam("b_key"),
        _c.seq == bindparam("b_seq"),
    )
    .values(
        n=bindparam("n"),
        step_min=bindparam("step_min"),
        step_max=bindparam("step_max"),
        ts_min=bindparam("ts_min"),
        ts_max=bindparam("ts_max"),
        data=bindparam("data"),
    )
)
