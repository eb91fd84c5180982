"""Retraining over REST: a model's retraining policy (``GET``/``PUT``/``DELETE``
``registry/models/{name}/retraining-policy``), its retrainings (``GET``; ``POST`` starts one by hand)
and one retraining (``GET registry/retrainings/{id}``). What the version view shows."""

from __future__ import annotations

import uuid
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...errors import InvalidInput
from .common import int_arg, json_object
from .registry import RegistryHandler

MAX_RETRAININGS_PAGE = 1000


class RetrainingPolicyHandler(RegistryHandler):
    """``GET``: ``{"name", "policy"}`` (``policy`` null without one). ``PUT {policy, comment}``
    sets it (checked: a 400 names the field; audited). ``DELETE``: removes it (audited).

    The registry policy's resource: a retraining policy makes the server run notebook code on
    events, so on a team server only administrators change it."""

    auth_resource = "jupyter_mm:registry_policy"

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        policy = await self.call_store(lambda st: st.retraining_policy(name))
        self.send_json({"name": name, "policy": policy})

    @tornado.web.authenticated
    @authorized
    async def put(self, name: str) -> None:
        body = json_object(self, ("policy", "comment"))
        if "policy" not in body or body["policy"] is None:
            raise InvalidInput("'policy' is required (DELETE removes a policy)")
        actor = self.actor
        policy = await self.call_store(
            lambda st: st.set_retraining_policy(
                name, body["policy"], actor=actor, comment=body.get("comment") or ""
            )
        )
        self.send_json({"name": name, "policy": policy})

    @tornado.web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        actor = self.actor
        await self.call_store(lambda st: st.set_retraining_policy(name, None, actor=actor))
        self.send_json({"name": name, "policy": None})


class RetrainingsHandler(RegistryHandler):
    """``GET ?max_results=``: the model's retrainings, newest first. ``POST {params}``: start one
    by hand (the policy must list ``manual``): 201 with the record, ``running`` (its job queued
    in this server) or ``handed_off``. A bad override is a 400 and records nothing.

    The jobs' resource: starting one runs notebook code on the server (team server: admins)."""

    auth_resource = "jupyter_mm:jobs"

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        n = int_arg(self, "max_results", 1, MAX_RETRAININGS_PAGE)
        found = await self.call_store(lambda st: st.list_retrainings(name, n or 100))
        self.send_json({"retrainings": [r.to_json() for r in found]})

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        from ...loop.retraining import start
        from ..retraining import job_submitter

        body = json_object(self, ("params",))
        actor = self.actor
        submit = job_submitter(self, actor)

        def run(st: Any) -> Any:
            found = start(st, name, trigger={"kind": "manual", "by": actor},
                          event_key=f"manual:{uuid.uuid4().hex}", actor=actor, submit=submit,
                          params=body.get("params"))  # fmt: skip
            assert found is not None
            return found[0]

        rec = await self.call_store(run)
        self.send_json(rec.to_json(), status=201)


class RetrainingHandler(RegistryHandler):
    """``GET registry/retrainings/{id}``: one retraining."""

    auth_resource = "jupyter_mm:registry"

    @tornado.web.authenticated
    @authorized
    async def get(self, retraining_id: str) -> None:
        rec = await self.call_store(lambda st: st.get_retraining(retraining_id))
        self.send_json(rec.to_json())
