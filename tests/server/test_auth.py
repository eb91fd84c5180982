"""Every route of the extension refuses unauthenticated requests and declares its auth resource."""

from __future__ import annotations

import pytest

from .helpers import (
    example_path,
    implemented_verbs,
    is_public_by_design,
    mm_routes,
    needs_body,
)


def test_the_extension_registers_routes(jp_web_app) -> None:
    routes = mm_routes(jp_web_app)
    patterns = [p for p, _ in routes]
    assert any(p.endswith("jupyter-mm/api/status$") for p in patterns), patterns
    assert any(p.endswith("jupyter-mm/serve/(?P<served>[^/]+)/invocations$") for p in patterns)
    # Every route lives under <base_url>/jupyter-mm/: the REST API, the MLflow routes, the event socket.
    prefixes = (
        "/a%40b/jupyter-mm/api/",
        "/a%40b/jupyter-mm/mlflow/",
        "/a%40b/jupyter-mm/events",
        "/a%40b/jupyter-mm/serve/",
    )
    assert all(any(prefix in p for prefix in prefixes) for p in patterns), patterns


def test_every_route_is_decorated(jp_web_app) -> None:
    """The check jupyter_server runs when allow_unauthenticated_access is False, made strict."""
    for pattern, handler in mm_routes(jp_web_app):
        assert jp_web_app._check_handler_auth(pattern, handler) == []
        assert handler.auth_resource.startswith("jupyter_mm:"), handler
        for verb in implemented_verbs(handler):
            method = getattr(handler, verb.lower())
            if method.__module__.startswith("jupyter_mm"):
                # jupyter_server's decorators mark a method False (``ws_authenticated``) or
                # True (``allow_unauthenticated``); none of ours may be True.
                assert not getattr(method, "__allow_unauthenticated", False), (handler, verb)


async def test_every_route_refuses_unauthenticated_requests(jp_web_app, http_server_client) -> None:
    checked = []
    for pattern, handler in mm_routes(jp_web_app):
        path = example_path(pattern)
        for verb in implemented_verbs(handler):
            if is_public_by_design(handler, verb):
                continue
            r = await http_server_client.fetch(
                path,
                method=verb,
                body=b"{}" if needs_body(verb) else None,
                raise_error=False,
                follow_redirects=False,
            )
            assert r.code in (401, 403), f"{verb} {path} answered {r.code} without credentials"
            checked.append(f"{verb} {path}")
    assert checked, "no jupyter-mm route was checked"


async def test_a_wrong_token_is_refused(jp_web_app, http_server_client) -> None:
    for pattern, handler in mm_routes(jp_web_app):
        for verb in implemented_verbs(handler):
            if is_public_by_design(handler, verb):
                continue
            r = await http_server_client.fetch(
                example_path(pattern),
                method=verb,
                headers={"Authorization": "token not-the-token"},
                body=b"{}" if needs_body(verb) else None,
                raise_error=False,
                follow_redirects=False,
            )
            assert r.code in (401, 403)


@pytest.mark.parametrize("verb", ["GET"])
async def test_authenticated_requests_pass(jp_fetch, verb: str) -> None:
    r = await jp_fetch("jupyter-mm", "api", "status", method=verb)
    assert r.code == 200
