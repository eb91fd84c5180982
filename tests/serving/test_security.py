"""Who may call the model server (a token, the team server's users file, ``--open`` on loopback
only) and which models it loads (pickled ones only with ``--trust``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from jupyter_mm.errors import InvalidInput, UntrustedModel
from jupyter_mm.serving.config import ModelSpec, ServeConfig
from jupyter_mm.serving.users import new_token, token_digest

from .support import PROBE, Models, ServerThread, credit_store, serving

pytest.importorskip("sklearn")
TOKEN = "serve-token-0123456789"
REPO = Path(__file__).resolve().parents[2]
PROTECTED = [
    ("POST", "/invocations"), ("GET", "/metrics"), ("GET", "/version"), ("GET", "/v2"),
    ("GET", "/v2/models/credit"), ("POST", "/v2/models/credit/infer"),
]  # fmt: skip
OPEN = ["/ping", "/health", "/v2/health/live", "/v2/health/ready", "/v2/models/credit/ready"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("security")) as m:
        yield m


@pytest.fixture(scope="module")
def server(models: Models) -> Iterator[ServerThread]:
    with serving(models=[ModelSpec(models.directory, name="credit")], open=False,
                 token=TOKEN) as s:  # fmt: skip
        yield s


def call(server: ServerThread, method: str, path: str, **headers: str) -> requests.Response:
    body = {"dataframe_records": [PROBE]} if path == "/invocations" else {}
    return requests.request(method, server.url + path, json=body if method == "POST" else None,
                            headers=headers)  # fmt: skip


@pytest.mark.parametrize("method,path", PROTECTED)
def test_routes_need_the_token(server: ServerThread, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"X-Token": TOKEN}):
        r = call(server, method, path, **headers)
        assert r.status_code == 401, (path, headers)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert call(server, method, path, Authorization=f"Bearer {TOKEN}").status_code != 401
    assert call(server, method, path, Authorization=f"token {TOKEN}").status_code != 401


def test_refusals_keep_each_protocols_error_shape(server: ServerThread) -> None:
    assert call(server, "POST", "/invocations").json()["error_code"] == "UNAUTHENTICATED"
    assert "token" in call(server, "POST", "/v2/models/credit/infer").json()["error"]


@pytest.mark.parametrize("path", OPEN)
def test_health_and_readiness_stay_open(server: ServerThread, path: str) -> None:
    assert call(server, "GET", path).status_code == 200


def test_open_metrics_opens_only_metrics(models: Models) -> None:
    with serving(models=[models.directory], open=False, token=TOKEN, open_metrics=True) as s:
        assert call(s, "GET", "/metrics").status_code == 200
        assert call(s, "POST", "/invocations").status_code == 401


def test_users_file_tokens_and_revocation(models: Models, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": token_digest("alice-token-0123"),
                                 "bob": {"token": token_digest("bob-token-0123"),
                                         "role": "reader"}}))  # fmt: skip
    with serving(models=[models.directory], open=False, users_file=str(users)) as s:
        for who in ("alice", "bob"):
            r = call(s, "POST", "/invocations", Authorization=f"Bearer {who}-token-0123")
            assert r.status_code == 200, r.text
        users.write_text(json.dumps({"alice": token_digest("alice-token-0123")}))
        os.utime(users, ns=(1, 1))  # a different mtime even within the clock's resolution
        r = call(s, "POST", "/invocations", Authorization="Bearer bob-token-0123")
        assert r.status_code == 401  # re-read: bob is gone
        assert call(s, "POST", "/invocations",
                    Authorization="Bearer alice-token-0123").status_code == 200  # fmt: skip


@pytest.mark.parametrize(
    "options,names",
    [
        ({}, "--token"),
        ({"open": True, "host": "0.0.0.0"}, "loopback"),
        ({"open": True, "token": TOKEN}, "--open"),
    ],
)
def test_unsafe_configurations_are_refused(options: dict, names: str) -> None:
    with pytest.raises(InvalidInput, match=names):
        ServeConfig(models=[ModelSpec("x")], **options).check()


def test_a_pickled_model_needs_trust(models: Models) -> None:
    with pytest.raises(UntrustedModel, match="trust"):
        ServerThread(ServeConfig(models=[ModelSpec(models.untrusted_dir)], open=True))
    with serving(models=[models.untrusted_dir], trust=True) as s:
        r = call(s, "POST", "/invocations")
        assert r.status_code == 200 and r.json() == {"predictions": [1]}


def test_the_cli_refuses_an_untrusted_model(models: Models) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "serve", models.untrusted_dir, "--open",
         "--port", "0"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "trust" in done.stderr and "Traceback" not in done.stderr


def test_a_new_token_can_follow_an_option_on_a_command_line() -> None:
    """One URL-safe token in 64 used to start with "-", which ``--token TOKEN`` reads as an
    option (argparse: "expected one argument")."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--token")
    tokens = [new_token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    assert all(parser.parse_args(["--token", t]).token == t for t in tokens)
