"""The client API against a fresh SQLite store per test, with no run or experiment left behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.client import backend, tracking
from jupyter_mm.core.store import Store


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``mm`` at ``tmp_path/store``; afterwards end any run still active and reset the client."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    # module state a previous test may have left: the chosen experiment and the last run
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    directory = tmp_path / "store"
    mm.set_tracking_uri(str(directory))
    try:
        yield directory
    finally:
        while mm.active_run() is not None:
            mm.end_run()
        mm.set_tracking_uri(None)


@pytest.fixture
def mm_store(store_dir: Path) -> Store:
    """The store ``mm`` is writing to (for reading back what the API stored)."""
    return backend.get_store()
