"""The team server (``jupyter mm server``) as a team uses it: a real subprocess over a real
PostgreSQL database and moto's S3 server, reached over HTTP with per-user tokens by plain
requests and by the official ``mlflow`` client.

One server serves the whole module; the last test stops it and checks the exit.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_mm.server.handlers import api_handlers
from jupyter_mm.server.identity import MMOnlyAuthorizer, new_token, parse_users, token_digest
from jupyter_mm.server.mlflow import mlflow_handlers
from jupyter_mm.server.standalone import TeamServerOptions
from tests.support.postgres import create_database
from tests.support.s3 import s3_env, s3_server

from .helpers import (
    UNKNOWN_MLFLOW_PATHS,
    accepted_sources,
    example_path,
    implemented_verbs,
    insert_old_versions,
    needs_body,
    refused_sources,
)

REPO = Path(__file__).resolve().parents[2]
BASE = "/team/"
BUCKET = "mm-team"
START_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MM_", "MLFLOW_", "JUPYTER"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def _cli(*args: str) -> list[str]:
    """``jupyter mm server ARGS``, through jupyter's own dispatcher (``jupyter-mm`` found beside
    this interpreter, not through whatever PATH holds)."""
    return [sys.executable, "-m", "jupyter", "mm", "server", *args]


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    scheme: str = "token",
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request, never following redirects (a login redirect must show as a 302)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a: Any, **k: Any) -> None:
            return None

    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        req.add_header("Authorization", f"{scheme} {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=60) as r:
            return Reply(r.status, r.read(), dict(r.headers))
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.read(), dict(e.headers))


@dataclass
class TeamServer:
    url: str  # http://127.0.0.1:PORT/team/
    proc: subprocess.Popen[bytes]
    log: Path
    tokens: dict[str, str]
    users_file: Path
    s3_endpoint: str
    store_url: str

    @property
    def api(self) -> str:
        return f"{self.url}jupyter-mm/api/"

    @property
    def mlflow(self) -> str:
        return f"{self.url}jupyter-mm/mlflow"

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

    def s3_objects(self) -> dict[str, bytes]:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        found = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in found}


def wait_until_ready(server: TeamServer, token: str) -> None:
    """Poll the health route until it answers; fail with the server's output if it exits."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if http("GET", f"{server.mlflow}/health", token).status == 200:
                return
        except OSError:
            pass
        if server.proc.poll() is not None:
            pytest.fail(f"the team server exited with {server.proc.returncode}:\n{server.output()}")
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"the team server did not answer in {START_TIMEOUT}s:\n{server.output()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def team(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    tmp = tmp_path_factory.mktemp("team-server")
    # an empty database: the server migrates it at start
    db = create_database(postgres_admin_url, f"mm_team_{uuid.uuid4().hex[:8]}")
    tokens = {u: new_token() for u in ("alice", "bob", "ci", "rita", "adam")}
    users_file = tmp / "users.json"
    # bob has two tokens (rotation); the file holds digests only. alice and bob have no role
    # (writers, as before roles existed); rita only reads; adam administers.
    users_file.write_text(
        json.dumps(
            {
                "alice": token_digest(tokens["alice"]),
                "bob": [token_digest(new_token()), token_digest(tokens["bob"])],
                "rita": {"token": token_digest(tokens["rita"]), "role": "reader"},
                "adam": {"token": [token_digest(tokens["adam"])], "role": "admin"},
            }
        )
    )
    with s3_server() as endpoint:
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        port = _free_port()
        log = tmp / "server.log"
        env = _server_env(
            {
                **s3_env(endpoint),
                # the shared token and its user come from the environment (not argv)
                "MM_SERVER_TOKEN": tokens["ci"],
                "MM_SERVER_TOKEN_USER": "ci",
                "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
            }
        )
        args = [
            "--store", db,
            "--artifacts", f"s3://{BUCKET}/prefix",
            "--port", str(port),
            "--base-url", BASE,
            "--users-file", str(users_file),
        ]  # fmt: skip
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                _cli(*args),
                env=env,
                cwd=tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = TeamServer(
            url=f"http://127.0.0.1:{port}{BASE}",
            proc=proc,
            log=log,
            tokens=tokens,
            users_file=users_file,
            s3_endpoint=endpoint,
            store_url=db,
        )
        try:
            wait_until_ready(server, tokens["alice"])
            yield server
        finally:
            server.stop()


@pytest.fixture
def mlflow_env(team: TeamServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A function that points the mlflow client at the team server as ``user``."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", team.mlflow)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    mlflow.set_tracking_uri(team.mlflow)

    def as_user(user: str) -> Any:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team.tokens[user])
        return mlflow.MlflowClient(tracking_uri=team.mlflow)

    yield as_user
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    fluent._active_experiment_id = None  # the client keeps it in a module global
    mlflow.set_tracking_uri(None)


# -- identity ---------------------------------------------------------------------------------


@pytest.mark.postgres
def test_rest_runs_record_the_token_user(team: TeamServer) -> None:
    created = {}
    for user in ("alice", "bob", "ci"):
        r = http(
            "POST",
            f"{team.api}runs",
            team.tokens[user],
            {"experiment_name": "team-rest", "name": f"{user}-run", "user": "mallory"},
        )
        assert r.status == 201, r.body
        created[user] = r.json()
    for user, run in created.items():
        assert run["user"] == user  # the claim ("mallory") is ignored
        r = http(
            "POST",
            f"{team.api}runs/{run['id']}/log-batch",
            team.tokens[user],
            {"metrics": [{"key": "auc", "value": 0.7, "step": 0}], "params": {"who": user}},
        )
        assert r.status == 200, r.body
        # any team member reads any run; the recorded user stays the creator's
        other = "bob" if user == "alice" else "alice"
        got = http("GET", f"{team.api}runs/{run['id']}", team.tokens[other])
        assert got.status == 200
        assert got.json()["user"] == user
        assert got.json()["params"] == {"who": user}


@pytest.mark.postgres
def test_mlflow_client_runs_record_the_token_user(team: TeamServer, mlflow_env: Any) -> None:
    runs = {}
    exp_id = mlflow_env("alice").create_experiment(f"team-mlflow-{uuid.uuid4().hex[:6]}")
    for user in ("alice", "bob"):
        client = mlflow_env(user)
        run = client.create_run(exp_id, tags={"mlflow.user": "mallory"})
        client.log_metric(run.info.run_id, "loss", 0.5, step=1)
        client.log_param(run.info.run_id, "lr", "0.1")
        client.set_terminated(run.info.run_id)
        runs[user] = run
    assert {u: r.info.user_id for u, r in runs.items()} == {"alice": "alice", "bob": "bob"}
    client = mlflow_env("bob")
    for user, run in runs.items():
        got = client.get_run(run.info.run_id)
        assert got.info.user_id == user
        assert got.data.tags["mlflow.user"] == user  # the claimed tag does not survive
        assert got.data.metrics == {"loss": 0.5}
        assert got.info.status == "FINISHED"
    # the fluent API sends user_id from the OS user; the token still decides
    import mlflow

    mlflow_env("bob")
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run() as active:
        mlflow.log_metric("acc", 0.9)
    assert mlflow_env("alice").get_run(active.info.run_id).info.user_id == "bob"
    found = mlflow.search_runs([exp_id], filter_string="attributes.user_id = 'bob'")
    assert sorted(found["run_id"]) == sorted([runs["bob"].info.run_id, active.info.run_id])


@pytest.mark.postgres
def test_identity_tags_are_written_by_the_server_only(team: TeamServer, mlflow_env: Any) -> None:
    """After creation no route lets a writer set, change or delete ``mlflow.user``: MLflow
    set-tag, log-batch and delete-tag, REST PATCH and log-batch all answer 403; at creation the
    claimed tag is replaced by the token's user."""
    from mlflow.entities import RunTag
    from mlflow.exceptions import MlflowException

    client = mlflow_env("alice")
    exp_id = client.create_experiment(f"identity-{uuid.uuid4().hex[:6]}")
    run_id = client.create_run(exp_id, tags={"mlflow.user": "bob"}).info.run_id
    attempts = {
        "set-tag": lambda: client.set_tag(run_id, "mlflow.user", "bob"),
        "log-batch": lambda: client.log_batch(run_id, tags=[RunTag("mlflow.user", "bob")]),
        "delete-tag": lambda: client.delete_tag(run_id, "mlflow.user"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(MlflowException) as e:
            attempt()
        assert (e.value.error_code, e.value.get_http_status_code()) == ("PERMISSION_DENIED", 403)
        assert "mlflow.user" in e.value.message, what
    token = team.tokens["alice"]
    for method, path, body in (
        ("PATCH", f"runs/{run_id}", {"tags": {"mlflow.user": "bob", "note": "x"}}),
        ("POST", f"runs/{run_id}/log-batch", {"tags": {"mlflow.user": "bob"}}),
    ):
        r = http(method, f"{team.api}{path}", token, body)
        assert (r.status, r.json()["error_code"]) == (403, "PERMISSION_DENIED"), path
    got = http("GET", f"{team.api}runs/{run_id}", token).json()
    assert got["user"] == "alice" and got["tags"]["mlflow.user"] == "alice"
    assert "note" not in got["tags"]  # the refused PATCH wrote nothing
    r = http("POST", f"{team.api}runs", token, {"tags": {"mlflow.user": "bob"}, "user": "bob"})
    assert r.status == 201 and r.json()["tags"]["mlflow.user"] == "alice"


@pytest.mark.postgres
def test_no_cors_header_for_a_foreign_origin(team: TeamServer) -> None:
    """Nothing configured, so no ``Access-Control-Allow-Origin``, even on token-authenticated
    replies (which jupyter_server would answer with the request's own Origin)."""
    origin = {"Origin": "https://evil.example"}
    for url in (
        f"{team.api}status",
        f"{team.mlflow}/api/2.0/mlflow/experiments/get?experiment_id=0",
    ):
        r = http("GET", url, team.tokens["alice"], headers=origin)
        assert r.status == 200, r.body
        assert "access-control-allow-origin" not in {k.lower() for k in r.headers}, url


@pytest.mark.postgres
def test_notebook_client_logs_through_the_team_server(team: TeamServer, tmp_path: Path) -> None:
    """What a JupyterHub user's kernel does: MM_TRACKING_URI at the team server, its token in
    MM_TRACKING_TOKEN, the ordinary ``mm`` API."""
    script = (
        "import jupyter_mm as mm\n"
        "run = mm.start_run(experiment='hub-notebooks')\n"
        "mm.log_param('lr', 0.1)\n"
        "for step in range(50):\n"
        "    mm.log_metric('loss', 1 / (step + 1))\n"
        "mm.end_run()\n"
        "print(run.id)\n"
    )
    env = _server_env(
        {
            "MM_TRACKING_URI": team.url,
            "MM_TRACKING_TOKEN": team.tokens["bob"],
            "MM_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )
    r = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    run_id = r.stdout.strip().splitlines()[-1]
    got = http("GET", f"{team.api}runs/{run_id}", team.tokens["alice"]).json()
    assert (got["user"], got["status"], got["params"]) == ("bob", "FINISHED", {"lr": "0.1"})
    history = http(
        "POST",
        f"{team.api}metrics/history",
        team.tokens["alice"],
        {"run_ids": [run_id], "keys": ["loss"]},
    )
    assert history.status == 200, history.body
    (series,) = history.json()["series"]
    assert series["step"] == list(range(50))
    assert series["value"] == [1 / (step + 1) for step in range(50)]


# -- artifacts on S3 --------------------------------------------------------------------------


@pytest.mark.postgres
def test_artifacts_land_in_the_bucket_and_come_back(
    team: TeamServer, mlflow_env: Any, tmp_path: Path
) -> None:
    payload = os.urandom(200_000)
    digest = hashlib.sha256(payload).hexdigest()
    (tmp_path / "model.bin").write_bytes(payload)
    client = mlflow_env("alice")
    run = client.create_run("0")
    client.log_artifact(run.info.run_id, str(tmp_path / "model.bin"), artifact_path="weights")

    objects = team.s3_objects()
    key = f"prefix/sha256/{digest[:2]}/{digest[2:]}"
    assert objects.get(key) == payload, sorted(objects)

    # back through the mlflow client, as bob
    out = mlflow_env("bob").download_artifacts(run.info.run_id, "weights/model.bin", str(tmp_path))
    assert Path(out).read_bytes() == payload
    assert [f.path for f in mlflow_env("bob").list_artifacts(run.info.run_id, "weights")] == [
        "weights/model.bin"
    ]
    # and through the REST API
    r = http(
        "GET", f"{team.api}runs/{run.info.run_id}/artifacts/weights/model.bin", team.tokens["ci"]
    )
    assert r.status == 200 and r.body == payload

    # a REST upload of the same bytes is stored once
    other = http("POST", f"{team.api}runs", team.tokens["bob"], {"experiment_id": "0"}).json()
    put = http(
        "PUT", f"{team.api}runs/{other['id']}/artifacts/copy.bin", team.tokens["bob"], raw=payload
    )
    assert put.status in (200, 201), put.body
    assert [k for k in team.s3_objects() if k.endswith(digest[2:])] == [key]


@pytest.mark.postgres
def test_artifact_paths_cannot_escape(team: TeamServer) -> None:
    run = http("POST", f"{team.api}runs", team.tokens["alice"], {"experiment_id": "0"}).json()
    for path in ("..%2F..%2Fetc%2Fpasswd", "a/../../b", "%2Fetc%2Fpasswd"):
        r = http(
            "PUT", f"{team.api}runs/{run['id']}/artifacts/{path}", team.tokens["alice"], raw=b"x"
        )
        assert 400 <= r.status < 500, (path, r.status, r.body)
    assert not [k for k in team.s3_objects() if not k.startswith("prefix/sha256/")]


@pytest.mark.postgres
def test_model_version_sources_that_escape_are_refused(team: TeamServer, mlflow_env: Any) -> None:
    """The team server refuses each source form MLflow refuses (mlflow client, raw HTTP on the
    MLflow route and the REST API), accepts the forms MLflow accepts, and refuses to resolve a
    version an older database holds with such a source."""
    from mlflow.exceptions import MlflowException

    alice = mlflow_env("alice")
    token = team.tokens["alice"]
    exp_id = alice.create_experiment(f"sources-{uuid.uuid4().hex[:6]}")
    run_id, other = (alice.create_run(exp_id).info.run_id for _ in range(2))
    model = f"sources-{uuid.uuid4().hex[:6]}"
    alice.create_registered_model(model)
    forms = refused_sources(exp_id, run_id, other)
    create = f"{team.mlflow}/api/2.0/mlflow/model-versions/create"
    for kind, kind_forms in forms.items():
        for form in kind_forms:
            with pytest.raises(MlflowException) as e:
                alice.create_model_version(model, form, run_id=run_id)
            assert e.value.error_code == "INVALID_PARAMETER_VALUE", (kind, form, e.value.message)
            assert e.value.get_http_status_code() == 400, (kind, form)
            r = http("POST", create, token, {"name": model, "source": form, "run_id": run_id})
            assert (r.status, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), form
            if other not in form:  # the REST API takes no run_id beside a source
                r = http("POST", f"{team.api}registry/models/{model}/versions", token,
                         {"source": form})  # fmt: skip
                assert (r.status, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), form
    assert alice.search_model_versions(f"name = '{model}'") == []
    good = accepted_sources(exp_id, run_id)
    assert [alice.create_model_version(model, f, run_id=run_id).source for f in good] == good

    old_model = f"{model}-old"
    alice.create_registered_model(old_model)
    old = [f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts/%2E%2E/%2E%2E/etc", "/etc"]
    insert_old_versions(team.store_url, old_model, old)
    for number in range(1, len(old) + 1):
        with pytest.raises(MlflowException) as e:
            alice.get_model_version_download_uri(old_model, str(number))
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
        assert f"model version {old_model} {number} cannot be resolved" in e.value.message


@pytest.mark.postgres
def test_unknown_mlflow_routes_answer_json_404(team: TeamServer) -> None:
    for path in UNKNOWN_MLFLOW_PATHS:
        for verb in ("GET", "POST", "DELETE"):
            raw = b"{}" if needs_body(verb) else None
            r = http(verb, f"{team.mlflow}/{path}", team.tokens["alice"], raw=raw)
            assert r.status == 404, (verb, path, r.status, r.body[:200])
            assert r.headers["Content-Type"].startswith("application/json"), (verb, path)
            assert r.json()["error_code"] == "ENDPOINT_NOT_FOUND", (verb, path)
            r = http(verb, f"{team.mlflow}/{path}", None, raw=raw)
            assert r.status in (401, 403), (verb, path, r.status)  # authentication comes first


# -- authentication and what is served --------------------------------------------------------


def _mm_requests() -> list[tuple[str, str]]:
    """(verb, path) of every jupyter-mm route, paths with example values, under BASE."""
    out = []
    for pattern, handler, *_ in [*api_handlers(), *mlflow_handlers()]:
        path = example_path(BASE + pattern.lstrip("/"))
        for verb in implemented_verbs(handler):
            if verb != "OPTIONS":  # jupyter_server's public CORS preflight
                out.append((verb, path))
    return out


@pytest.mark.postgres
def test_every_route_refuses_missing_and_wrong_tokens(team: TeamServer) -> None:
    origin = team.url[: -len(BASE)]
    requests = _mm_requests()
    assert len(requests) > 30
    for verb, path in requests:
        body = b"{}" if needs_body(verb) else None
        for token, scheme in ((None, "token"), ("not-a-token", "token"), ("wrong", "Bearer")):
            r = http(verb, origin + path, token, raw=body, scheme=scheme)
            assert r.status in (401, 403), (verb, path, token, r.status)
            if verb != "HEAD":
                assert r.json()["error_code"] in ("UNAUTHENTICATED", "PERMISSION_DENIED")
    # the token is not accepted as a query argument (it would end up in proxy logs)
    r = http("GET", f"{team.api}status?token={team.tokens['alice']}")
    assert r.status == 403


@pytest.mark.postgres
def test_the_token_authenticates_every_kind_of_client(team: TeamServer) -> None:
    for scheme in ("token", "Bearer", "bearer"):
        r = http("GET", f"{team.api}status", team.tokens["bob"], scheme=scheme)
        assert r.status == 200, (scheme, r.body)
    assert "set-cookie" not in {k.lower() for k in r.headers}  # no login cookie either


@pytest.mark.postgres
@pytest.mark.parametrize(
    "verb,path",
    [
        ("GET", "api/kernels"),
        ("POST", "api/kernels"),
        ("GET", "api/kernelspecs"),
        ("GET", "api/sessions"),
        ("POST", "api/sessions"),
        ("GET", "api/contents"),
        ("GET", "api/contents/users.json"),
        ("PUT", "api/contents/x.py"),
        ("GET", "files/users.json"),
        ("GET", "api/terminals"),
        ("POST", "api/terminals"),
        ("GET", "terminals/websocket/1"),
        ("GET", "lab"),
        ("GET", "tree"),
        ("GET", "api/events/subscribe"),
        ("POST", "api/events"),
        ("GET", "api/config/notebook"),
        ("GET", "api/me"),
        ("GET", "api/status"),
        ("POST", "api/shutdown"),
        ("GET", "login"),
        ("GET", "metrics"),
        ("GET", "static/favicon.ico"),
        ("GET", "nbconvert/html/x.ipynb"),
        ("GET", ""),
    ],
)
def test_jupyter_services_are_not_served(team: TeamServer, verb: str, path: str) -> None:
    for token in (team.tokens["alice"], None):
        r = http(verb, team.url + path, token, raw=b"{}" if needs_body(verb) else None)
        assert r.status == 404, (verb, path, token, r.status, r.body[:200])
        assert r.json()["error_code"] == "ENDPOINT_NOT_FOUND"


@pytest.mark.postgres
def test_it_is_not_listed_as_a_jupyter_server(team: TeamServer) -> None:
    """No ``jpserver-*.json``: ``jupyter server list`` and JupyterLab must not offer it."""
    runtime = team.log.parent / "runtime"
    assert (runtime / "jupyter_cookie_secret").exists()  # the server's runtime directory
    assert not list(runtime.glob("jpserver-*")), sorted(runtime.iterdir())


@pytest.mark.postgres
def test_a_new_user_in_the_users_file_is_picked_up(team: TeamServer) -> None:
    carol = new_token()
    assert http("GET", f"{team.api}status", carol).status == 403
    users = json.loads(team.users_file.read_text())
    team.users_file.write_text(json.dumps({**users, "carol": token_digest(carol)}))
    deadline = time.monotonic() + 30
    while http("GET", f"{team.api}status", carol).status != 200:
        assert time.monotonic() < deadline, "the users file was not re-read"
        time.sleep(0.05)
    r = http("POST", f"{team.api}runs", carol, {"experiment_id": "0"})
    assert r.json()["user"] == "carol"
    # revoking works the same way; a broken file keeps the last good table
    team.users_file.write_text(json.dumps(users))
    while http("GET", f"{team.api}status", carol).status != 403:
        assert time.monotonic() < deadline, "carol was not revoked"
        time.sleep(0.05)
    team.users_file.write_text("{not json")
    assert http("GET", f"{team.api}status", team.tokens["alice"]).status == 200
    team.users_file.write_text(json.dumps(users))
    assert "is not valid JSON" in team.output()


# -- roles -------------------------------------------------------------------------------------


def _refused_as_reader(r: Reply) -> None:
    assert r.status == 403, (r.status, r.body)
    reply = r.json()
    assert reply["error_code"] == "PERMISSION_DENIED"
    assert reply["message"].startswith("rita has the reader role on this team server"), reply
    assert reply.get("details") in ({"role": "reader"}, None)  # None: the MLflow routes' shape


@pytest.mark.postgres
def test_a_reader_reads_but_cannot_write_over_rest(team: TeamServer) -> None:
    rita = team.tokens["rita"]
    run = http(
        "POST", f"{team.api}runs", team.tokens["alice"], {"experiment_name": "roles-rest"}
    ).json()
    batch = {"metrics": [{"key": "auc", "value": 0.8, "step": 0}]}
    http("POST", f"{team.api}runs/{run['id']}/log-batch", team.tokens["alice"], batch)
    model = http("POST", f"{team.api}registry/models", team.tokens["alice"], {"name": "roles-rest"})
    assert model.status == 201
    # reads, the searches sent as POST included
    assert http("GET", f"{team.api}status", rita).status == 200
    assert http("GET", f"{team.api}runs/{run['id']}", rita).json()["user"] == "alice"
    found = http("POST", f"{team.api}runs/search", rita, {"experiment_ids": [run["experiment_id"]]})
    assert found.status == 200, found.body
    assert [r["id"] for r in found.json()["runs"]] == [run["id"]]
    history = http(
        "POST", f"{team.api}metrics/history", rita, {"run_ids": [run["id"]], "keys": ["auc"]}
    )
    assert history.status == 200 and history.json()["series"][0]["value"] == [0.8]
    assert http("GET", f"{team.api}registry/models/roles-rest", rita).status == 200
    assert http("GET", f"{team.api}registry/policy", rita).status == 200
    # every kind of write is refused, with a message that says why
    rid = run["id"]
    for verb, path, body in [
        ("POST", "runs", {"experiment_id": "0"}),
        ("POST", f"runs/{rid}/log-batch", {"metrics": [{"key": "auc", "value": 1, "step": 1}]}),
        ("PATCH", f"runs/{rid}", {"name": "renamed"}),
        ("POST", f"runs/{rid}/end", {"status": "FINISHED"}),
        ("POST", "experiments/get-or-create", {"name": "roles-rest"}),
        ("POST", "registry/models", {"name": "by-rita"}),
        ("POST", "registry/models/roles-rest/versions", {"source": "s3://b/m"}),
        ("PUT", "registry/models/roles-rest/aliases/champion", {"version": 1}),
        ("PUT", "registry/policy", {"four_eyes": False}),
    ]:
        _refused_as_reader(http(verb, f"{team.api}{path}", rita, body))
    _refused_as_reader(http("PUT", f"{team.api}runs/{rid}/artifacts/x.txt", rita, raw=b"x"))
    _refused_as_reader(http("DELETE", f"{team.api}runs/{rid}", rita))
    got = http("GET", f"{team.api}runs/{rid}", rita).json()
    assert got["name"] != "renamed" and got["status"] == "RUNNING"
    assert http("GET", f"{team.api}registry/models/by-rita", rita).status == 404


@pytest.mark.postgres
def test_a_reader_through_the_mlflow_client(team: TeamServer, mlflow_env: Any) -> None:
    from mlflow.exceptions import RestException

    alice = mlflow_env("alice")
    exp_name = f"roles-mlflow-{uuid.uuid4().hex[:6]}"
    exp_id = alice.create_experiment(exp_name)
    run = alice.create_run(exp_id)
    alice.log_metric(run.info.run_id, "auc", 0.8)
    model = f"roles-mlflow-{uuid.uuid4().hex[:6]}"
    alice.create_registered_model(model)
    alice.create_model_version(model, f"runs:/{run.info.run_id}/model", run.info.run_id)

    rita = mlflow_env("rita")  # the token is read from the environment at each request
    assert rita.get_run(run.info.run_id).data.metrics == {"auc": 0.8}
    assert [r.info.run_id for r in rita.search_runs([exp_id])] == [run.info.run_id]
    assert rita.get_experiment_by_name(exp_name).experiment_id == exp_id
    found = rita.search_experiments(filter_string=f"name = '{exp_name}'")
    assert [e.experiment_id for e in found] == [exp_id]
    assert [m.name for m in rita.search_registered_models(f"name = '{model}'")] == [model]
    assert [v.version for v in rita.search_model_versions(f"name = '{model}'")] == ["1"]
    for write in (
        lambda: rita.create_run(exp_id),
        lambda: rita.log_metric(run.info.run_id, "auc", 0.9),
        lambda: rita.set_tag(run.info.run_id, "k", "v"),
        lambda: rita.create_registered_model(f"{model}-rita"),
        lambda: rita.create_model_version(model, "s3://b/m"),
        lambda: rita.set_registered_model_alias(model, "champion", "1"),
    ):
        with pytest.raises(RestException) as e:
            write()
        assert e.value.get_http_status_code() == 403
        assert e.value.error_code == "PERMISSION_DENIED"
        assert "rita has the reader role" in e.value.message
    alice = mlflow_env("alice")
    assert alice.get_run(run.info.run_id).data.metrics == {"auc": 0.8}
    assert alice.get_registered_model(model).aliases == {}
    assert [v.version for v in alice.search_model_versions(f"name = '{model}'")] == ["1"]


@pytest.mark.postgres
def test_only_admins_change_registry_policies(team: TeamServer) -> None:
    url = f"{team.api}registry/policy"
    before = http("GET", url, team.tokens["alice"]).json()
    r = http("PUT", url, team.tokens["alice"], {"approvers": ["alice"]})
    assert r.status == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    assert r.json()["message"] == (
        "only administrators may change registry policies on this team server; alice has the "
        "writer role (roles are set in the users file)"
    )
    http("POST", f"{team.api}registry/models", team.tokens["bob"], {"name": "roles-policy"})
    model_policy = f"{team.api}registry/models/roles-policy/policy"
    r = http("PUT", model_policy, team.tokens["bob"], {"four_eyes": False})
    assert r.status == 403 and "bob has the writer role" in r.json()["message"]
    assert r.json()["details"] == {"role": "writer"}
    assert http("GET", url, team.tokens["alice"]).json() == before
    # writers still do everything else in the registry
    r = http(
        "PATCH",
        f"{team.api}registry/models/roles-policy",
        team.tokens["bob"],
        {"description": "PD"},
    )
    assert r.status == 200, r.body
    # an admin from the users file, and the shared --token's user, may
    r = http("PUT", model_policy, team.tokens["adam"], {"approvers": ["val"], "comment": "val"})
    assert r.status == 200 and r.json()["approvers"] == ["val"]
    r = http("PUT", model_policy, team.tokens["ci"], {"approvers": [], "comment": "ci"})
    assert r.status == 200 and r.json()["approvers"] == []
    audit = http("GET", f"{team.api}registry/audit?model=roles-policy", team.tokens["rita"])
    changes = [
        (e["actor"], e["to"]["approvers"])
        for e in audit.json()["entries"]
        if e["action"] == "policy.set"
    ]
    assert changes == [("adam", ["val"]), ("ci", [])]
    assert http("GET", f"{team.api}registry/audit/verify", team.tokens["rita"]).json()["ok"]


@pytest.mark.postgres
@pytest.mark.filterwarnings("ignore:.*deprecated since 2.9.0:FutureWarning")
def test_stage_transition_obeys_the_policy(team: TeamServer, mlflow_env: Any) -> None:
    """As on the Jupyter extension (test_mlflow_registry.py): under approved_aliases_only, the
    MLflow client's transition to Production of a version still PendingManualApproval is 403
    PERMISSION_DENIED, ``get_latest_versions`` does not return it, and once approved both work."""
    from mlflow.exceptions import RestException

    model = f"staged-{uuid.uuid4().hex[:6]}"
    alice = mlflow_env("alice")
    alice.create_registered_model(model)
    alice.create_model_version(model, "s3://bucket/model")
    r = http(
        "PUT",
        f"{team.api}registry/models/{model}/policy",
        team.tokens["adam"],
        {"approved_aliases_only": True, "comment": "gate production"},
    )
    assert r.status == 200 and r.json()["approved_aliases_only"] is True, r.body
    versions = f"{team.api}registry/models/{model}/versions/1/approval"
    r = http("POST", f"{versions}/request", team.tokens["alice"], {"comment": "please"})
    assert r.status == 200, r.body

    for stage in ("Production", "Staging"):
        with pytest.raises(RestException) as e:
            alice.transition_model_version_stage(model, "1", stage)
        assert (e.value.error_code, e.value.get_http_status_code()) == ("PERMISSION_DENIED", 403)
        assert "PendingManualApproval" in e.value.message
    assert alice.get_model_version(model, "1").current_stage == "None"
    assert alice.get_latest_versions(model, ["Production", "Staging"]) == []

    r = http("POST", f"{versions}/approve", team.tokens["bob"], {"comment": "ok"})
    assert r.status == 200, r.body
    alice.transition_model_version_stage(model, "1", "Production")
    assert [v.version for v in alice.get_latest_versions(model, ["Production"])] == ["1"]
    audit = http("GET", f"{team.api}registry/audit?model={model}", team.tokens["rita"]).json()
    assert any(e["actor"] == "alice" and "stage" in e["action"] for e in audit["entries"]), audit


@pytest.mark.postgres
def test_roles_are_re_read_when_the_users_file_changes(team: TeamServer) -> None:
    rita = team.tokens["rita"]
    original = team.users_file.read_text()
    users = json.loads(original)
    try:
        _refused_as_reader(http("POST", f"{team.api}runs", rita, {"experiment_id": "0"}))
        users["rita"]["role"] = "writer"
        team.users_file.write_text(json.dumps(users))
        deadline = time.monotonic() + 30
        while (r := http("POST", f"{team.api}runs", rita, {"experiment_id": "0"})).status != 201:
            assert time.monotonic() < deadline, "the new role was not picked up"
            time.sleep(0.05)
        assert r.json()["user"] == "rita"
        # a bad role keeps the last good table (rita stays a writer) and says why in the log
        users["rita"]["role"] = "superuser"
        team.users_file.write_text(json.dumps(users))
        while "role must be one of reader, writer, admin, got 'superuser'" not in team.output():
            assert time.monotonic() < deadline, "the bad role was not reported"
            http("GET", f"{team.api}status", rita)
            time.sleep(0.05)
        assert http("POST", f"{team.api}runs", rita, {"experiment_id": "0"}).status == 201
    finally:
        team.users_file.write_text(original)
    deadline = time.monotonic() + 30
    while http("POST", f"{team.api}runs", rita, {"experiment_id": "0"}).status != 403:
        assert time.monotonic() < deadline, "rita is still a writer"
        time.sleep(0.05)


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path) -> Config:
    """A full Jupyter server (every service registered) guarded only by MMOnlyAuthorizer."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
                "authorizer_class": MMOnlyAuthorizer,
            },
            "JupyterMM": {"tracking_uri": str(mm_store_dir)},
        }
    )


async def test_the_authorizer_alone_refuses_jupyter_services(jp_fetch: Any) -> None:
    """The second wall: were a Jupyter route ever registered on the team server, a token holder
    would still be refused by the authorizer."""
    from tornado.httpclient import HTTPClientError

    for method, path, body in [
        ("GET", "api/kernels", None),
        ("POST", "api/kernels", "{}"),
        ("GET", "api/kernelspecs", None),
        ("GET", "api/sessions", None),
        ("GET", "api/contents", None),
        ("PUT", "api/contents/x.py", '{"type": "file", "format": "text", "content": "1"}'),
        ("GET", "api/config/notebook", None),
        ("POST", "api/shutdown", ""),
    ]:
        with pytest.raises(HTTPClientError) as e:
            await jp_fetch(path, method=method, body=body)
        assert e.value.code == 403, (method, path)
    assert (await jp_fetch("jupyter-mm", "api", "status")).code == 200


def test_options_fall_back_to_the_environment_then_jupyterhub() -> None:
    env = {
        "MM_TRACKING_URI": "postgresql://mm@db/mm",
        "MM_SERVER_PORT": "9000",
        "JUPYTERHUB_SERVICE_URL": "http://10.0.0.5:10101",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/mm/",
    }
    o = TeamServerOptions(ip="0.0.0.0").resolved(env)
    assert (o.store, o.ip, o.port, o.base_url) == (
        "postgresql://mm@db/mm",
        "0.0.0.0",
        "9000",
        "/services/mm/",
    )
    o = TeamServerOptions().resolved({"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101"})
    assert (o.ip, o.port, o.base_url, o.store) == ("127.0.0.1", 10101, None, None)


# -- a second, small deployment: SQLite, a shared token, TLS ----------------------------------


def test_trial_server_with_sqlite_a_shared_token_and_tls(tmp_path: Path) -> None:
    """``--certfile/--keyfile`` serve HTTPS; a directory store works for a trial; one shared
    ``--token`` records its ``--token-user``."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    token, port = new_token(), _free_port()
    args = [
        "--store", str(tmp_path / "store"),
        "--port", str(port),
        "--token", token,
        "--token-user", "lab-team",
        "--certfile", str(cert),
        "--keyfile", str(key),
    ]  # fmt: skip
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _cli(*args), env=_server_env({}), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    ctx = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{port}/jupyter-mm/api/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            req = urllib.request.Request(
                f"{url}status", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                    assert json.loads(r.read())["store"]["kind"] == "sqlite"
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        req = urllib.request.Request(
            f"{url}runs",
            data=json.dumps({"experiment_id": "0", "user": "someone"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            assert json.loads(r.read())["user"] == "lab-team"
        with pytest.raises(OSError):  # plain HTTP is not served (reset or refused)
            urllib.request.urlopen(f"http://127.0.0.1:{port}/jupyter-mm/api/status", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, without a terminal: stops cleanly too
        assert proc.wait(timeout=60) == 0, log.read_text()
    assert "Shutting down 1 extension" in log.read_text()
    assert (tmp_path / "store" / "mm.db").exists()


# -- start-up errors and shutdown -------------------------------------------------------------


def test_refuses_to_start_without_a_reachable_database(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": token_digest("t")}))
    env = _server_env({})
    args = [
        "--store", f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/mm",
        "--artifacts", str(tmp_path / "art"),
        "--users-file", str(users),
        "--port", str(_free_port()),
    ]  # fmt: skip
    r = subprocess.run(
        _cli(*args), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "error: cannot open the store at postgresql+psycopg://nobody@127.0.0.1" in r.stderr
    assert "Traceback" not in r.stderr, r.stderr


@pytest.mark.postgres
def test_refuses_to_start_without_the_bucket(team: TeamServer, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text("{}")  # no users yet is fine (JupyterHub adds them as they spawn)
    env = _server_env(s3_env(team.s3_endpoint))
    args = [
        "--store", team.store_url,
        "--artifacts", "s3://no-such-bucket/mm",
        "--users-file", str(users),
        "--port", str(_free_port()),
    ]  # fmt: skip
    r = subprocess.run(
        _cli(*args), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert (
        "error: the artifact location s3://no-such-bucket/mm: bucket 'no-such-bucket' does not exist"
        in r.stderr
    )
    assert "Traceback" not in r.stderr


def test_refuses_bad_token_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked before anything starts: each mistake is one line on stderr and status 2."""
    from jupyter_mm.cli import main

    for var in ("MM_SERVER_TOKEN", "MM_SERVER_USERS_FILE"):
        monkeypatch.delenv(var, raising=False)
    store = ["server", "--store", str(tmp_path / "st"), "--port", str(_free_port())]

    def fails(*args: str) -> str:
        assert main([*store, *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
        return err

    assert "needs tokens" in fails()
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": "plain-secret"}))
    err = fails("--users-file", str(users))
    assert "must be given as 'sha256:'" in err and "plain-secret" not in err
    users.write_text(json.dumps({"alice": token_digest("t"), "bob": token_digest("t")}))
    assert "share a token" in fails("--users-file", str(users))
    users.write_text(json.dumps(["alice"]))
    assert "expected a JSON object" in fails("--users-file", str(users))
    users.write_text(json.dumps({" alice": token_digest("t")}))
    assert "leading/trailing spaces" in fails("--users-file", str(users))
    assert "cannot read the users file" in fails("--users-file", str(tmp_path / "nope.json"))
    users.write_text(json.dumps({"alice": {"token": token_digest("t"), "role": "root"}}))
    assert "role must be one of reader, writer, admin, got 'root'" in fails(
        "--users-file", str(users)
    )
    users.write_text(json.dumps({"alice": {"digest": token_digest("t")}}))
    assert "unknown key(s) 'digest'" in fails("--users-file", str(users))
    assert "--role goes with --new-token" in fails("--token", "t", "--role", "admin")
    assert "port 'x' is not a number" in fails("--token", "t", "--port", "x")
    assert not (tmp_path / "st").exists()  # nothing was created


def test_new_token_prints_a_users_file_entry(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_mm.cli import main

    assert main(["server", "--new-token", "alice@bank.example"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[0].rsplit(" ", 1)[1]
    entry = json.loads(out[1].split(": ", 1)[1])
    assert entry == {"alice@bank.example": token_digest(token)}
    assert len(token) >= 40
    assert main(["server", "--new-token", "val", "--role", "reader"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[0].rsplit(" ", 1)[1]
    assert json.loads(out[1].split(": ", 1)[1]) == {
        "val": {"token": token_digest(token), "role": "reader"}
    }
    # the entry is what the users file reads back
    assert parse_users(json.loads(out[1].split(": ", 1)[1]), "t").roles == {"val": "reader"}


@pytest.mark.postgres
def test_logged_models_without_a_run_on_the_team_server(
    team: TeamServer, mlflow_env: Any, tmp_path: Path
) -> None:
    """A model logged outside any run keeps its own files (in the bucket), is linked to a run
    later, found by search (a reader's POST search too), and registered by its id."""
    from mlflow.entities import LoggedModelOutput
    from mlflow.exceptions import RestException

    alice = mlflow_env("alice")
    exp_id = alice.create_experiment(f"lm-{uuid.uuid4().hex[:6]}")
    lm = alice.create_logged_model(exp_id, name="clf", params={"depth": "3"})
    assert lm.artifact_location == f"mlflow-artifacts:/{exp_id}/models/{lm.model_id}/artifacts"
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    alice.log_model_artifacts(lm.model_id, str(tmp_path / "model"))
    alice.finalize_logged_model(lm.model_id, "READY")
    run = alice.create_run(exp_id)
    alice.log_outputs(run.info.run_id, [LoggedModelOutput(lm.model_id, step=0)])
    alice.log_metric(run.info.run_id, "acc", 0.9, model_id=lm.model_id)
    name = f"lm-{uuid.uuid4().hex[:6]}"
    alice.create_registered_model(name)
    mv = alice.create_model_version(name, f"models:/{lm.model_id}", model_id=lm.model_id)
    assert alice.get_model_version_download_uri(name, mv.version) == lm.artifact_location

    rita = mlflow_env("rita")
    found = rita.search_logged_models([exp_id], filter_string="metrics.acc > 0.5")
    assert [(m.model_id, str(m.status)) for m in found] == [(lm.model_id, "READY")]
    assert [f.path for f in rita.list_logged_model_artifacts(lm.model_id)] == ["MLmodel"]
    assert [o.model_id for o in rita.get_run(run.info.run_id).outputs.model_outputs] == [
        lm.model_id
    ]
    with pytest.raises(RestException) as e:
        rita.delete_logged_model(lm.model_id)
    assert e.value.error_code == "PERMISSION_DENIED"


@pytest.mark.postgres
def test_proxy_files_outside_runs_on_the_team_server(team: TeamServer) -> None:
    """A writer stores a file at a path outside any run (in the bucket, by its hash), a reader
    lists and downloads it but can neither replace nor delete it; the writer can delete it."""
    alice, rita = team.tokens["alice"], team.tokens["rita"]
    root = f"{team.mlflow}/api/2.0/mlflow-artifacts/artifacts"
    folder = f"team-{uuid.uuid4().hex[:6]}"
    url = f"{root}/{folder}/b.pkl"
    assert http("PUT", url, alice, raw=b"pickle").status == 200
    listing = http("GET", f"{root}?path={folder}", rita)
    assert listing.json() == {"files": [{"path": "b.pkl", "is_dir": False, "file_size": 6}]}
    got = http("GET", url, rita, headers={"Accept": "text/html"})
    assert (got.status, got.body) == (200, b"pickle")
    assert got.headers["Content-Type"] == "application/octet-stream"
    _refused_as_reader(http("PUT", url, rita, raw=b"other"))
    _refused_as_reader(http("DELETE", url, rita))
    assert http("GET", url, alice).body == b"pickle"
    assert http("DELETE", f"{root}/{folder}", alice).status == 200
    assert http("GET", url, alice).status == 404


@pytest.mark.postgres
def test_stops_cleanly(team: TeamServer) -> None:
    """Last in the module: SIGTERM ends the server with status 0 and the port is released."""
    assert team.stop() == 0, team.output()
    out = team.output()
    assert "Shutting down 1 extension" in out  # the store was closed, not abandoned
    assert "jupyter-mm team server stopped" in out
    assert "Traceback" not in out, out
    port = int(team.url.split(":")[2].split("/")[0])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
