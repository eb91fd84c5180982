"""Live registry events: a registry change made straight in the store (as ``mm.register_model``
in a kernel makes it) reaches the server's event bus as one event per audit entry, on a real
SQLite file and on a real PostgreSQL server behind a real Jupyter server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_mm.core.registry import PolicyChange
from jupyter_mm.core.store import Store
from jupyter_mm.server import registry_events
from jupyter_mm.server.events import EVENTS_SETTING, StoreWatcher
from jupyter_mm.server.registry_events import REGISTRY_EVENT_SCHEMA_ID


@pytest.fixture
def jp_server_config(mm_clean_env: None, server_store_uri: str, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "JupyterMM": {
                "tracking_uri": server_store_uri,
                "artifact_uri": str(tmp_path / "artifacts"),
            },
        }
    )


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def listener(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        assert schema_id == REGISTRY_EVENT_SCHEMA_ID
        self.seen.append(data)

    async def wait_for_count(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first ``count`` events, once they have arrived (a generous bound for a slow CI)."""
        await until(lambda: len(self.seen) >= count, timeout, lambda: f"saw {self.seen}")
        return self.seen[:count]


async def until(condition: Any, timeout: float, why: Any = lambda: "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; {why()}")
        await asyncio.sleep(0.02)


async def test_registry_changes_in_the_store_are_emitted(
    jp_serverapp: Any, jp_web_app: Any, server_store_uri: str, tmp_path: Path
) -> None:
    watcher = jp_web_app.settings[EVENTS_SETTING]
    assert isinstance(watcher, StoreWatcher)
    assert REGISTRY_EVENT_SCHEMA_ID in jp_serverapp.event_logger.schemas
    # The watcher's first poll takes the baseline and emits nothing.
    await until(lambda: watcher._registry.seq is not None and watcher._runs is not None, 10.0)
    events = Recorder()
    jp_serverapp.event_logger.add_listener(
        schema_id=REGISTRY_EVENT_SCHEMA_ID, listener=events.listener
    )
    try:
        # Another connection, as a kernel's mm.register_model would have.
        with Store.open(server_store_uri, artifact_uri=str(tmp_path / "artifacts")) as store:
            run = store.create_run(name="logit")
            store.create_registered_model("credit-risk", actor="alice")
            store.create_model_version(
                "credit-risk", f"runs:/{run.id}/models/pd", actor="alice", comment="best AUC"
            )
            store.request_approval("credit-risk", 1, actor="alice", comment="please")
            store.approve("credit-risk", 1, actor="bob", comment="reviewed")
            store.set_registered_model_alias("credit-risk", "champion", 1, actor="alice")
            store.rename_registered_model("credit-risk", "credit-pd", actor="alice")
            store.set_registry_policy(PolicyChange(approved_aliases_only=True), actor="carol")
            store.delete_registered_model("credit-pd", actor="alice")
        seen = await events.wait_for_count(9)
    finally:
        jp_serverapp.event_logger.remove_listener(
            schema_id=REGISTRY_EVENT_SCHEMA_ID, listener=events.listener
        )
    first = seen[0]["seq"]
    assert [e["seq"] for e in seen] == list(range(first, first + 9))
    assert [{k: v for k, v in e.items() if k != "seq"} for e in seen] == [
        {"action": "model.created", "actor": "alice", "model": "credit-risk"},
        {"action": "version.created", "actor": "alice", "model": "credit-risk", "version": 1},
        {"action": "approval.requested", "actor": "alice", "model": "credit-risk", "version": 1},
        {"action": "approval.approved", "actor": "bob", "model": "credit-risk", "version": 1},
        {
            "action": "alias.set",
            "actor": "alice",
            "model": "credit-risk",
            "version": 1,
            "alias": "champion",
        },
        {
            "action": "model.renamed",
            "actor": "alice",
            "model": "credit-pd",
            "previous_name": "credit-risk",
        },
        {"action": "policy.set", "actor": "carol"},  # store-wide: no model
        # Deleting a model deletes its aliases first, each audited.
        {
            "action": "alias.deleted",
            "actor": "alice",
            "model": "credit-pd",
            "version": 1,
            "alias": "champion",
        },
        {"action": "model.deleted", "actor": "alice", "model": "credit-pd"},
    ]


class _Provider:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self) -> Store:
        return self.store


def _registry(polled: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    return [(d["action"], d.get("version")) for s, d in polled if s == REGISTRY_EVENT_SCHEMA_ID]


def test_poll_follows_the_audit_trail_on_each_backend(store: Store, monkeypatch: Any) -> None:
    """Polled by hand: nothing for the entries before the baseline, each new entry once, and a
    backlog larger than one poll reads is drained by the next polls though nothing changed."""
    from jupyter_mm.server import events as events_module

    monkeypatch.setattr(events_module, "_FULL_CHECK_EVERY", 3600.0)  # only the change check
    monkeypatch.setattr(registry_events, "MAX_PER_POLL", 2)
    store.create_registered_model("before", actor="alice")  # before the baseline
    watcher = StoreWatcher(_Provider(store), event_logger=None)  # type: ignore[arg-type]
    try:
        assert watcher.poll() == []  # baseline
        assert watcher.poll() == []
        store.create_registered_model("m", actor="alice")
        assert _registry(watcher.poll()) == [("model.created", None)]
        assert watcher.poll() == []
        for _ in range(3):
            store.create_model_version("m", "s3://bucket/m", actor="alice")
        assert _registry(watcher.poll()) == [("version.created", 1), ("version.created", 2)]
        assert _registry(watcher.poll()) == [("version.created", 3)]
        assert watcher.poll() == []
        # Run changes in the same poll still come as run events, registry ones as registry events.
        store.create_run(name="r")
        store.delete_model_version("m", 3, actor="bob")
        polled = watcher.poll()
        assert _registry(polled) == [("version.deleted", 3)]
        assert [d["action"] for s, d in polled if s != REGISTRY_EVENT_SCHEMA_ID] == ["run-created"]
    finally:
        watcher._close_conn()
