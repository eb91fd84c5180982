"""Whatever goes wrong inside jupyter-mm, the user's cell runs and gives its result, the user sees
one clear warning, and the kernel stays usable with nothing left patched or registered."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.notebook.support import client_for, notebook, outputs_text

PROBE = (
    "import sys; print(type(sys.stdout).__name__, len(get_ipython().events.callbacks['pre_run_cell']),"
    " type(get_ipython().display_pub.publish).__name__)"
)


def _run_notebook(cells: list[str], directory: Path, env: dict[str, str]) -> Any:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        nb = notebook(cells)
        client = client_for(nb, directory)
        with client.running():
            for i in range(len(cells)):
                client.run(i)
        return nb
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stderr(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")


def _stdout_and_result(cell: Any) -> str:
    return "".join(
        o.get("text", "")
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
        else o.get("data", {}).get("text/plain", "")
        for o in cell.outputs
        if o.get("output_type") in ("stream", "execute_result")
        and "application/vnd.jupyter.widget-view+json" not in o.get("data", {})
    )


def test_unreachable_store_runs_the_cell_untracked(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store directory should be")
    nb = _run_notebook(
        [
            "import jupyter_mm as mm",
            "%%track\nx = 21\nprint('still runs')\nx * 2",
            "%%track\nraise ZeroDivisionError('user error')",
            "y = x + 1\ny",
            PROBE,
        ],
        tmp_path,
        {"MM_TRACKING_URI": str(blocker / "store")},
    )
    tracked = nb.cells[1]
    assert _stdout_and_result(tracked) == "still runs\n42"
    warning = _stderr(tracked)
    assert warning.count("jupyter-mm warning") == 1 and "runs untracked" in warning
    assert "Traceback" not in warning
    errors = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "ZeroDivisionError"  # the user's own error, unchanged
    assert outputs_text(nb.cells[3]) == "22"
    stream, hooks, publish = outputs_text(nb.cells[4]).split()
    assert stream != "_Tee" and publish == "method" and hooks == "1"


def test_exception_inside_capture_keeps_the_cell_and_the_run(tmp_path: Path) -> None:
    store = tmp_path / "store"
    nb = _run_notebook(
        [
            "import jupyter_mm as mm\nimport jupyter_mm.notebook.kernel_snapshot as ks\n"
            "def boom(*a, **k):\n    raise RuntimeError('capture exploded')\n"
            "ks.from_history = boom",
            "%%track partial\nmm.log_metric('m', 1.0)\n'result'",
            PROBE,
        ],
        tmp_path,
        {"MM_TRACKING_URI": str(store)},
    )
    assert _stdout_and_result(nb.cells[1]) == "'result'"
    warning = _stderr(nb.cells[1])
    assert warning.count("jupyter-mm warning") == 1 and "capture exploded" in warning
    from jupyter_mm.core.store import Store

    with Store.open(str(store)) as st:
        (run,) = st.search_runs()[0]
        paths = {a.path for a in st.list_artifacts(run.id, recursive=True)}
    assert run.status == "FINISHED" and run.metrics == {"m": 1.0}
    assert ".mm/cell.json" in paths and ".mm/notebook/kernel.ipynb" not in paths
    stream, hooks, publish = outputs_text(nb.cells[2]).split()
    assert stream != "_Tee" and publish == "method"


def test_store_made_unwritable_mid_cell(tmp_path: Path) -> None:
    store = tmp_path / "store"
    nb = _run_notebook(
        [
            "import jupyter_mm as mm",
            # the cell itself pulls the store away while its run is open
            "%%track doomed\nimport os, shutil\nfrom jupyter_mm.client import backend\n"
            "mm.log_metric('m', 1.0)\nbackend.get_store().close()\n"
            f"shutil.rmtree({str(store)!r})\nopen({str(store)!r}, 'w').close()\n'cell result'",
            "1 + 1",
            PROBE,
        ],
        tmp_path,
        {"MM_TRACKING_URI": str(store)},
    )
    assert _stdout_and_result(nb.cells[1]) == "'cell result'"
    assert _stderr(nb.cells[1]).count("jupyter-mm warning") == 1
    assert outputs_text(nb.cells[2]) == "2"
    stream, hooks, publish = outputs_text(nb.cells[3]).split()
    assert stream != "_Tee" and publish == "method"


@pytest.mark.parametrize("line", ["-p novalue", "--seed -1"])
def test_bad_magic_arguments_are_clear(tmp_path: Path, line: str) -> None:
    nb = _run_notebook(
        ["import jupyter_mm as mm", f"%%track {line}\nvalue = 5\nvalue"],
        tmp_path,
        {"MM_TRACKING_URI": str(tmp_path / "store")},
    )
    # the cell still runs, and the user is told what was wrong with the arguments
    assert _stdout_and_result(nb.cells[1]) == "5"
    warning = _stderr(nb.cells[1])
    assert warning.count("jupyter-mm warning") == 1 and (
        "KEY=VALUE" in warning or "seed" in warning
    )


def test_kernel_death_leaves_a_running_run_with_a_stopped_heartbeat(tmp_path: Path) -> None:
    """A kernel that dies mid-cell cannot end its run: the run stays RUNNING with the heartbeat of
    its last beat, and is shown as KILLED once that heartbeat is stale."""
    from nbclient.exceptions import DeadKernelError
    from sqlalchemy import update

    from jupyter_mm.core import schema as s
    from jupyter_mm.core.entities import STALE_HEARTBEAT_MS
    from jupyter_mm.core.store import Store, now_ms

    store = tmp_path / "store"
    with pytest.raises(DeadKernelError):
        _run_notebook(
            [
                "import jupyter_mm as mm",
                "%%track doomed\nmm.log_metric('m', 1.0)\nimport os\nos._exit(1)",
            ],
            tmp_path,
            {"MM_TRACKING_URI": str(store)},
        )
    with Store.open(str(store)) as st:
        (run,) = st.search_runs()[0]
        assert run.status == "RUNNING" and run.end_time is None and run.heartbeat_time is not None
        with st.engine.begin() as conn:  # as if a minute has passed with no beat
            conn.execute(update(s.runs).values(heartbeat_time=now_ms() - STALE_HEARTBEAT_MS - 1000))
        assert st.get_run(run.id).status == "KILLED"
