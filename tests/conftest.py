"""Shared fixtures: stores on a real SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from jupyter_mm.core.store import Store
from tests.loop.airflow_fixture import airflow  # noqa: F401 - a real Airflow 3, once a session
from tests.support.postgres import create_database, postgres_server, reset_database

# No per-example deadline: tests assert behaviour, never timings, and a loaded CI machine would
# turn Hypothesis' default 200 ms deadline into flaky failures.
settings.register_profile("jupyter-mm", deadline=None)
settings.load_profile("jupyter-mm")

_db_names = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest test first: under ``-n 2`` (CI) the Galata UI suite, about ten minutes in
    one test, then runs beside the others instead of after them."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/ui/"), reverse=True)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def _postgres_db(postgres_admin_url: str) -> str:
    url = create_database(postgres_admin_url, "mm_test")
    Store.open(url, artifact_uri="memory://unused").close()
    return url


@pytest.fixture
def postgres_url(_postgres_db: str) -> str:
    """A PostgreSQL database at the current schema, emptied for this test (faster than a new one)."""
    reset_database(_postgres_db)
    return _postgres_db


@pytest.fixture
def empty_postgres_url(postgres_admin_url: str) -> str:
    """A fresh, empty PostgreSQL database (no schema yet)."""
    return create_database(postgres_admin_url, f"mm_empty_{next(_db_names)}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A tracking URI for a fresh store, once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_uri: str, tmp_path: Path) -> Iterator[Store]:
    st = Store.open(store_uri, artifact_uri=str(tmp_path / "artifacts"))
    yield st
    st.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(str(tmp_path / "store"))
    yield st
    st.close()
