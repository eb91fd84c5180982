"""Fixtures for the MLflow compatibility tests: the official client against a live test server.

pytest-jupyter's server runs in-process on the test's event loop, so the (synchronous) mlflow
client must run in a worker thread: :func:`in_thread`. The module holds no tests of its own;
the ``test_mlflow_*`` modules import these fixtures.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from traitlets.config import Config

from jupyter_mm.core.store import Store

T = TypeVar("T")


@pytest.fixture(name="mlflow_uri")
def mlflow_uri_fixture(
    jp_serverapp: Any, http_server: Any, http_server_port: Any, jp_base_url: str, monkeypatch: Any
) -> Iterator[str]:
    """The tracking URI of the test server, with the client configured as a user would."""
    import mlflow

    port = http_server_port[-1]
    uri = f"http://127.0.0.1:{port}{jp_base_url}jupyter-mm/mlflow"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", jp_serverapp.identity_provider.token)
    # a wrong answer must fail the test at once, not after minutes of retries
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    mlflow.set_tracking_uri(uri)
    forget_client_state()
    yield uri
    forget_client_state()


def forget_client_state() -> None:
    """The client keeps the active experiment in a module global; each test starts afresh."""
    import mlflow
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    fluent._active_experiment_id = None


@pytest.fixture(name="mm_store")
def mm_store_fixture(mlflow_uri: str) -> Iterator[Store]:
    """The server's own store, opened beside it (as a kernel would)."""
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        yield store


@pytest.fixture(name="jp_server_config")
def both_stores_config_fixture(mm_clean_env: None, server_store_uri: str, tmp_path: Path) -> Config:
    """A test server on SQLite and on PostgreSQL (``server_store_uri``), artifacts in tmp_path."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "JupyterMM": {
                "tracking_uri": server_store_uri,
                "artifact_uri": str(tmp_path / "artifacts"),
            },
        }
    )


@pytest.fixture(name="store")
def both_stores_fixture(server_store_uri: str, tmp_path: Path, mlflow_uri: str) -> Iterator[Store]:
    """The store of :func:`both_stores_config_fixture`'s server, opened beside it."""
    with Store.open(server_store_uri, artifact_uri=str(tmp_path / "artifacts")) as st:
        yield st


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking mlflow client code off the server's event loop."""
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
