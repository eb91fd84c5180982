"""``jupyter-mm/api/serve[/{name}]``: start, list and stop the models this Jupyter server serves
under ``<base_url>jupyter-mm/serve/{name}/`` (see :mod:`jupyter_mm.server.serve`)."""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...core import json_body, validation
from ...errors import InvalidInput, NotFound
from ..serve import served_models
from .base import MMHandler


class ServeAPIHandler(MMHandler):
    """Base of the ``serve`` routes (a served model's address is under ``self.base_url``)."""

    auth_resource = "jupyter_mm:serve"


class ServeHandler(ServeAPIHandler):
    """``GET``: every served model. ``POST {"model_uri", "name"?, "trust"?}``: serve it (201),
    or 200 with what already serves that URI under that name."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        registry = served_models(self)
        base = self.base_url
        self.send_json({"served": [s.describe(base) for s in registry.by_name.values()]})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_body.parse(self.request.body or b"{}")
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object with 'model_uri'")
        validation.known_fields(body, ("model_uri", "name", "trust"))
        trust = body.get("trust", False)
        if not isinstance(trust, bool):
            raise InvalidInput("'trust' must be true or false")
        served, started = await served_models(self).start(
            body.get("model_uri"), body.get("name"), trust
        )
        self.send_json(served.describe(self.base_url), status=201 if started else 200)


class ServedHandler(ServeAPIHandler):
    """``GET``: one served model. ``DELETE``: stop serving it."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        served = served_models(self).get(name)
        if served is None:
            raise NotFound(f"no model is served as {name!r}")
        self.send_json(served.describe(self.base_url))

    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        served = await served_models(self).stop(name)
        reply: dict[str, Any] = {"name": served.name, "model_uri": served.model_uri}
        self.send_json({"stopped": reply})
