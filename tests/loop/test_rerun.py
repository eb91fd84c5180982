"""mm.rerun of notebooks tracked in real kernels: order, overrides, the linked run, failures."""

from __future__ import annotations

import json
from pathlib import Path

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
