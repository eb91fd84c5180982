"""mm.check_reproducible on real tracked notebooks, its evidence, and require_reproduced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from tests.loop.conftest import only_run, track_notebook

TRAIN = (
    "%%track {name} {seed}\n"
    "import numpy as np\n"
    "from sklearn.linear_model import LinearRegression\n"
    "X = np.random.rand(40, 2)\n"
    "y = X @ [1.0, 2.0] + np.random.rand(40) * {noise}\n"
    "model = LinearRegression().fit(X, y)\n"
    "mm.log_metric('r2', model.score(X, y))\n"
    "mm.log_model(model, 'model', input_example=X[:5])"
)


def _registered(tmp_path: Path, store_dir: Path, name: str, seed: str) -> str:
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm", TRAIN.format(name=name, seed=seed, noise=0.5),
    ])  # fmt: skip
    run = only_run(store_dir, name)
    mm.register_model(f"runs:/{run.id}/models/model", name)
    return run.id


def test_a_seeded_notebook_reproduces_and_the_evidence_is_kept(
    tmp_path: Path, store_dir: Path
) -> None:
    run_id = _registered(tmp_path, store_dir, "seeded", "--seed 7")
    summary = mm.check_reproducible("seeded", 1, tolerance=1e-9, timeout=120)
    assert summary["passed"] is True, summary
    assert summary["source_run_id"] == run_id and summary["predictions_sample"] == "input example"
    found = mm.reproducibility("seeded", 1)
    assert found is not None and found["details"]["metrics"][0]["key"] == "r2"
    assert found["details"]["predictions"]["within_tolerance"] is True
    with Store.open(str(store_dir)) as st:
        audit = [e for e in st.audit_log("seeded") if e.action == "version.tag_set"]
        assert "mm.reproducibility" in audit[-1].after
    card = mm.model_card("seeded", 1)
    assert "## Reproducibility" in card and "Verdict: passed" in card
    assert "Reproducibility" in mm.model_card("seeded", 1, format="html")


def test_unseeded_randomness_fails_and_require_reproduced_governs_approval(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _registered(tmp_path, store_dir, "unseeded", "")
    mm.set_registry_policy(name="unseeded", require_reproduced=True)
    assert mm.registry_policy("unseeded").require_reproduced is True
    mm.request_approval("unseeded", 1)
    monkeypatch.setenv("MM_USER", "bob")
    with pytest.raises(mm.PolicyViolation, match="reproducibility check.*has not been run"):
        mm.approve("unseeded", 1, comment="looks fine")

    summary = mm.check_reproducible("unseeded", 1, timeout=120)
    assert summary["passed"] is False
    assert any(p.startswith("metric r2") for p in summary["problems"]), summary
    with pytest.raises(mm.PolicyViolation, match="its check failed"):
        mm.approve("unseeded", 1, comment="looks fine")
    details = mm.reproducibility("unseeded", 1)["details"]  # type: ignore[index]
    assert details["predictions"]["within_tolerance"] is False

    # a generous tolerance passes, and approval is then allowed
    assert mm.check_reproducible("unseeded", 1, tolerance=1e6, timeout=120)["passed"] is True
    assert mm.approve("unseeded", 1, comment="reproduced").approval.status == "Approved"
    tags = json.loads(mm.versions("unseeded")[0].tags["mm.reproducibility"])
    assert tags["passed"] is True and len(tags["details"]) == 64
