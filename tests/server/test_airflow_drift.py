"""The whole path on real parts: a real Jupyter server evaluates a scheduled monitor, the
traffic drifts, the server's own webhook dispatcher is handed the drift alarm and starts a run of
a DAG on a real Airflow 3 (tests/loop/airflow_fixture.py), whose ``conf`` holds the event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_mm.core.store import Store
from jupyter_mm.loop import airflow as af
from jupyter_mm.monitoring import monitors as mon
from tests.loop.airflow_fixture import DAG_ID, Airflow
from tests.monitoring.monitor_data import log_predictions, scored_model

DEADLINE = 90.0


@pytest.fixture
def jp_server_config(mm_clean_env: None, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False}
            },
            "JupyterMM": {
                "tracking_uri": str(tmp_path / "mm-store"),
                "artifact_uri": str(tmp_path / "artifacts"),
                "live_events": False,
                "monitor_tick": 0.1,  # test-only: look for due monitors ten times a second
                "webhooks_allow_private": True,  # Airflow listens on 127.0.0.1 here
            },
        }
    )


@pytest.fixture
def server_store(tmp_path: Path) -> Iterator[Store]:
    """The server's store, opened as a kernel would (another connection)."""
    st = Store.open(str(tmp_path / "mm-store"), artifact_uri=str(tmp_path / "artifacts"))
    yield st
    st.close()


async def _until(condition: Callable[[], Any], what: str) -> Any:
    """Poll ``condition`` (in a thread: it reads a store or Airflow) until it is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        found = await asyncio.to_thread(condition)
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not within {DEADLINE}s: {what}")
        await asyncio.sleep(0.1)


async def test_a_drift_detected_by_the_server_starts_an_airflow_dag_run(
    jp_serverapp: Any, server_store: Store, airflow: Airflow
) -> None:
    store = server_store
    hook = store.create_webhook(
        "retrain on drift", airflow.url, ["monitor.drift_detected"], actor="ana",
        model="credit", airflow_dag=DAG_ID, allow_private=True,
        airflow_auth={"username": airflow.username, "password": airflow.password},
    )  # fmt: skip
    scored_model(store)
    log_predictions(store, time.time() - 60, 500)  # like the reference
    watch = mon.Monitor(model="credit", id="champion", window="1h", every="0.3s", min_rows=100)
    m = mon.define(store, watch, actor="ana")
    monitor_run = m.run_id(1)

    def status() -> str | None:
        try:
            return store.get_run(monitor_run).tags.get(mon.TAG_STATUS)
        except Exception:
            return None

    await _until(lambda: status() == "ok", "a first evaluation without drift")
    assert store.webhook_deliveries(hook.webhook_id) == []
    log_predictions(store, time.time(), 3000, shift=2.0, seed=3)  # income moves 2 sd

    def finished() -> list[Any]:
        return [d for d in store.webhook_deliveries(hook.webhook_id) if d.status != "pending"]

    [d] = await _until(finished, "the drift alarm delivered to Airflow")
    assert (d.status, d.event, d.attempt_log[0].response_status) == (
        "succeeded", "monitor.drift_detected", 200,
    )  # fmt: skip
    runs = {r["dag_run_id"]: r for r in await asyncio.to_thread(airflow.dag_runs)}
    conf = runs[af.dag_run_id(d.delivery_id)]["conf"]
    event = conf["event"]
    assert (event["entity"], event["action"]) == ("monitor", "drift_detected")
    data = event["data"]
    assert (data["model"], data["status"], data["previous"]) == ("credit", "drift", "ok")
    assert data["run_id"] == monitor_run and "income" in data["features"]
    assert conf["delivery_id"] == d.delivery_id and conf["webhook_id"] == hook.webhook_id
