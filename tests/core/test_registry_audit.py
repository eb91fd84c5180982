"""The registry's audit trail on SQLite and PostgreSQL: the hash chain verified, tampering
(edit, delete, reorder, truncation) detected and located, "which version was champion at T"
answered from the trail, JSONL export, and concurrent writers that never fork the chain."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from jupyter_mm.core.registry import PolicyChange, audit
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput

from .test_concurrency import _finish, _release, _spawn, _wait_ready

T0 = 1_800_000_000_000  # ms; 2027-01-15


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The registry's clock, set by the test: ``clock[0]`` is "now" in ms."""
    now = [T0]
    monkeypatch.setattr(audit, "now_ms", lambda: now[0])
    yield now


def _history(store: Store) -> None:
    """Eight entries: model, three versions, champion set, moved, moved back... see below."""
    store.create_registered_model("credit", actor="dev")
    for _ in range(3):
        store.create_model_version("credit", "s3://b/m", actor="dev")
    store.set_registered_model_alias("credit", "champion", 1, actor="ops")
    store.set_registered_model_alias("credit", "champion", 2, actor="ops", comment="v2 wins")
    store.set_registered_model_alias("credit", "champion", 3, actor="ops")
    store.delete_registered_model_alias("credit", "champion", actor="ops", comment="incident")


def _sql(store: Store, statement: str, **params: object) -> None:
    """Tamper as the database's owner would: past the append-only triggers."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # re-enabled in the same transaction
            conn.execute(text("ALTER TABLE registry_audit DISABLE TRIGGER USER"))
        else:  # each SQLite test has its own file
            conn.execute(text("DROP TRIGGER IF EXISTS registry_audit_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS registry_audit_no_delete"))
        conn.execute(text(statement), params)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE registry_audit ENABLE TRIGGER USER"))


def test_the_trail_is_append_only_in_the_database(store: Store) -> None:
    _history(store)
    for statement in (
        "UPDATE registry_audit SET comment = 'x' WHERE seq = 2",
        "DELETE FROM registry_audit WHERE seq = 8",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(text(statement))
    assert store.verify_audit().ok and len(store.audit_log()) == 8
    # deleting a model keeps its history
    store.delete_registered_model("credit", actor="ops")
    assert len(store.audit_log("credit")) == 9 and store.verify_audit().ok


def test_chain_verifies_and_links(store: Store) -> None:
    _history(store)
    report = store.verify_audit()
    log = store.audit_log()
    assert report.ok and report.entries == len(log) == 8 and not report.problems
    assert [e.seq for e in log] == list(range(1, 9))
    assert log[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(log, log[1:], strict=False))
    assert (report.head_seq, report.head_hash) == (8, log[-1].hash)
    assert store.verify_audit(expected_head=log[3].hash).ok  # an anchor kept earlier


def test_an_edited_entry_is_detected(store: Store) -> None:
    _history(store)
    _sql(store, "UPDATE registry_audit SET actor = 'mallory' WHERE seq = 6")
    report = store.verify_audit()
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "altered")]


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    _history(store)
    e = store.audit_log()[5]
    forged = audit.entry_hash(
        e.seq, e.time, "mallory", e.action, e.model_id, e.model_name, e.version, e.alias,
        e.from_value, e.to_value, e.comment, e.prev_hash,
    )  # fmt: skip
    _sql(store, "UPDATE registry_audit SET actor = 'mallory', hash = :h WHERE seq = 6", h=forged)
    report = store.verify_audit()
    assert [(p.seq, p.kind) for p in report.problems] == [(7, "broken_link")]


def test_a_deleted_entry_is_detected(store: Store) -> None:
    _history(store)
    _sql(store, "DELETE FROM registry_audit WHERE seq = 4")
    report = store.verify_audit()
    assert [(p.seq, p.kind) for p in report.problems] == [(5, "missing"), (5, "broken_link")]
    assert "entry 4 is missing" in report.problems[0].message


def test_entries_cut_off_the_end_are_detected(store: Store) -> None:
    _history(store)
    anchor = store.verify_audit().head_hash
    _sql(store, "DELETE FROM registry_audit WHERE seq >= 7")
    report = store.verify_audit()
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "head_mismatch")]
    # ... and even if the recorded head is forged too, an anchor kept elsewhere catches it
    head = store.audit_log()[-1]
    _sql(
        store,
        "UPDATE registry_settings SET value = :v WHERE key = 'audit.head'",
        v=json.dumps({"hash": head.hash, "seq": head.seq}, separators=(",", ":"), sort_keys=True),
    )
    assert store.verify_audit().ok
    report = store.verify_audit(expected_head=anchor)
    assert not report.ok and report.problems[0].kind == "head_mismatch"


def test_reordered_entries_are_detected(store: Store) -> None:
    _history(store)
    # swap entries 5 and 6 (the champion moves), as a careless or malicious fix-up would
    _sql(store, "UPDATE registry_audit SET seq = -1 WHERE seq = 5")
    _sql(store, "UPDATE registry_audit SET seq = 5 WHERE seq = 6")
    _sql(store, "UPDATE registry_audit SET seq = 6 WHERE seq = -1")
    report = store.verify_audit()
    assert not report.ok
    assert {p.seq for p in report.problems} == {5, 6, 7}
    assert {p.kind for p in report.problems} == {"altered", "broken_link"}


def test_resolve_over_a_sequence_of_alias_moves(store: Store, clock: list[int]) -> None:
    hour = 3_600_000
    store.create_registered_model("credit", actor="dev")
    for _ in range(3):
        store.create_model_version("credit", "s3://b/m", actor="dev")
    moves = [(1, 1 * hour), (2, 5 * hour), (3, 9 * hour), (1, 12 * hour)]
    for version, offset in moves:
        clock[0] = T0 + offset
        store.set_registered_model_alias("credit", "champion", version, actor="ops")
    clock[0] = T0 + 20 * hour
    store.delete_registered_model_alias("credit", "champion", actor="ops", comment="rollback")
    clock[0] = T0 + 22 * hour
    store.set_registered_model_alias("credit", "champion", 2, actor="ops", comment="restore")

    def at(h: float) -> int | None:
        return store.resolve("credit", "champion", at=T0 + int(h * hour))

    assert [at(h) for h in (0, 1, 4.9, 5, 8, 9, 11, 12, 19, 20, 21, 22, 30)] == [
        None, 1, 1, 2, 2, 3, 3, 1, 1, None, None, 2, 2,
    ]  # fmt: skip
    assert store.resolve("credit", "champion") == 2  # now
    assert store.resolve("credit", "challenger", at=T0 + 10 * hour) is None
    assert store.resolve("nope", "champion", at=T0 + 10 * hour) is None
    # datetimes: aware, naive (taken as UTC) and ISO strings name the same instant
    when = dt.datetime.fromtimestamp((T0 + 10 * hour) / 1000, tz=dt.timezone.utc)
    assert store.resolve("credit", "champion", at=when) == 3
    assert store.resolve("credit", "champion", at=when.replace(tzinfo=None)) == 3
    assert store.resolve("credit", "champion", at=when.isoformat()) == 3
    # a date, as object or bare ISO string, means the end of that day (UTC)
    day = when.date()
    end_of_day = dt.datetime.combine(day, dt.time.max, tzinfo=dt.timezone.utc)
    expected = store.resolve("credit", "champion", at=end_of_day)
    assert store.resolve("credit", "champion", at=day) == expected
    assert store.resolve("credit", "champion", at=day.isoformat()) == expected
    with pytest.raises(InvalidInput, match="ISO-8601"):
        store.resolve("credit", "champion", at="yesterday")
    history = store.alias_history("credit", "champion")
    assert [(e.action, e.version, e.time - T0) for e in history] == [
        ("alias.set", 1, 1 * hour),
        ("alias.moved", 2, 5 * hour),
        ("alias.moved", 3, 9 * hour),
        ("alias.moved", 1, 12 * hour),
        ("alias.deleted", 1, 20 * hour),
        ("alias.set", 2, 22 * hour),
    ]
    assert [e.actor for e in history] == ["ops"] * 6 and history[4].comment == "rollback"


def test_resolve_follows_renames_and_recreated_names(store: Store, clock: list[int]) -> None:
    store.create_registered_model("credit", actor="dev")
    store.create_model_version("credit", "s3://b/old", actor="dev")
    clock[0] = T0 + 10
    store.set_registered_model_alias("credit", "champion", 1, actor="ops")
    clock[0] = T0 + 20
    store.rename_registered_model("credit", "credit-2019", actor="ops")
    clock[0] = T0 + 30
    store.create_registered_model("credit", actor="dev")  # a new model under the old name
    for _ in range(2):
        store.create_model_version("credit", "s3://b/new", actor="dev")
    clock[0] = T0 + 40
    store.set_registered_model_alias("credit", "champion", 2, actor="ops")
    assert store.resolve("credit", "champion", at=T0 + 15) == 1  # the old model, then "credit"
    assert store.resolve("credit", "champion", at=T0 + 25) is None  # renamed away
    assert store.resolve("credit", "champion", at=T0 + 45) == 2
    assert store.resolve("credit-2019", "champion", at=T0 + 25) == 1
    assert store.resolve("credit-2019", "champion", at=T0 + 15) is None  # not yet called that


def test_a_clock_step_backwards_does_not_reorder_the_trail(store: Store, clock: list[int]) -> None:
    store.create_registered_model("m", actor="dev")
    clock[0] = T0 - 60_000  # NTP stepped the clock back a minute
    store.create_model_version("m", "s3://b/m", actor="dev")
    times = [e.time for e in store.audit_log()]
    assert times == sorted(times) == [T0, T0]
    assert store.verify_audit().ok


def test_export_jsonl(store: Store, tmp_path: Path) -> None:
    _history(store)
    buf = io.StringIO()
    assert store.export_audit(buf) == 8
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["seq"] for r in lines] == list(range(1, 9))
    assert lines[5]["action"] == "alias.moved" and lines[5]["from"] == {"version": 1}
    assert lines[5]["to"] == {"version": 2} and lines[5]["comment"] == "v2 wins"
    assert lines[5]["time_utc"].endswith("+00:00")
    # every exported line carries what is needed to re-verify the chain outside the store
    prev = audit.GENESIS
    for r in lines:
        assert r["prev_hash"] == prev
        assert r["hash"] == audit.entry_hash(
            r["seq"], r["time"], r["actor"], r["action"], r["model_id"], r["model"],
            r["version"], r["alias"], r["from_json"], r["to_json"], r["comment"], prev,
        )  # fmt: skip
        prev = r["hash"]
    path = str(tmp_path / "audit.jsonl")
    assert store.export_audit(path) == 8
    with open(path, encoding="utf-8") as f:
        assert f.read() == buf.getvalue()


def test_audit_log_by_model_and_time(store: Store, clock: list[int]) -> None:
    store.create_registered_model("a", actor="dev")
    clock[0] = T0 + 100
    store.create_registered_model("b", actor="dev")
    store.rename_registered_model("a", "a2", actor="dev")
    store.set_registry_policy(PolicyChange(approved_aliases_only=True), actor="admin")
    assert [e.action for e in store.audit_log("a2")] == ["model.created", "model.renamed"]
    assert [e.action for e in store.audit_log("a")] == ["model.created", "model.renamed"]
    assert [e.model_name for e in store.audit_log(since=T0 + 1)] == ["b", "a2", None]
    assert [e.action for e in store.audit_log(until=T0)] == ["model.created"]


MOVER = """
    import os, sys
    from jupyter_mm.core.store import Store

    i, n = int(sys.argv[1]), int(sys.argv[2])
    store = Store.open(os.environ["MM_TRACKING_URI"])
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    for k in range(n):
        store.set_registered_model_alias("m", "champion", 1 + (i + k) % 3, actor=f"mover{i}")
        store.create_model_version("m", f"s3://b/{i}/{k}", actor=f"mover{i}")
    print("done", flush=True)
"""


def test_concurrent_alias_moves_never_fork_the_chain(store: Store, store_uri: str) -> None:
    """Processes moving one alias and registering versions at once: every change is recorded
    exactly once, in one unbroken chain, and the alias ends where the last entry says."""
    n_procs, n_moves = 4, 15
    store.create_registered_model("m", actor="dev")
    for _ in range(3):
        store.create_model_version("m", "s3://b/m", actor="dev")
    procs = [_spawn(MOVER, store_uri, i, n_moves) for i in range(n_procs)]
    _wait_ready(procs)
    _release(procs)
    _finish(procs)
    report = store.verify_audit()
    assert report.ok, report.problems
    log = store.audit_log()
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    created = [e.version or 0 for e in log if e.action == "version.created"]
    assert sorted(created) == list(range(1, 3 + n_procs * n_moves + 1))  # none lost or doubled
    moves = [e for e in log if e.alias == "champion"]
    assert len(moves) <= n_procs * n_moves  # a move to where it already points records nothing
    assert all(b.before == a.after for a, b in zip(moves, moves[1:], strict=False))  # no fork
    assert store.resolve("m", "champion") == moves[-1].after["version"]


def test_a_new_model_never_inherits_a_deleted_models_trail(store: Store) -> None:
    """Deleting the newest model, then creating another: the new one's trail is its own (on
    SQLite the deleted id was handed out again, and with it the deleted model's entries)."""
    store.create_registered_model("a", actor="alice")
    store.delete_registered_model("a", actor="alice")
    store.create_registered_model("b", actor="bob")
    assert [(e.action, e.actor) for e in store.audit_log("b")] == [("model.created", "bob")]
    assert [e.action for e in store.audit_log("a")] == ["model.created", "model.deleted"]
    store.delete_registered_model("b", actor="bob")
    store.create_registered_model("c", actor="carol")
    assert [(e.action, e.actor) for e in store.audit_log("c")] == [("model.created", "carol")]
    assert store.verify_audit().ok
