"""Live store events: a kernel writing straight into the store is seen on the server's event bus
within a second."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from jupyter_mm.server.event_schemas import schema_path
from jupyter_mm.server.events import (
    EVENT_SCHEMA_ID,
    EVENTS_SETTING,
    StoreWatcher,
)

from .test_api_common import open_store


class Events:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def listener(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        assert schema_id == EVENT_SCHEMA_ID
        self.seen.append(data)

    async def wait_for(self, timeout: float = 1.0, **match: Any) -> dict[str, Any]:
        """The first event with these fields, seen within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.seen:
                if all(event.get(k) == v for k, v in match.items()):
                    return event
            if loop.time() > deadline:
                raise AssertionError(f"no event {match} within {timeout}s; saw {self.seen}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def watching(serverapp: Any, web_app: Any) -> AsyncIterator[Events]:
    """Record the store events while the block runs (after the watcher's baseline poll)."""
    event_logger = serverapp.event_logger
    if EVENT_SCHEMA_ID not in event_logger.schemas:
        event_logger.register_event_schema(schema_path(EVENT_SCHEMA_ID))
    watcher = web_app.settings.get(EVENTS_SETTING)
    own = watcher is None
    if own:  # the extension does not start one: run our own
        watcher = StoreWatcher(web_app.settings["jupyter_mm_store"], event_logger)
        watcher.start()
    recorder = Events()
    event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=recorder.listener)
    try:
        await asyncio.sleep(0.7)  # the first poll takes the baseline
        yield recorder
    finally:
        event_logger.remove_listener(schema_id=EVENT_SCHEMA_ID, listener=recorder.listener)
        if own:
            await watcher.stop()


async def test_a_kernel_writing_to_sqlite_is_seen_within_a_second(jp_serverapp, jp_web_app) -> None:
    async with watching(jp_serverapp, jp_web_app) as events:
        await kernel_writes(events)


async def kernel_writes(events: Events) -> None:
    with open_store() as store:  # another connection, as a kernel would have
        run = store.create_run(name="live")
    created = await events.wait_for(action="run-created", run_id=run.id)
    assert created["name"] == "live" and created["status"] == "RUNNING"
    assert created["experiment_id"] == "0"

    with open_store() as store:
        store.log_batch(run.id, metrics=[("loss", 1.0, 0, 1), ("acc", 0.5, 0, 1)])
    appended = await events.wait_for(action="metrics-appended", run_id=run.id)
    assert appended["keys"] == ["acc", "loss"]

    events.seen.clear()
    with open_store() as store:
        store.log_batch(run.id, metrics=[("loss", 0.5, 1, 2)])
    appended = await events.wait_for(action="metrics-appended", run_id=run.id)
    assert appended["keys"] == ["loss"]

    with open_store() as store:
        store.update_run(run.id, name="renamed")
    await events.wait_for(action="run-updated", run_id=run.id, name="renamed")

    with open_store() as store:
        store.end_run(run.id, "FINISHED")
    await events.wait_for(action="run-finished", run_id=run.id, status="FINISHED")

    with open_store() as store:
        store.delete_run(run.id)
    await events.wait_for(action="run-updated", run_id=run.id, lifecycle_stage="deleted")

    # one stream, numbered without gaps, so a subscriber can tell when it missed some
    assert {e["stream"] for e in events.seen} == {events.seen[0]["stream"]}
    seqs = [e["seq"] for e in events.seen]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_a_run_whose_heartbeat_stops_is_announced_killed(jp_serverapp, jp_web_app) -> None:
    """Nothing is written when a kernel dies, so the database's change counter stays still; the
    run turning KILLED a minute after its last heartbeat is announced all the same."""
    import time

    from sqlalchemy import update

    from jupyter_mm.core import schema
    from jupyter_mm.core.entities import STALE_HEARTBEAT_MS

    async with watching(jp_serverapp, jp_web_app) as events:
        with open_store() as store:
            run = store.create_run(name="dies")
            last_beat = int(time.time() * 1000) - STALE_HEARTBEAT_MS + 1500  # stale in 1.5 s
            with store.engine.begin() as conn:  # its last heartbeat, then the kernel dies
                conn.execute(
                    update(schema.runs)
                    .where(schema.runs.c.run_uuid == run.id)
                    .values(heartbeat_time=last_beat)
                )
        await events.wait_for(action="run-created", run_id=run.id, status="RUNNING")
        killed = await events.wait_for(timeout=10, action="run-finished", run_id=run.id)
        assert killed["status"] == "KILLED"


async def test_no_events_without_changes(jp_serverapp, jp_web_app) -> None:
    async with watching(jp_serverapp, jp_web_app) as events:
        await asyncio.sleep(1.2)
        assert events.seen == []


async def test_writes_through_the_rest_api_are_seen_too(jp_serverapp, jp_web_app, jp_fetch) -> None:
    async with watching(jp_serverapp, jp_web_app) as events:
        await rest_writes(events, jp_fetch)


async def rest_writes(events: Events, jp_fetch: Any) -> None:
    import json

    with open_store() as store:
        rid = store.create_run().id
    await events.wait_for(action="run-created", run_id=rid)
    await jp_fetch(
        "jupyter-mm",
        "api",
        "runs",
        rid,
        "log-batch",
        method="POST",
        body=json.dumps({"metrics": [{"key": "m", "value": "NaN"}]}),
    )
    await events.wait_for(action="metrics-appended", run_id=rid, keys=["m"])


class _Provider:
    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self) -> Any:
        return self.store


def test_poll_on_each_backend(store: Any, monkeypatch: Any) -> None:
    """The watcher's diff, polled by hand, on SQLite and on PostgreSQL (no change counter)."""
    from jupyter_mm.server import events as events_module

    monkeypatch.setattr(events_module, "_FULL_CHECK_EVERY", 0.0)
    watcher = StoreWatcher(_Provider(store), event_logger=None)  # type: ignore[arg-type]

    def poll() -> list[dict[str, Any]]:
        polled = watcher.poll()
        assert {schema for schema, _ in polled} <= {EVENT_SCHEMA_ID}
        return [data for _, data in polled]

    try:
        assert poll() == []  # baseline
        assert poll() == []
        rid = store.create_run(name="a").id
        assert [(e["action"], e["run_id"]) for e in poll()] == [("run-created", rid)]
        store.log_batch(rid, metrics=[("x", 1.0, 0, 5)])
        assert [(e["action"], e.get("keys")) for e in poll()] == [("metrics-appended", ["x"])]
        store.update_run(rid, name="b")
        assert [(e["action"], e["name"]) for e in poll()] == [("run-updated", "b")]
        store.end_run(rid, "FAILED")
        assert [(e["action"], e["status"]) for e in poll()] == [("run-finished", "FAILED")]
        assert poll() == []
    finally:
        watcher._close_conn()
