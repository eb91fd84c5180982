"""With no configuration the server puts the store in <root_dir>/.mm and exports it to kernels.

In its own module because it overrides ``jp_server_config``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from traitlets.config import Config


@pytest.fixture
def jp_server_config(mm_clean_env: None) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            }
        }
    )


async def test_default_store_is_under_the_root_dir(jp_fetch, jp_root_dir: Path) -> None:
    expected = str(Path(jp_root_dir).resolve() / ".mm")
    assert os.environ["MM_TRACKING_URI"] == expected
    body = json.loads((await jp_fetch("jupyter-mm", "api", "status")).body)
    assert body["store"] == {"uri": expected, "kind": "sqlite"}
    assert (Path(expected) / "mm.db").exists()
