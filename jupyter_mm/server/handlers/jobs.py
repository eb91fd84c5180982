"""Background jobs: start a notebook re-run or a reproducibility check, list jobs, read one with
its live log (offset-based), cancel. What a Re-run dialog and a sidebar job list are built on."""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...errors import InvalidInput, StoreError
from ..jobs import JOBS_SETTING
from .base import MMHandler
from .common import int_arg, json_object, optional_arg

MAX_JOBS_PAGE = 1000


class _JobsBase(MMHandler):
    auth_resource = "jupyter_mm:jobs"

    @property
    def runner(self) -> Any:
        runner = self.settings.get(JOBS_SETTING)
        if runner is None:
            raise StoreError("this server runs no background jobs (JupyterMM.jobs is off)")
        return runner


class JobsHandler(_JobsBase):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """``GET jobs?state=&kind=&run_id=&max_results=``: newest first, without logs."""
        kw = {k: optional_arg(self, k) for k in ("state", "kind", "run_id")}
        n = int_arg(self, "max_results", 1, MAX_JOBS_PAGE)
        jobs = await self.call_store(lambda st: st.list_jobs(**kw, max_results=n or 100))
        self.send_json({"jobs": [j.to_json() for j in jobs]})


def _timeout(body: dict[str, Any]) -> dict[str, Any]:
    t = body.get("timeout")
    if t is None:
        return {}
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
        raise InvalidInput(f"'timeout' must be a positive number of seconds, got {t!r}")
    return {"timeout": t}


class RerunJobsHandler(_JobsBase):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        """``POST jobs/reruns {run_id, params, timeout}``: 201 with the queued job. Overrides are
        checked first (400 naming what can be overridden): a refused request makes no job."""
        from ...loop.rerun import build_plan

        body = json_object(self, ("run_id", "params", "timeout"))
        run_id, params = body.get("run_id"), body.get("params") or {}
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput("'run_id' is required: the run to re-run")
        if not isinstance(params, dict):
            raise InvalidInput("'params' must be an object of name to value")
        spec = {"run_id": run_id, "params": params, **_timeout(body)}
        await self.call_store(build_plan, run_id, params)
        user, runner = self.actor, self.runner
        job = await self.call_store(
            lambda st: runner.submit("rerun", spec, created_by=user, run_id=run_id)
        )
        self.send_json(job.to_json(), status=201)


class ReproducibilityJobsHandler(_JobsBase):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        """``POST jobs/reproducibility {name, version, tolerance, timeout}``: 201 with the job."""
        from ...loop.reproducibility import DEFAULT_TOLERANCE, _check_tolerance

        body = json_object(self, ("name", "version", "tolerance", "timeout"))
        tol = _check_tolerance(body.get("tolerance", DEFAULT_TOLERANCE))
        mv = await self.call_store(
            lambda st: st.get_model_version(str(body.get("name") or ""), body.get("version"))
        )
        if not mv.run_id:
            raise InvalidInput(f"{mv.name!r} version {mv.version} has no source run to re-run")
        spec = {"run_id": mv.run_id, "params": {}, "model": mv.name, "version": mv.version,
                "tolerance": tol, **_timeout(body)}  # fmt: skip
        user, runner = self.actor, self.runner
        job = await self.call_store(
            lambda st: runner.submit("reproducibility", spec, created_by=user, run_id=mv.run_id)
        )
        self.send_json(job.to_json(), status=201)


class JobHandler(_JobsBase):
    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """``GET jobs/{id}?log_offset=N&log_limit=M``: the job and its log from character N."""
        offset = int_arg(self, "log_offset", 0) or 0
        limit = int_arg(self, "log_limit", 0, 1_000_000)
        job = await self.call_store(
            lambda st: st.get_job(job_id, offset, 1_000_000 if limit is None else limit)
        )
        self.send_json(job.to_json(with_log=True))


class JobCancelHandler(_JobsBase):
    @tornado.web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        """``POST jobs/{id}/cancel``: a queued job is cancelled at once, a running one stops
        (its runner records ``cancelled``); an ended one is a 400 Conflict."""
        job = await self.call_store(lambda st: st.cancel_job(job_id))
        self.send_json(job.to_json())
