"""The entry points as processes: ``jupyter mm serve`` on a store, ``python -m
jupyter_mm.serving --model-dir`` importing no store, Jupyter or IPython code, and ``--workers 2``
sharing one port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .support import PROBE, Models, credit_store

pytest.importorskip("sklearn")
REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
ENV.pop("MM_SERVE_TOKEN", None)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("runner")) as m:
        yield m


class Process:
    """A server process; its first stdout line says where it listens."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=ENV, cwd=REPO,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the server announces itself
        match = re.search(r"http://127\.0\.0\.1:(\d+)/ \(pid (\d+)\)", line)
        if match is None:
            self.proc.kill()
            raise AssertionError(f"no announce line: {line!r} {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{match.group(1)}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def test_jupyter_mm_serve_on_a_store(models: Models) -> None:
    p = Process("-m", "jupyter_mm.cli", "--store", models.store_uri, "serve",
                "models:/credit@champion", "--open", "--port", "0")  # fmt: skip
    try:
        r = requests.post(f"{p.url}/invocations", json={"dataframe_records": [PROBE]})
        assert r.status_code == 200
        assert r.headers["X-MM-Model-Version"] == "1"
        assert r.headers["X-MM-Model-Alias"] == "champion"
    finally:
        assert p.stop() == 0


def test_model_dir_imports_no_store_jupyter_or_ipython(models: Models) -> None:
    script = textwrap.dedent(
        f"""
        import json, os, signal, sys, threading, urllib.request
        from jupyter_mm.serving.config import ModelSpec, ServeConfig
        from jupyter_mm.serving.runner import serve

        def ready(port):
            def check():
                req = urllib.request.Request(
                    f"http://127.0.0.1:{{port}}/invocations",
                    data=json.dumps({{"dataframe_records": [{PROBE!r}]}}).encode(),
                    headers={{"Content-Type": "application/json"}},
                )
                answer = json.load(urllib.request.urlopen(req))
                found = [m for m in ("sqlalchemy", "jupyter_server", "jupyterlab", "IPython",
                                     "alembic") if m in sys.modules]
                ours = sorted(m for m in sys.modules if m.startswith("jupyter_mm"))
                print("RESULT", json.dumps({{"answer": answer, "found": found, "ours": ours}}),
                      flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
            threading.Thread(target=check).start()

        sys.exit(serve(ServeConfig(models=[ModelSpec({models.directory!r})], open=True,
                                   port=0), on_ready=ready))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=ENV, cwd=REPO, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result["answer"] == {"predictions": [1]}
    assert result["found"] == []
    # the contract's list: what a deploy bundle vendors
    allowed = ("jupyter_mm", "jupyter_mm._version", "jupyter_mm.errors", "jupyter_mm.core",
               "jupyter_mm.core.artifacts", "jupyter_mm.core.limits", "jupyter_mm.core.validation",
                   "jupyter_mm.core.json_body",
                   "jupyter_mm.core.models")  # fmt: skip
    extra = [m for m in result["ours"] if m not in allowed
             and not m.startswith(("jupyter_mm.core.models.", "jupyter_mm.serving"))]  # fmt: skip
    assert extra == []


def test_python_m_serving_with_two_workers(models: Models) -> None:
    p = Process("-m", "jupyter_mm.serving", "--model-dir", models.directory, "--name", "credit",
                "--version", "7", "--open", "--port", "0", "--workers", "2")  # fmt: skip
    try:
        parent = p.proc.pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        assert len(children) == 2
        for _ in range(6):  # a new connection each time
            r = requests.post(f"{p.url}/invocations", json={"dataframe_records": [PROBE]},
                              headers={"Connection": "close"})  # fmt: skip
            assert r.status_code == 200
            assert r.headers["X-MM-Model-Name"] == "credit"
            assert r.headers["X-MM-Model-Version"] == "7"
        os.kill(int(children[0]), signal.SIGKILL)  # a worker dies: the parent starts another

        def replaced() -> list[str]:
            now = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            return now if len(now) == 2 and children[0] not in now else []

        end = time.monotonic() + 60
        while not replaced():
            assert time.monotonic() < end, "the dead worker was not replaced"
            time.sleep(0.05)  # pacing the poll; the condition decides
        for _ in range(4):
            r = requests.post(f"{p.url}/invocations", json={"dataframe_records": [PROBE]},
                              headers={"Connection": "close"})  # fmt: skip
            assert r.status_code == 200
        children = replaced()
    finally:
        assert p.stop() == 0
    for pid in children:  # SIGTERM to the parent stopped every worker
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
