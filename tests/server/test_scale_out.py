"""The team server scaled out: ``jupyter mm server --workers 2`` on one port, and two replicas
(separate server processes on separate ports, as behind a load balancer) over one real
PostgreSQL database and one artifact directory.

Replica A is the ``--workers 2`` server (a supervisor and two workers), replica B a single
process. Clients subscribe to ``jupyter-mm/events`` over a real WebSocket. The last test stops A
with SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.errors import InvalidInput
from jupyter_mm.server.identity import new_token
from jupyter_mm.server.standalone import TeamServerOptions, serve
from tests.support.postgres import create_database

from .test_standalone import Reply, _cli, _free_port, _server_env, http

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing, /proc"
    ),
]

START_TIMEOUT = 90.0
TIMEOUT = 30.0


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT/
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def api(self) -> str:
        return f"{self.url}jupyter-mm/api/"

    @property
    def events(self) -> str:
        return "ws" + self.url[len("http") :] + "jupyter-mm/events"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return int(self.proc.returncode)


def _start(
    tmp: Path, name: str, store: str, artifacts: Path, token: str, *extra: str, port: int = 0
) -> Server:
    port = port or _free_port()
    log = tmp / f"{name}.log"
    env = _server_env({"MM_SERVER_TOKEN": token, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
                       "MM_MONITOR_TICK": "0.2"})  # fmt: skip
    args = ["--store", store, "--artifacts", str(artifacts), "--port", str(port), *extra]
    with open(log, "wb") as out:
        proc = subprocess.Popen(_cli(*args), env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    return Server(f"http://127.0.0.1:{port}/", proc, log)


def _wait_ready(server: Server, token: str, workers: int = 1) -> None:
    """Until the status route answers (and, for a supervisor, every worker listens)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if http("GET", f"{server.api}status", token).status == 200 and (
                workers == 1 or f"{workers} workers listening" in server.output()
            ):
                return
        except OSError:
            pass
        if server.proc.poll() is not None:
            pytest.fail(f"the server exited with {server.proc.returncode}:\n{server.output()}")
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"the server did not answer in {START_TIMEOUT}s:\n{server.output()}")
        time.sleep(0.1)


@dataclass
class Replicas:
    a: Server  # --workers 2
    b: Server
    token: str
    store: str
    artifacts: Path


@pytest.fixture(scope="module")
def replicas(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    tmp = tmp_path_factory.mktemp("replicas")
    db = create_database(postgres_admin_url, f"mm_replicas_{uuid.uuid4().hex[:8]}")
    artifacts = tmp / "artifacts"
    token = new_token()
    from jupyter_mm.core.store import Store

    Store.open(db, str(artifacts)).close()  # migrated once, so both replicas start at once
    a = _start(tmp, "a", db, artifacts, token, "--workers", "2")
    b = _start(tmp, "b", db, artifacts, token)
    try:
        _wait_ready(a, token, workers=2)
        _wait_ready(b, token)
        yield Replicas(a, b, token, db, artifacts)
    finally:
        b.stop()
        a.stop()


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body[:500])
    return reply.json()


def _children(pid: int) -> set[int]:
    """Live child processes of ``pid`` (from /proc: psutil is not a dependency)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def _poll(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Subscriber:
    """A client of ``jupyter-mm/events`` on its own thread and event loop."""

    def __init__(self, url: str, token: str) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def connect() -> tuple[Any, dict[str, Any]]:
            request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
            ws = await websocket_connect(request)
            hello = json.loads(await ws.read_message())
            asyncio.ensure_future(self._read(ws))
            return ws, hello

        self._ws, self.hello = asyncio.run_coroutine_threadsafe(connect(), self._loop).result(
            TIMEOUT
        )

    async def _read(self, ws: Any) -> None:
        while (message := await ws.read_message()) is not None:
            self.messages.put(json.loads(message))
        self.messages.put(None)

    def wait_for(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no event {what}; seen: {self.seen}")
            assert message is not None, f"the event socket closed; seen: {self.seen}"
            self.seen.append(message)
            if match(message):
                return message

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loop.call_soon_threadsafe(self._ws.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)


def _run_events(run_id: str, action: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("run_id") == run_id and m.get("action") == action


# -- workers ----------------------------------------------------------------------------------


def test_requests_are_served_by_both_workers(replicas: Replicas) -> None:
    a = replicas.a
    workers = _children(a.proc.pid)
    assert len(workers) == 2, a.output()
    pids: set[int] = set()

    def both_seen() -> bool:
        # each request is a new connection; the kernel spreads them over the workers' sockets
        pids.add(_ok(http("GET", f"{a.api}status", replicas.token))["pid"])
        return pids == workers

    _poll(both_seen, f"requests served by both workers {workers} (seen {pids})")


def test_the_event_socket_needs_a_token(replicas: Replicas) -> None:
    url = f"{replicas.b.url}jupyter-mm/events"
    for token in (None, "not-a-token"):
        r = http("GET", url, token)
        assert r.status == 403, r
        assert r.json()["error_code"] == "PERMISSION_DENIED"
    # with a token, a plain GET is refused as a request that is not a WebSocket upgrade
    assert http("GET", url, replicas.token).status == 400


def test_a_run_written_through_one_replica_is_an_event_on_the_other(replicas: Replicas) -> None:
    a, b, token = replicas.a, replicas.b, replicas.token
    with Subscriber(b.events, token) as on_b, Subscriber(a.events, token) as on_a:
        assert on_b.hello["stream"] != on_a.hello["stream"]  # one stream per process
        run = _ok(http("POST", f"{a.api}runs", token, {"name": "through-a"}), 201)
        rid = run["id"] if "id" in run else run["run_id"]
        created = on_b.wait_for(_run_events(rid, "run-created"), "run-created on B")
        assert created["stream"] == on_b.hello["stream"]
        assert created["seq"] == on_b.hello["seq"] + 1  # the first event after subscribing
        assert created["name"] == "through-a"

        _ok(
            http(
                "POST",
                f"{b.api}runs/{rid}/log-batch",
                token,
                {"metrics": [{"key": "loss", "value": 1.0}]},
            )
        )
        appended = on_a.wait_for(_run_events(rid, "metrics-appended"), "metrics-appended on A")
        assert appended["keys"] == ["loss"]
        _ok(http("POST", f"{b.api}runs/{rid}/end", token, {"status": "FINISHED"}))
        on_a.wait_for(_run_events(rid, "run-finished"), "run-finished on A")
        on_b.wait_for(_run_events(rid, "run-finished"), "run-finished on B")
        # each stream numbers its own events without a gap
        for sub in (on_a, on_b):
            seqs = [m["seq"] for m in sub.seen if "seq" in m and "run_id" in m]
            assert seqs == list(range(sub.hello["seq"] + 1, sub.hello["seq"] + 1 + len(seqs)))


def test_concurrent_alias_moves_through_both_replicas_keep_the_audit_chain(
    replicas: Replicas,
) -> None:
    from jupyter_mm.core.store import Store

    a, b, token = replicas.a, replicas.b, replicas.token
    model = f"m-{uuid.uuid4().hex[:8]}"
    store = Store.open(replicas.store, str(replicas.artifacts))
    try:
        store.create_registered_model(model, actor="setup")
        for i in range(3):
            store.create_model_version(model, f"s3://elsewhere/model-{i}", actor="setup")
    finally:
        store.close()

    moves_per_thread = 12
    errors: list[Any] = []
    start = threading.Barrier(4)

    def hammer(server: Server, offset: int) -> None:
        start.wait()
        for i in range(moves_per_thread):
            version = (i + offset) % 3 + 1
            r = http(
                "PUT",
                f"{server.api}registry/models/{model}/aliases/champion",
                token,
                {"version": version},
            )
            if r.status != 200:
                errors.append((server.url, r.status, r.body[:300]))

    with Subscriber(b.events, token) as on_b:
        threads = [
            threading.Thread(target=hammer, args=(server, n))
            for n, server in enumerate((a, a, b, b))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors

        report = _ok(http("GET", f"{b.api}registry/audit/verify", token))
        assert report["ok"], report
        entries = _ok(http("GET", f"{a.api}registry/audit?limit=10000", token))["entries"]
        seqs = [e["seq"] for e in entries]
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free, one chain
        times = [e["time"] for e in entries]
        assert times == sorted(times)
        moves = [e for e in entries if e["model"] == model and e["action"].startswith("alias.")]
        assert moves, entries
        # the alias is where the last audited move put it
        now = _ok(http("GET", f"{a.api}registry/models/{model}/aliases/champion", token))
        assert now["version"] == moves[-1]["version"]
        # B's subscriber saw every entry after it subscribed, in order, none twice
        last = seqs[-1]
        on_b.wait_for(lambda m: m.get("seq") == last and "actor" in m, "the last audit entry on B")
        registry_seqs = [m["seq"] for m in on_b.seen if "actor" in m]
        assert registry_seqs == list(range(on_b.hello["registry_seq"] + 1, last + 1))


def test_a_batch_replayed_to_the_other_replica_is_applied_once(replicas: Replicas) -> None:
    a, b, token = replicas.a, replicas.b, replicas.token
    rid = uuid.uuid4().hex
    _ok(http("POST", f"{a.api}runs", token, {"run_id": rid, "name": "replayed"}), 201)

    def batch(i: int) -> dict[str, Any]:
        return {
            "batch_id": f"batch-{i}",
            "metrics": [{"key": "loss", "value": float(i), "step": i}],
        }

    # a client whose answer from A was lost replays its spool to B (another replica)
    assert _ok(http("POST", f"{a.api}runs/{rid}/log-batch", token, batch(0)))["applied"] is True
    assert _ok(http("POST", f"{b.api}runs/{rid}/log-batch", token, batch(0)))["applied"] is False
    # and the same batches sent to both replicas at once: each is applied exactly once
    applied: dict[int, list[bool]] = {i: [] for i in range(1, 21)}

    def send(server: Server, barrier: threading.Barrier) -> None:
        for i in applied:
            barrier.wait()
            reply = _ok(http("POST", f"{server.api}runs/{rid}/log-batch", token, batch(i)))
            applied[i].append(reply["applied"])

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=send, args=(s, barrier)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(sorted(v) == [False, True] for v in applied.values()), applied
    series = _ok(
        http("POST", f"{b.api}metrics/history", token, {"run_ids": [rid], "keys": ["loss"]})
    )
    assert sorted(series["series"][0]["step"]) == list(range(21))


def test_three_processes_evaluate_a_monitor_once_per_period(replicas: Replicas) -> None:
    """Both workers of A and replica B look for due monitors five times a second; a monitor due
    every 0.5 s is evaluated once per period: its evaluations are numbered 1, 2, 3... with no
    repeat, each at least a period after the one before (the claimed instants)."""
    from jupyter_mm.core.store import Store
    from jupyter_mm.errors import NotFound
    from jupyter_mm.monitoring import monitors as mon
    from tests.monitoring.monitor_data import log_predictions, scored_model

    store = Store.open(replicas.store, str(replicas.artifacts))
    try:
        scored_model(store, name="scaled")
        log_predictions(store, time.time(), 50, name="scaled")
        scaled = mon.Monitor(model="scaled", id="champion", window="1h", every="0.5s", min_rows=1)
        m = mon.define(store, scaled, actor="ci")

        def eight() -> Any:
            try:
                history = store.get_metric_history(m.run_id(1), "rows")
            except NotFound:
                return None
            return history if len(history["step"]) >= 8 else None

        history = _poll(eight, "eight evaluations")
        mon.delete(store, "scaled", m.id, actor="ci")
    finally:
        store.close()
    steps = list(history["step"])
    assert steps == list(range(1, len(steps) + 1))
    gaps = [b - a for a, b in zip(history["timestamp"][:-1], history["timestamp"][1:], strict=True)]
    assert min(gaps) >= 500, gaps


def test_a_killed_worker_is_restarted(replicas: Replicas) -> None:
    a = replicas.a
    before = _children(a.proc.pid)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int] | None:
        now = _children(a.proc.pid)
        return now if len(now) == 2 and victim not in now else None

    after = _poll(replaced, "a replacement worker")
    (new,) = after - before
    _poll(lambda: f"worker {new} listening" in a.output(), "the replacement to listen")
    pids: set[int] = set()

    def served_by_new() -> bool:
        pids.add(_ok(http("GET", f"{a.api}status", replicas.token))["pid"])
        return new in pids

    _poll(served_by_new, f"a request served by the new worker {new}")
    assert f"worker {victim} exited with status -9; restarting it" in a.output()


def test_a_taken_port_stops_the_server_before_any_worker_starts(
    replicas: Replicas, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = _start(
            tmp_path, "c", replicas.store, replicas.artifacts, replicas.token, "--workers", "2",
            port=port,
        )  # fmt: skip
        try:
            code = server.proc.wait(START_TIMEOUT)
        finally:
            server.stop()
    assert code == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in server.output()
    assert "starting 2 workers" not in server.output()


def test_bad_worker_counts_are_refused(tmp_path: Path) -> None:
    for value, message in (("0", "at least 1"), ("two", "not a number")):
        with pytest.raises(InvalidInput, match=message):
            serve(TeamServerOptions(store=str(tmp_path / "s"), token="t", workers=value))


def test_sigterm_stops_every_worker(replicas: Replicas) -> None:
    """Last: SIGTERM to the supervisor stops both workers, and it exits 0."""
    a = replicas.a
    workers = _children(a.proc.pid)
    assert len(workers) == 2
    assert a.stop() == 0, a.output()
    assert "jupyter-mm supervisor: stopped" in a.output()
    for pid in workers:
        _poll(lambda pid=pid: not Path(f"/proc/{pid}").exists(), f"worker {pid} to exit")
    port = int(a.url.split(":")[2].rstrip("/"))
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
