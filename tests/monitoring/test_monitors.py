"""Monitors through ``mm`` on a real SQLite file and a real PostgreSQL server: defined, listed and
deleted with audit; evaluated on synthetic logged predictions into a monitoring run's metrics;
a thin window says so; two processes claiming the same periods evaluate each once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.client import backend
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput, NotFound
from jupyter_mm.monitoring import monitors as mon
from jupyter_mm.monitoring import schedule

from .monitor_data import T0, log_predictions, scored_model


@pytest.fixture
def model(mm_uri: str) -> Store:
    store = backend.get_store()
    scored_model(store)
    return store


def test_define_list_delete_are_audited_and_bad_definitions_write_nothing(model: Store) -> None:
    m = mm.monitor("credit", window="2h", every="30m", thresholds={"income": 0.2}, min_rows=50)
    assert (m.model, m.id, m.alias, m.window_seconds, m.every_seconds) == (
        "credit", "champion", "champion", 7200.0, 1800.0,
    )  # fmt: skip
    other = mm.monitor("credit", preset="evidently-compatible", id="evidently")
    assert mm.monitors("credit") == [m, other] and mm.monitors() == [m, other]
    for bad, match in (
        ({"every": "soon"}, "not a duration"),
        ({"window": "0h"}, "longer than zero"),
        ({"preset": "strict"}, "unknown preset"),
        ({"min_rows": 0}, "min_rows"),
        ({"id": "no spaces"}, "monitor id"),
        ({"thresholds": {"income": "high"}}, "threshold"),
    ):
        with pytest.raises(InvalidInput, match=match):
            mm.monitor("credit", **{"id": "bad", **bad})
    with pytest.raises(NotFound):
        mm.monitor("nobody")
    assert [x.id for x in mm.monitors("credit")] == ["champion", "evidently"]
    mm.delete_monitor("credit", "evidently", comment="one is enough")
    assert mm.monitors("credit") == [m]
    with pytest.raises(NotFound, match="no monitor 'evidently'"):
        mm.delete_monitor("credit", "evidently")
    entries = [e for e in mm.audit_log("credit") if e.action.startswith("model.tag")]
    assert [(e.action, e.actor) for e in entries] == [
        ("model.tag_set", "ana"), ("model.tag_set", "ana"), ("model.tag_deleted", "ana"),
    ]  # fmt: skip
    assert entries[-1].comment == "one is enough"
    assert mm.verify_audit().ok


def test_evaluations_are_a_runs_metrics_and_cross_into_drift_once(model: Store) -> None:
    m = mm.monitor("credit", window="1h", every="1h", min_rows=200)
    log_predictions(model, T0 + 60, 1000)  # like the reference
    log_predictions(model, T0 + 3600 + 60, 1000, shift=1.0, seed=2)  # income moved by 1 sd
    first = mon.evaluate(model, m, T0 + 3000)
    assert (first.status, first.rows, first.version, first.step) == ("ok", 1000, 1, 1)
    assert not first.crossed and first.result is not None
    second = mon.evaluate(model, m, T0 + 3600 + 3000)
    assert (second.status, second.rows, second.step, second.crossed) == ("drift", 1000, 2, True)
    assert second.result is not None and second.result["income"].band == "drift"
    third = mon.evaluate(model, m, T0 + 3600 + 3300)  # still drifted: no second crossing
    assert (third.status, third.crossed, third.previous) == ("drift", False, "drift")

    run = model.get_run(second.run_id)
    assert model.get_experiment(run.experiment_id).name == "monitoring/credit"
    assert run.name == "champion@v1" and run.status == "FINISHED"
    assert run.tags[mon.TAG_EVALUATION] == third.id and run.tags[mon.TAG_STATUS] == "drift"
    assert run.params["preset"] == "bank" and run.params["window"] == "1h"
    psi = model.get_metric_history(run.id, "psi/income")
    assert list(psi["step"]) == [1, 2, 3]
    assert list(psi["timestamp"]) == [int((T0 + s) * 1000) for s in (3000, 6600, 6900)]
    assert psi["value"][0] < 0.1 <= 0.25 <= psi["value"][1]
    assert list(model.get_metric_history(run.id, "drifted")["value"]) == [0.0, 1.0, 1.0]
    assert "psi/region" in model.metric_keys(run.id)
    # the runs are searchable like any other
    found, _ = model.search_runs([run.experiment_id], filter="tags.`mm.monitor.status` = 'drift'")
    assert [r.id for r in found] == [run.id]


def test_a_thin_window_reports_not_enough_data_and_never_alarms(model: Store) -> None:
    m = mm.monitor("credit", window="1h", min_rows=500)
    log_predictions(model, T0 + 60, 100, shift=3.0)  # a severe shift, but only 100 rows
    ev = mm.evaluate_monitor("credit", "champion", now=T0 + 600)
    assert (ev.status, ev.rows, ev.crossed, ev.result) == (mon.NOT_ENOUGH_DATA, 100, False, None)
    empty = mon.evaluate(model, m, T0 + 86400)  # nothing at all in that window
    assert (empty.status, empty.rows, empty.step) == (mon.NOT_ENOUGH_DATA, 0, 2)
    assert model.metric_keys(ev.run_id) == ["rows"]
    assert model.get_run(ev.run_id).tags[mon.TAG_STATE] == "ok"


def test_a_window_above_max_rows_is_sampled_as_mm_drift_samples_it(model: Store) -> None:
    """A monitor reads its window through mm.drift's reader: above max_rows a seeded uniform
    sample of the rows is compared, the record says how many, and the verdict still holds."""
    m = mm.monitor("credit", window="1h", min_rows=200)
    log_predictions(model, T0 + 60, 3000, shift=1.0, seed=2)  # income moved by 1 sd
    ev = mon.evaluate(model, m, T0 + 600, max_rows=400)
    assert (ev.status, ev.rows, ev.crossed) == ("drift", 3000, True)
    assert ev.compared is not None and 200 < ev.compared < 700  # about 400 of the 3000
    assert ev.result is not None and ev.result["income"].band == "drift"
    assert ev.result["income"].n_current == ev.compared
    record = mon.evaluation_record(ev)
    assert (record["rows"], record["compared"]) == (3000, ev.compared)
    assert record["notes"][0] == (
        f"compared a uniform random sample of {ev.compared} of the window's 3000 rows (max_rows)"
    )
    again = mon.evaluate(model, m, T0 + 600, max_rows=400)  # seeded: the same sample
    assert again.compared == ev.compared and again.result is not None
    assert again.result["income"].statistic == ev.result["income"].statistic
    whole = mon.evaluate(model, m, T0 + 600)  # under the default max_rows: every row
    assert whole.compared == 3000 and whole.result is not None
    assert not any("sample" in n for n in whole.result.notes)
    assert whole.status == "drift"


def test_a_version_without_reference_or_alias_is_a_clear_error(model: Store) -> None:
    m = mm.monitor("credit", alias="challenger")
    with pytest.raises(InvalidInput, match="alias challenger not found"):
        mon.evaluate(model, m, T0)
    run = model.create_run("0")
    model.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")
    model.set_registered_model_alias("credit", "challenger", 2, actor="ana")
    with pytest.raises(NotFound, match="no reference profile"):
        mon.evaluate(model, m, T0)
    # the scheduler logs it and goes on with the other monitors
    mm.monitor("credit", id="main", min_rows=1)
    log_predictions(model, T0 - 60, 10)
    assert [e.monitor.id for e in schedule.run_due(model, T0)] == ["main"]


def test_a_claim_holds_until_released_so_evaluations_never_overlap(model: Store) -> None:
    m = mm.monitor("credit", every="1m")
    assert schedule.claim(model, m, T0) and not schedule.claim(model, m, T0)
    # a period later the first evaluation still runs: nobody else starts one
    assert not schedule.claim(model, m, T0 + 61)
    schedule.release(model, m, T0)
    assert schedule.claim(model, m, T0 + 61) and schedule.last_evaluated(model, m) == T0 + 61
    # a process that died mid-evaluation holds the monitor no longer than the lease
    assert not schedule.claim(model, m, T0 + 61 + schedule.LEASE - 1)
    assert schedule.claim(model, m, T0 + 61 + schedule.LEASE)


PERIODS = 12


def _claimer(uri: str, artifacts: str, start: Any, out: Any) -> None:
    """One server process's scheduler: the same periods, at the same instants, as the other."""
    store = Store.open(uri, artifact_uri=artifacts)
    mine = []
    for k in range(PERIODS):
        start.wait()
        mine += [e.step for e in schedule.run_due(store, T0 + 3600 * k + 1)]
    store.close()
    out.put(mine)


def test_two_processes_evaluate_each_period_once(model: Store, mm_uri: str, tmp_path: Path) -> None:
    mm.monitor("credit", window="1h", every="1h", min_rows=1)
    log_predictions(model, T0 - 60, 10)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_claimer, args=(mm_uri, str(Path(tmp_path / "blobs")), start, out))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    steps = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(steps[0] + steps[1]) == list(range(1, PERIODS + 1))
    run_id = mon.get_monitor(model, "credit", "champion").run_id(1)
    rows = model.get_metric_history(run_id, "rows")
    assert list(rows["step"]) == list(range(1, PERIODS + 1))
    assert schedule.last_evaluated(model, mm.monitors("credit")[0]) == T0 + 3600 * (PERIODS - 1) + 1
