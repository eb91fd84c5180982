"""Reference profiles stored with their version through ``mm`` on a real SQLite file and a real
PostgreSQL server: content-addressed, audited, read back without the data, refused cleanly."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.client import backend
from jupyter_mm.core.registry.reference import REFERENCE_TAG
from jupyter_mm.errors import IntegrityError, InvalidInput, NotFound
from jupyter_mm.monitoring import build_profile
from jupyter_mm.monitoring import profile as profile_module
from tests.monitoring.monitor_data import undated

linear = pytest.importorskip("sklearn.linear_model")


def _data(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"income": rng.normal(50, 10, n), "age": rng.integers(18, 80, n),
                         "region": rng.choice(["N", "S"], n)})  # fmt: skip


def _logged_model(valid: pd.DataFrame, csv: Path | None = None) -> tuple[object, object]:
    X = valid[["income", "age"]].to_numpy()
    y = (X[:, 0] > 50).astype(int)
    with mm.start_run():
        if csv is not None:
            mm.log_dataset(str(csv), "valid", context="validation")
        clf = linear.LogisticRegression().fit(X, y)
        info = mm.log_model(clf, "scorer")
    return info, clf


def test_register_with_reference_stores_an_audited_content_addressed_profile(
    mm_uri: str,
) -> None:
    valid = _data()
    info, clf = _logged_model(valid)
    scores = clf.predict_proba(valid[["income", "age"]].to_numpy())  # type: ignore[attr-defined]
    v = mm.register_model(info, "credit", reference=valid, reference_scores=scores)
    digest = v.tags[REFERENCE_TAG]
    store = backend.get_store()
    raw = store.blobs.get_bytes(digest)
    assert hashlib.sha256(raw).hexdigest() == digest
    prof = mm.reference_profile("credit", v.version)
    assert prof.rows == 2000 and set(prof.features) == {"income", "age", "region"}
    assert prof.score is not None and prof.score["count"] == 2000
    entries = [e for e in mm.audit_log("credit") if e.action == "version.tag_set"]
    assert [(e.actor, e.version, e.after) for e in entries] == [("ana", 1, {REFERENCE_TAG: digest})]
    # comparing needs only the profile: the reference data can be gone
    del valid
    res = mm.check_drift("credit", 1, _data(5000, seed=1))
    assert res.status == "ok" and res.n_reference == 2000
    assert mm.verify_audit().ok


def test_set_reference_replaces_audited_and_defaults_to_the_evaluation_file(
    mm_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    valid = _data()
    csv = tmp_path / "valid.csv"
    valid.to_csv(csv, index=False)
    info, _ = _logged_model(valid, csv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: the CSV reads back
        v = mm.register_model(info, "credit")  # frozen with the logged validation CSV
    first = mm.reference_profile("credit", v.version)
    assert first.rows == 2000 and set(first.features) == {"income", "age", "region"}
    assert undated(first.doc) == undated(build_profile(pd.read_csv(csv)).doc)
    # the same file, read back again a day later: nothing changes, not even the stamp
    monkeypatch.setattr(profile_module, "_now", lambda: "2099-01-01T00:00:00Z")
    assert mm.set_reference("credit", v.version) == first
    second = mm.set_reference("credit", v.version, _data(3000, seed=5), comment="refreshed")
    assert mm.reference_profile("credit", v.version) == second
    tags = [e for e in mm.audit_log("credit") if e.action == "version.tag_set"]
    # the same profile again changed nothing, so only the default and the refresh are audited
    assert [e.comment for e in tags] == [
        "reference profile: the logged evaluation dataset",
        "refreshed",
    ]
    csv.write_text("income,age,region\n1,2,N\n")  # no longer the logged content
    with pytest.raises(InvalidInput, match="pass data="):
        mm.set_reference("credit", v.version)


def test_register_without_reference_warns_why_no_default_profile(
    mm_uri: str, tmp_path: Path
) -> None:
    """The default profile never fails a registration: an evaluation dataset that cannot be
    read back or profiled leaves the version without a profile and a warning saying why; a run
    that logged no evaluation dataset registers silently."""
    valid = _data()
    with mm.start_run():
        mm.log_dataset(valid, "valid", context="validation")  # from memory: only its digest
        info = mm.log_model(linear.LogisticRegression().fit(valid[["income"]], valid["age"] > 40),
                            "scorer")  # fmt: skip
    with pytest.warns(RuntimeWarning, match="version 1 was registered without a reference "
                      "profile .*dataset 'valid' was logged from pandas, not a file"):  # fmt: skip
        v = mm.register_model(info, "credit")
    assert v.version == 1 and REFERENCE_TAG not in v.tags
    with pytest.raises(NotFound, match="no reference profile"):
        mm.reference_profile("credit", 1)

    empty = tmp_path / "empty.csv"
    valid.iloc[:0].to_csv(empty, index=False)  # reads back, but there is nothing to profile
    info, _ = _logged_model(valid, empty)
    with pytest.warns(RuntimeWarning, match="version 2 was registered without a reference "
                      "profile .*empty"):  # fmt: skip
        v = mm.register_model(info, "credit")
    assert v.version == 2 and REFERENCE_TAG not in v.tags

    info, _ = _logged_model(valid)  # no evaluation dataset at all: nothing to say
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = mm.register_model(info, "credit")
    assert v.version == 3 and REFERENCE_TAG not in v.tags
    assert "version.tag_set" not in [e.action for e in mm.audit_log("credit")]


def test_bad_reference_writes_nothing(mm_uri: str) -> None:
    valid = _data()
    info, _ = _logged_model(valid)
    with pytest.raises(InvalidInput, match="empty"):
        mm.register_model(info, "credit", reference=valid.iloc[:0])
    with pytest.raises(NotFound):
        mm.versions("credit")  # the profile failed first: no model, no version
    v = mm.register_model(info, "credit")
    with pytest.raises(InvalidInput, match="one value per reference row"):
        mm.set_reference("credit", v.version, valid, scores=[0.5, 0.5])
    with pytest.raises(NotFound):
        mm.set_reference("credit", 9, valid)
    store = backend.get_store()
    with pytest.raises(InvalidInput, match="not a reference profile"):
        store.set_reference_profile("credit", 1, {"rows": 1}, actor="ana")
    assert REFERENCE_TAG not in store.get_model_version("credit", 1).tags
    assert [e.action for e in mm.audit_log("credit")] == ["model.created", "version.created"]


def test_thresholds_per_model_under_the_call(mm_uri: str) -> None:
    valid = _data()
    info, _ = _logged_model(valid)
    mm.register_model(info, "credit", reference=valid)
    cur = _data(4000, seed=2)
    cur["income"] += 2.5  # 0.25 sd: PSI about 0.06
    assert mm.check_drift("credit", 1, cur)["income"].band == "ok"
    mm.set_drift_thresholds("credit", {"income": {"threshold": 0.03, "warning": 0.01}})
    assert mm.drift_thresholds("credit") == {"income": {"threshold": 0.03, "warning": 0.01}}
    assert mm.check_drift("credit", 1, cur)["income"].band == "drift"
    assert mm.check_drift("credit", 1, cur, thresholds={"income": 0.9})["income"].band != "drift"
    with pytest.raises(InvalidInput):
        mm.set_drift_thresholds("credit", {"income": "high"})
    mm.set_drift_thresholds("credit", None)
    assert mm.drift_thresholds("credit") == {}


def test_a_lost_profile_blob_is_an_integrity_error(mm_uri: str, tmp_path: Path) -> None:
    valid = _data()
    info, _ = _logged_model(valid)
    v = mm.register_model(info, "credit", reference=valid)
    digest = v.tags[REFERENCE_TAG]
    for path in (tmp_path / "blobs").rglob(f"*{digest[2:]}"):  # sha256/ab/cdef...
        path.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        mm.reference_profile("credit", 1)
    repaired = mm.set_reference("credit", 1, valid)  # the same data again repairs it
    assert mm.reference_profile("credit", 1) == repaired
