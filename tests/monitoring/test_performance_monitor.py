"""Performance monitors: a window's performance measured from its labels, estimated (CBPE) from
calibrated scores when labels have not arrived, unknown (with the reason) when the reference's
scores are not calibrated; ``performance_crossed`` once per crossing into degraded."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput
from jupyter_mm.monitoring import monitors as mon
from jupyter_mm.monitoring.profile import build_profile
from tests.monitoring.monitor_data import T0, features, labelled_model
from tests.monitoring.monitor_data import calibrated_scores as _scores
from tests.monitoring.monitor_data import log_scored as _log

RULE = {"metric": "auc", "min": 0.7}
PLAIN = mon.Monitor(model="credit", id="champion", window="1h", min_rows=100)


@pytest.fixture
def store(mm_uri: str) -> Store:
    from jupyter_mm.client.registry import _store

    st = _store(True)
    assert isinstance(st, Store)
    return st


def _define(store: Store, rule: dict[str, object] = RULE) -> mon.Monitor:
    return mon.define(store, replace(PLAIN, performance=rule), actor="ana")


def test_reference_labels_keep_its_performance_and_calibration() -> None:
    s, y = _scores(4000, 1.5, seed=0)
    perf = build_profile(features(4000), s, labels=y).performance
    assert perf is not None and perf["n"] == 4000
    assert 0.75 < perf["auc"] < 0.85 and perf["calibration"]["calibrated"] is True
    json.dumps(perf, allow_nan=False)
    halved = (np.random.default_rng(9).random(s.size) < s / 2).astype(int)
    skewed = build_profile(features(4000), s, labels=halved)
    assert skewed.performance is not None
    assert skewed.performance["calibration"]["calibrated"] is False
    assert "not calibrated" in skewed.performance["calibration"]["reason"]
    assert build_profile(features(10), s[:10]).performance is None
    with pytest.raises(InvalidInput, match="scores"):
        build_profile(features(10), labels=y[:10])
    with pytest.raises(InvalidInput, match="one value per reference row"):
        build_profile(features(10), s[:10], labels=y[:9])
    with pytest.raises(InvalidInput, match="0/1"):
        build_profile(features(10), s[:10], labels=np.arange(10))


def test_realised_degrade_is_measured_from_the_windows_labels(store: Store) -> None:
    labelled_model(store)
    m = _define(store, {"metric": "auc", "max_drop": 0.1})
    s, y = _scores(800, 1.5, seed=2)
    _log(store, T0, s, y)
    ok = mon.evaluate(store, m, T0 + 60)
    assert ok.performance is not None and ok.performance["status"] == "ok"
    assert ok.performance["estimated"] is False and ok.performance["labelled_rows"] == 800
    assert ok.performance["threshold"] == pytest.approx(ok.performance["reference"] - 0.1)
    # an hour later the outcomes no longer follow the scores: the AUC falls to ~0.5
    s2, _ = _scores(800, 1.5, seed=3)
    _log(store, T0 + 3600, s2, np.random.default_rng(4).integers(0, 2, 800))
    bad = mon.evaluate(store, m, T0 + 3660)
    p = bad.performance
    assert p is not None and p["status"] == "degraded" and p["degraded"] and not p["estimated"]
    assert p["value"] < 0.6 and bad.performance_crossed and not ok.performance_crossed
    run = store.get_run(bad.run_id)
    assert run.tags[mon.TAG_PERFORMANCE] == "degraded"
    history = store.get_metric_history(bad.run_id, "performance/auc")
    assert list(history["step"]) == [1, 2] and history["value"][1] == pytest.approx(p["value"])
    assert "performance/auc_estimated" not in store.metric_keys(bad.run_id)
    # the drift status is left as it was: the window's inputs did not move
    assert run.tags[mon.TAG_STATUS] == "ok"


def test_without_labels_calibrated_scores_are_estimated_and_say_so(store: Store) -> None:
    labelled_model(store)
    m = _define(store)
    s, _ = _scores(1000, 1.5, seed=5)
    _log(store, T0, s)  # no labels yet
    ok = mon.evaluate(store, m, T0 + 60)
    assert ok.performance is not None and ok.performance["status"] == "ok"
    assert ok.performance["estimated"] is True and ok.performance["labelled_rows"] == 0
    assert 0.75 < ok.performance["value"] < 0.85 and ok.performance["sd"] > 0
    assert any("estimated" in n and "not measured" in n for n in ok.performance["notes"])
    # the scores flatten (the model no longer separates): the expected AUC falls under 0.7
    flat, _ = _scores(1000, 0.4, seed=6)
    _log(store, T0 + 3600, flat)
    bad = mon.evaluate(store, m, T0 + 3660)
    assert bad.performance is not None and bad.performance["status"] == "degraded"
    assert bad.performance["estimated"] is True and bad.performance["value"] < 0.7
    assert bad.performance_crossed
    history = store.get_metric_history(bad.run_id, "performance/auc_estimated")
    assert list(history["step"]) == [1, 2]
    assert "performance/auc" not in store.metric_keys(bad.run_id)


def test_uncalibrated_reference_gives_unknown_with_the_reason(store: Store) -> None:
    labelled_model(store, calibrated=False)
    m = _define(store)
    flat, _ = _scores(1000, 0.4, seed=6)
    _log(store, T0, flat)
    ev = mon.evaluate(store, m, T0 + 60)
    p = ev.performance
    assert p is not None and p["status"] == "unknown" and p["value"] is None
    assert not p["degraded"] and not ev.performance_crossed
    assert any("not calibrated" in n for n in p["notes"])
    assert store.get_run(ev.run_id).tags[mon.TAG_PERFORMANCE] == "unknown"
    assert not [k for k in store.metric_keys(ev.run_id) if k.startswith("performance/auc")]


def test_recovery_then_a_second_crossing_crosses_again(store: Store) -> None:
    labelled_model(store)
    m = _define(store)
    good, _ = _scores(1000, 1.5, seed=7)
    flat, _ = _scores(1000, 0.4, seed=8)
    crossed, statuses = [], []
    for k, s in enumerate([good, flat, flat, None, good, flat]):
        ts = T0 + 3600 * k
        if s is not None:
            _log(store, ts, s)
        ev = mon.evaluate(store, m, ts + 60)
        assert ev.performance is not None
        statuses.append(ev.performance["status"])
        crossed.append(ev.performance_crossed)
    # an empty window (too few rows) is unknown and keeps the last conclusive state
    assert statuses == ["ok", "degraded", "degraded", "unknown", "ok", "degraded"]
    assert crossed == [False, True, False, False, False, True]


def test_bad_rules_are_refused_and_write_nothing(store: Store) -> None:
    labelled_model(store)
    bad: list[object] = [
        "auc", {"metric": "auc"}, {"metric": "lift", "min": 0.7}, {"metric": "auc", "min": 1.5},
        {"metric": "auc", "min": "high"}, {"metric": "auc", "max_drop": 0},
        {"metric": "auc", "min": 0.7, "min_labels": 0}, {"metric": "auc", "min": 0.7, "floor": 1},
        {"metric": "auc", "min": float("nan")}, {"metric": "auc", "min": True},
    ]  # fmt: skip
    for rule in bad:
        with pytest.raises(InvalidInput, match="performance"):
            _define(store, rule)  # type: ignore[arg-type]
    assert mon.list_monitors(store, "credit") == []


def test_drift_only_monitors_keep_their_tag_and_older_tags_still_read(store: Store) -> None:
    labelled_model(store)
    plain = mon.define(store, PLAIN, actor="ana")
    assert "performance" not in json.loads(plain.to_json())
    old = json.dumps({"alias": "champion", "window": "1h", "every": "1h", "preset": "bank",
                      "thresholds": {}, "min_rows": 100})  # fmt: skip
    assert mon.Monitor.from_tag("credit", "mm.monitor.old", old).performance is None
    s, _ = _scores(200, 1.5, seed=1)
    _log(store, T0, s)
    ev = mon.evaluate(store, plain, T0 + 60)
    assert ev.performance is None and not ev.performance_crossed
    assert mon.TAG_PERFORMANCE not in store.get_run(ev.run_id).tags
    watched = _define(store, {"metric": "gini", "min": 0.3})
    got = mon.get_monitor(store, "credit", "champion").performance
    assert got == watched.performance == {"metric": "gini", "min": 0.3, "min_labels": 100}


def test_a_reference_without_labels_cannot_estimate(store: Store) -> None:
    run = store.create_run("0", name="train")
    store.create_registered_model("credit", actor="ana")
    store.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")
    store.set_registered_model_alias("credit", "champion", 1, actor="ana")
    s, _ = _scores(2000, 1.5, seed=0)
    store.set_reference_profile("credit", 1, build_profile(features(2000), s).doc, actor="ana")
    m = _define(store, {"metric": "auc", "min": 0.7, "max_drop": 0.05})
    _log(store, T0, _scores(500, 1.5, seed=1)[0])
    p = mon.evaluate(store, m, T0 + 60).performance
    assert p is not None and p["status"] == "unknown" and p["reference"] is None
    assert p["threshold"] == 0.7
    assert any("max_drop is not judged" in n for n in p["notes"])
    assert any("no labels" in n for n in p["notes"])
