"""MMHandler refuses, when a handler class is defined, a verb whose authorization would be wrong.

jupyter_server's ``@authorized`` fixes its action and resource on the first call of the function it
wraps, so one function may serve only one verb of one ``auth_resource``."""

from __future__ import annotations

import pytest
import tornado.web
from jupyter_server.auth.decorator import authorized

from jupyter_mm.server.handlers.base import MMHandler


class _ReadsA(MMHandler):
    auth_resource = "jupyter_mm:a"

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.send_json({})


def test_a_verb_is_inherited_within_its_resource() -> None:
    class Same(_ReadsA):
        pass

    assert Same.get is _ReadsA.get


def test_a_verb_is_not_inherited_by_another_resource() -> None:
    with pytest.raises(TypeError, match="inherits GET from _ReadsA"):

        class Other(_ReadsA):
            auth_resource = "jupyter_mm:b"


def test_one_function_does_not_serve_two_verbs() -> None:
    with pytest.raises(TypeError, match="share one function"):

        class Aliased(MMHandler):
            auth_resource = "jupyter_mm:a"

            @tornado.web.authenticated
            @authorized
            async def get(self) -> None:
                self.send_json({})

            post = get
