"""Lineage of registered versions: version → run → notebook snapshot and execution log →
datasets → environment → git, from records a real ``%%track`` run in a real kernel made (in a
real git work tree), and from runs that recorded none of that."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest

import jupyter_mm as mm
from jupyter_mm.core.registry.lineage import lineage
from jupyter_mm.core.store import Store
from jupyter_mm.errors import NotFound
from tests.notebook.support import client_for, notebook

CELLS = [
    "import jupyter_mm as mm\nimport pandas as pd",
    "%%track credit -p model=logit --metrics auc\n"
    "apps = pd.DataFrame({'income': [10, 20, 30], 'default': [0, 1, 0]})\n"
    "mm.log_dataset(apps, 'applications', source='s3://bank/apps-2026-10.parquet')\n"
    "C = 0.5\n"
    "auc = 0.81",
    "x = 1",
]


MLMODEL = (
    b"flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {}\n"
    b'signature:\n  inputs: \'[{"name": "income", "type": "double"}]\'\n'
)


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, env=env, capture_output=True)


def _tracked_in_a_kernel(
    store: Store, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], str]:
    """Cells 0, 1, 2, 1 in a real kernel (the second credit run ran out of order), inside a
    git work tree with uncommitted changes and a remote with credentials in its URL."""
    work = tmp_path / "project"
    work.mkdir()
    nb_path = work / "credit.ipynb"
    nbformat.write(notebook(CELLS), nb_path)
    (work / "features.py").write_text("BINS = 10\n")
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "start")
    _git(work, "remote", "add", "origin", "https://alice:s3cret@git.example.com/bank/credit.git")
    (work / "features.py").write_text("BINS = 20  # uncommitted\n")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True
    ).stdout.strip()
    for var in list(os.environ):
        if var.startswith("MM_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("MM_TRACKING_URI", store_uri)
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "artifacts"))  # the fixture's root
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb_path))
    client = client_for(nbformat.read(nb_path, 4), work)
    with client.running():
        for i in (0, 1, 2, 1):
            client.run(i)
    runs = store.search_runs(order_by=["attributes.start_time ASC"])[0]
    assert [r.name for r in runs] == ["credit", "credit"], [r.name for r in runs]
    return runs, head


def test_lineage_of_a_tracked_notebook_run(
    store: Store, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs, head = _tracked_in_a_kernel(store, store_uri, tmp_path, monkeypatch)
    store.create_registered_model("credit-risk", actor="alice")
    for r in runs:
        store.create_model_version("credit-risk", f"runs:/{r.id}/models/m", actor="alice")

    lin = lineage(store, "credit-risk", 1)
    assert lin["model"]["version"] == 1 and lin["model"]["run_id"] == runs[0].id
    run = lin["run"]
    assert run["id"] == runs[0].id and run["name"] == "credit" and run["status"] == "FINISHED"
    assert run["params"]["model"] == "logit" and run["params"]["C"] == "0.5"
    assert run["metrics"] == {"auc": pytest.approx(0.81)}
    assert run["user"] and run["start_time"] <= run["end_time"]

    snap = lin["notebook"]["snapshot"]
    assert snap["phase"] == "kernel" and snap["source"] == "disk"  # no frontend: the file on disk
    raw = store.read_artifact(runs[0].id, snap["path"])
    assert snap["digest"] == hashlib.sha256(raw).hexdigest()
    assert "s3://bank/apps-2026-10.parquet" in raw.decode()  # the notebook that produced it
    cell = lin["notebook"]["cell"]
    assert cell["cell_id"] == "cell-1" and "auc = 0.81" in cell["source"]

    log = lin["execution_log"]
    assert log["out_of_order"] is False and log["hidden_state"] is False and log["entries"] >= 2
    later = lineage(store, "credit-risk", 2)["execution_log"]
    assert later["out_of_order"] is True  # cell 1 ran again after cell 2

    [ds] = lin["datasets"]
    assert ds["name"] == "applications" and ds["context"] == "training"
    assert ds["source"] == "s3://bank/apps-2026-10.parquet" and ds["row_count"] == 3
    assert len(ds["digest"]) == 64 and ds["digest"] == store.get_run(runs[0].id).datasets[0].digest

    env = lin["environment"]
    assert env["python"].split(".")[:2] == [str(x) for x in __import__("sys").version_info[:2]]
    assert "pandas" in env["key_packages"] and env["fingerprint"]
    assert env["digest"] == store.artifact_info(runs[0].id, env["path"]).digest

    git = lin["git"]
    assert git["commit"] == head and git["branch"] == "main" and git["dirty"] is True
    assert git["remote"] == "https://git.example.com/bank/credit.git"  # credentials stripped
    # the model files were never logged here: reported as missing, nothing else is
    assert [m["part"] for m in lin["missing"]] == ["model_files"]


def test_a_model_logged_outside_a_notebook_has_its_gaps_reported(store: Store) -> None:
    run = store.create_run(name="script", params={"depth": 3})
    store.log_batch(run.id, metrics=[("ks", 0.42, 0, 1), ("ks", float("nan"), 1, 2)])
    store.log_artifact(run.id, "models/m/MLmodel", MLMODEL)
    store.log_artifact(run.id, "models/m/model.skops", b"weights")
    store.create_registered_model("scripted", actor="bob")
    store.create_model_version("scripted", f"runs:/{run.id}/models/m", actor="bob")
    store.create_model_version("scripted", "s3://elsewhere/model", actor="bob")

    lin = lineage(store, "scripted", 1)
    assert lin["run"]["params"] == {"depth": "3"}
    assert lin["run"]["metrics"] == {"ks": "NaN"}  # the latest value, JSON-safe
    files = lin["model_files"]
    assert files["path"] == "models/m" and files["files"] == 2
    assert files["mlmodel_digest"] == hashlib.sha256(MLMODEL).hexdigest()
    assert files["flavors"] == ["python_function", "sklearn"]
    assert files["signature"] == {"inputs": '[{"name": "income", "type": "double"}]'}
    assert lin["notebook"] == {"snapshot": None, "cell": None}
    assert lin["execution_log"] is None and lin["environment"] is None and lin["git"] is None
    assert lin["datasets"] == []
    assert [m["part"] for m in lin["missing"]] == [
        "notebook_snapshot",
        "cell",
        "execution_log",
        "datasets",
        "environment",
        "git",
    ]
    assert all(m["reason"] for m in lin["missing"])

    outside = lineage(store, "scripted", 2)
    assert outside["run"] is None and [m["part"] for m in outside["missing"]] == ["run"]

    with pytest.raises(NotFound):
        lineage(store, "scripted", 3)
    with pytest.raises(NotFound):
        lineage(store, "nope", 1)


def test_a_deleted_run_is_missing_not_an_error(store: Store) -> None:
    run = store.create_run(name="gone")
    store.create_registered_model("m", actor="a")
    store.create_model_version("m", f"runs:/{run.id}/model", actor="a")
    store.delete_run(run.id)
    lin = lineage(store, "m", 1)
    # a deleted (not purged) run still exists, so its record is shown
    assert lin["run"] is not None and lin["run"]["id"] == run.id


def test_mm_lineage_through_the_python_api(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("MM_TRACKING_URI", "MM_ARTIFACT_URI", "MM_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_USER", "alice")
    holdout = tmp_path / "holdout.csv"
    holdout.write_bytes(b"raw,bytes\n1,2\n")
    mm.set_tracking_uri(str(tmp_path / "store"))
    try:
        with mm.start_run(name="api") as run:
            mm.log_param("C", 1.0)
            mm.log_metric("auc", 0.7)
            mm.log_dataset(str(holdout), "holdout", context="validation")
        sqlite_store.create_registered_model("api-model", actor="alice")
        sqlite_store.create_model_version("api-model", f"runs:/{run.id}/m", actor="alice")
        lin = mm.lineage("api-model", 1)
    finally:
        mm.set_tracking_uri(None)
    assert lin["run"]["id"] == run.id and lin["run"]["metrics"] == {"auc": 0.7}
    assert lin["datasets"][0]["context"] == "validation"
    assert lin["datasets"][0]["digest"] == hashlib.sha256(b"raw,bytes\n1,2\n").hexdigest()


def test_store_check_verifies_the_audit_chain(store: Store) -> None:
    """``jupyter mm check`` (``check_store``) reports an edited audit entry."""
    from jupyter_mm.core.integrity import check_store

    store.create_registered_model("audited", actor="alice")
    store.set_registered_model_tag("audited", "tier", "1", actor="alice")
    assert check_store(store) == []
    from tests.core.test_registry_audit import _sql

    # the database's owner, past the append-only triggers
    _sql(store, "UPDATE registry_audit SET actor = :a WHERE seq = 1", a="mallory")
    problems = check_store(store)
    assert problems == [
        "registry audit trail: entry 1 was altered: its hash does not match its content"
    ]
