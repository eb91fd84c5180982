"""Background jobs through a tracking server (``{base_url}jupyter-mm/api/jobs``): the job half of
``RemoteStore``, so ``mm.rerun``, ``mm.check_reproducible`` and ``mm.job`` work against a team
server. The server's runner runs them; starting one is never spooled (it is an action, not data),
and the server decides who may (on a team server, administrators only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ...core.store.jobs import MAX_LOG_READ, Job
from ...errors import InvalidInput
from .registry import RegistryRequests, item_path

#: The route that starts each kind of job, and the spec fields it takes.
_START = {
    "rerun": ("jobs/reruns", ("run_id", "params", "timeout")),
    "reproducibility": ("jobs/reproducibility", ("model", "version", "tolerance", "timeout")),
}


def job_from_json(d: Mapping[str, Any]) -> Job:
    log = d.get("log") or {}
    return Job(
        id=d["job_id"],
        kind=d["kind"],
        state=d["state"],
        spec=dict(d.get("spec") or {}),
        result=d.get("result"),
        error=d.get("error"),
        run_id=d.get("run_id"),
        result_run_id=d.get("result_run_id"),
        created_by=d.get("created_by") or "",
        owner=d.get("owner"),
        cancel_requested=bool(d.get("cancel_requested")),
        created_time=int(d["created_time"]),
        started_time=d.get("started_time"),
        ended_time=d.get("ended_time"),
        updated_time=int(d["updated_time"]),
        log_size=int(d.get("log_size") or 0),
        log_offset=int(log.get("offset") or 0),
        log=str(log.get("text") or ""),
    )


def _path(job_id: str) -> str:
    return item_path("jobs", job_id)


class RemoteJobsMixin(RegistryRequests):
    def start_job(self, kind: str, spec: Mapping[str, Any]) -> Job:
        """Queue a job on the server (``kind``: ``rerun`` or ``reproducibility``)."""
        if kind not in _START:
            raise InvalidInput(f"unknown job kind {kind!r}: expected one of {sorted(_START)}")
        route, fields = _START[kind]
        body = {k: spec[k] for k in fields if spec.get(k) is not None}
        if kind == "reproducibility":  # the route names the version, not its run
            body["name"] = body.pop("model", None)
        return job_from_json(self._registry_write("POST", route, once=True, json_body=body))

    def get_job(self, job_id: str, log_offset: int = 0, log_limit: int = MAX_LOG_READ) -> Job:
        query = {"log_offset": log_offset, "log_limit": log_limit}
        reply = self._registry_read("GET", f"{_path(job_id)}?{urlencode(query)}")
        return job_from_json(reply.json())

    def list_jobs(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        run_id: str | None = None,
        max_results: int = 100,
    ) -> list[Job]:
        query = {k: v for k, v in (("state", state), ("kind", kind), ("run_id", run_id)) if v}
        query["max_results"] = str(max_results)
        reply = self._registry_read("GET", "jobs?" + urlencode(query)).json()
        return [job_from_json(j) for j in reply["jobs"]]

    def cancel_job(self, job_id: str) -> Job:
        return job_from_json(self._registry_write("POST", f"{_path(job_id)}/cancel", once=True))
