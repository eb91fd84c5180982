"""Retraining in a real Jupyter server: a monitor's drift alarm (emitted twice on the event bus, as
the monitor scheduler emits it) starts exactly one retraining of a real tracked notebook in the
server's job runner; the candidate passes the gate and waits for approval, the champion alias
stays; a webhook receives ``retraining.started``, ``rerun.finished`` (the job's event, which
never reached webhooks before) and ``retraining.pending_approval``, signed."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.core.store import Store
from jupyter_mm.server.monitor_events import MONITOR_EVENT_SCHEMA_ID
from tests.loop.conftest import track_notebook
from tests.loop.test_retraining import TRAIN as TRAIN_TEMPLATE
from tests.support.webhook_receiver import receiver

from .test_mlflow_fixtures import in_thread
from .test_mlflow_wire import jp_fetch
from .test_webhooks_api import api, jp_server_config

__all__ = ["jp_fetch", "jp_server_config"]  # fixtures used by name

TRAIN = TRAIN_TEMPLATE.format(name="credit")


async def _until(jp_fetch: Any, path: str, done: Any, timeout: float = 240.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        code, body = await api(jp_fetch, "GET", path)
        assert code == 200, body
        if done(body):
            return body
        if loop.time() > deadline:
            raise AssertionError(f"not done within {timeout}s: {body}")
        await asyncio.sleep(0.2)  # polling, with a deadline


def champion(
    tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch, source: str = TRAIN
) -> str:
    """The ``credit`` notebook cell ``source`` run for real in a kernel logging to the server's
    store, its model registered as version 1 of ``credit`` and made ``champion``."""
    monkeypatch.setenv("MM_TRACKING_URI", str(store_dir))
    monkeypatch.setenv("MM_USER", "alice")
    work = tmp_path / "work"
    work.mkdir()
    track_notebook(work, store_dir, ["%load_ext jupyter_mm", source])
    with Store.open(str(store_dir)) as st:
        [run] = [r for r in st.search_runs(view="all", max_results=10)[0] if r.name == "credit"]
        st.create_registered_model("credit", actor="alice")
        st.create_model_version("credit", f"runs:/{run.id}/models/model", actor="alice",
                                run_id=run.id)  # fmt: skip
        st.set_registered_model_alias("credit", "champion", 1, actor="alice")
    return run.id


async def test_a_drift_alarm_starts_one_retraining_and_its_events_reach_a_webhook(
    jp_fetch: Any, jp_serverapp: Any, mm_store_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert os.environ.get("MM_TRACKING_URI")  # the server exported its store for kernels
    # run_in_executor, not to_thread: a copied context would hand nbclient the server's loop
    source = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(champion, tmp_path, mm_store_dir, monkeypatch)
    )
    policy = {"triggers": ["drift"], "params": {"n": 80},
              "gate": [{"metric": "r2", "threshold": 0.0}]}  # fmt: skip
    code, body = await api(jp_fetch, "PUT", "registry/models/credit/retraining-policy",
                           {"policy": policy, "comment": "retrain on drift"})  # fmt: skip
    assert code == 200 and body["policy"]["triggers"] == ["drift"], body
    code, body = await api(jp_fetch, "POST", "registry/models/credit/retrainings")
    assert code == 400 and "without the 'manual' trigger" in body["message"], body

    alarm = {
        "action": "monitor.drift_detected", "evaluation_id": "ev-7", "model": "credit",
        "monitor": "champion", "alias": "champion", "version": 1, "status": "drift",
        "previous": "ok", "rows": 1000, "share": 0.5, "features": ["x0"],
        "evaluated_at": "2026-01-01T01:00:00+00:00",
    }  # fmt: skip
    with receiver(secret="s") as rec:
        code, hook = await api(jp_fetch, "POST", "webhooks", {
            "name": "loop", "url": rec.url, "events": ["rerun.finished", "retraining.*"],
            "secret": "s",
        })  # fmt: skip
        assert code == 201, hook
        for _ in range(2):  # the same alarm twice: one retraining
            jp_serverapp.event_logger.emit(schema_id=MONITOR_EVENT_SCHEMA_ID, data=alarm)
        listing = await _until(
            jp_fetch, "registry/models/credit/retrainings",
            lambda b: b["retrainings"] and b["retrainings"][0]["state"] != "running",
        )  # fmt: skip
        got = await in_thread(rec.wait_for, 3, 60.0)
    [r] = listing["retrainings"]
    assert r["state"] == "pending_approval", r
    assert r["trigger"]["kind"] == "drift" and r["trigger"]["evaluation_id"] == "ev-7"
    assert r["event_key"] == "monitor.drift_detected:ev-7" and r["source_run_id"] == source
    assert r["version"] == 2 and r["approval"] == "PendingManualApproval"
    assert r["gate"]["passed"] is True
    code, one = await api(jp_fetch, "GET", f"registry/retrainings/{r['retraining_id']}")
    assert code == 200 and one["version"] == 2
    with Store.open(str(mm_store_dir)) as st:
        assert st.get_model_version_by_alias("credit", "champion").version == 1

    assert all(g.verified for g in got)
    by_action = {f"{g.payload['entity']}.{g.payload['action']}": g.payload["data"] for g in got}
    assert set(by_action) == {
        "retraining.started", "rerun.finished", "retraining.pending_approval",
    }, by_action  # fmt: skip
    finished = by_action["rerun.finished"]
    assert finished["kind"] == "retraining" and finished["state"] == "finished"
    assert finished["job_id"] == r["job_id"] and finished["retraining_id"] == r["retraining_id"]
    assert by_action["retraining.pending_approval"]["version"] == 2


async def test_a_bad_gate_dataset_is_a_400_naming_it(jp_fetch: Any, mm_store_dir: Path) -> None:
    with Store.open(str(mm_store_dir)) as st:
        st.create_registered_model("credit", actor="alice")
    policy = {"triggers": ["manual"], "gate": [{"metric": "auc", "threshold": 0.6}],
              "gate_dataset": {"name": "holdout"}}  # fmt: skip
    code, body = await api(jp_fetch, "PUT", "registry/models/credit/retraining-policy",
                           {"policy": policy})  # fmt: skip
    assert code == 400 and "gate_dataset.label (the target column)" in body["message"], body
    code, body = await api(jp_fetch, "GET", "registry/models/credit/retraining-policy")
    assert code == 200 and body["policy"] is None  # nothing written


async def test_a_performance_alarm_starts_a_retraining_whose_gate_failure_reaches_a_webhook(
    jp_fetch: Any, jp_serverapp: Any, mm_store_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    source = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(champion, tmp_path, mm_store_dir, monkeypatch)
    )
    # r2 <= 1: the candidate can never beat the champion's by 2, so the gate fails
    policy = {"triggers": ["performance"], "gate": [{"metric": "r2", "min_absolute_change": 2}]}
    code, body = await api(jp_fetch, "PUT", "registry/models/credit/retraining-policy",
                           {"policy": policy})  # fmt: skip
    assert code == 200, body
    alarm = {
        "action": "monitor.performance_degraded", "evaluation_id": "ev-9", "model": "credit",
        "monitor": "champion", "alias": "champion", "version": 1, "status": "degraded",
        "previous": "ok", "rows": 500, "metric": "auc", "value": 0.61, "estimated": False,
        "threshold": 0.7, "evaluated_at": "2026-01-01T02:00:00+00:00",
    }  # fmt: skip
    drift = {**alarm, "action": "monitor.drift_detected", "evaluation_id": "ev-10",
             "status": "drift"}  # fmt: skip
    with receiver(secret="s") as rec:
        code, hook = await api(jp_fetch, "POST", "webhooks", {
            "name": "loop", "url": rec.url, "secret": "s",
            "events": ["monitor.performance_degraded", "retraining.started",
                       "retraining.gate_failed"],
        })  # fmt: skip
        assert code == 201, hook
        jp_serverapp.event_logger.emit(schema_id=MONITOR_EVENT_SCHEMA_ID, data=alarm)
        jp_serverapp.event_logger.emit(schema_id=MONITOR_EVENT_SCHEMA_ID, data=drift)  # ignored
        listing = await _until(
            jp_fetch, "registry/models/credit/retrainings",
            lambda b: b["retrainings"] and b["retrainings"][0]["state"] != "running",
        )  # fmt: skip
        got = await in_thread(rec.wait_for, 3, 60.0)
    [r] = listing["retrainings"]  # the drift alarm started none: not a trigger of the policy
    assert r["state"] == "gate_failed" and r["version"] is None, r
    assert r["trigger"]["kind"] == "performance" and r["trigger"]["evaluation_id"] == "ev-9"
    assert r["event_key"] == "monitor.performance_degraded:ev-9" and r["source_run_id"] == source

    assert all(g.verified for g in got)
    by_action = {f"{g.payload['entity']}.{g.payload['action']}": g.payload["data"] for g in got}
    assert set(by_action) == {
        "monitor.performance_degraded", "retraining.started", "retraining.gate_failed",
    }, by_action  # fmt: skip
    assert by_action["monitor.performance_degraded"]["evaluation_id"] == "ev-9"
    assert by_action["monitor.performance_degraded"]["metric"] == "auc"
    failed = by_action["retraining.gate_failed"]
    assert failed["retraining_id"] == r["retraining_id"] and failed["state"] == "gate_failed"
    check = failed["gate"]["thresholds"][0]["checks"][0]
    assert check["passed"] is False and "is not >=" in check["reason"]
