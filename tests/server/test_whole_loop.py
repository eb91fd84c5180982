"""The whole loop in one test, every part real: a champion trained by a real tracked notebook is
served by the model server (following ``models:/credit@champion``, logging its predictions);
shifted traffic arrives; the Jupyter server's scheduled monitor finds drift and emits its alarm;
the model's retraining policy re-runs the notebook with a new data window in the server's job
runner; the gate passes; the candidate waits for approval, the alias unmoved; another user (not
the retraining's requester) approves and moves the alias over REST; the model server follows."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from traitlets.config import Config

from jupyter_mm.core.store import Store
from jupyter_mm.loop.retraining import SYSTEM_ACTOR
from jupyter_mm.monitoring import monitors as mon
from jupyter_mm.monitoring.profile import build_profile
from tests.serving.support import serving

from .test_mlflow_wire import jp_fetch
from .test_retraining import champion
from .test_webhooks_api import api

__all__ = ["jp_fetch"]

DEADLINE = 300.0
TRAIN = (
    "%%track credit --seed 7\n"
    "import numpy as np\n"
    "import pandas as pd\n"
    "from sklearn.linear_model import LinearRegression\n"
    "n = 400\n"
    "X = pd.DataFrame({'income': np.random.normal(50, 10, n)})\n"
    "y = X['income'] * 0.1 + np.random.rand(n)\n"
    "model = LinearRegression().fit(X, y)\n"
    "mm.log_metric('r2', model.score(X, y))\n"
    "mm.log_model(model, 'model', input_example=X[:5])"
)


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "JupyterMM": {
                "tracking_uri": str(mm_store_dir),
                "live_events": False,
                "monitor_tick": 0.1,  # test-only: look for due monitors ten times a second
            },
        }
    )


def _champion(tmp_path: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    run_id = champion(tmp_path, store_dir, monkeypatch, TRAIN)
    reference = pd.DataFrame({"income": np.random.default_rng(0).normal(50, 10, 2000)})
    with Store.open(str(store_dir)) as st:
        st.set_reference_profile("credit", 1, build_profile(reference).doc, actor="alice")
    return run_id


def _send_shifted_traffic(url: str, rows: int = 600) -> set[str]:
    """Clients whose incomes moved by two standard deviations; the versions that answered."""
    incomes = np.random.default_rng(5).normal(70, 10, rows)
    versions = set()
    with requests.Session() as s:
        for chunk in np.array_split(incomes, 6):
            r = s.post(f"{url}/invocations",
                       json={"dataframe_records": [{"income": float(v)} for v in chunk]})  # fmt: skip
            assert r.status_code == 200, r.text
            versions.add(r.headers["X-MM-Model-Version"])
    return versions


async def _until(what: str, check: Any) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not within {DEADLINE}s: {what}")
        await asyncio.sleep(0.2)  # polling, with a deadline


async def test_the_whole_loop(
    jp_fetch: Any, mm_store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    # run_in_executor, not to_thread: a copied context would hand nbclient the server's loop
    source = await loop.run_in_executor(
        None, functools.partial(_champion, tmp_path, mm_store_dir, monkeypatch)
    )
    code, body = await api(jp_fetch, "PUT", "registry/models/credit/retraining-policy", {
        "policy": {"triggers": ["drift"], "params": {"n": 800},
                   "gate": [{"metric": "r2", "threshold": 0.5}]},
    })  # fmt: skip
    assert code == 200, body

    store = Store.open(str(mm_store_dir))
    try:
        with serving(models=["models:/credit@champion"], store_uri=str(mm_store_dir),
                     alias_poll_seconds=0.05, log_predictions=1.0,
                     prediction_log_uri=store.predictions_url) as server:  # fmt: skip
            watch = mon.Monitor(model="credit", id="champion", window="1h", every="0.3s",
                                min_rows=100)  # fmt: skip
            mon.define(store, watch, actor="ana")
            answered = await loop.run_in_executor(None, _send_shifted_traffic, server.url)
            assert answered == {"1"}
            server.state.prediction_log.flush()  # the shifted rows reach the log now

            async def retraining_done() -> Any:
                code, body = await api(jp_fetch, "GET", "registry/models/credit/retrainings")
                assert code == 200, body
                found = body["retrainings"]
                return found if found and found[0]["state"] != "running" else None

            [r] = await _until("a retraining that ended", retraining_done)
            assert r["trigger"]["kind"] == "drift" and r["trigger"]["monitor"] == "champion"
            assert r["state"] == "pending_approval", r
            assert r["source_run_id"] == source and r["params"] == {"n": 800}
            assert r["version"] == 2 and r["approval"] == "PendingManualApproval"
            assert r["gate"]["thresholds"][0]["candidate"] >= 0.5
            assert store.get_model_version_by_alias("credit", "champion").version == 1
            assert store.get_run(r["run_id"]).tags["mm.rerun_of"] == source

            # moving the alias before an approval is the policy's to refuse; here we approve
            v2 = "registry/models/credit/versions/2"
            code, body = await api(jp_fetch, "POST", f"{v2}/approval/approve",
                                   {"comment": "retrained on the new window"})  # fmt: skip
            assert code == 200, body
            approval = store.get_model_version("credit", 2).approval
            assert approval is not None and approval.status == "Approved"
            assert approval.requested_by == SYSTEM_ACTOR != approval.decided_by
            code, body = await api(jp_fetch, "PUT", "registry/models/credit/aliases/champion",
                                   {"version": 2, "comment": "promote the retrained model"})  # fmt: skip
            assert code == 200, body

            def served_version() -> str:
                r = requests.post(f"{server.url}/invocations",
                                  json={"dataframe_records": [{"income": 60.0}]}, timeout=30)  # fmt: skip
                return str(r.headers.get("X-MM-Model-Version"))

            async def follows() -> bool:
                return await loop.run_in_executor(None, served_version) == "2"

            await _until("the model server following the alias to version 2", follows)
        code, body = await api(jp_fetch, "GET", "registry/models/credit/retrainings")
        assert body["retrainings"][0]["approval"] == "Approved"
        actions = [e.action for e in store.audit_log("credit")]
        steps = ["retraining.started", "retraining.pending_approval", "approval.approved",
                 "alias.moved"]  # fmt: skip
        assert [a for a in actions if a in steps] == steps, actions  # in this order, once each
    finally:
        store.close()
