"""What the monitoring tests share: ``mm.*`` pointed at a fresh store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.client import tracking


@pytest.fixture
def mm_uri(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_USER", "ana")
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "blobs"))
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    mm.set_tracking_uri(store_uri)
    try:
        yield store_uri
    finally:
        while mm.active_run() is not None:
            mm.end_run()
        mm.set_tracking_uri(None)
