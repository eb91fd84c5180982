"""Notebooks tracked in real kernels (nbclient), to re-run."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mm.core.store import Store
from tests.notebook.support import client_for, kernel_env, notebook


def track_notebook(directory: Path, store_dir: Path, sources: list[str],
                   tags: dict[int, list[str]] | None = None, *,
                   order: list[int] | None = None,
                   saved: Callable[[Any], None] | None = None) -> Any:  # fmt: skip
    """Run ``sources`` as a notebook in a real kernel logging to ``store_dir``; returns the
    executed notebook. ``tags``: cell index -> cell tags. ``order``: the cell indexes in the order
    they are run (default: top to bottom). ``saved``: edits the copy saved to disk before the
    cells run (a cell edited or deleted after it ran, as far as the kernel's snapshot shows)."""
    nb = notebook(sources)
    for i, t in (tags or {}).items():
        nb.cells[i].metadata["tags"] = t
    path = directory / "nb.ipynb"
    on_disk = nbformat.reads(nbformat.writes(nb), as_version=4)
    if saved is not None:
        saved(on_disk)
    path.write_text(nbformat.writes(on_disk))  # saved first: the kernel's snapshot is the file
    client = client_for(nb, directory)
    os.environ["JPY_SESSION_NAME"] = str(path)
    try:
        with client.running():
            for i in range(len(nb.cells)) if order is None else order:
                client.run(i)
    finally:
        del os.environ["JPY_SESSION_NAME"]
    return nb


@pytest.fixture(autouse=True)
def _kernel_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    store_dir = tmp_path / "store"
    for k, v in kernel_env(MM_TRACKING_URI=str(store_dir), MM_USER="alice").items():
        monkeypatch.setenv(k, v)
    for k in [k for k in os.environ if k.startswith("MM_")]:
        if k not in ("MM_TRACKING_URI", "MM_USER", "MM_SKIP_UI_TESTS", "MM_SKIP_AIRFLOW_TESTS"):
            monkeypatch.delenv(k)
    from jupyter_mm.client import backend

    backend.set_tracking_uri(None)
    yield store_dir
    backend.set_tracking_uri(None)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def only_run(store_dir: Path, name: str) -> Any:
    with Store.open(str(store_dir)) as st:
        runs = [r for r in st.search_runs(view="all", max_results=100)[0] if r.name == name]
    assert len(runs) == 1, runs
    return runs[0]
