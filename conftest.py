"""Root conftest: pytest-jupyter's server fixtures, configured for the jupyter-mm extension.

pytest only honours ``pytest_plugins`` in the root conftest. Keep pytest-asyncio in strict mode
(the default): with ``asyncio_mode = "auto"`` every ``jp_fetch`` fails with HTTP 599.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

pytest_plugins = ("pytest_jupyter.jupyter_server",)

_MM_ENV = ("MM_TRACKING_URI", "MM_ARTIFACT_URI", "MM_JUPYTER_SERVER_INFO")


@pytest.fixture
def mm_clean_env() -> Iterator[None]:
    """Unset the MM_* variables for the test and restore them after.

    The server extension exports its store location to ``os.environ`` for the kernels it starts;
    without this a test server would leak its store into every later test of the session.
    """
    saved = {name: os.environ.pop(name, None) for name in _MM_ENV}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def mm_store_dir(tmp_path: Path) -> Path:
    """The store directory the test server uses."""
    return tmp_path / "mm-store"


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "JupyterMM": {"tracking_uri": str(mm_store_dir)},
        }
    )
