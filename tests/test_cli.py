"""The ``jupyter mm`` command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mm.cli import main
from jupyter_mm.core.store import Store


@pytest.fixture
def populated(tmp_path: Path) -> str:
    uri = str(tmp_path / "st")
    with Store.open(uri) as st:
        run = st.create_run("0", name="alpha", params={"lr": "0.1"})
        st.log_batch(run.id, metrics=[("auc", 0.81, 0, 1)])
        st.log_artifact(run.id, "a.txt", b"hello")
        st.create_run("0", name="beta")
    return uri


def test_status_and_runs(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", populated, "status"]) == 0
    out = capsys.readouterr().out
    assert "experiments: 1  runs: 2" in out and "sqlite" in out
    assert main(["--store", populated, "runs", "metrics.auc > 0.8"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" not in out and "0.81" in out


def test_bad_filter_is_a_clean_error(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", populated, "runs", "metrics.auc >"]) == 2
    assert "error:" in capsys.readouterr().err


def test_check_finds_tampered_blob(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", populated, "check"]) == 0
    blob = next(p for p in (Path(populated) / "artifacts").rglob("*") if p.is_file())
    blob.write_bytes(b"tampered")
    assert main(["--store", populated, "check"]) == 1
    assert "corrupt" in capsys.readouterr().out
