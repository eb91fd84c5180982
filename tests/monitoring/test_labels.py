"""Current data through ``mm`` on a real store: batch scores logged into the prediction log's own
Parquet layout, labels joined by id (late, duplicate, unknown), ``mm.drift`` over a window of the
log, measured and estimated performance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.client import tracking
from jupyter_mm.errors import InvalidInput, NotFound

linear = pytest.importorskip("sklearn.linear_model")
metrics = pytest.importorskip("sklearn.metrics")

DAY0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def sqlite_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("MM_TRACKING_URI", raising=False)
    monkeypatch.setenv("MM_USER", "ana")
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "blobs"))
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    mm.set_tracking_uri(str(tmp_path / "store"))
    try:
        yield str(tmp_path / "store")
    finally:
        while mm.active_run() is not None:
            mm.end_run()
        mm.set_tracking_uri(None)


def _data(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"income": rng.normal(50 + shift * 10, 10, n),
                         "age": rng.integers(18, 80, n).astype(float)})  # fmt: skip


def _outcomes(clf: object, X: pd.DataFrame, seed: int) -> np.ndarray:
    """Labels drawn from the model's own probabilities: its scores are calibrated."""
    p = clf.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
    return (np.random.default_rng(seed).random(len(X)) < p).astype(int)


def _model(name: str = "credit") -> object:
    X = _data(4000, 0)
    rng = np.random.default_rng(1)
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-(X["income"] - 50) / 5))).astype(int)
    with mm.start_run():
        clf = linear.LogisticRegression().fit(X, y)
        info = mm.log_model(clf, "scorer")
    mm.register_model(info, name, reference=X, reference_scores=clf.predict_proba(X)[:, 1])
    return clf


def test_logged_batches_and_drift_round_trip(mm_uri: str) -> None:
    clf = _model()
    same, moved = _data(3000, 2), _data(3000, 3, shift=1.0)
    ids = [f"loan-{i}" for i in range(3000)]
    out = mm.log_predictions("credit", 1, same, clf.predict_proba(same), ids=ids,
                             at=DAY0 - dt.timedelta(days=10))  # fmt: skip
    assert out == {"request_id": None, "rows": 3000, "version": 1}
    batch = mm.log_predictions("credit", 1, moved, clf.predict_proba(moved)[:, 1], at=DAY0)
    assert batch["request_id"].startswith("batch-")
    logged = mm.predictions("credit", 1)  # the server's reader reads them: one layout
    assert len(logged) == 6000
    assert logged["request_id"].iloc[0] == "loan-0" and set(logged["row"].iloc[:3000]) == {0}
    assert logged["row"].iloc[3000:].tolist() == list(range(3000))
    assert logged["sampling_rate"].eq(1.0).all()
    # the window holds only the moved batch: income drifts, age does not, and the score moves
    d = mm.drift("credit", window="7d", end=DAY0)
    assert d.attrs["rows"] == 3000 and d.attrs["compared"] == 3000
    by = d.set_index("feature")
    assert by.loc["income", "band"] == "drift" and by.loc["age", "band"] == "ok"
    assert by.loc["__score__", "band"] == "drift"
    assert d.attrs["status"] == "drift" and d.attrs["drifted"]
    # ten days earlier: the unshifted batch, no drift; the evidently preset reads the same rows
    calm = mm.drift("credit", 1, window="2d", end=DAY0 - dt.timedelta(days=9))
    assert calm.attrs["status"] == "ok" and calm.attrs["rows"] == 3000
    ev = mm.drift("credit", window="7d", end=DAY0, preset="evidently-compatible")
    assert ev.set_index("feature").loc["income", "drifted"]
    # a window with too few rows says so and does not alarm
    few = mm.drift("credit", window="7d", end=DAY0 + dt.timedelta(days=30))
    assert few.attrs["status"] == "too_few_rows" and not few.attrs["drifted"]
    assert set(few["band"]) == {"too few rows"} and few["n_current"].eq(0).all()
    # above max_rows, a uniform sample is compared, and the result says so
    sampled = mm.drift("credit", window="7d", end=DAY0, max_rows=1000)
    assert sampled.attrs["rows"] == 3000 and 800 < sampled.attrs["compared"] < 1200
    assert any("sample" in n for n in sampled.attrs["notes"])


def test_bad_batches_write_nothing(sqlite_uri: str, tmp_path: Path) -> None:
    clf = _model()
    X = _data(10, 4)
    with pytest.raises(InvalidInput, match="one output per input row"):
        mm.log_predictions("credit", 1, X, clf.predict_proba(X)[:5])
    with pytest.raises(InvalidInput, match="unique"):
        mm.log_predictions("credit", 1, X, clf.predict_proba(X), ids=["a"] * 10)
    with pytest.raises(InvalidInput, match="one id per input row"):
        mm.log_predictions("credit", 1, X, clf.predict_proba(X), ids=["a", "b"])
    with pytest.raises(NotFound):
        mm.log_predictions("credit", 7, X, clf.predict_proba(X))
    with pytest.raises(InvalidInput, match="one label per id"):
        mm.log_labels("credit", ["a", "b"], [1])
    with pytest.raises(InvalidInput, match="missing"):
        mm.log_labels("credit", ["a", "b"], [1, None])
    assert len(mm.predictions("credit")) == 0
    assert not (tmp_path / "blobs" / "labels").exists()


def test_labels_join_late_duplicate_and_unknown_ids(sqlite_uri: str) -> None:
    clf = _model()
    X = _data(2000, 5)
    ids = [f"loan-{i}" for i in range(2000)]
    mm.log_predictions("credit", 1, X, clf.predict_proba(X), ids=ids, at=DAY0)
    y = _outcomes(clf, X, 6)
    # late: the outcomes arrive 90 days after the scoring, in two deliveries
    mm.log_labels("credit", ids[:1000], y[:1000], at=DAY0 + dt.timedelta(days=90))
    mm.log_labels("credit", ids[1000:], y[1000:], at=DAY0 + dt.timedelta(days=91))
    # a duplicate: loan-0's label corrected (the last recorded wins); and two unknown ids
    mm.log_labels("credit", ["loan-0", "nobody", "nobody-else"], [1 - y[0], 1, 0])
    lab = mm.labels("credit").set_index("request_id")
    assert lab.loc["loan-0", "label"] == 1 - y[0] and lab.loc["loan-0", "duplicates"] == 1
    assert not lab.loc["nobody", "matched"] and lab.loc["loan-5", "matched"]
    assert len(lab) == 2002  # unknown ids kept
    perf = mm.performance("credit", window="1d", end=DAY0 + dt.timedelta(hours=1))
    assert perf.attrs["unmatched_labels"] == 2 and perf.attrs["labelled"] == 2000
    row = perf.iloc[0]
    assert row["kind"] == "measured" and row["n"] == 2000
    truth = y.copy()
    truth[0] = 1 - y[0]
    p = clf.predict_proba(X)[:, 1]
    assert row["auc"] == pytest.approx(metrics.roc_auc_score(truth, p))
    assert row["f1"] == pytest.approx(metrics.f1_score(truth, (p >= 0.5).astype(int)))


def test_labels_by_request_id_and_row(sqlite_uri: str) -> None:
    clf = _model()
    X = _data(4, 7)
    rid = mm.log_predictions("credit", 1, X, clf.predict_proba(X)[:, 1], at=DAY0)["request_id"]
    mm.log_labels("credit", [(rid, 3), (rid, 1)], [1, 0])
    mm.log_labels("credit", pd.DataFrame({"request_id": [rid], "row": [0]}), [1])
    lab = mm.labels("credit").sort_values("row")
    assert lab["row"].tolist() == [0, 1, 3] and lab["matched"].all()
    assert lab["label"].tolist() == [1, 0, 1]
    perf = mm.performance("credit", window="1d", end=DAY0)
    assert perf["n"].sum() == 3


def test_estimated_performance_checked_on_the_labelled_log(sqlite_uri: str) -> None:
    clf = _model()
    old = _data(4000, 8)
    mm.log_predictions("credit", 1, old, clf.predict_proba(old),
                       ids=[f"o{i}" for i in range(4000)], at=DAY0)  # fmt: skip
    mm.log_labels("credit", [f"o{i}" for i in range(4000)], _outcomes(clf, old, 9))
    new = _data(5000, 10, shift=0.5)  # no labels yet
    mm.log_predictions("credit", 1, new, clf.predict_proba(new), at=DAY0 + dt.timedelta(days=3))
    est = mm.estimate_performance("credit", window="1d", end=DAY0 + dt.timedelta(days=3))
    assert len(est) == 1 and est["kind"].eq("estimate").all() and est["n"].iloc[0] == 5000
    realised = _outcomes(clf, new, 11)
    real_auc = metrics.roc_auc_score(realised, clf.predict_proba(new)[:, 1])
    assert abs(est["auc"].iloc[0] - real_auc) <= max(3 * est["auc_sd"].iloc[0], 0.01)
    assert est.attrs["calibration_source"] == "labelled log"
    # scores that are not probabilities of the outcome are refused, with the reason
    ref = clf.predict_proba(old)[:, 1]
    with pytest.raises(InvalidInput, match="not calibrated"):
        mm.estimate_performance("credit", window="1d", end=DAY0 + dt.timedelta(days=3),
                                reference_scores=ref, reference_labels=(ref > 0.5).astype(int))  # fmt: skip


def test_a_full_disk_is_store_full_and_leaves_no_part(sqlite_uri: str, tmp_path: Path) -> None:
    from jupyter_mm.errors import StoreFull
    from tests.support.tmpfs import small_disk

    with small_disk(tmp_path / "blobs") as disk:
        clf = _model()
        X = _data(2000, 5)
        disk.fill()
        with pytest.raises(StoreFull) as e:
            mm.log_predictions("credit", 1, X, clf.predict_proba(X)[:, 1], ids=range(2000))
        assert e.value.details["location"] == "artifacts"
        with pytest.raises(StoreFull):
            mm.log_labels("credit", list(range(2000)), [1] * 2000)
        assert disk.files("*.parquet") == [] and disk.files(".part-*") == []
        disk.free()  # the same calls go through once there is room again
        mm.log_predictions("credit", 1, X, clf.predict_proba(X)[:, 1], ids=range(2000))
        assert mm.log_labels("credit", list(range(2000)), [1] * 2000) == 2000
        assert len(mm.predictions("credit")) == 2000
