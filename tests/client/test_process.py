"""What happens in a fresh interpreter: a cheap import, and runs closed properly at exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from jupyter_mm.core.store import Store

from .support import child_env, run_script


def _only_run(store_dir: Path):  # type: ignore[no-untyped-def]
    with Store.open(str(store_dir)) as store:
        runs, _ = store.search_runs(max_results=10)
        assert len(runs) == 1, runs
        return runs[0]


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, json; import jupyter_mm as mm; "
        "mm.__version__; mm.MMError; dir(mm); "
        "heavy = ('sqlalchemy', 'numpy', 'pandas', 'alembic', 'fsspec', 'plotly', 'matplotlib'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_script_exiting_without_end_run_finishes_its_run(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    out = run_script(
        """
        import jupyter_mm as mm

        run = mm.start_run(name="forgotten")
        mm.log_param("epochs", 3)
        for i in range(25_000):
            mm.log_metric("loss", i / 4)
        print(run.id)
        # no end_run: the interpreter exits with the points still buffered
        """,
        store_dir,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    run = _only_run(store_dir)
    assert run.id == out.stdout.strip()
    assert run.status == "FINISHED"
    assert run.end_time is not None
    assert run.params == {"epochs": "3"}
    with Store.open(str(store_dir)) as store:
        h = store.get_metric_history(run.id, "loss")
    assert np.array_equal(h["step"], np.arange(25_000))
    assert np.array_equal(h["value"], np.arange(25_000) / 4)


def test_script_dying_from_an_uncaught_exception_fails_its_run(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    out = run_script(
        """
        import jupyter_mm as mm

        mm.start_run(name="doomed")
        for i in range(100):
            mm.log_metric("loss", float(i))
        raise RuntimeError("diverged")
        """,
        store_dir,
        tmp_path,
    )
    assert out.returncode == 1
    assert "RuntimeError: diverged" in out.stderr
    run = _only_run(store_dir)
    assert run.status == "FAILED"
    assert run.end_time is not None
    assert run.metrics == {"loss": 99.0}
    with Store.open(str(store_dir)) as store:
        assert len(store.get_metric_history(run.id, "loss")["step"]) == 100


def test_script_calling_sys_exit_zero_finishes_its_run(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    out = run_script(
        """
        import sys
        import jupyter_mm as mm

        mm.start_run()
        mm.log_metric("x", 1.0)
        sys.exit(0)
        """,
        store_dir,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    run = _only_run(store_dir)
    assert run.status == "FINISHED"
    assert run.metrics == {"x": 1.0}


def test_tracking_uri_comes_from_the_environment(tmp_path: Path) -> None:
    store_dir = tmp_path / "from-env"
    out = run_script(
        """
        import jupyter_mm as mm

        print(mm.get_tracking_uri())
        with mm.start_run(name="env"):
            mm.log_metric("x", 2.0)
        """,
        store_dir,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(store_dir)
    assert (store_dir / "mm.db").is_file()
    assert not (tmp_path / ".mm").exists()
    assert _only_run(store_dir).metrics == {"x": 2.0}


def test_script_interrupted_by_keyboard_interrupt_kills_its_run(tmp_path: Path) -> None:
    """Ctrl-C ending a script marks its run KILLED, as it does inside ``with mm.start_run()``."""
    store_dir = tmp_path / "store"
    out = run_script(
        """
        import jupyter_mm as mm

        mm.start_run(name="interrupted")
        mm.log_metric("x", 1.0)
        raise KeyboardInterrupt
        """,
        store_dir,
        tmp_path,
    )
    assert out.returncode != 0
    run = _only_run(store_dir)
    assert run.metrics == {"x": 1.0}
    assert run.status == "KILLED"


def test_uncaught_exception_traceback_is_recorded(tmp_path: Path) -> None:
    """A run failed by an uncaught exception keeps the traceback in ``mm.error``, as a failed
    ``with mm.start_run()`` block does."""
    store_dir = tmp_path / "store"
    out = run_script(
        """
        import jupyter_mm as mm

        def train():
            raise RuntimeError("diverged at epoch 3")

        mm.start_run()
        train()
        """,
        store_dir,
        tmp_path,
    )
    assert out.returncode == 1
    run = _only_run(store_dir)
    assert run.status == "FAILED"
    err = run.tags.get("mm.error", "")
    assert "in train" in err and "RuntimeError: diverged at epoch 3" in err
