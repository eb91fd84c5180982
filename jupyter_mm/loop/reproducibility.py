"""``mm.check_reproducible``: does a version's notebook still reproduce it?

The version's source run is re-run unchanged (:mod:`.rerun`, as a job); then its metrics, and the
new model's predictions on a sample, are compared with the original's within ``tolerance``
(absolute and relative, like ``math.isclose``). The sample is, in order: the version's reference
data (its logged evaluation dataset whose digest the reference profile records), else the run's
logged evaluation dataset, else the model's logged input example; the result says which. The
verdict, the differences and the environment differences are kept as audited evidence
(``core/registry/reproducibility.py``) that the model card shows and ``require_reproduced`` reads.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MMError

if TYPE_CHECKING:
    from ..core.store import Store
    from ..core.store.jobs import Job

DEFAULT_TOLERANCE = 1e-9


def _check_tolerance(value: Any) -> float:
    bad = InvalidInput(f"tolerance must be a non-negative finite number, got {value!r:.80}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad
    try:
        number = float(value)  # an integer of 400 digits is no float: OverflowError
    except OverflowError:
        raise bad from None
    if not (math.isfinite(number) and number >= 0):
        raise bad
    return number


def _close(a: float, b: float, tol: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def check_reproducible(
    name: str, version: int | str, tolerance: float = DEFAULT_TOLERANCE, *,
    wait: bool = True, timeout: float | None = None,
) -> dict[str, Any] | Any:  # fmt: skip
    """Re-run the version's source run unchanged and compare (see the module docstring); the
    result (``passed``, ``metrics``, ``predictions``, ``environment``) is attached to the version
    as the audited tag ``mm.reproducibility``. ``wait=False`` returns the job's handle."""
    from ..client.backend import get_store
    from .reruns import RerunFailed, submit

    tol = _check_tolerance(tolerance)
    store = get_store()
    mv = store.get_model_version(name, version)
    if not mv.run_id:
        raise InvalidInput(f"{name!r} version {mv.version} has no source run to re-run")
    spec: dict[str, Any] = {"run_id": mv.run_id, "params": {}, "model": name,
                            "version": mv.version, "tolerance": tol}  # fmt: skip
    if timeout is not None:
        spec["timeout"] = timeout
    handle = submit("reproducibility", spec, mv.run_id)
    if not wait:
        return handle
    job = handle.wait(None if timeout is None else timeout + 60)
    if job.state != "finished" or not job.result or "summary" not in job.result:
        raise RerunFailed(
            f"reproducibility check job {job.id} {job.state}: {job.error or 'no result'}",
            {"job_id": job.id, "state": job.state},
        )
    return dict(job.result["summary"])


def reproducibility(name: str, version: int | str) -> dict[str, Any] | None:
    """The version's latest check: ``{"summary", "details"}``, or None."""
    from ..client.backend import get_store
    from ..core.registry.reproducibility import reproducibility as read

    return read(get_store(), name, version)  # type: ignore[arg-type]


def run_check(
    store: Store, job: Job, tracking_uri: str, artifact_uri: str | None, log: Any
) -> tuple[dict[str, Any], str | None]:
    """The job's work (in the worker): re-run, compare, record the evidence."""
    from ..client.comparison import run_diff
    from ..core.registry.reproducibility import record_reproducibility
    from .worker import run_rerun

    spec = job.spec
    name, number, tol = spec["model"], int(spec["version"]), float(spec["tolerance"])
    result, new_id = run_rerun(store, job, tracking_uri, artifact_uri, log, params={})
    original = store.get_run(spec["run_id"])
    details: dict[str, Any] = {"model": name, "version": number, "tolerance": tol,
                               "source_run_id": original.id, "rerun_run_id": new_id,
                               "job_id": job.id}  # fmt: skip
    problems: list[str] = []
    if result.get("error") or new_id is None:
        problems.append(f"the re-run failed: {result.get('error')}")
        details.update(metrics=[], predictions=None, environment=[])
    else:
        new = store.get_run(new_id)
        rows = []
        for key in sorted(set(original.metrics) | set(new.metrics)):
            a, b = original.metrics.get(key), new.metrics.get(key)
            ok = a is not None and b is not None and _close(a, b, tol)
            rows.append({"key": key, "original": a, "rerun": b, "within_tolerance": ok})
            if not ok:
                problems.append(f"metric {key}: {a} → {b}")
        details["metrics"] = rows
        log(
            f"metrics compared: {len(rows)}, differing: {sum(not r['within_tolerance'] for r in rows)}\n"
        )
        try:
            details["predictions"] = _compare_predictions(store, name, number, new_id, tol)
        except MMError as e:
            details["predictions"] = {"error": e.message}
        p = details["predictions"]
        if p and p.get("compared") and not p.get("within_tolerance"):
            problems.append(f"predictions on the {p['sample']}: max difference {p['max_abs_diff']}")
        details["environment"] = run_diff(store, original.id, new_id, notebook=False)["environment"]
    passed = not problems
    preds = details.get("predictions") or {}
    summary = {
        "passed": passed,
        "tolerance": tol,
        "source_run_id": original.id,
        "rerun_run_id": new_id,
        "job_id": job.id,
        "metrics_compared": len(details.get("metrics", [])),
        "predictions_sample": preds.get("sample"),
        "environment_differences": len(details.get("environment", [])),
        "problems": [p[:300] for p in problems[:10]],
    }
    details["problems"] = problems
    stored = record_reproducibility(
        store, name, number, summary, details, actor=job.created_by,
        comment=f"reproducibility check (job {job.id})",
    )  # fmt: skip
    log(f"reproducibility check {'passed' if passed else 'failed'}\n")
    result = {**result, "summary": stored}
    result.pop("error", None)  # a failed check is a finished job with a failing verdict
    return result, new_id


def _compare_predictions(
    store: Store, name: str, number: int, new_id: str, tol: float
) -> dict[str, Any]:
    import numpy as np

    from ..core.models.files import RunFiles
    from ..core.models.format import load_model
    from ..core.models.uris import version_location

    mv = store.get_model_version(name, number)
    where = version_location(store, mv)
    if where.run_id is None:
        return {"compared": False, "reason": "the version's model is not in a run"}
    original = load_model(RunFiles(store, where.run_id, where.path))
    try:
        rerun = load_model(RunFiles(store, new_id, where.path))
    except MMError as e:
        return {"compared": False, "reason": f"the re-run logged no model at {where.path}: {e.message}",
                "within_tolerance": False, "compared_expected": True}  # fmt: skip
    sample, kind = _sample(store, name, number, where)
    if sample is None:
        return {
            "compared": False,
            "reason": "no reference sample, evaluation dataset or input example",
        }
    a = np.asarray(original.predict(sample), dtype=float).ravel()
    b = np.asarray(rerun.predict(sample), dtype=float).ravel()
    if a.shape != b.shape:
        return {"compared": True, "sample": kind, "rows": len(sample), "within_tolerance": False,
                "max_abs_diff": None, "reason": "prediction shapes differ"}  # fmt: skip
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    ok = bool(np.all([_close(x, y, tol) for x, y in zip(a.tolist(), b.tolist(), strict=True)]))
    return {"compared": True, "sample": kind, "rows": int(len(sample)), "max_abs_diff": diff,
            "within_tolerance": ok}  # fmt: skip


def _sample(store: Store, name: str, number: int, where: Any) -> tuple[Any, str]:
    """The rows to predict on, and which they are (see the module docstring)."""
    import json

    import pandas as pd

    from ..core.models.files import RunFiles
    from ..monitoring.references import _evaluation_data

    try:
        data = _evaluation_data(store, name, number)
        found = store.reference_profile(name, number)
        if found is not None:
            from ..client.datasets import describe

            if describe(data, "reference").digest == found["profile"].get("data_digest"):
                return data, "reference sample"
        return data, "evaluation dataset"
    except (InvalidInput, MMError):
        pass
    try:
        raw = json.loads(RunFiles(store, where.run_id, where.path).read("input_example.json"))
    except MMError:
        return None, ""
    if isinstance(raw, dict) and "columns" in raw:
        return pd.DataFrame(raw["data"], columns=raw["columns"]), "input example"
    import numpy as np

    return np.asarray(raw), "input example"
