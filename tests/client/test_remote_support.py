"""Helpers for the remote-client tests (no tests here): a real ``jupyter server`` process with the
extension, and a TCP proxy in front of it that can play a server that is down, or a network that
loses an answer after the server has acted on the request."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN = "remote-test-token"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str  # the server's base URL, ending in /
    store_uri: str
    artifact_uri: str | None
    log: Path
    pid: int | None = None  # the server process, to stop or kill it as a user or a crash would


@contextlib.contextmanager
def jupyter_server(
    root: Path,
    tracking_uri: str,
    artifact_uri: str | None = None,
    base_url: str = "/",
    server_config: dict[str, Any] | None = None,
    mm_config: dict[str, Any] | None = None,
) -> Iterator[Server]:
    """A ``jupyter server`` process serving the jupyter-mm API with ``TOKEN`` (and any other
    ``ServerApp`` settings in ``server_config``, ``JupyterMM`` settings in ``mm_config``)."""
    root.mkdir(parents=True, exist_ok=True)
    config_dir = root / "config"
    config_dir.mkdir(exist_ok=True)
    mm_settings: dict[str, Any] = {"tracking_uri": tracking_uri, **(mm_config or {})}
    if artifact_uri:
        mm_settings["artifact_uri"] = artifact_uri
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": {
                        "jupyter_mm": True,
                        "jupyterlab": False,
                        "jupyter_lsp": False,
                        "notebook_shim": False,
                        "jupyter_server_terminals": False,
                    },
                    "open_browser": False,
                    "allow_root": True,
                    "root_dir": str(root),
                    "base_url": base_url,
                    **(server_config or {}),
                },
                "IdentityProvider": {"token": TOKEN},
                "JupyterMM": mm_settings,
            }
        )
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    env.update(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log_path = root / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1"],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}{base_url}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(
                    f"{url}jupyter-mm/api/status", headers={"Authorization": f"token {TOKEN}"}
                )
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("the server did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.1)  # polling the server's start, with a deadline
        yield Server(url, tracking_uri, artifact_uri, log_path, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
        log.close()


class Proxy:
    """A TCP proxy to ``127.0.0.1:upstream_port``.

    ``down()``: every connection, open or new, is closed at once (the client sees the server
    vanish); ``up()`` undoes it and any pending ``fail()``. ``drop_response(marker, n)``: the
    next ``n`` requests whose first bytes contain ``marker`` reach the server, but the connection
    is closed as soon as its answer starts coming back, so the client never sees it.
    ``fail(marker, status, n)``: the next ``n`` requests whose first bytes contain ``marker`` get
    ``status`` from the proxy itself and never reach the server (a gateway whose backend fails).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._down = threading.Event()
        self._lock = threading.Lock()
        self._drops: list[bytes] = []
        self._fails: list[tuple[bytes, int]] = []
        self.dropped = 0
        self.failed = 0
        self._conns: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, base_url: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{base_url}"

    def down(self) -> None:
        self._down.set()
        with self._lock:
            for c in list(self._conns):
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)

    def up(self) -> None:
        self._down.clear()
        with self._lock:
            self._fails.clear()

    def drop_response(self, marker: bytes, n: int = 1) -> None:
        with self._lock:
            self._drops.extend([marker] * n)

    def fail(self, marker: bytes, status: int = 500, n: int = 1) -> None:
        with self._lock:
            self._fails.extend([(marker, status)] * n)

    def close(self) -> None:
        self._closed = True
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._down.is_set():
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _take_drop(self, data: bytes) -> bool:
        with self._lock:
            for i, marker in enumerate(self._drops):
                if marker in data:
                    del self._drops[i]
                    return True
        return False

    def _take_fail(self, data: bytes) -> int | None:
        with self._lock:
            for i, (marker, status) in enumerate(self._fails):
                if marker in data:
                    del self._fails[i]
                    return status
        return None

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns.update((client, upstream))
        dropping = False
        try:
            while not self._down.is_set():
                readable, _, _ = select.select([client, upstream], [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        status = self._take_fail(data)
                        if status is not None:  # answered here: the server never sees it
                            body = b'{"error_code":"INTERNAL_ERROR","message":"gateway failed"}'
                            client.sendall(
                                b"HTTP/1.1 %d Failed\r\nContent-Type: application/json\r\n"
                                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                                % (status, len(body), body)
                            )
                            self.failed += 1
                            return
                        if not dropping and self._take_drop(data):
                            dropping = True
                        upstream.sendall(data)
                    elif dropping:  # the server answered: the client must not see it
                        self.dropped += 1
                        return
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.difference_update((client, upstream))
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling, with a deadline
