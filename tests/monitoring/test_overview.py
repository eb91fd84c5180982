"""Each evaluation's JSON record (the monitoring contract's fields) kept in its monitoring run,
and a model's monitoring read back per version: status word, watching monitors, latest record,
history oldest first; on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import json

import pytest

import jupyter_mm as mm
from jupyter_mm.client import backend
from jupyter_mm.core.store import Store
from jupyter_mm.errors import NotFound
from jupyter_mm.monitoring import monitors as mon
from jupyter_mm.monitoring import overview

from .monitor_data import T0, log_predictions, scored_model

RECORD_KEYS = {
    "id", "at", "model", "monitor", "alias", "version", "step", "status", "rows", "compared",
    "min_rows", "preset", "window", "notes", "share", "drift_share", "verdicts", "performance",
}  # fmt: skip


@pytest.fixture
def model(mm_uri: str) -> Store:
    store = backend.get_store()
    scored_model(store)
    return store


def test_each_evaluation_keeps_its_record_as_a_json_artifact(model: Store) -> None:
    m = mm.monitor("credit", window="1h", min_rows=200)
    log_predictions(model, T0 + 60, 1000)
    log_predictions(model, T0 + 3600 + 60, 1000, shift=1.0, seed=2)
    ok = mon.evaluate(model, m, T0 + 3000)
    drift = mon.evaluate(model, m, T0 + 3600 + 3000)
    thin = mon.evaluate(model, m, T0 + 86400)  # nothing in that window
    paths = [a.path for a in model.list_artifacts(ok.run_id, "mm/evaluations")]
    assert paths == [f"mm/evaluations/00000{i}.json" for i in (1, 2, 3)]
    record = json.loads(model.read_artifact(drift.run_id, mon.evaluation_path(2)))
    assert set(record) == RECORD_KEYS
    assert (record["id"], record["step"], record["status"], record["rows"]) == (
        drift.id, 2, "drift", 1000,
    )  # fmt: skip
    assert (record["model"], record["monitor"], record["alias"], record["version"]) == (
        "credit", "champion", "champion", 1,
    )  # fmt: skip
    assert (record["preset"], record["min_rows"], record["performance"]) == ("bank", 200, None)
    assert record["at"] == drift.at.isoformat() and record["at"].endswith("+00:00")
    assert drift.result is not None and record["share"] == drift.result.share
    income = next(v for v in record["verdicts"] if v["feature"] == "income")
    assert income["band"] == "drift" and income["method"] == "psi"
    assert income["bins"]["edges"] and income["n_current"] == 1000
    empty = json.loads(model.read_artifact(thin.run_id, mon.evaluation_path(3)))
    assert (empty["status"], empty["rows"], empty["verdicts"], empty["share"]) == (
        mon.NOT_ENOUGH_DATA, 0, [], None,
    )  # fmt: skip
    assert ok.step == 1


def test_a_models_monitoring_per_version(model: Store) -> None:
    with pytest.raises(NotFound):
        overview.model_monitoring(model, "nobody")
    run = model.create_run("0")
    model.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")  # version 2
    before = overview.model_monitoring(model, "credit")
    assert [(v["version"], v["status"], v["latest"], v["history"]) for v in before["versions"]] == [
        (2, "no-data", None, []), (1, "no-data", None, []),
    ]  # fmt: skip

    m = mm.monitor("credit", window="1h", min_rows=200)
    mm.monitor("credit", alias="challenger", id="shadow")  # its alias points nowhere yet
    log_predictions(model, T0 + 60, 1000)
    log_predictions(model, T0 + 3600 + 60, 1000, shift=1.0, seed=2)
    mon.evaluate(model, m, T0 + 3000)
    mon.evaluate(model, m, T0 + 3600 + 3000)
    last = mon.evaluate(model, m, T0 + 86400)
    found = overview.model_monitoring(model, "credit")
    assert [(x["id"], x["alias"], x["version"]) for x in found["monitors"]] == [
        ("champion", "champion", 1), ("shadow", "challenger", None),
    ]  # fmt: skip
    v2, v1 = found["versions"]
    assert (v2["version"], v2["status"], v2["monitors"]) == (2, "no-data", [])
    # the last word is the run's status tag: the thin window, though the state stays drift
    assert (v1["status"], v1["monitors"], v1["evaluations"]) == ("not-enough-data", ["champion"], 3)
    assert v1["latest"]["id"] == last.id and v1["latest"]["step"] == 3
    assert [(h["step"], h["status"], h["rows"]) for h in v1["history"]] == [
        (1, "ok", 1000), (2, "drift", 1000), (3, "not-enough-data", 0),
    ]  # fmt: skip
    assert v1["history"][0]["drift_share"] == 0.0 and v1["history"][2]["drift_share"] is None
    assert v1["history"][1]["drift_share"] > 0
    assert [h["at"] for h in v1["history"]] == sorted(h["at"] for h in v1["history"])
    assert (
        overview.model_monitoring(model, "credit", history=2)["versions"][1]["history"][0]["step"]
        == 2
    )

    # a degraded performance check outranks drift; the worst run decides the version
    mon.evaluate(model, m, T0 + 3600 + 3000)
    assert overview.model_monitoring(model, "credit")["versions"][1]["status"] == "drift"
    model.set_tag(last.run_id, overview.TAG_PERFORMANCE, "degraded")
    assert overview.model_monitoring(model, "credit")["versions"][1]["status"] == (
        "performance-down"
    )


def test_statuses_rank_worst_first() -> None:
    assert overview.worst([]) == "no-data"
    assert overview.worst(["ok", "not-enough-data", "no-data"]) == "ok"
    assert overview.worst(["warning", "drift", "ok"]) == "drift"
    assert overview.worst(["drift", "performance-down"]) == "performance-down"
    assert overview.run_status({mon.TAG_STATUS: "warning"}) == "warning"
    assert overview.run_status({mon.TAG_STATUS: "warning", overview.TAG_PERFORMANCE: "ok"}) == (
        "warning"
    )
