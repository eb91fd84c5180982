"""A monitor evaluated on schedule by a real Jupyter server (the extension) on SQLite and on
PostgreSQL: its results are a run's metrics, read back through the MLflow routes, and its drift
is announced on the event bus once per crossing, not on every evaluation that stays drifted;
a performance monitor's degradation likewise."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from traitlets.config import Config

from jupyter_mm.core.store import Store
from jupyter_mm.monitoring import monitors as mon
from jupyter_mm.server.monitor_events import MONITOR_EVENT_SCHEMA_ID, MONITORS_SETTING
from tests.monitoring.monitor_data import (
    calibrated_scores,
    label,
    labelled_model,
    log_predictions,
    log_scored,
    scored_model,
)

DEADLINE = 60.0
#: The monitor the tests schedule: every 0.3s over the last hour.
_MONITOR = mon.Monitor(model="credit", id="champion", window="1h", every="0.3s", min_rows=100)


@pytest.fixture
def jp_server_config(mm_clean_env: None, server_store_uri: str, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False}
            },
            "JupyterMM": {
                "tracking_uri": server_store_uri,
                "artifact_uri": str(tmp_path / "artifacts"),
                "live_events": False,
                "monitor_tick": 0.1,  # test-only: look for due monitors ten times a second
            },
        }
    )


@pytest.fixture
def server_store(server_store_uri: str, tmp_path: Path) -> Any:
    """The server's store, opened as a kernel would (another connection)."""
    st = Store.open(server_store_uri, artifact_uri=str(tmp_path / "artifacts"))
    yield st
    st.close()


async def _until(condition: Callable[[], Any], what: str) -> Any:
    """Poll ``condition`` (in a thread: it reads the store) until it is truthy, with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        found = await asyncio.to_thread(condition)
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not within {DEADLINE}s: {what}")
        await asyncio.sleep(0.05)


async def test_a_scheduled_monitor_keeps_metrics_and_alarms_once_per_crossing(
    jp_serverapp: Any, jp_web_app: Any, jp_fetch: Any, server_store: Store
) -> None:
    assert jp_web_app.settings[MONITORS_SETTING].tick == 0.1
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=MONITOR_EVENT_SCHEMA_ID, listener=listener)
    store = server_store
    scored_model(store)
    now = time.time()
    log_predictions(store, now - 60, 500)  # like the reference
    m = mon.define(store, _MONITOR, actor="ana")
    run_id = m.run_id(1)

    def tags() -> dict[str, str]:
        try:
            return store.get_run(run_id).tags
        except Exception:
            return {}

    first = await _until(lambda: tags().get(mon.TAG_EVALUATIONS), "a first evaluation")
    assert tags()[mon.TAG_STATUS] == "ok" and not seen
    log_predictions(store, time.time(), 3000, shift=2.0, seed=3)  # income moves 2 sd
    await _until(lambda: tags().get(mon.TAG_STATUS) == "drift", "a drift verdict")
    drifted_at = int(tags()[mon.TAG_EVALUATIONS])
    # it stays drifted for three more evaluations: still one event
    await _until(lambda: int(tags()[mon.TAG_EVALUATIONS]) >= drifted_at + 3, "more evaluations")
    assert int(first) < drifted_at
    assert len(seen) == 1, seen
    event = seen[0]
    assert event["action"] == "monitor.drift_detected"
    assert (event["model"], event["monitor"], event["version"], event["run_id"]) == (
        "credit", "champion", 1, run_id,
    )  # fmt: skip
    assert event["previous"] == "ok" and "income" in event["features"] and event["rows"] == 3500

    # the figures are an ordinary run's metrics: read them through the MLflow routes
    r = await jp_fetch("jupyter-mm", "mlflow", "api", "2.0", "mlflow", "metrics", "get-history",
                       params={"run_id": run_id, "metric_key": "drifted"})  # fmt: skip
    history = json.loads(r.body)["metrics"]
    steps = [p["step"] for p in history]
    assert steps == list(range(1, len(steps) + 1))
    crossing = next(p for p in history if p["value"] == 1.0)
    assert crossing["step"] == drifted_at
    # the event names the evaluation that crossed: its time is that step's timestamp
    at = datetime.fromisoformat(event["evaluated_at"])
    assert int(at.timestamp() * 1000) == crossing["timestamp"]
    assert len(event["evaluation_id"]) == 32
    jp_serverapp.event_logger.remove_listener(schema_id=MONITOR_EVENT_SCHEMA_ID, listener=listener)


async def test_a_performance_monitor_alarms_once_per_crossing_into_degraded(
    jp_serverapp: Any, jp_web_app: Any, server_store: Store
) -> None:
    """The window's rows stay; their labels change (the last recorded wins): measured AUC good,
    then degraded for several evaluations (one event), recovered, degraded again (a second)."""
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=MONITOR_EVENT_SCHEMA_ID, listener=listener)
    store = server_store
    labelled_model(store)
    scores, truth = calibrated_scores(500, 1.5, seed=2)
    noise = np.random.default_rng(4).integers(0, 2, scores.size)
    request = log_scored(store, time.time() - 60, scores, truth)
    watched = replace(_MONITOR, performance={"metric": "auc", "min": 0.7})
    m = mon.define(store, watched, actor="ana")
    run_id = m.run_id(1)

    def tags() -> dict[str, str]:
        try:
            return store.get_run(run_id).tags
        except Exception:
            return {}

    def performance_events() -> list[dict[str, Any]]:
        return [e for e in seen if e["action"] == "monitor.performance_degraded"]

    async def crossing(status: str, labels: np.ndarray) -> int:
        label(store, request, labels)
        await _until(lambda: tags().get(mon.TAG_PERFORMANCE) == status, f"performance {status}")
        at = int(tags()[mon.TAG_EVALUATIONS])
        await _until(lambda: int(tags()[mon.TAG_EVALUATIONS]) >= at + 3, "more evaluations")
        return at

    await _until(lambda: tags().get(mon.TAG_PERFORMANCE) == "ok", "a first evaluation, ok")
    await crossing("degraded", noise)
    assert len(performance_events()) == 1, seen
    first = performance_events()[0]
    assert (first["model"], first["monitor"], first["version"], first["run_id"]) == (
        "credit", "champion", 1, run_id,
    )  # fmt: skip
    assert (first["metric"], first["estimated"], first["status"], first["previous"]) == (
        "auc", False, "degraded", "ok",
    )  # fmt: skip
    assert first["value"] < 0.7 and first["threshold"] == 0.7
    await crossing("ok", truth)
    assert len(performance_events()) == 1
    await crossing("degraded", noise)
    events = performance_events()
    assert len(events) == 2 and events[0]["evaluation_id"] != events[1]["evaluation_id"]
    # the features never moved: no drift alarm
    assert [e for e in seen if e["action"] == "monitor.drift_detected"] == []
    history = store.get_metric_history(run_id, "performance/auc")
    assert len(history["value"]) == int(tags()[mon.TAG_EVALUATIONS])
    jp_serverapp.event_logger.remove_listener(schema_id=MONITOR_EVENT_SCHEMA_ID, listener=listener)
