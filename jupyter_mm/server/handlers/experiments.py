"""``jupyter-mm/api/experiments``: list, create, get-or-create, get, rename, delete and restore
experiments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from .base import MMHandler
from .common import (
    experiment_json,
    json_object,
    parse_experiment,
    string_field,
    string_map,
    view_arg,
)

if TYPE_CHECKING:
    from ...core.store import Store


def _create(store: Store, name: str, tags: dict[str, str]) -> dict[str, Any]:
    exp_id = store.create_experiment(name, tags=tags or None)
    return experiment_json(store.get_experiment(exp_id))


def _update(store: Store, exp_id: str, name: str | None, tags: dict[str, str]) -> dict[str, Any]:
    from ...core import validation

    for k, v in tags.items():  # every check before the first write
        validation.tag_value(validation.key(k, "tag name"), v)
    store.get_experiment(exp_id)  # NotFound first
    if name is not None:
        store.rename_experiment(exp_id, name)
    for k, v in tags.items():
        store.set_experiment_tag(exp_id, k, v)
    return experiment_json(store.get_experiment(exp_id))


def _set_stage(store: Store, exp_id: str, deleted: bool) -> dict[str, Any]:
    store.get_experiment(exp_id)
    if deleted:
        store.delete_experiment(exp_id)
    else:
        store.restore_experiment(exp_id)
    return experiment_json(store.get_experiment(exp_id))


class ExperimentsAPIHandler(MMHandler):
    """What the ``experiments`` routes share: their auth resource, and the reply of a soft delete
    or a restore."""

    auth_resource = "jupyter_mm:experiments"

    async def send_stage(self, experiment_id: str, deleted: bool) -> None:
        """Mark the path's experiment deleted (or active again); answer it as it now is."""
        exp_id = parse_experiment(experiment_id)
        self.send_json(await self.call_store(_set_stage, exp_id, deleted))


class ExperimentsHandler(ExperimentsAPIHandler):
    """``GET`` lists experiments (``?view=active|deleted|all``); ``POST {name, tags}`` creates one."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        view = view_arg(self.get_query_argument("view", None))
        exps = await self.call_store(lambda store: store.list_experiments(view))
        self.send_json({"experiments": [experiment_json(e) for e in exps]})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self, ("name", "tags"))
        name = string_field(body, "name", required=True)
        tags = string_map(body.get("tags"), "tags")
        self.send_json(await self.call_store(_create, name, tags), status=201)


def _get_or_create(store: Store, name: str) -> dict[str, Any]:
    return experiment_json(store.get_experiment(store.get_or_create_experiment(name)))


class ExperimentGetOrCreateHandler(ExperimentsAPIHandler):
    """``POST experiments/get-or-create {name}``: the active experiment of that name, created if
    there is none (what ``mm.set_experiment`` does; safe to retry)."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self, ("name",))
        name = string_field(body, "name", required=True)
        self.send_json(await self.call_store(_get_or_create, name))


class ExperimentHandler(ExperimentsAPIHandler):
    """One experiment: ``GET``, ``PATCH {name, tags}`` (rename, set tags), ``DELETE``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, experiment_id: str) -> None:
        exp_id = parse_experiment(experiment_id)
        exp = await self.call_store(lambda store: store.get_experiment(exp_id))
        self.send_json(experiment_json(exp))

    @tornado.web.authenticated
    @authorized
    async def patch(self, experiment_id: str) -> None:
        exp_id = parse_experiment(experiment_id)
        body = json_object(self, ("name", "tags"))
        name = string_field(body, "name")
        tags = string_map(body.get("tags"), "tags")
        self.send_json(await self.call_store(_update, exp_id, name, tags))

    @tornado.web.authenticated
    @authorized
    async def delete(self, experiment_id: str) -> None:
        await self.send_stage(experiment_id, deleted=True)


class ExperimentRestoreHandler(ExperimentsAPIHandler):
    """``POST experiments/{id}/restore``: a deleted experiment becomes active again."""

    @tornado.web.authenticated
    @authorized
    async def post(self, experiment_id: str) -> None:
        await self.send_stage(experiment_id, deleted=False)
