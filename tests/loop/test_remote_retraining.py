"""``mm.set_retraining_policy``, ``mm.retrain`` and ``mm.retrainings`` from a client whose store
is a tracking server: the server checks and records the retraining and its runner runs the job;
the candidate waits for approval and the champion alias stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.core.store import Store
from tests.client.test_remote import client_env, tracking_to
from tests.client.test_remote_support import Server, jupyter_server
from tests.loop.test_retraining import _champion


@pytest.fixture
def server(tmp_path: Path, store_dir: Path) -> Iterator[Server]:
    with jupyter_server(tmp_path / "server", str(store_dir)) as srv:
        yield srv


def test_a_retraining_started_from_a_remote_client_runs_on_the_server(
    tmp_path: Path, store_dir: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _champion(tmp_path, store_dir, "credit")
    client_env(monkeypatch, tmp_path / "spool")
    with tracking_to(server.url) as remote:
        assert isinstance(remote, RemoteStore)
        with pytest.raises(mm.InvalidInput, match="has no retraining policy"):
            mm.retrain("credit")
        with pytest.raises(mm.InvalidInput, match="unknown trigger 'weekly'"):
            mm.set_retraining_policy("credit", triggers=["weekly"])
        policy = mm.set_retraining_policy(
            "credit", triggers=["manual"], params={"n": 80}, gate={"metric": "r2", "threshold": 0}
        )
        assert mm.retraining_policy("credit") == policy and policy["executor"] == "local"
        with pytest.raises(mm.InvalidInput, match="cannot override 'nope'"):
            mm.retrain("credit", {"nope": 1})  # refused by the server, recording nothing
        assert mm.retrainings("credit") == []

        rec = mm.retrain("credit", timeout=600)
        assert rec["state"] == "pending_approval", rec
        assert rec["source_run_id"] == source and rec["params"] == {"n": 80}
        assert rec["version"] == 2 and rec["approval"] == "PendingManualApproval"
        assert [r["retraining_id"] for r in mm.retrainings("credit")] == [rec["retraining_id"]]
        assert remote.get_job(rec["job_id"]).kind == "retraining"
        mm.delete_retraining_policy("credit")
        assert mm.retraining_policy("credit") is None
    with Store.open(str(store_dir)) as st:  # the server's store holds the record and the version
        assert st.get_retraining(rec["retraining_id"]).state == "pending_approval"
        assert st.get_model_version_by_alias("credit", "champion").version == 1
        assert st.get_model_version("credit", 2).run_id == rec["run_id"]
