"""A deployment's Authorizer is consulted by every jupyter-mm route.

In its own module: the module-level ``jp_server_config`` override applies to every test here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from .helpers import example_path, implemented_verbs, mm_routes


class DenyMMReads(Authorizer):
    """Refuses ``read`` on jupyter-mm resources; allows everything else."""

    def is_authorized(self, handler, user, action, resource):  # type: ignore[no-untyped-def]
        return not (action == "read" and resource.startswith("jupyter_mm"))


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
                "authorizer_class": DenyMMReads,
            },
            "JupyterMM": {"tracking_uri": str(mm_store_dir)},
        }
    )


async def test_status_read_is_refused(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "status")
    assert e.value.code == 403
    body = json.loads(e.value.response.body)
    assert body["error_code"] == "PERMISSION_DENIED"
    assert "jupyter_mm:status" in body["message"]


async def test_every_read_route_is_refused(jp_web_app, jp_fetch, jp_base_url) -> None:
    checked = 0
    for pattern, handler in mm_routes(jp_web_app):
        path = example_path(pattern)[len(jp_base_url) :]
        for verb in implemented_verbs(handler):
            if verb not in ("GET", "HEAD"):
                continue
            with pytest.raises(HTTPClientError) as e:
                await jp_fetch(path, method=verb)
            assert e.value.code == 403, f"{verb} {path}"
            checked += 1
    assert checked


async def test_other_server_routes_are_not_affected(jp_fetch) -> None:
    r = await jp_fetch("api", "status")
    assert r.code == 200
