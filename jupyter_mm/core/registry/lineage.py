"""Lineage of a model version: version → run → notebook snapshot and execution log → datasets →
environment → git, all read from what the store recorded.

The auditor's question "which data and which notebook produced it" is answered from facts only:
every piece names the artifact it came from and that artifact's SHA-256, so it can be fetched and
verified. A piece that was never recorded (a model logged from a script has no notebook snapshot; a
version registered from an outside URI has no run) is listed in ``missing`` with the reason, never
raised: absence is itself a fact worth showing.

Jupyter-free. The artifact paths and tag names are ``core/records.py``'s, which ``%%track`` writes.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from ...errors import MMError, NotFound
from ..records import (
    CELL,
    ENVIRONMENT,
    EXECUTION_LOG,
    GIT,
    TAG_KERNEL_SNAPSHOT,
    TAG_NOTEBOOK_FILE,
    TAG_NOTEBOOK_PATH,
    snapshot_path,
    snapshot_tag,
)
from ..wire import json_number

if TYPE_CHECKING:
    from ..entities import ArtifactInfo, Run
    from ..store import Store
    from .entities import Approval, ModelVersion

#: Snapshot phases, best first: JupyterLab's live document at the end, at the start, then the
#: kernel's own copy (from the file on disk or rebuilt from its history).
SNAPSHOT_PHASES = ("end", "start", "kernel")
#: Packages named in a lineage's environment even when the notebook did not import them.
KEY_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "torch",
    "tensorflow",
    "xgboost",
    "lightgbm",
    "catboost",
    "statsmodels",
    "skops",
    "cloudpickle",
    "mlflow",
    "jupyter-mm",
)


def version_json(v: ModelVersion) -> dict[str, Any]:
    """A model version as JSON (shared by lineage, model cards and the REST API)."""
    a = v.approval
    return {
        "name": v.name,
        "version": v.version,
        "source": v.source,
        "run_id": v.run_id,
        "logged_model_id": v.logged_model_id,
        "model_path": v.model_path,
        "status": v.status,
        "stage": v.stage,
        "lifecycle": v.lifecycle,
        "deprecation": v.deprecation,
        "description": v.description,
        "user_id": v.user_id,
        "creation_time": v.creation_time,
        "last_update_time": v.last_update_time,
        "tags": dict(v.tags),
        "aliases": list(v.aliases),
        "approval": None if a is None else approval_json(a),
    }


def approval_json(a: Approval) -> dict[str, Any]:
    """A version's approval as JSON: every field, in the entity's order."""
    return {**dataclasses.asdict(a), "evidence": list(a.evidence)}


def lineage(store: Store, name: str, version: int | str) -> dict[str, Any]:
    """Everything recorded about where version ``version`` of ``name`` came from.

    Keys: ``model`` (the version), ``run``, ``model_files``, ``notebook`` (``snapshot`` and
    ``cell``), ``execution_log``, ``datasets``, ``environment``, ``git`` (each ``None`` or ``[]``
    when absent) and ``missing`` ([{part, reason}]). Raises ``NotFound`` only for an unknown model
    or version.
    """
    mv = store.get_model_version(name, version)
    out: dict[str, Any] = {
        "model": version_json(mv),
        "run": None,
        "model_files": None,
        "notebook": {"snapshot": None, "cell": None},
        "execution_log": None,
        "datasets": [],
        "environment": None,
        "git": None,
        "missing": [],
    }
    missing: list[dict[str, str]] = out["missing"]
    if mv.run_id is None:
        missing.append(
            {"part": "run", "reason": f"the version's source {mv.source!r} names no run"}
        )
        return out
    try:
        run = store.get_run(mv.run_id)
    except NotFound:
        missing.append({"part": "run", "reason": f"run {mv.run_id} no longer exists"})
        return out
    out["run"] = _run_json(run)
    artifacts = {a.path: a for a in store.list_artifacts(run.id, recursive=True)}

    out["model_files"] = _model_files(store, run.id, mv.model_path, artifacts)
    if out["model_files"] is None:
        missing.append(
            {
                "part": "model_files",
                "reason": f"run {run.id} holds no artifacts under {mv.model_path or '(no path)'!r}",
            }
        )

    snapshot = _snapshot(run, artifacts)
    out["notebook"]["snapshot"] = snapshot
    if snapshot is None:
        missing.append(
            {
                "part": "notebook_snapshot",
                "reason": "no notebook snapshot was recorded (the run was not a %%track cell, "
                "or neither JupyterLab nor the kernel could provide one)",
            }
        )
    cell = _record(store, run.id, artifacts, CELL)
    if cell is not None:
        value, info = cell
        out["notebook"]["cell"] = {
            **_ref(info),
            "cell_id": value.get("cell_id"),
            "execution_count": value.get("execution_count"),
            "source": value.get("source"),
        }
    else:
        missing.append({"part": "cell", "reason": "no tracked cell was recorded"})

    log = _record(store, run.id, artifacts, EXECUTION_LOG)
    if log is not None:
        value, info = log
        flags = value.get("flags") or {}
        edited = flags.get("edited_after_run") or []
        out["execution_log"] = {
            **_ref(info),
            "entries": len(value.get("entries") or []),
            "out_of_order": bool(flags.get("out_of_order")),
            "hidden_state": bool(edited),
            "edited_after_run": list(edited),
            "missing_cells": list(flags.get("missing_cells") or []),
        }
    else:
        missing.append({"part": "execution_log", "reason": "no execution log was recorded"})

    out["datasets"] = [
        {
            "name": d.name,
            "digest": d.digest,
            "context": d.context,
            "source": d.source,
            "source_type": d.source_type,
            "row_count": d.row_count,
            "schema": d.schema,
        }
        for d in run.datasets
    ]
    if not out["datasets"]:
        missing.append({"part": "datasets", "reason": "the run recorded no dataset"})

    env = _record(store, run.id, artifacts, ENVIRONMENT)
    if env is not None:
        value, info = env
        out["environment"] = {**_ref(info), **_environment(value)}
    else:
        missing.append({"part": "environment", "reason": "no environment was recorded"})

    git = _record(store, run.id, artifacts, GIT)
    if git is not None:
        value, info = git
        out["git"] = {
            **_ref(info),
            "commit": value.get("commit"),
            "branch": value.get("branch"),
            "dirty": value.get("dirty"),
            "remote": value.get("remote_url"),
            "root": value.get("root"),
            "diff_bytes": value.get("diff_bytes"),
            "diff_truncated": bool(value.get("diff_truncated")),
        }
    else:
        missing.append(
            {"part": "git", "reason": "no git state was recorded (not in a git work tree?)"}
        )
    return out


def _run_json(run: Run) -> dict[str, Any]:
    from ..entities import shown_status

    return {
        "id": run.id,
        "name": run.name,
        "experiment_id": run.experiment_id,
        "experiment": run.experiment,
        "status": shown_status(run.status, run.heartbeat_time, _now()),
        "user": run.user,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "params": dict(run.params),
        # JSON has no NaN/Inf: they travel as MLflow's strings
        "metrics": {k: json_number(v) for k, v in run.metrics.items()},
        "notebook_path": run.tags.get(TAG_NOTEBOOK_PATH) or run.tags.get(TAG_NOTEBOOK_FILE),
    }


def _now() -> int:
    from .audit import now_ms

    return now_ms()


def _ref(info: ArtifactInfo) -> dict[str, Any]:
    return {"path": info.path, "digest": info.digest, "size": info.size}


def _record(
    store: Store, run_id: str, artifacts: dict[str, ArtifactInfo], path: str
) -> tuple[dict[str, Any], ArtifactInfo] | None:
    """A JSON record and its artifact; an unreadable one is reported as absent, not raised."""
    info = artifacts.get(path)
    if info is None:
        return None
    try:
        value = json.loads(store.read_artifact(run_id, path))
    except (MMError, ValueError, UnicodeDecodeError):
        return None
    return (value, info) if isinstance(value, dict) else None


def _snapshot(run: Run, artifacts: dict[str, ArtifactInfo]) -> dict[str, Any] | None:
    """The best snapshot (``client/snapshots.py``'s order) and which the others are."""
    present = [p for p in SNAPSHOT_PHASES if snapshot_path(p) in artifacts]
    if not present:
        return None
    phase = present[0]
    info = artifacts[snapshot_path(phase)]
    if phase == "kernel":
        source = run.tags.get(TAG_KERNEL_SNAPSHOT, "unknown")  # "disk" | "history"
    else:
        source = run.tags.get(snapshot_tag(phase), "frontend")
    return {
        **_ref(info),
        "phase": phase,
        "source": {"frontend": "live"}.get(source, source),
        "others": [{**_ref(artifacts[snapshot_path(p)]), "phase": p} for p in present[1:]],
    }


def _model_files(
    store: Store, run_id: str, path: str | None, artifacts: dict[str, ArtifactInfo]
) -> dict[str, Any] | None:
    """The model's files, and from its ``MLmodel`` the flavors and signature it declares."""
    if not path:
        return None
    files = [a for p, a in artifacts.items() if p == path or p.startswith(path + "/")]
    if not files:
        return None
    mlmodel = artifacts.get(f"{path}/MLmodel")
    flavors: list[str] = []
    signature: dict[str, Any] | None = None
    if mlmodel is not None:
        import yaml

        try:
            data = yaml.safe_load(store.read_artifact(run_id, mlmodel.path))
        except (MMError, yaml.YAMLError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("flavors"), dict):
                flavors = sorted(str(k) for k in data["flavors"])
            sig = data.get("signature")
            if isinstance(sig, dict):
                signature = {
                    k: sig[k] for k in ("inputs", "outputs") if isinstance(sig.get(k), str)
                }
    return {
        "path": path,
        "files": len(files),
        "size": sum(a.size for a in files),
        "mlmodel_digest": mlmodel.digest if mlmodel else None,
        "flavors": flavors,
        "signature": signature,
    }


def _environment(record: dict[str, Any]) -> dict[str, Any]:
    python = record.get("python") or {}
    plat = record.get("platform") or {}
    packages = record.get("packages") or {}
    imported = record.get("imported") or {}
    key = {p: packages[p] for p in KEY_PACKAGES if p in packages}
    return {
        "python": python.get("version"),
        "implementation": python.get("implementation"),
        "platform": plat.get("platform") or plat.get("system"),
        "fingerprint": record.get("fingerprint"),
        "key_packages": key,
        "imported": dict(imported),
        "packages": len(packages),
    }
