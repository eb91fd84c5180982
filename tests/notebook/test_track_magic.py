"""``%%track`` in real kernels: notebooks run the way JupyterLab runs them (cell ids sent with each
execution), in a chosen order, inside a real git work tree; then the store is inspected."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mm.core.store import Store
from tests.notebook.support import WIDGET_VIEW, artifact_json, client_for, notebook, outputs_text

CELLS = [
    "import jupyter_mm as mm",
    "%%track baseline -p model=rf -t team=risk\n"
    "lr = 0.01\ndepth = 3\nneg = -2\nlayers = (64, 32)\nkind = 'rf'\n"
    "for i in range(5):\n    mm.log_metric('loss', 1 / (i + 1))\n"
    "print('training done')\nlr * 2",
    "%%track plot\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    "%%track broken --metrics acc\nacc = 0.5\nraise ValueError('bad data')",
    "%%track sleeper\nimport time\ntime.sleep(60)",
    "x = 1",
    "%%track again --seed 7 --metrics value\nimport random\nvalue = random.random()",
]
ORDER = [0, 1, 2, 3, 4, 6, 6, 5]  # then: cell 5 edited on disk, cell 1 again (out of order)


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, env=env, capture_output=True)


def _interrupt_when_running(client: Any, store_dir: Path, name: str, stop: threading.Event) -> None:
    """A real interrupt (SIGINT to the kernel) once the run has started."""
    while not stop.is_set():
        try:
            with Store.open(str(store_dir)) as st:
                if any(r.name == name and r.status == "RUNNING" for r in st.search_runs()[0]):
                    time.sleep(0.2)
                    # what the interrupt button does for a local kernel: SIGINT to its process
                    os.kill(client.km.provisioner.process.pid, signal.SIGINT)
                    return
        except Exception:
            pass
        time.sleep(0.05)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("project")
    store_dir = work / ".mm"
    nb_path = work / "train.ipynb"
    nb = notebook(CELLS)
    nbformat.write(nb, nb_path)
    (work / "prep.py").write_text("SCALE = 1\n")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "start")
    (work / "prep.py").write_text("SCALE = 2  # uncommitted\n")  # dirty work tree

    saved = {k: os.environ.get(k) for k in ("MM_TRACKING_URI", "JPY_SESSION_NAME")}
    os.environ["MM_TRACKING_URI"] = str(store_dir)
    os.environ["JPY_SESSION_NAME"] = str(nb_path)  # as jupyter_server sets it for the kernel
    try:
        client = client_for(nb, work)
        with client.running():
            for i in ORDER:
                if i == 4:
                    stop = threading.Event()
                    t = threading.Thread(
                        target=_interrupt_when_running, args=(client, store_dir, "sleeper", stop)
                    )
                    t.start()
                    client.run(i)
                    stop.set()
                    t.join()
                else:
                    client.run(i)
            on_disk = nbformat.read(nb_path, 4)
            on_disk.cells[5].source = "x = 2  # edited after it ran"
            nbformat.write(on_disk, nb_path)
            last = client.run(1)
            probe = nbformat.v4.new_code_cell(
                "import sys; print(type(sys.stdout).__name__, len(get_ipython().events.callbacks['pre_run_cell']))"
            )
            probe.id = "probe"
            client.nb.cells.append(probe)
            client.run(len(client.nb.cells) - 1)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    with Store.open(str(store_dir)) as st:
        runs = st.search_runs(order_by=["attributes.start_time ASC"], max_results=100)[0]
    yield {"runs": runs, "store": store_dir, "nb": client.nb, "last_cell": last, "work": work}


def _run(session: dict[str, Any], name: str, index: int = 0) -> Any:
    return [r for r in session["runs"] if r.name == name][index]


def test_one_run_per_execution(session: dict[str, Any]) -> None:
    names = [r.name for r in session["runs"]]
    assert names == ["baseline", "plot", "broken", "sleeper", "again", "again", "baseline"]
    assert len({r.id for r in session["runs"]}) == 7


def test_successful_cell_params_metrics_and_outputs(session: dict[str, Any]) -> None:
    run = _run(session, "baseline")
    assert run.status == "FINISHED"
    assert run.params == {
        "model": "rf",
        "lr": "0.01",
        "depth": "3",
        "neg": "-2",
        "layers": "(64, 32)",
        "kind": "rf",
    }
    assert run.tags["team"] == "risk" and run.tags["mm.cell.id"] == "cell-1"
    assert run.tags["mm.source.type"] == "NOTEBOOK"
    assert run.metrics == {"loss": pytest.approx(0.2)}
    # the user saw exactly what an untracked cell shows, plus the live run panel
    assert outputs_text(session["nb"].cells[1]) == "training done\n0.02"
    panels = [o for o in session["nb"].cells[1].outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(panels) == 1
    assert "run 'baseline'" in panels[0]["data"]["text/plain"]
    cell = artifact_json(session["store"], run.id, ".mm/cell.json")
    assert cell["cell_id"] == "cell-1" and cell["source"] == CELLS[1]
    assert [o["output_type"] for o in cell["outputs"]] == ["stream", "execute_result"]
    assert cell["outputs"][0]["text"] == "training done\n"
    assert cell["outputs"][1]["data"]["text/plain"] == "0.02"


def test_plot_output_is_recorded(session: dict[str, Any]) -> None:
    run = _run(session, "plot")
    cell = artifact_json(session["store"], run.id, ".mm/cell.json")
    images = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
    assert run.status == "FINISHED" and len(images) == 1
    assert len(images[0]["data"]["image/png"]) > 1000  # base64 PNG


def test_failing_cell_is_failed_and_reraised(session: dict[str, Any]) -> None:
    run = _run(session, "broken")
    assert run.status == "FAILED" and run.end_time is not None
    assert "ValueError: bad data" in run.tags["mm.error"]
    assert run.metrics == {"acc": 0.5}
    errors = [o for o in session["nb"].cells[3].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ValueError"


def test_interrupted_cell_is_killed(session: dict[str, Any]) -> None:
    run = _run(session, "sleeper")
    assert run.status == "KILLED"
    errors = [o for o in session["nb"].cells[4].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "KeyboardInterrupt"


def test_rerun_makes_new_runs_and_seed_repeats(session: dict[str, Any]) -> None:
    first, second = _run(session, "again", 0), _run(session, "again", 1)
    assert first.id != second.id
    assert first.tags["mm.seed"] == "7"
    assert first.metrics["value"] == second.metrics["value"]


def test_snapshot_environment_git_and_log(session: dict[str, Any]) -> None:
    run = _run(session, "baseline")
    assert run.tags["mm.snapshot.kernel"] == "disk"
    assert run.tags["mm.notebook.file"] == str(session["work"] / "train.ipynb")
    with Store.open(str(session["store"])) as st:
        snap = nbformat.reads(st.read_artifact(run.id, ".mm/notebook/kernel.ipynb").decode(), 4)
    assert [c.id for c in snap.cells] == [f"cell-{i}" for i in range(len(CELLS))]
    env = artifact_json(session["store"], run.id, ".mm/environment.json")
    assert env["python"]["version"].startswith("3.") and "ipykernel" in env["packages"]
    git = artifact_json(session["store"], run.id, ".mm/git.json")
    assert git["dirty"] is True and len(git["commit"]) == 40 and "SCALE = 2" in git["diff"]
    log = artifact_json(session["store"], run.id, ".mm/execution_log.json")
    # cell 0 loaded the extension (import jupyter_mm): known from the input history only
    assert [e["cell_id"] for e in log["entries"]] == [None, "cell-1"]
    assert log["entries"][0]["from_history"] is True
    assert log["flags"]["out_of_order"] is False


def test_out_of_order_and_hidden_state_flagged(session: dict[str, Any]) -> None:
    run = _run(session, "baseline", 1)
    assert run.tags["mm.out_of_order"] == "true"
    assert run.tags["mm.hidden_state"] == "true"
    log = artifact_json(session["store"], run.id, ".mm/execution_log.json")
    ids = [e["cell_id"] for e in log["entries"]]
    assert ids == [
        None,
        "cell-1",
        "cell-2",
        "cell-3",
        "cell-4",
        "cell-6",
        "cell-6",
        "cell-5",
        "cell-1",
    ]
    assert log["flags"]["edited_after_run"] == ["cell-5"]
    assert _run(session, "baseline").tags["mm.out_of_order"] == "false"


def test_kernel_state_restored_after_tracked_cells(session: dict[str, Any]) -> None:
    """After failures and interrupts: streams are the kernel's own, no hook was added."""
    probe = session["nb"].cells[-1]
    name, hooks = outputs_text(probe).split()
    assert name != "_Tee"
    assert int(hooks) >= 1  # the execution log's own hook, registered once


def test_reading_back_records_snapshot_and_restore(session: dict[str, Any]) -> None:
    import jupyter_mm as mm

    mm.set_tracking_uri(str(session["store"]))
    try:
        run_id = _run(session, "baseline").id
        run = mm.get_run(run_id)
        assert run.environment["python"]["version"].startswith("3.")
        assert run.git["dirty"] is True
        assert run.execution_log["flags"]["out_of_order"] is False
        assert run.cell["cell_id"] == "cell-1"
        nb = mm.snapshot(run_id)
        assert nb.metadata["jupyter_mm"]["snapshot_source"] == "disk"
        assert nb.cells[1].source == CELLS[1]
        restored = Path(mm.restore(run_id))
        assert restored.parent == session["work"] and restored.name == "train-baseline.ipynb"
        assert nbformat.read(restored, 4).cells[1].source == CELLS[1]
        again = Path(mm.restore(run_id))
        assert again != restored and again.exists()  # never overwrites
        with pytest.raises(mm.InvalidInput, match="exists"):
            mm.restore(run_id, restored)
    finally:
        mm.set_tracking_uri(None)


def test_unchanged_notebook_snapshot_is_stored_once(session: dict[str, Any]) -> None:
    """The same cell run twice with the notebook file unchanged: one snapshot blob for both."""
    first, second = _run(session, "again", 0), _run(session, "again", 1)
    with Store.open(str(session["store"])) as st:
        a = st.artifact_info(first.id, ".mm/notebook/kernel.ipynb")
        b = st.artifact_info(second.id, ".mm/notebook/kernel.ipynb")
        env_a = st.artifact_info(first.id, ".mm/environment.json")
        env_b = st.artifact_info(second.id, ".mm/environment.json")
    assert a.digest == b.digest
    assert env_a.digest == env_b.digest  # the environment did not change between the two runs


def test_recorded_execution_count_is_the_prompt(session: dict[str, Any]) -> None:
    """Provenance: the tag, the cell record and its result carry the number the prompt shows
    (IPython 9.8 and later already count the running cell: ``shell.execution_count`` is then one
    ahead of the prompt while the cell runs)."""
    run = _run(session, "baseline", 1)
    prompt = session["last_cell"].execution_count
    assert isinstance(prompt, int) and prompt > 1
    assert run.tags["mm.cell.execution_count"] == str(prompt)
    cell = artifact_json(session["store"], run.id, ".mm/cell.json")
    assert cell["execution_count"] == prompt
    assert [o.get("execution_count") for o in cell["outputs"]] == [None, prompt]
    log = artifact_json(session["store"], run.id, ".mm/execution_log.json")
    assert log["entries"][-1]["execution_count"] == prompt
    # every earlier cell's log entry has the number its prompt showed too (no gaps, no doubles)
    assert [e["execution_count"] for e in log["entries"]] == list(range(1, prompt + 1))
