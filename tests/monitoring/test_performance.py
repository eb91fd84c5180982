"""Performance metrics against sklearn/scipy on random data, and CBPE (performance estimated from
calibrated scores) against the performance realised when labels are drawn from those scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jupyter_mm.errors import InvalidInput
from jupyter_mm.monitoring import performance as perf

metrics = pytest.importorskip("sklearn.metrics")


def _scores(n: int, seed: int, a: float = 2.0, b: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated scores: each row is a positive with probability its score."""
    rng = np.random.default_rng(seed)
    s = rng.beta(a, b, n)
    return s, (rng.random(n) < s).astype(int)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_match_sklearn_and_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5000
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(y * 0.7, 1.0), 1)  # rounded: many tied scores
    assert perf.auc(y, s) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
    assert perf.gini(y, s) == pytest.approx(2 * metrics.roc_auc_score(y, s) - 1, abs=1e-12)
    assert perf.ks_score(y, s) == pytest.approx(stats.ks_2samp(s[y == 1], s[y == 0]).statistic)
    pred = (s >= 0.35).astype(int)
    got = perf.classification_metrics(y, pred)
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred))
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred))


def test_multiclass_and_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 3000)
    p = np.where(rng.random(3000) < 0.6, y, rng.integers(0, 4, 3000))
    got = perf.classification_metrics(y, p)
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, p))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, p, average="macro"))
    t = rng.normal(100, 20, 3000)
    f = t + rng.normal(0, 5, 3000)
    reg = perf.regression_metrics(t, f)
    assert reg["mae"] == pytest.approx(metrics.mean_absolute_error(t, f))
    assert reg["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(t, f)))
    assert perf.measure(t, f)["task"] == "regression"
    assert perf.measure(y, p)["task"] == "classification"


def test_calibration_by_band_by_hand() -> None:
    y = [0, 0, 1, 1, 1, 0]
    s = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    t = perf.calibration_table(y, s, edges=[0.5])
    assert t["n"].tolist() == [3, 3]
    assert t["bads"].tolist() == [1, 2]
    assert t["bad_rate"].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert t["mean_score"].tolist() == pytest.approx([0.2, 0.8])
    assert perf.auc([0, 1], [0.5, 0.5]) == 0.5
    assert np.isnan(perf.auc([1, 1], [0.2, 0.3]))  # one class: no AUC, not an error


def test_over_time_buckets_by_day() -> None:
    s, y = _scores(4000, 4)
    ts = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(np.arange(4000) % 2, unit="D")
    frame = pd.DataFrame({"ts": ts, "label": y, "output": s})
    out = perf.over_time(frame)
    assert out["n"].tolist() == [2000, 2000]
    assert (out["kind"] == "measured").all()
    first = frame[frame["ts"] == ts[0]]
    assert out["auc"].iloc[0] == pytest.approx(
        metrics.roc_auc_score(first["label"], first["output"])
    )


# --------------------------------------------------------------------------- CBPE


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_cbpe_estimates_realised_performance_of_calibrated_scores(seed: int) -> None:
    """Tolerance: the estimate is within 3 of its own sampling spreads (``*_sd``) of the realised
    value, and within 0.02 absolute, on 20,000 current rows whose score distribution moved."""
    ref_s, ref_y = _scores(20_000, seed)
    cal = perf.check_calibration(ref_y, ref_s)
    assert cal.calibrated, cal.reason
    cur_s, cur_y = _scores(20_000, seed + 100, a=3.0, b=4.0)  # drifted, still calibrated
    est = perf.estimate(cur_s, cal, threshold=0.5)
    assert est["kind"] == "estimate"
    real_auc = metrics.roc_auc_score(cur_y, cur_s)
    assert abs(est["auc"] - real_auc) <= max(3 * est["auc_sd"], 1e-3)
    assert abs(est["auc"] - real_auc) < 0.02
    pred = (cur_s >= 0.5).astype(int)
    assert abs(est["accuracy"] - metrics.accuracy_score(cur_y, pred)) <= 3 * est["accuracy_sd"]
    assert abs(est["f1"] - metrics.f1_score(cur_y, pred)) <= 3 * est["f1_sd"]
    tn, fp, fn, tp = metrics.confusion_matrix(cur_y, pred).ravel()
    for k, real in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items():
        assert abs(est[k] - real) <= 0.02 * len(cur_s), k


def test_cbpe_refuses_uncalibrated_scores() -> None:
    s, y = _scores(20_000, 5)
    logit = np.log(s / (1 - s))
    overconfident = 1 / (1 + np.exp(-3 * logit))  # ranks kept, probabilities wrong
    cal = perf.check_calibration(y, overconfident)
    assert not cal.calibrated
    assert cal.ece - cal.noise > perf.MAX_ECE
    with pytest.raises(InvalidInput, match="not calibrated"):
        perf.estimate(overconfident, cal)
    # a shifted probability scale is refused too; the calibrated originals pass on the same rows
    assert not perf.check_calibration(y, np.clip(s + 0.1, 0, 1)).calibrated
    assert perf.check_calibration(y, s).calibrated


def test_calibration_needs_enough_labelled_rows_and_probabilities() -> None:
    s, y = _scores(100, 6)
    cal = perf.check_calibration(y, s)
    assert not cal.calibrated and "at least" in cal.reason
    s, y = _scores(2000, 7)
    assert "outside [0, 1]" in perf.check_calibration(y, s * 3).reason
