"""Retraining: a model's policy re-runs its notebook, gates the candidate, and asks for approval.

A policy (``mm.set_retraining_policy``, kept and audited by ``core/registry/retraining.py``) says
which events start a retraining (``drift``, ``performance``: the monitors' alarms; ``schedule``;
``manual``: ``mm.retrain``), which run to re-run (default: the source run of the version the
``alias``, ``champion`` by default, points to) with which parameter overrides, and the evaluation
gate. A retraining (:func:`start`) is recorded first (one per event, whatever the number of
server processes), then either

- runs as a background job of kind ``retraining`` (:func:`run_retraining`, in the job's worker):
  the re-run (:mod:`.rerun`), then the gate, comparing the candidate's metrics with the
  champion's with MLflow's ``MetricThreshold`` semantics (:func:`evaluate_gate`): the runs'
  logged metrics, or, with the policy's ``gate_dataset``, both models' metrics measured on that
  dataset (:func:`gate_on_dataset`); a passing candidate is registered as a new version and
  submitted for approval. **No alias is ever moved**: a person approves, then moves it; or
- with ``executor: "webhook"``, is handed off: ``retraining.requested`` is published with the run
  and the overrides, for an orchestrator (an Airflow DAG run) to act on.

Each step publishes a webhook event: ``retraining.started``, ``retraining.requested``,
``retraining.gate_failed``, ``retraining.pending_approval``, ``retraining.failed``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core.registry.retraining import (
    FAILED,
    GATE_FAILED,
    HANDED_OFF,
    PENDING_APPROVAL,
    RUNNING,
    Retraining,
    normalize_policy,
)
from ..core.registry.retraining import params as check_params
from ..errors import InvalidInput, MMError

if TYPE_CHECKING:
    from ..core.store import Store
    from ..core.store.jobs import Job

log = logging.getLogger(__name__)

#: Who acts for a retraining an event (not a person) started: the candidate's registration and
#: approval request are recorded under it, so under four eyes any person may decide.
SYSTEM_ACTOR = "jupyter-mm-retraining"
#: Version tag naming the retraining that registered a version.
RETRAINING_TAG = "mm.retraining"
#: Event kind (monitor event action) → policy trigger.
EVENT_TRIGGERS = {"monitor.drift_detected": "drift", "monitor.performance_degraded": "performance"}

Submit = Callable[[dict[str, Any], str], Any]  # (spec, run id) -> Job


# ------------------------------------------------------------------------------------ the gate


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _check(metric: str, c: float | None, gib: bool, kind: str, bound: float | None,
           what: str) -> dict[str, Any]:  # fmt: skip
    if c is None:
        reason = f"the candidate has no finite {metric!r}"
        return {"kind": kind, "bound": bound, "passed": False, "reason": reason}
    if bound is None:
        reason = f"the champion has no finite {metric!r} to compare with"
        return {"kind": kind, "bound": None, "passed": False, "reason": reason}
    ok = c >= bound if gib else c <= bound
    reason = f"{metric} {c:g} {'is' if ok else 'is not'} {'>=' if gib else '<='} {bound:g} ({what})"
    return {"kind": kind, "bound": bound, "passed": ok, "reason": reason}


def evaluate_gate(
    gate: Sequence[Mapping[str, Any]],
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
) -> dict[str, Any]:
    """Each threshold of ``gate`` against the candidate's and the champion's metric of the same
    key, as MLflow's ``MetricThreshold``: with ``greater_is_better`` the candidate must be
    ``>= threshold``, ``>= champion + min_absolute_change`` and
    ``>= champion * (1 + min_relative_change)`` (else ``<=``, ``- change``, ``* (1 - change)``).
    A metric the candidate lacks (or NaN) fails; so does a change threshold without a champion
    value. Returns ``{"passed", "thresholds": [{metric, candidate, champion, checks: [{kind,
    bound, passed, reason}], passed}]}``."""
    rows = []
    for t in gate:
        metric, gib = str(t["metric"]), bool(t.get("greater_is_better", True))
        c = _finite(candidate.get(metric))
        b = _finite(champion.get(metric)) if champion is not None else None
        sign = 1.0 if gib else -1.0
        checks: list[dict[str, Any]] = []
        if "threshold" in t:
            checks.append(_check(metric, c, gib, "threshold", float(t["threshold"]), "threshold"))
        if "min_absolute_change" in t:
            d = float(t["min_absolute_change"])
            bound = None if b is None else b + sign * d
            what = f"champion {b:g} {'+' if gib else '-'} {d:g}" if b is not None else ""
            checks.append(_check(metric, c, gib, "min_absolute_change", bound, what))
        if "min_relative_change" in t:
            r = float(t["min_relative_change"])
            bound = None if b is None else b * (1 + sign * r)
            what = f"champion {b:g} × {1 + sign * r:g}" if b is not None else ""
            checks.append(_check(metric, c, gib, "min_relative_change", bound, what))
        rows.append({"metric": metric, "greater_is_better": gib, "candidate": c, "champion": b,
                     "checks": checks, "passed": all(x["passed"] for x in checks)})  # fmt: skip
    return {"passed": all(r["passed"] for r in rows), "thresholds": rows}


def _read_gate_dataset(
    store: Store, spec: Mapping[str, Any], runs: Sequence[str]
) -> tuple[Any, dict[str, Any]]:
    """The gate dataset's rows and what they are (``name``, ``digest``, ``rows``, ``source``,
    ``run_id``: the run that logged it, None for a ``path``). A logged dataset is looked for in
    ``runs`` in order, by name, and read back from its file with the digest logged."""
    from ..client.datasets import describe, read_back

    name, label = spec["name"], spec["label"]
    frame, found, run_id = None, None, None
    if spec.get("path"):
        found = describe(spec["path"], name, "evaluation")  # InvalidInput when it is gone
        frame = read_back(found)
    else:
        why = []
        for rid in runs:
            for d in store.get_run(rid).datasets:
                if d.name != name or frame is not None:
                    continue
                try:
                    frame, found, run_id = read_back(d), d, rid
                except InvalidInput as e:
                    why.append(f"in run {rid}: {e.message}")
        if frame is None or found is None:
            raise InvalidInput(
                f"the gate dataset {name!r} cannot be read back: "
                + ("; ".join(why) or f"no dataset of that name was logged in run {' or '.join(runs)} "
                   "(mm.log_dataset of a CSV or Parquet file)")
            )  # fmt: skip
    if label not in frame.columns:
        columns = ", ".join(map(str, list(frame.columns)[:20]))
        raise InvalidInput(
            f"the gate dataset {name!r} has no label column {label!r} (its columns: {columns})"
        )
    info = {"name": name, "digest": found.digest, "rows": int(len(frame)),
            "source": found.source, "run_id": run_id}  # fmt: skip
    return frame, info


def dataset_metrics(model: Any, features: Any, labels: Any) -> dict[str, float]:
    """A loaded model's metrics on labelled rows, with the monitoring's metric functions:
    :func:`~jupyter_mm.monitoring.performance.measure`'s on its predictions (accuracy,
    precision, recall, F1; or MAE, RMSE), and AUC, Gini and KS on its scores: the positive
    class's ``predict_proba`` when the model offers it, else its predictions (when the labels
    are two classes)."""
    import numpy as np

    from ..monitoring.performance import auc, gini, ks_score, measure
    from ..monitoring.profile import _scores_array

    y = np.asarray(labels)
    predictions = np.asarray(model.predict(features))
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    scores, positive = None, None
    proba = getattr(model.native, "predict_proba", None)
    classes = getattr(model.native, "classes_", None)
    if callable(proba) and classes is not None and len(classes) == 2:
        sig = model.signature
        scores = _scores_array(proba(sig.enforce(features) if sig else features), len(y))
        positive = classes[1]
    elif predictions.ndim == 2 and predictions.shape[1] == 2:  # its predict_fn is predict_proba
        scores = _scores_array(predictions, len(y))
    elif predictions.dtype.kind in "fiub":
        scores = predictions.astype(float)
    out: dict[str, Any] = {}
    if predictions.ndim == 1:
        out.update(measure(y, predictions))
    if scores is not None:
        binary = (y == positive).astype(np.int8) if positive is not None else y
        try:
            out.update(auc=auc(binary, scores), gini=gini(binary, scores),
                       ks=ks_score(binary, scores))  # fmt: skip
        except InvalidInput:  # labels that are not two classes: no probability metrics
            pass
    return {k: float(v) for k, v in out.items()
            if k not in ("n", "task") and isinstance(v, (int, float))}  # fmt: skip


def gate_on_dataset(
    store: Store,
    gate: Sequence[Mapping[str, Any]],
    spec: Mapping[str, Any],
    champion_mv: Any,
    candidate_run: str,
    path: str,
    source_run: str | None,
) -> dict[str, Any]:
    """:func:`evaluate_gate` on both models' metrics measured on the gate dataset ``spec``
    (``{"name", "label"[, "path"]}``: a dataset logged in the champion's source run or the
    candidate run, or a file): the champion version's model and the candidate's (at ``path``
    in ``candidate_run``) are loaded and scored on its rows. The result, and each threshold,
    names the dataset (name, digest, rows). InvalidInput when the dataset cannot be read back,
    lacks its label, or a model cannot be loaded or scored."""
    from ..core.models.files import RunFiles
    from ..core.models.format import load_model
    from ..core.models.uris import version_location

    runs = [
        r for r in (champion_mv.run_id if champion_mv else None, source_run, candidate_run) if r
    ]
    frame, info = _read_gate_dataset(store, spec, list(dict.fromkeys(runs)))
    features, labels = frame.drop(columns=[spec["label"]]), frame[spec["label"]].to_numpy()

    def score(files: Any, who: str) -> dict[str, float]:
        try:
            return dataset_metrics(load_model(files), features, labels)
        except MMError as e:
            why = e.message
        except Exception as e:  # the model's own code (predict) refused the rows
            why = f"{type(e).__name__}: {e}"
        raise InvalidInput(f"the {who} could not be scored on {info['name']!r}: {why}")

    candidate = score(RunFiles(store, candidate_run, path),
                      f"candidate (runs:/{candidate_run}/{path})")  # fmt: skip
    champion = None
    if champion_mv is not None:
        where = version_location(store, champion_mv)
        files = RunFiles(store, where.run_id, where.path) if where.run_id else where.path
        champion = score(files, f"champion (version {champion_mv.version})")
    result = evaluate_gate(gate, candidate, champion)
    on = {k: info[k] for k in ("name", "digest", "rows")}
    for row in result["thresholds"]:
        row["dataset"] = on
    return {**result, "dataset": info}


# ------------------------------------------------------------------------------ starting one


def _publish(
    store: Store, rec: Retraining, event: str, extra: Mapping[str, Any] | None = None
) -> None:
    """Queue a ``retraining.*`` webhook event (idempotent per retraining and event)."""
    data = {
        "retraining_id": rec.id, "model": rec.model, "state": rec.state,
        "trigger": rec.trigger, "source_run_id": rec.source_run_id, "params": rec.params,
        "job_id": rec.job_id, "run_id": rec.run_id, "champion_version": rec.champion_version,
        "version": rec.version, "gate": rec.gate, "error": rec.error, **(extra or {}),
    }  # fmt: skip
    try:
        store.publish_webhook_event(
            event, data, key=f"retraining:{rec.id}:{event}", model=rec.model
        )
    except MMError as e:
        log.warning(
            "jupyter-mm retraining: publishing %s of %s failed: %s", event, rec.id, e.message
        )


def start(
    store: Store,
    name: str,
    *,
    trigger: Mapping[str, Any],
    event_key: str,
    actor: str,
    submit: Submit | None,
    params: Mapping[str, Any] | None = None,
) -> tuple[Retraining, bool] | None:
    """Start the retraining ``trigger`` (``{"kind": "drift"|"performance"|"schedule"|"manual",
    ...}``) asks for, once per ``event_key``: ``(record, created)``. None when the model's policy
    does not retrain on this trigger (an event); a manual retraining the policy does not allow
    is an InvalidInput. Everything is checked (the run, the overrides) before anything is
    recorded. ``submit(spec, run_id)`` queues the job (None: the policy must hand off)."""
    from .rerun import build_plan

    kind = trigger.get("kind")
    manual = kind == "manual"
    policy = store.retraining_policy(name)
    if policy is None or not policy["enabled"] or kind not in policy["triggers"]:
        if not manual:
            return None
        why = ("has no retraining policy (mm.set_retraining_policy)" if policy is None
               else "has its retraining policy disabled" if not policy["enabled"]
               else "has a retraining policy without the 'manual' trigger")  # fmt: skip
        raise InvalidInput(f"{name!r} {why}")
    overrides = {**policy["params"], **check_params(params)}
    champion = None
    try:
        champion = store.get_model_version_by_alias(name, policy["alias"])
    except InvalidInput:
        if policy["run_id"] is None:
            raise InvalidInput(
                f"{name!r} has no alias {policy['alias']!r}: the retraining re-runs its version's "
                "source run (or set the policy's run_id)"
            ) from None
    run_id = policy["run_id"] or (champion.run_id if champion is not None else None)
    if not run_id:
        raise InvalidInput(f"{name!r} version {champion.version if champion else '?'} has no source run to re-run")  # fmt: skip
    build_plan(store, run_id, overrides)  # a bad override is refused now, not in the job
    handed_off = policy["executor"] == "webhook"
    rec, created = store.create_retraining(
        name, event_key=event_key, trigger=dict(trigger), policy=policy, source_run_id=run_id,
        params=overrides, champion_version=champion.version if champion else None,
        state=HANDED_OFF if handed_off else RUNNING, actor=actor,
    )  # fmt: skip
    if not created:
        return rec, False
    if handed_off:
        _publish(store, rec, "retraining.requested",
                 {"executor": "webhook", "alias": policy["alias"], "gate_spec": policy["gate"],
                  "gate_dataset": policy.get("gate_dataset")})  # fmt: skip
        return rec, True
    try:
        if submit is None:
            raise InvalidInput("this process runs no background jobs")
        job = submit({"retraining_id": rec.id, "run_id": run_id, "params": overrides, "model": name},
                     run_id)  # fmt: skip
    except MMError as e:
        rec = store.update_retraining(rec.id, action="failed", state=FAILED, actor=actor,
                                      error=f"the job could not be queued: {e.message}")  # fmt: skip
        _publish(store, rec, "retraining.failed")
        raise
    rec = store.update_retraining(rec.id, action="job_queued", actor=actor, job_id=job.id)
    _publish(store, rec, "retraining.started")
    return rec, True


def on_event(store: Store, data: Mapping[str, Any], submit: Submit | None) -> Retraining | None:
    """A monitor alarm's retraining (the server calls it for each ``monitor.*`` event), if the
    model's policy retrains on it; at most one per evaluation."""
    kind = EVENT_TRIGGERS.get(str(data.get("action")))
    model, evaluation = data.get("model"), data.get("evaluation_id")
    if kind is None or not isinstance(model, str) or not evaluation:
        return None
    trigger = {"kind": kind, "event": data["action"], "evaluation_id": evaluation,
               "monitor": data.get("monitor"), "version": data.get("version")}  # fmt: skip
    found = start(store, model, trigger=trigger, event_key=f"{data['action']}:{evaluation}",
                  actor=SYSTEM_ACTOR, submit=submit)  # fmt: skip
    return found[0] if found else None


def run_schedules(
    store: Store, submit: Submit | None, now: float | None = None
) -> list[Retraining]:
    """The scheduled retraining of every policy whose period began since it was last started:
    the period's index is the event key, so each period starts once across processes. A period
    that began before the policy was set is skipped."""
    now = time.time() if now is None else now
    started = []
    for name, policy, set_ms in store.retraining_policies():
        if "schedule" not in policy["triggers"] or not policy["enabled"]:
            continue
        every = int(policy["schedule"]["every"])
        period = int(now // every)
        if period * every * 1000 < set_ms:
            continue
        try:
            found = start(store, name, trigger={"kind": "schedule", "period": period, "every": every},
                          event_key=f"schedule:{every}:{period}", actor=SYSTEM_ACTOR,
                          submit=submit)  # fmt: skip
        except MMError as e:
            log.warning(
                "jupyter-mm retraining: the scheduled retraining of %s failed: %s", name, e.message
            )
            continue
        if found and found[1]:
            started.append(found[0])
    return started


# ------------------------------------------------------------------------ the job (in a worker)


def run_retraining(
    store: Store, job: Job, tracking_uri: str, artifact_uri: str | None, log_: Any
) -> tuple[dict[str, Any], str | None]:
    """The job's work: re-run, gate, register the candidate and request approval."""
    from .worker import run_rerun

    spec = job.spec
    rid, name = spec["retraining_id"], spec["model"]
    rec = store.get_retraining(rid)
    actor = rec.created_by
    result, new_id = run_rerun(store, job, tracking_uri, artifact_uri, log_, params=spec["params"])
    if result.get("error") or new_id is None:
        rec = store.update_retraining(rid, action="failed", state=FAILED, actor=actor,
                                      run_id=new_id, error=f"the re-run failed: {result.get('error')}")  # fmt: skip
        _publish(store, rec, "retraining.failed")
        return {**result, "retraining_id": rid, "state": FAILED}, new_id
    try:
        champion_mv = (store.get_model_version(name, rec.champion_version)
                       if rec.champion_version is not None else None)  # fmt: skip
        path = None
        dataset = rec.policy.get("gate_dataset")
        if dataset:
            path = _model_path(store, champion_mv, rec.source_run_id)
            gate = gate_on_dataset(store, rec.policy["gate"], dataset, champion_mv, new_id, path,
                                   rec.source_run_id)  # fmt: skip
        else:
            candidate = store.get_run(new_id).metrics
            champion = None
            if champion_mv is not None and champion_mv.run_id:
                champion = store.get_run(champion_mv.run_id).metrics
            gate = evaluate_gate(rec.policy["gate"], candidate, champion)
        log_(f"gate {'passed' if gate['passed'] else 'failed'}: "
             + "; ".join(c["reason"] for t in gate["thresholds"] for c in t["checks"]) + "\n")  # fmt: skip
        if not gate["passed"]:
            rec = store.update_retraining(rid, action="gate_failed", state=GATE_FAILED,
                                          actor=actor, run_id=new_id, gate=gate)  # fmt: skip
            _publish(store, rec, "retraining.gate_failed")
            return {**result, "retraining_id": rid, "state": GATE_FAILED, "gate": gate}, new_id
        if path is None:
            path = _model_path(store, champion_mv, rec.source_run_id)
        mv = store.create_model_version(
            name, f"runs:/{new_id}/{path}", actor=actor, run_id=new_id,
            tags={RETRAINING_TAG: rid}, comment=f"retraining {rid}: the gate passed",
        )  # fmt: skip
        store.request_approval(
            name, mv.version, actor=actor, evidence=[f"runs:/{new_id}"],
            comment=f"retraining {rid} ({rec.trigger.get('kind')}): the gate passed",
        )  # fmt: skip
        rec = store.update_retraining(rid, action="pending_approval", state=PENDING_APPROVAL,
                                      actor=actor, run_id=new_id, gate=gate, version=mv.version)  # fmt: skip
    except MMError as e:
        rec = store.update_retraining(rid, action="failed", state=FAILED, actor=actor,
                                      run_id=new_id, error=e.message)  # fmt: skip
        _publish(store, rec, "retraining.failed")
        return {**result, "retraining_id": rid, "state": FAILED, "error": e.message}, new_id
    _publish(store, rec, "retraining.pending_approval")
    log_(f"registered {name!r} version {mv.version}, pending approval\n")
    return {**result, "retraining_id": rid, "state": PENDING_APPROVAL, "gate": gate,
            "version": mv.version}, new_id  # fmt: skip


def _model_path(store: Store, champion_mv: Any, source_run_id: str | None) -> str:
    """Where the candidate's model is in the new run: the champion version's model path (the
    re-run logs it where the original did), or the source run's one model without a champion."""
    from ..core.models.uris import version_location

    if champion_mv is not None:
        return version_location(store, champion_mv).path
    return _only_model(store, source_run_id or "")


def _only_model(store: Store, run_id: str) -> str:
    """The path of the one model a run logged (``mm.models``), when there is no champion."""
    import json

    from ..core.models.uris import MODELS_TAG

    raw = store.get_run(run_id).tags.get(MODELS_TAG)
    models = json.loads(raw) if raw else {}
    paths = (
        [m.get("artifact_path") for m in models.values() if isinstance(m, dict)]
        if isinstance(models, dict)
        else []
    )
    if len(paths) != 1 or not isinstance(paths[0], str):
        raise InvalidInput(
            f"run {run_id} logged {len(paths)} models: which to register is unclear without a champion"
        )
    return paths[0]


# ------------------------------------------------------------------------------- mm.* (client)


def _store() -> Any:
    """The client's store: a local one, or a tracking server (``RemoteStore``, whose retraining
    calls go to the server's routes, and whose runner runs the job)."""
    from ..client.backend import get_store

    return get_store()


def _remote(store: Any) -> bool:
    return getattr(store, "kind", None) == "remote"


def set_retraining_policy(
    name: str,
    *,
    triggers: Sequence[str],
    alias: str = "champion",
    run_id: str | None = None,
    params: Mapping[str, Any] | None = None,
    gate: Sequence[Mapping[str, Any]] | Mapping[str, Any] = (),
    gate_dataset: Mapping[str, Any] | None = None,
    executor: str = "local",
    schedule: Mapping[str, Any] | None = None,
    enabled: bool = True,
    comment: str = "",
) -> dict[str, Any]:
    """Set the model's retraining policy (see :func:`~jupyter_mm.core.registry.retraining.normalize_policy`);
    audited. Returns the policy as stored."""
    from ..client.registry import current_user

    policy = {"triggers": list(triggers), "alias": alias, "run_id": run_id,
              "params": dict(params or {}), "gate": gate if isinstance(gate, Mapping) else list(gate),
              "executor": executor, "enabled": enabled}  # fmt: skip
    if schedule is not None:
        policy["schedule"] = dict(schedule)
    if gate_dataset is not None:
        policy["gate_dataset"] = gate_dataset
    stored = _store().set_retraining_policy(name, normalize_policy(policy),
                                            actor=current_user(), comment=comment)  # fmt: skip
    assert stored is not None
    return dict(stored)


def delete_retraining_policy(name: str, comment: str = "") -> None:
    from ..client.registry import current_user

    _store().set_retraining_policy(name, None, actor=current_user(), comment=comment)


def retraining_policy(name: str) -> dict[str, Any] | None:
    """The model's retraining policy, or None."""
    policy: dict[str, Any] | None = _store().retraining_policy(name)
    return policy


def retrain(
    name: str, params: Mapping[str, Any] | None = None, *, wait: bool = True,
    timeout: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Start a retraining of ``name`` by hand (its policy must list the ``manual`` trigger),
    with ``params`` overriding the policy's. ``wait``: until it ends (up to ``timeout`` seconds);
    returns the record (``state``: ``pending_approval``, ``gate_failed``, ``failed``,
    ``handed_off``, or ``running`` when not waiting)."""
    import uuid

    from ..client.registry import current_user
    from .reruns import local_runner

    store = _store()
    user = current_user()
    if _remote(store):  # the server checks, records and runs it
        rec: Retraining = store.start_retraining(name, params)
    else:

        def submit(spec: dict[str, Any], run_id: str) -> Any:
            if timeout is not None:
                spec = {**spec, "timeout": timeout}
            return local_runner(store).submit("retraining", spec, created_by=user, run_id=run_id)

        found = start(store, name, trigger={"kind": "manual", "by": user},
                      event_key=f"manual:{uuid.uuid4().hex}", actor=user, submit=submit,
                      params=params)  # fmt: skip
        assert found is not None
        rec = found[0]
    if wait and rec.state == RUNNING and rec.job_id:
        from .jobs import JobHandle

        JobHandle(store, rec.job_id).wait(None if timeout is None else timeout + 60)
        rec = store.get_retraining(rec.id)
    return rec.to_json()


def retrainings(name: str, max_results: int = 100) -> list[dict[str, Any]]:
    """The model's retrainings, newest first (each with its gate, version and approval)."""
    return [r.to_json() for r in _store().list_retrainings(name, max_results)]
