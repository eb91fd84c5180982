"""CORS on the Jupyter server extension: no ``Access-Control-Allow-Origin`` unless configured.

jupyter_server reflects any ``Origin`` on token-authenticated replies when ``allow_origin`` and
``allow_origin_pat`` are unset; our routes must not. The team server's side is in
``test_standalone.py``."""

from __future__ import annotations

from typing import Any

import pytest

FOREIGN = "https://evil.example"
ALLOWED = "https://lab.example.org"
ROUTES = [
    "jupyter-mm/api/status",
    "jupyter-mm/api/runs",
    "jupyter-mm/mlflow/api/2.0/mlflow/experiments/search?max_results=1",
]


@pytest.mark.parametrize("route", ROUTES)
async def test_a_foreign_origin_gets_no_cors_header(jp_fetch: Any, route: str) -> None:
    path, _, query = route.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else None
    r = await jp_fetch(*path.split("/"), params=params, headers={"Origin": FOREIGN})
    assert r.code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_a_configured_origin_gets_it(jp_fetch: Any, jp_serverapp: Any) -> None:
    """``allow_origin_pat`` (or ``allow_origin``) is the configuration, and is honoured."""
    jp_serverapp.web_app.settings["allow_origin_pat"] = r"https://lab\.example\.org"
    r = await jp_fetch("jupyter-mm", "api", "status", headers={"Origin": ALLOWED})
    assert r.headers.get("Access-Control-Allow-Origin") == ALLOWED
    r = await jp_fetch("jupyter-mm", "api", "status", headers={"Origin": FOREIGN})
    assert "Access-Control-Allow-Origin" not in r.headers
    jp_serverapp.web_app.settings["allow_origin_pat"] = None
    jp_serverapp.web_app.settings["allow_origin"] = "*"
    r = await jp_fetch("jupyter-mm", "api", "status", headers={"Origin": FOREIGN})
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
