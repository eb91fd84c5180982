"""Real server processes for the tests that talk HTTP to them: a Jupyter server with the extension
and the team server (``jupyter mm server``). Module- or session-scoped fixtures start them once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a server process: this tree first on the path, no MM_/MLFLOW_ setting
    of the test process leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MM_", "MLFLOW_", "JUPYTER"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


@dataclass
class LiveServer:
    """A running server: ``url`` is its base URL (ending in ``/``), ``token`` authenticates."""

    kind: str
    url: str
    token: str
    log: Path
    proc: subprocess.Popen[bytes]

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"

    @property
    def api(self) -> str:
        return f"{self.url}jupyter-mm/api/"

    @property
    def mlflow(self) -> str:
        return f"{self.url}jupyter-mm/mlflow/"

    def request(
        self, method: str, url: str, body: Any = None, raw: bytes | None = None, **kw: Any
    ) -> requests.Response:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        return self.session.request(method, url, data=data, headers=headers, timeout=60, **kw)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
                self.proc.wait()
        self.session.close()
        return int(self.proc.returncode)


def _wait_until_ready(server: LiveServer, probe: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if server.session.get(probe, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if server.proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"the {server.kind} server did not start:\n{server.output()[-5000:]}"
            )
        time.sleep(0.1)  # polling for start-up, not synchronising a test


@contextmanager
def jupyter_server(root: Path, store: str, token: str, artifacts: str = "") -> Iterator[LiveServer]:
    """``jupyter server`` with the extension only, on ``store`` (artifacts in ``artifacts``, else
    the store's default, which only a SQLite store has); its log is ``root/server.log``."""
    config_dir = root / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
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
                },
                "IdentityProvider": {"token": token},
                "JupyterMM": {"tracking_uri": store, "artifact_uri": artifacts},
            }
        )
    )
    port = free_port()
    env = server_env(
        {"JUPYTER_CONFIG_DIR": str(config_dir), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    )
    log = root / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1"],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer("jupyter", f"http://127.0.0.1:{port}/", token, log, proc)
    try:
        _wait_until_ready(server, f"{server.api}status")
        yield server
    finally:
        server.stop()


@contextmanager
def team_server(root: Path, store: str, token: str) -> Iterator[LiveServer]:
    """``jupyter mm server`` on ``store`` with artifacts in ``root/artifacts`` and one shared
    token (user ``ci``)."""
    port = free_port()
    args = [
        "--store", store,
        "--artifacts", str(root / "artifacts"),
        "--port", str(port),
        "--token", token,
        "--token-user", "ci",
    ]  # fmt: skip
    log = root / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "mm", "server", *args],
            env=server_env({"JUPYTER_RUNTIME_DIR": str(root / "runtime")}),
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer("team", f"http://127.0.0.1:{port}/", token, log, proc)
    try:
        _wait_until_ready(server, f"{server.mlflow}health")
        yield server
    finally:
        server.stop()
