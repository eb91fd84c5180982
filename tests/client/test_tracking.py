"""The ``mm.*`` tracking API end to end, in-process, against a fresh SQLite store."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store

pytestmark = pytest.mark.usefixtures("store_dir")


# ------------------------------------------------------------------ run lifecycle


def test_context_manager_finishes_the_run(mm_store: Store) -> None:
    assert mm.active_run() is None and mm.last_run() is None
    before = int(time.time() * 1000)
    with mm.start_run(name="ok", tags={"team": "risk"}, params={"lr": 0.1}) as run:
        assert mm.active_run() is run
        assert mm_store.get_run(run.id).status == "RUNNING"
    assert mm.active_run() is None
    assert mm.last_run() is run and run.ended
    got = mm.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.name == "ok"
    assert got.params == {"lr": "0.1"}
    assert got.tags["team"] == "risk"
    assert got.tags["mm.source.type"] == "LOCAL"
    assert got.experiment_id == "0" and got.experiment == "Default"
    assert before <= got.start_time <= got.end_time <= int(time.time() * 1000)
    assert got.duration is not None and got.duration >= 0


def test_exception_fails_the_run_records_the_traceback_and_propagates() -> None:
    def train() -> None:
        raise ValueError("boom in train")

    with pytest.raises(ValueError, match="boom in train"):
        with mm.start_run() as run:
            mm.log_metric("loss", 1.0)
            train()
    got = mm.get_run(run.id)
    assert got.status == "FAILED"
    assert got.end_time is not None
    err = got.tags["mm.error"]
    assert err.startswith("Traceback (most recent call last)")
    assert "in train" in err and err.rstrip().endswith("ValueError: boom in train")
    assert got.metrics == {"loss": 1.0}  # what was logged before the failure is kept
    assert mm.active_run() is None


def test_keyboard_interrupt_kills_the_run() -> None:
    with pytest.raises(KeyboardInterrupt):
        with mm.start_run() as run:
            raise KeyboardInterrupt
    got = mm.get_run(run.id)
    assert got.status == "KILLED"
    assert got.end_time is not None
    assert "mm.error" not in got.tags
    assert mm.active_run() is None


def test_end_run_with_status_and_without_a_run() -> None:
    mm.end_run()  # nothing active: a no-op
    run = mm.start_run()
    mm.end_run("KILLED")
    assert mm.get_run(run.id).status == "KILLED"
    assert mm.active_run() is None
    with pytest.raises(mm.InvalidInput):
        run.log_metric("late", 1.0)  # an ended run takes no more metrics


def test_nested_runs_need_nested_and_record_their_parent() -> None:
    with mm.start_run(name="outer") as outer:
        with pytest.raises(mm.MMError, match="nested=True"):
            mm.start_run(name="oops")
        with mm.start_run(name="inner", nested=True) as inner:
            assert mm.active_run() is inner
            mm.log_metric("m", 1.0)  # goes to the innermost run
        assert mm.active_run() is outer
        assert mm.last_run() is inner
        mm.log_metric("m", 2.0)
    assert mm.get_run(inner.id).parent_run_id == outer.id
    assert mm.get_run(outer.id).parent_run_id is None
    assert mm.get_run(inner.id).metrics == {"m": 1.0}
    assert mm.get_run(outer.id).metrics == {"m": 2.0}
    names = set(mm.runs()["name"])
    assert names == {"outer", "inner"}  # the refused start_run created nothing


def test_parent_argument_links_without_an_active_run() -> None:
    with mm.start_run(name="p") as parent:
        pass
    with mm.start_run(parent=parent) as child:
        pass
    with mm.start_run(parent=parent.id) as child2:
        pass
    assert mm.get_run(child.id).parent_run_id == parent.id
    assert mm.get_run(child2.id).parent_run_id == parent.id


def test_experiments_by_name(mm_store: Store) -> None:
    exp_id = mm.set_experiment("credit")
    assert mm.set_experiment("credit") == exp_id  # idempotent
    with mm.start_run() as a:
        pass
    with mm.start_run(experiment="other") as b:
        pass
    assert mm.get_run(a.id).experiment == "credit"
    assert mm.get_run(a.id).experiment_id == exp_id
    assert mm.get_run(b.id).experiment == "other"


def test_logging_without_an_active_run_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    calls = [
        lambda: mm.log_metric("a", 1.0),
        lambda: mm.log_metrics({"a": 1.0}),
        lambda: mm.log_param("a", 1),
        lambda: mm.log_params({"a": 1}),
        lambda: mm.set_tag("a", "b"),
        lambda: mm.set_tags({"a": "b"}),
        lambda: mm.log_artifact(f),
        lambda: mm.log_artifacts(tmp_path),
        lambda: mm.log_text("hello", "a.txt"),
        lambda: mm.log_dataset(np.arange(3), "d"),
    ]
    for call in calls:
        with pytest.raises(mm.MMError, match="no active run.*start_run"):
            call()
    assert len(mm.runs()) == 0


# ------------------------------------------------------------------ params and tags


def test_param_conflict_raises_and_writes_nothing_of_the_batch() -> None:
    with mm.start_run() as run:
        mm.log_param("lr", 0.1)
        mm.log_param("lr", 0.1)  # the same value again is fine
        mm.log_params({"lr": "0.1", "depth": 3})
        with pytest.raises(mm.Conflict, match="'lr'.*0.1.*0.2") as info:
            mm.log_params({"new": "kept?", "lr": 0.2, "other": 1})
        assert isinstance(info.value, mm.InvalidInput)
        with pytest.raises(mm.Conflict):
            mm.log_param("depth", 4)
    assert mm.get_run(run.id).params == {"lr": "0.1", "depth": "3"}


def test_invalid_values_are_rejected_whole() -> None:
    with mm.start_run() as run:
        with pytest.raises(mm.InvalidInput):
            mm.log_metrics({"good": 1.0, "bad": "not a number"})
        with pytest.raises(mm.InvalidInput):
            mm.log_metric("x", None)
        with pytest.raises(mm.InvalidInput):
            mm.log_metric("../escape", 1.0)
        with pytest.raises(mm.InvalidInput):
            mm.log_param("p", None)
        with pytest.raises(mm.InvalidInput):
            mm.log_params({"ok": 1, "": 2})
        run.flush()
    got = mm.get_run(run.id)
    assert got.metrics == {} and got.params == {}


def test_tags_overwrite_and_stringify() -> None:
    with mm.start_run() as run:
        mm.set_tag("stage", "dev")
        mm.set_tags({"stage": "prod", "n": 3, "ünïcode": "✓"})
    tags = mm.get_run(run.id).tags
    assert tags["stage"] == "prod"
    assert tags["n"] == "3"
    assert tags["ünïcode"] == "✓"


# ------------------------------------------------------------------ metrics


def test_metric_steps_auto_and_explicit() -> None:
    with mm.start_run() as run:
        for v in (0.5, 0.4, 0.3):
            mm.log_metric("loss", v)  # steps 0, 1, 2
        mm.log_metric("loss", 0.2, step=10)
        mm.log_metric("loss", 0.25, step=5)  # out of order: does not move the counter back
        mm.log_metric("loss", 0.1)  # 11
        mm.log_metric("acc", 0.9)  # every key counts on its own: 0
        mm.log_metric("acc", np.float32(0.875), step=np.int64(7))
        mm.log_metric("flag", True)
        mm.log_metric("count", 3)
    h = mm.metric_history(run, "loss")
    assert h["step"].tolist() == [0, 1, 2, 5, 10, 11]
    assert h["value"].tolist() == [0.5, 0.4, 0.3, 0.25, 0.2, 0.1]
    acc = mm.metric_history(run, "acc")
    assert acc["step"].tolist() == [0, 7] and acc["value"].tolist() == [0.9, 0.875]
    got = mm.get_run(run.id)
    assert got.metrics == {"loss": 0.1, "acc": 0.875, "flag": 1.0, "count": 3.0}
    assert got.latest_metrics["loss"].step == 11


def test_nan_and_infinities_round_trip() -> None:
    values = [float("nan"), float("inf"), float("-inf"), -0.0, 1e-310, 1.7976931348623157e308]
    with mm.start_run() as run:
        for v in values:
            mm.log_metric("odd", v)
        mm.log_metric("last_nan", 1.0)
        mm.log_metric("last_nan", float("nan"))
        mm.log_metric("last_inf", float("-inf"))
    h = mm.metric_history(run, "odd")
    got = h["value"].to_numpy()
    assert math.isnan(got[0])
    assert got[1:].tolist() == values[1:]
    assert math.copysign(1.0, got[3]) == -1.0  # -0.0 keeps its sign
    m = mm.get_run(run.id).metrics
    assert math.isnan(m["last_nan"]) and m["last_inf"] == float("-inf")
    assert m["odd"] == values[-1]
    frame = mm.runs()
    assert math.isnan(frame.loc[0, "metrics.last_nan"])
    assert frame.loc[0, "metrics.last_inf"] == float("-inf")


def test_log_metrics_shares_step_and_timestamp() -> None:
    with mm.start_run() as run:
        mm.log_metrics({"a": 1.0, "b": 2.0})
        mm.log_metrics({"a": 3.0, "b": 4.0}, step=100)
        mm.log_metrics({"a": 5.0})
    a, b = mm.metric_history(run, "a"), mm.metric_history(run, "b")
    assert a["step"].tolist() == [0, 100, 101] and a["value"].tolist() == [1.0, 3.0, 5.0]
    assert b["step"].tolist() == [0, 100] and b["value"].tolist() == [2.0, 4.0]
    assert a["timestamp"].tolist()[:2] == b["timestamp"].tolist()


def test_buffered_metrics_become_visible_without_ending_the_run(mm_store: Store) -> None:
    """The background writer flushes about every second; a reader sees points while the run goes on."""
    n = 5000
    with mm.start_run() as run:
        for i in range(n):
            mm.log_metric("loss", float(i))
        logged = time.monotonic()
        # another connection to the same file, like the sidebar or a second kernel
        reader = Store.open(mm.get_tracking_uri())
        try:
            deadline = logged + 5.0
            while True:
                seen = len(reader.get_metric_history(run.id, "loss")["step"])
                if seen == n or time.monotonic() > deadline:
                    break
                time.sleep(0.02)  # polling interval, not synchronisation
            visible_after = time.monotonic() - logged
            assert seen == n
            assert visible_after < 2.0, f"points became visible only after {visible_after:.2f} s"
            assert reader.get_run(run.id).status == "RUNNING"
        finally:
            reader.close()
        for i in range(n, 2 * n):
            mm.log_metric("loss", float(i))
    h = mm_store.get_metric_history(run.id, "loss")  # end_run wrote the rest
    assert np.array_equal(h["step"], np.arange(2 * n))
    assert np.array_equal(h["value"], np.arange(2 * n, dtype=float))


def test_bad_step_or_timestamp_is_refused_at_the_call_and_loses_nothing_else(
    mm_store: Store,
) -> None:
    """Metrics are buffered, but a point the store would refuse must be refused by ``log_metric``
    itself: otherwise the background writer rejects the whole batch it sits in, valid points too."""
    with mm.start_run() as run:
        for i in range(100):
            mm.log_metric("good", float(i))
        with pytest.raises(mm.InvalidInput):
            mm.log_metric("bad", 1.0, step=2**63)  # does not fit in 64 bits
        with pytest.raises(mm.InvalidInput):
            mm.log_metric("bad", 1.0, timestamp=-1)
        with pytest.raises(mm.InvalidInput):
            mm.log_metric("bad", 1.0, timestamp="soon")  # type: ignore[arg-type]
        with pytest.raises(mm.InvalidInput):
            mm.log_metrics({"bad": 1.0}, step=-(2**63) - 1)
        mm.log_metric("good", 100.0)
    h = mm_store.get_metric_history(run.id, "good")
    assert np.array_equal(h["value"], np.arange(101, dtype=float))
    assert mm.get_run(run.id).metrics == {"good": 100.0}
    assert mm.get_run(run.id).status == "FINISHED"


def test_text_no_database_can_store_is_refused_by_the_api(mm_store: Store) -> None:
    """A lone UTF-16 surrogate (what a JSON "\\ud800" escape or a surrogateescape'd file name
    yields) is a clear InvalidInput at the call, not a UnicodeEncodeError at the write."""
    lone = "\ud800"
    with mm.start_run() as run:
        for call in (
            lambda: mm.log_param("p", "a" + lone),
            lambda: mm.set_tag("t", lone),
            lambda: mm.log_artifact(b"x", name=f"f{lone}.txt"),
        ):
            with pytest.raises(mm.InvalidInput, match="lone UTF-16 surrogate"):
                call()
        with pytest.raises(mm.InvalidInput, match="lone UTF-16 surrogate"):
            mm.start_run(name=lone, nested=True)
    got = mm_store.get_run(run.id)
    assert got.params == {} and "t" not in got.tags and got.status == "FINISHED"
    assert mm_store.list_artifacts(run.id) == []
