"""The spool of a remote client on its own: durable appends from several processes at once,
replay in order and exactly once while others keep appending, stopping and resuming when the
server is still down, and records the server refuses set aside."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.client.remote.spool import REJECTED, Spool, server_key, spool_root
from jupyter_mm.errors import InvalidInput, Unavailable

from .test_remote_support import REPO

APPENDER = """
import hashlib, sys
sys.path.insert(0, {repo!r})
from jupyter_mm.client.remote.spool import Spool

spool, who, n = Spool(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    record = {{"who": who, "i": i, "pad": "x" * (i % 700)}}
    blob = None
    if i % 25 == 0:
        blob = f"{{who}}-{{i}}".encode() * 100
        record["blob"] = hashlib.sha256(blob).hexdigest()
    spool.append(record, blob)
"""


def test_processes_append_while_one_replays(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    script = tmp_path / "appender.py"
    script.write_text(APPENDER.format(repo=str(REPO)))
    n, writers = 300, 4
    procs = [
        subprocess.Popen([sys.executable, str(script), str(spool_dir), f"p{k}", str(n)])
        for k in range(writers)
    ]
    spool = Spool(spool_dir)
    seen: list[tuple[str, int]] = []
    blobs: dict[tuple[str, int], bytes] = {}

    def send(record: dict[str, Any], blob: Path | None) -> None:
        seen.append((record["who"], record["i"]))
        if blob is not None:  # the spooled file, read while the record is sent
            blobs[(record["who"], record["i"])] = blob.read_bytes()

    while any(p.poll() is None for p in procs):  # replay while the others append
        spool.replay(send, wait=True)
    assert all(p.wait(timeout=60) == 0 for p in procs)
    result = spool.replay(send, wait=True)
    assert result.drained and not spool.pending() and spool.size() == 0
    expected = {(f"p{k}", i) for k in range(writers) for i in range(n)}
    assert len(seen) == len(expected) and set(seen) == expected  # each exactly once
    for k in range(writers):  # each process's records in the order it wrote them
        assert [i for who, i in seen if who == f"p{k}"] == list(range(n))
    assert blobs == {
        key: f"{key[0]}-{key[1]}".encode() * 100 for key in expected if key[1] % 25 == 0
    }
    assert not (spool_dir / "blobs").exists() or not any((spool_dir / "blobs").iterdir())


def test_replay_stops_while_the_server_is_down_and_resumes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for n in range(5):
        spool.append({"n": n})
    down = True
    sent: list[int] = []

    def send(record: dict[str, Any], blob: Path | None) -> None:
        if record["n"] == 2 and down:
            raise Unavailable("still down")
        if record["n"] == 3:
            raise InvalidInput("param 'p' is already '1'")  # refused for good
        sent.append(record["n"])

    with pytest.raises(Unavailable):
        spool.replay(send)
    assert sent == [0, 1] and spool.pending_records() == 3
    spool.append({"n": 5})  # still appending meanwhile
    down = False
    with pytest.warns(RuntimeWarning, match="refused a spooled write"):
        result = spool.replay(send)
    assert sent == [0, 1, 2, 4, 5]  # resumed where it stopped: nothing twice
    assert (result.applied, result.rejected, result.drained) == (3, 1, True)
    rejected = [json.loads(line) for line in (spool.dir / REJECTED).read_text().splitlines()]
    assert len(rejected) == 1 and json.loads(rejected[0]["record"]) == {"n": 3}
    assert "already" in rejected[0]["reason"]


def test_torn_and_stale_state_is_survived(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append({"n": 0})
    with open(spool.records, "ab") as f:  # a crash in the middle of an append
        f.write(b'{"n": 1, "tor')
    sent: list[Any] = []
    result = spool.replay(lambda r, b: sent.append(r["n"]))
    assert sent == [0] and not result.drained  # the torn tail is not a record (yet)
    spool.append({"n": 2})  # the next append completes the torn line: unreadable, set aside
    with pytest.warns(RuntimeWarning):
        result = spool.replay(lambda r, b: sent.append(r["n"]))
    assert sent == [0] and result.rejected == 1 and result.drained
    # a position beyond the file (emptied by a replay that crashed half-way): start over
    spool.append({"n": 3})
    (spool.dir / "position").write_text("999999")
    spool.replay(lambda r, b: sent.append(r["n"]))
    assert sent == [0, 3]


def test_another_replayer_is_not_waited_for(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append({"n": 0})
    inner: list[Any] = []

    def send(record: dict[str, Any], blob: Path | None) -> None:
        inner.append(spool.replay(lambda r, b: None))  # a second replayer, meanwhile

    spool.replay(send)
    assert inner[0].ran is False and not spool.pending()


def test_spool_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "s"))
    assert spool_root() == tmp_path / "s"
    monkeypatch.delenv("MM_SPOOL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert spool_root() == tmp_path / "cache" / "jupyter-mm" / "spool"
    a, b = server_key("http://h:8888/"), server_key("http://h:8888/lab/")
    assert a != b and a.startswith("h_8888-")
    assert Spool.for_server("http://h:8888/").dir == spool_root() / a
