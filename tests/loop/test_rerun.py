"""mm.rerun of notebooks tracked in real kernels: order, overrides, the linked run, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from tests.loop.conftest import only_run, track_notebook

TRAIN = [
    "%load_ext jupyter_mm",
    "scale = 2",
    "base = 10",
    '%%track train -p kind=ridge\nlr = 0.5\nmm.log_metric("score", base * scale * lr)\nprint("score", base * scale * lr)',
]


def test_rerun_overrides_params_and_links_the_new_run(tmp_path: Path, store_dir: Path) -> None:
    track_notebook(tmp_path, store_dir, TRAIN, tags={1: ["parameters"]})
    original = only_run(store_dir, "train")
    assert original.metrics["score"] == 10.0

    result = mm.rerun(original.id, {"scale": 3, "lr": "0.1", "kind": "lasso"}, timeout=120)

    new = result.run
    assert new.id != original.id and new.status == "FINISHED"
    assert new.tags["mm.rerun_of"] == original.id
    assert new.params["lr"] == "0.1" and new.params["kind"] == "lasso"
    assert new.metrics["score"] == pytest.approx(3.0)
    assert result.overrides == {"scale": 3, "lr": 0.1, "kind": "lasso"}
    metrics = {r["key"]: (r["a"], r["b"]) for r in result.comparison["metrics"]}
    assert metrics["score"][0] == 10.0 and metrics["score"][1] == pytest.approx(3.0)
    params = {r["key"]: (r["a"], r["b"]) for r in result.comparison["params"]}
    assert params["kind"] == ("ridge", "lasso") and params["lr"] == ("0.5", "0.1")
    with Store.open(str(store_dir)) as st:
        record = json.loads(st.read_artifact(new.id, ".mm/rerun.json"))
        assert record["rerun_of"] == original.id
        assert record["plan"]["overrides"]["scale"]["where"] == "parameters cell"
        snap = st.read_artifact(new.id, ".mm/notebook/end.ipynb").decode()
        assert "injected-parameters" in snap and "score 3.0" in snap
        st.read_artifact(new.id, ".mm/environment.json")  # its own environment
        job = st.get_job(result.job_id)
    assert job.state == "finished" and job.result_run_id == new.id
    assert "score 3.0" in job.log


def test_a_failing_rerun_is_recorded_failed_with_its_error(tmp_path: Path, store_dir: Path) -> None:
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        "%%track flaky\ndivisor = 2\nmm.log_metric('x', 1 / divisor)",
    ])  # fmt: skip
    original = only_run(store_dir, "flaky")
    with pytest.raises(mm.MMError) as err:
        mm.rerun(original.id, {"divisor": 0}, timeout=120)
    job_id = err.value.details["job_id"]
    with Store.open(str(store_dir)) as st:
        job = st.get_job(job_id)
        assert job.state == "failed" and "ZeroDivisionError" in (job.error or "")
        assert "ZeroDivisionError" in job.log
        failed = st.get_run(job.result_run_id)
    assert failed.status == "FAILED" and failed.tags["mm.rerun_of"] == original.id


def test_an_unknown_override_is_refused_before_any_job(tmp_path: Path, store_dir: Path) -> None:
    track_notebook(tmp_path, store_dir, ["%load_ext jupyter_mm", "%%track t\nlr = 1"])
    original = only_run(store_dir, "t")
    with pytest.raises(mm.InvalidInput, match="cannot override 'depth'.*overridable: lr"):
        mm.rerun(original.id, {"depth": 3})
    with Store.open(str(store_dir)) as st:
        assert st.list_jobs() == []


def test_cancel_stops_a_running_rerun(tmp_path: Path, store_dir: Path) -> None:
    gate = tmp_path / "gate"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm",
        f"%%track slow\nimport os, time\nprint('waiting', flush=True)\n"
        f"while os.path.exists({str(gate)!r}):\n    time.sleep(0.05)",
    ])  # fmt: skip
    original = only_run(store_dir, "slow")
    gate.touch()  # the re-run now waits until the gate goes, which it never does
    handle = mm.rerun(original.id, wait=False)
    with Store.open(str(store_dir)) as st:
        _until(lambda: "waiting" in st.get_job(handle.id).log)
        assert handle.state == "running"
        handle.cancel()
        job = handle.wait(120)
    assert job.state == "cancelled" and job.ended_time is not None


def _until(condition, limit: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Poll a condition (not a sleep as synchronisation: it returns as soon as it holds)."""
    import time

    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.1)


# Run out of order (cells 0, 1, 3, 2, 4), x is (1 + 5) * 10 = 60; top to bottom it would be 15.
OUT_OF_ORDER = [
    "%load_ext jupyter_mm",
    "x = 1",
    "x = x * 10",
    "x = x + 5",
    "%%track ordered\nmm.log_metric('x', x)",
]
RAN = [0, 1, 3, 2, 4]


def test_an_out_of_order_notebook_reruns_in_the_order_it_ran(
    tmp_path: Path, store_dir: Path
) -> None:
    track_notebook(tmp_path, store_dir, OUT_OF_ORDER, order=RAN)
    original = only_run(store_dir, "ordered")
    assert original.metrics["x"] == 60.0

    result = mm.rerun(original.id, timeout=120)

    assert result.run.metrics["x"] == 60.0  # not 15: the cells ran as they really ran
    with Store.open(str(store_dir)) as st:
        record = json.loads(st.read_artifact(result.run.id, ".mm/rerun.json"))
        snap = json.loads(st.read_artifact(result.run.id, ".mm/notebook/end.ipynb"))
    assert record["plan"]["warnings"] == []
    ran = [c["metadata"]["jupyter_mm"]["original_cell_id"] for c in snap["cells"]]
    assert ran == [f"cell-{i}" for i in RAN]


def test_a_cell_edited_after_it_ran_is_rerun_as_it_is_now_with_a_warning(
    tmp_path: Path, store_dir: Path
) -> None:
    def edit(nb: Any) -> None:  # cell 2 as saved differs from what ran
        nb.cells[2].source = "x = x * 100"

    track_notebook(tmp_path, store_dir, OUT_OF_ORDER, order=RAN, saved=edit)
    original = only_run(store_dir, "ordered")
    assert original.metrics["x"] == 60.0

    result = mm.rerun(original.id, timeout=120)

    assert result.run.metrics["x"] == 600.0  # the cell's current source ran
    with Store.open(str(store_dir)) as st:
        record = json.loads(st.read_artifact(result.run.id, ".mm/rerun.json"))
        job = st.get_job(result.job_id)
    [warning] = record["plan"]["warnings"]
    assert "cell cell-2 was edited after it ran" in warning
    assert f"warning: {warning}" in job.log  # shown in the job's live log too


def test_a_cell_deleted_after_it_ran_refuses_the_rerun(tmp_path: Path, store_dir: Path) -> None:
    track_notebook(tmp_path, store_dir, OUT_OF_ORDER, order=RAN, saved=lambda nb: nb.cells.pop(3))
    original = only_run(store_dir, "ordered")
    with pytest.raises(mm.InvalidInput, match=r"cannot be re-run as it ran: the source of "
                       r"execution \[\d+\] is not in the notebook snapshot .*deleted"):  # fmt: skip
        mm.rerun(original.id)
    with Store.open(str(store_dir)) as st:
        assert st.list_jobs() == []  # refused before any job
