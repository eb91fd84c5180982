"""Fixtures shared by the server tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test server's store, once on a SQLite directory and once on PostgreSQL (modules that
    want both point their ``jp_server_config`` at it)."""
    if request.param == "sqlite":
        return str(tmp_path / "mm-store")
    return str(request.getfixturevalue("postgres_url"))
