"""A real Apache Airflow 3 for the webhook tests: ``apache-airflow`` in a virtualenv of its own
(built once, cached in ``~/.cache/jupyter-mm-test/airflow-<version>/``), a metadata database on
SQLite in a temporary AIRFLOW_HOME, one DAG, and ``airflow api-server`` with the simple auth
manager (one admin user, its password in a passwords file).

If the virtualenv cannot be built or the server does not start, the tests using it FAIL with
the reason; ``MM_SKIP_AIRFLOW_TESTS=1`` skips them on purpose (a machine without PyPI).

``python -m tests.loop.airflow_fixture`` builds the virtualenv alone (CI does, once per run).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: The newest Airflow 3 that installs here from PyPI (without Airflow's constraints file).
AIRFLOW_VERSION = "3.3.2"
SKIP_ENV = "MM_SKIP_AIRFLOW_TESTS"
CACHE = Path(os.environ.get("MM_TEST_CACHE") or "~/.cache/jupyter-mm-test").expanduser()
#: The DAG the tests trigger; its task prints the event it was started for.
DAG_ID = "retrain_credit"
DAG_FILE = """
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="retrain_credit", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
     catchup=False, tags=["jupyter-mm"])
def retrain_credit():
    @task
    def read_event(dag_run=None):
        event = dag_run.conf["event"]  # the webhook's envelope: entity, action, timestamp, data
        print(f"jupyter-mm event {event['entity']}.{event['action']} "
              f"model={event['data'].get('model')} delivery={dag_run.conf['delivery_id']}")

    read_event()


retrain_credit()
"""
START_TIMEOUT = 180.0


def skipped() -> bool:
    return os.environ.get(SKIP_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _run(cmd: list[str], what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")
    return done


def build_venv(version: str = AIRFLOW_VERSION) -> Path:
    """The cached virtualenv with ``apache-airflow==version`` (built on first use; a build cut
    short is thrown away and made again). Raises ``RuntimeError`` saying why it cannot."""
    venv = CACHE / f"airflow-{version}"
    done = venv / ".mm-built"
    if done.exists():
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"airflow-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building it: wait for it
        if done.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        start = time.monotonic()
        _run([sys.executable, "-m", "venv", str(venv)], "creating the Airflow virtualenv")
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.pop("PYTHONPATH", None)
        _run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                f"apache-airflow=={version}",
            ],
            f"installing apache-airflow=={version} from PyPI",
            env=env,
        )
        took = time.monotonic() - start
        done.write_text(json.dumps({"version": version, "build_seconds": round(took, 1)}) + "\n")
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Airflow:
    """A running Airflow API server and how to reach it."""

    url: str  # the base URL, e.g. http://127.0.0.1:PORT/
    username: str
    password: str
    version: str
    home: Path
    start_seconds: float
    env: dict[str, str]
    bin_dir: Path

    def dags_test(self, conf: dict[str, Any], dag_id: str = DAG_ID) -> str:
        """Run the DAG once in-process (``airflow dags test``) with ``conf``; its output."""
        cmd = [str(self.bin_dir / "airflow"), "dags", "test", dag_id, "-c", json.dumps(conf)]
        done = _run(cmd, "airflow dags test", env=self.env, timeout=300)
        return done.stdout + done.stderr

    def token(self) -> str:
        reply = self.request("POST", "auth/token", {"username": self.username,
                                                    "password": self.password}, token=None)  # fmt: skip
        return str(reply["access_token"])

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = "") -> Any:
        """Airflow's REST API as a test reads it (a fresh token unless ``token`` is given)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token == "":
            token = self.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def dag_runs(self, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        return list(self.request("GET", f"api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"])


def _airflow_env(home: Path, passwords: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("PYTHONPATH", None)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__AUTH_MANAGER=(
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="mm:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
    )
    return env


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"airflow api-server exited with {proc.returncode} before answering:\n"
                + log.read_text(errors="replace")[-4000:]
            )
        try:
            with urllib.request.urlopen(url + "api/v2/monitor/health", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"airflow api-server did not answer within {START_TIMEOUT:.0f} s:\n"
                + log.read_text(errors="replace")[-4000:]
            )
        time.sleep(0.25)  # polling interval, not synchronisation: the loop waits for the answer


@contextlib.contextmanager
def running_airflow(home: Path) -> Iterator[Airflow]:
    venv = build_venv()
    bin_dir = venv / "bin"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "mm_retrain.py").write_text(DAG_FILE)
    password = secrets.token_urlsafe(16)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"mm": password}))
    env = _airflow_env(home, passwords)
    _run([str(bin_dir / "airflow"), "db", "migrate"], "airflow db migrate", env=env)
    # Airflow 3 serialises DAGs in its DAG processor; reserialize does it once, in-process.
    _run([str(bin_dir / "airflow"), "dags", "reserialize"], "airflow dags reserialize", env=env)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = home / "api-server.log"
    start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(bin_dir / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in a process group of their own, ended with it
        )
    try:
        _wait_until_up(proc, url, log)
        took = time.monotonic() - start
        yield Airflow(url, "mm", password, AIRFLOW_VERSION, home, took, env, bin_dir)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    if skipped():
        pytest.skip(f"{SKIP_ENV} is set: the Airflow tests are skipped on purpose")
    try:
        cm = running_airflow(tmp_path_factory.mktemp("airflow-home"))
        server = cm.__enter__()
    except RuntimeError as e:
        pytest.fail(f"a real Airflow {AIRFLOW_VERSION} is needed and could not run: {e}")
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


if __name__ == "__main__":
    started = time.monotonic()
    path = build_venv()
    print(f"Airflow {AIRFLOW_VERSION} virtualenv: {path} ({time.monotonic() - started:.0f} s)")
