"""The README's demo notebook (binder/demo.ipynb) runs from top to bottom in a real kernel."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from jupyter_mm.core.store import Store
from tests.notebook.support import client_for, outputs_text

DEMO = Path(__file__).resolve().parents[1] / "binder" / "demo.ipynb"


def test_the_demo_notebook_runs_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_dir = tmp_path / ".mm"
    for var in [v for v in os.environ if v.startswith("MM_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("MM_TRACKING_URI", str(store_dir))
    repo = str(DEMO.parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [repo, os.getenv("PYTHONPATH")])))
    nb = nbformat.read(DEMO, as_version=4)
    client = client_for(nb, tmp_path, timeout=180)
    client.allow_errors = False  # any failing cell fails the test, with its traceback
    client.execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    # the model registered in the demo loads back by alias and predicts [0.1, 0.95] like [0, 1]
    assert "array([0])" in outputs_text(code[-2])
    assert "True" in outputs_text(code[-1])  # the audit trail verifies
    with Store.open(str(store_dir)) as st:
        names = {r.name for r in st.search_runs(view="all", max_results=100)[0]}
        assert {"sgd-lr-0.3", "sgd-lr-0.1", "sgd-lr-0.03", "tracked-sgd", "credit-model"} <= names
        assert st.get_model_version_by_alias("credit-demo", "champion").version == 1
