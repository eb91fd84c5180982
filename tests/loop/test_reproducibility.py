"""mm.check_reproducible on real tracked notebooks, its evidence, and require_reproduced."""

from __future__ import annotations

import json
import os
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


def test_a_notebook_that_reads_the_clock_fails_naming_the_metric(
    tmp_path: Path, store_dir: Path
) -> None:
    # seeded, so the model reproduces; only the metric computed from the clock cannot
    # the second within the minute: two reads differ far beyond the relative tolerance (of the
    # full epoch time, 1e-9 would still allow 1.7 s)
    clock = TRAIN + "\nimport time\nmm.log_metric('trained_at', time.time() % 60)"
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm", clock.format(name="clocked", seed="--seed 7", noise=0.5),
    ])  # fmt: skip
    mm.register_model(f"runs:/{only_run(store_dir, 'clocked').id}/models/model", "clocked")

    summary = mm.check_reproducible("clocked", 1, timeout=120)

    assert summary["passed"] is False
    assert [p.split(":")[0] for p in summary["problems"]] == ["metric trained_at"], summary
    details = mm.reproducibility("clocked", 1)["details"]  # type: ignore[index]
    rows = {r["key"]: r for r in details["metrics"]}
    assert rows["r2"]["within_tolerance"] is True
    assert rows["trained_at"]["within_tolerance"] is False
    assert rows["trained_at"]["rerun"] != rows["trained_at"]["original"]
    assert details["predictions"]["within_tolerance"] is True  # the model itself reproduced


EVALUATED = (
    "%%track {name} --seed 7\n"
    "import numpy as np, pandas as pd\n"
    "from sklearn.linear_model import LinearRegression\n"
    "X = pd.DataFrame(np.random.rand(40, 2), columns=['a', 'b'])\n"
    "y = X['a'] + 2 * X['b']\n"
    "model = LinearRegression().fit(X, y)\n"
    "mm.log_dataset({csv!r}, 'holdout', context='evaluation')\n"
    "mm.log_model(model, 'model', input_example=X[:5])"
)


def test_predictions_are_compared_on_the_reference_sample_else_the_evaluation_dataset(
    tmp_path: Path, store_dir: Path
) -> None:
    import numpy as np
    import pandas as pd

    csv = tmp_path / "holdout.csv"
    holdout = pd.DataFrame(np.random.default_rng(3).random((25, 2)), columns=["a", "b"])
    holdout.to_csv(csv, index=False)
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm", EVALUATED.format(name="evaluated", csv=str(csv)),
    ])  # fmt: skip
    # a reference profile of other data (registering would otherwise freeze the evaluation
    # dataset as the reference): the run's logged evaluation dataset, read back from its file
    other = pd.DataFrame(np.random.default_rng(4).random((30, 2)), columns=["a", "b"])
    mm.register_model(
        f"runs:/{only_run(store_dir, 'evaluated').id}/models/model", "evaluated", reference=other
    )
    summary = mm.check_reproducible("evaluated", 1, timeout=120)
    assert summary["passed"] is True and summary["predictions_sample"] == "evaluation dataset"
    preds = mm.reproducibility("evaluated", 1)["details"]["predictions"]  # type: ignore[index]
    assert preds["sample"] == "evaluation dataset" and preds["rows"] == 25

    # a reference profile of that same data (its digest): the reference sample
    mm.set_reference("evaluated", 1)
    summary = mm.check_reproducible("evaluated", 1, timeout=120)
    assert summary["passed"] is True and summary["predictions_sample"] == "reference sample"
    preds = mm.reproducibility("evaluated", 1)["details"]["predictions"]  # type: ignore[index]
    assert preds == {"compared": True, "sample": "reference sample", "rows": 25,
                     "max_abs_diff": preds["max_abs_diff"], "within_tolerance": True}  # fmt: skip
    assert "reference sample" in mm.model_card("evaluated", 1)


def _distribution(site: Path, version: str) -> None:
    """A real (tiny) installed distribution ``mmprobe`` at ``version`` in ``site``, replacing any
    other version there, as pip leaves it: the module and its ``.dist-info``."""
    import shutil

    for old in site.glob("mmprobe-*.dist-info"):
        shutil.rmtree(old)
    info = site / f"mmprobe-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mmprobe\nVersion: {version}\n")
    (info / "top_level.txt").write_text("mmprobe\n")
    (site / "mmprobe").mkdir(exist_ok=True)
    (site / "mmprobe" / "__init__.py").write_text(f"__version__ = {version!r}\n")


def test_a_package_upgraded_since_the_run_is_an_environment_difference_of_the_check(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _distribution(site, "1.0")
    path = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))  # the kernels' and the re-run's
    track_notebook(tmp_path, store_dir, [
        "%load_ext jupyter_mm", "import mmprobe",
        TRAIN.format(name="upgraded", seed="--seed 7", noise=0.5),
    ])  # fmt: skip
    mm.register_model(f"runs:/{only_run(store_dir, 'upgraded').id}/models/model", "upgraded")
    _distribution(site, "2.0")  # upgraded before the check's re-run

    summary = mm.check_reproducible("upgraded", 1, timeout=120)

    assert summary["passed"] is True, summary  # reported, not a failure
    details = mm.reproducibility("upgraded", 1)["details"]  # type: ignore[index]
    rows = {r["key"]: (r["a"], r["b"], r["change"]) for r in details["environment"]}
    assert rows["packages.mmprobe"] == ("1.0", "2.0", "changed"), rows
    assert rows["imported.mmprobe"] == ("1.0", "2.0", "changed")
    assert summary["environment_differences"] == len(details["environment"]) >= 2
    assert f"Environment differences: {len(rows)}" in mm.model_card("upgraded", 1)
