"""Fixtures shared by the server tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mm.core.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test server's store, once on a SQLite directory and once on PostgreSQL (modules that
    want both point their ``jp_server_config`` at it)."""
    if request.param == "sqlite":
        return str(tmp_path / "mm-store")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def server_store(server_store_uri: str, tmp_path: Path) -> Iterator[Store]:
    """The test server's store, opened beside it (its artifacts in ``tmp_path/artifacts``, where
    modules that want both point ``JupyterMM.artifact_uri``)."""
    st = Store.open(server_store_uri, artifact_uri=str(tmp_path / "artifacts"))
    yield st
    st.close()
