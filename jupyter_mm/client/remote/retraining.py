"""Retraining through a tracking server (``registry/models/{name}/retraining-policy``,
``.../retrainings``, ``registry/retrainings/{id}``): the retraining half of ``RemoteStore``, so
``mm.set_retraining_policy``, ``mm.retrain`` and ``mm.retrainings`` work against a team server.
The server runs the retraining's job; nothing here is spooled (the server decides who may)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.registry.retraining import Retraining
from .registry import RegistryRequests, _model_path, item_path


def retraining_from_json(d: Mapping[str, Any]) -> Retraining:
    return Retraining(
        id=d["retraining_id"], model=d["model"], event_key=d["event_key"],
        trigger=dict(d.get("trigger") or {}), policy=dict(d.get("policy") or {}),
        state=d["state"], source_run_id=d.get("source_run_id"), params=dict(d.get("params") or {}),
        job_id=d.get("job_id"), run_id=d.get("run_id"), champion_version=d.get("champion_version"),
        gate=d.get("gate"), version=d.get("version"), approval=d.get("approval"),
        error=d.get("error"), created_by=d.get("created_by") or "",
        created_time=int(d["created_time"]), updated_time=int(d["updated_time"]),
    )  # fmt: skip


class RemoteRetrainingMixin(RegistryRequests):
    def retraining_policy(self, name: str) -> dict[str, Any] | None:
        reply = self._registry_read("GET", f"{_model_path(name)}/retraining-policy")
        policy: dict[str, Any] | None = reply.json()["policy"]
        return policy

    def set_retraining_policy(
        self, name: str, policy: Mapping[str, Any] | None, *, actor: str = "", comment: str = ""
    ) -> dict[str, Any] | None:
        """The server's identity acts, not ``actor``."""
        path = f"{_model_path(name)}/retraining-policy"
        if policy is None:
            return self._registry_write("DELETE", path, once=True)["policy"]
        body = {"policy": dict(policy), "comment": comment}
        return self._registry_write("PUT", path, once=True, json_body=body)["policy"]

    def start_retraining(self, name: str, params: Mapping[str, Any] | None = None) -> Retraining:
        """Start a retraining by hand on the server (its runner runs the job)."""
        body = {"params": dict(params or {})}
        reply = self._registry_write(
            "POST", f"{_model_path(name)}/retrainings", once=True, json_body=body
        )
        return retraining_from_json(reply)

    def list_retrainings(self, name: str, max_results: int = 100) -> list[Retraining]:
        reply = self._registry_read(
            "GET", f"{_model_path(name)}/retrainings?max_results={int(max_results)}"
        )
        return [retraining_from_json(r) for r in reply.json()["retrainings"]]

    def get_retraining(self, retraining_id: str) -> Retraining:
        reply = self._registry_read("GET", item_path("registry/retrainings", retraining_id))
        return retraining_from_json(reply.json())
