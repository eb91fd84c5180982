"""Reading back through ``mm.*``: get_run, the runs DataFrame, metric histories, experiments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm

pytestmark = pytest.mark.usefixtures("store_dir")


def _make_runs() -> dict[str, str]:
    """Four runs in two experiments with params, metrics and tags; returns name -> run id."""
    ids = {}
    for name, exp, auc, depth in (
        ("a", "credit", 0.71, 3),
        ("b", "credit", 0.78, 5),
        ("c", "credit", 0.74, 5),
        ("d", "fraud", 0.90, 8),
    ):
        with mm.start_run(name=name, experiment=exp, params={"depth": depth}) as run:
            mm.log_metric("auc", 0.5)
            mm.log_metric("auc", auc)
            mm.set_tag("owner", "ann" if name in "ab" else "bob")
        ids[name] = run.id
    return ids


def test_get_run_fields() -> None:
    with mm.start_run(name="full", params={"lr": 0.01}, tags={"t": "v"}) as run:
        mm.log_metric("loss", 0.3, step=4)
    got = mm.get_run(run.id)
    assert mm.get_run(run).id == run.id  # the handle works as well as the id
    assert got.id == got.run_id == run.id and len(got.id) == 32
    assert got.name == "full"
    assert got.status == "FINISHED"
    assert got.lifecycle_stage == "active"
    assert got.params == {"lr": "0.01"}
    assert got.tags["t"] == "v"
    assert got.metrics == {"loss": 0.3}
    assert got.latest_metrics["loss"].step == 4
    assert got.user  # whoever ran it
    assert got.started is not None and got.ended is not None and got.ended >= got.started
    assert got.heartbeat_time is not None
    with pytest.raises(mm.NotFound):
        mm.get_run("0" * 32)
    with pytest.raises(mm.InvalidInput):
        mm.get_run("not-a-run-id")


def test_runs_frame_columns_and_types() -> None:
    ids = _make_runs()
    frame = mm.runs()
    assert len(frame) == 4
    assert set(frame["run_id"]) == set(ids.values())
    base = ["run_id", "name", "status", "start_time", "end_time"]
    assert list(frame.columns[: len(base)]) == base
    for col in ("params.depth", "metrics.auc", "tags.owner", "tags.mm.source.type"):
        assert col in frame.columns
    assert frame["metrics.auc"].dtype == np.float64
    assert isinstance(frame["start_time"].dtype, pd.DatetimeTZDtype)
    assert isinstance(frame["end_time"].dtype, pd.DatetimeTZDtype)
    assert (frame["status"] == "FINISHED").all()
    row = frame.set_index("name").loc["b"]
    assert row["params.depth"] == "5" and row["metrics.auc"] == 0.78 and row["tags.owner"] == "ann"
    assert row["end_time"] >= row["start_time"]


def test_runs_filter_order_experiment_and_max_results() -> None:
    _make_runs()
    by_auc = mm.runs(order_by="metrics.auc DESC")
    assert list(by_auc["name"]) == ["d", "b", "c", "a"]
    credit = mm.runs(experiment="credit", order_by=["metrics.auc ASC"])
    assert list(credit["name"]) == ["a", "c", "b"]
    assert list(mm.runs(experiment=["credit", "fraud"], order_by="name")["name"]) == list("abcd")
    deep = mm.runs(filter="params.depth = '5' and metrics.auc > 0.75")
    assert list(deep["name"]) == ["b"]
    either = mm.runs(filter="tags.owner = 'bob' OR metrics.auc < 0.72", order_by="name DESC")
    assert list(either["name"]) == ["d", "c", "a"]
    top2 = mm.runs(order_by="metrics.auc DESC", max_results=2)
    assert list(top2["name"]) == ["d", "b"]
    none = mm.runs(filter="metrics.auc > 5")
    assert len(none) == 0 and "run_id" in none.columns
    with pytest.raises(mm.FilterSyntaxError):
        mm.runs(filter="metrics.auc >> 1")
    with pytest.raises(mm.NotFound):
        mm.runs(experiment="no-such-experiment")


def test_metric_history_full_and_down_sampled() -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    values = rng.normal(size=n)
    values[12_345] = 50.0  # a spike
    values[777] = -40.0  # a dip
    with mm.start_run() as run:
        for v in values:
            mm.log_metric("noisy", float(v))
    full = mm.metric_history(run, "noisy")
    assert list(full.columns) == ["step", "value", "timestamp"]
    assert np.array_equal(full["step"], np.arange(n))
    assert np.array_equal(full["value"], values)
    small = mm.metric_history(run.id, "noisy", max_points=500)
    assert 2 < len(small) <= 500
    steps = small["step"].to_numpy()
    assert (np.diff(steps) > 0).all()  # a subset, in order
    assert np.array_equal(small["value"], values[steps])
    assert small["value"].max() == 50.0 and small["value"].min() == -40.0  # extremes survive
    assert steps[0] == 0 and steps[-1] == n - 1
    assert len(mm.metric_history(run, "noisy", max_points=n * 2)) == n
    with pytest.raises(mm.NotFound):
        mm.metric_history(run, "never-logged")


def test_experiments_frame() -> None:
    mm.set_experiment("credit")
    mm.set_experiment("fraud")
    exps = mm.experiments()
    assert list(exps.columns[:2]) == ["experiment_id", "name"]
    assert list(exps["name"]) == ["Default", "credit", "fraud"]
    assert exps["experiment_id"].tolist()[0] == "0"
    assert isinstance(exps["creation_time"].dtype, pd.DatetimeTZDtype)


def test_reading_where_nothing_was_tracked_creates_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default ``.mm/`` is created by the first write, not by looking for runs."""
    monkeypatch.delenv("MM_TRACKING_URI", raising=False)
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    mm.set_tracking_uri(None)
    try:
        assert mm.runs().empty and list(mm.runs().columns)[:3] == ["run_id", "name", "status"]
        assert mm.experiments().empty
        with pytest.raises(mm.NotFound, match="nothing has been tracked here yet"):
            mm.get_run("a" * 32)
        assert not (work / ".mm").exists()
        with mm.start_run(name="first"):
            mm.log_metric("x", 1.0)
        assert (work / ".mm" / "mm.db").is_file()
        assert list(mm.runs()["name"]) == ["first"]
    finally:
        mm.set_tracking_uri(None)
