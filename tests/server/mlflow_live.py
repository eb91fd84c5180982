"""The MLflow-compatibility fixtures shared by the tests of issue 16: a module-scoped live server
of each kind (Jupyter-embedded and team) on each store (SQLite and PostgreSQL), the official
client pointed at it, and raw-HTTP helpers. Import ``server`` and ``client`` into a test module to
run its tests on all four combinations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.postgres import create_database

from .live import LiveServer, jupyter_server, team_server
from .test_mlflow_fixtures import forget_client_state

TOKEN = "compat-token"


@pytest.fixture(
    scope="module",
    params=[
        ("jupyter", "sqlite"),
        ("team", "sqlite"),
        pytest.param(("jupyter", "postgres"), marks=pytest.mark.postgres),
        pytest.param(("team", "postgres"), marks=pytest.mark.postgres),
    ],
    ids=lambda p: "-".join(p),
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Each server on each store: both serve the same routes, and both stores back them."""
    kind, backend = request.param
    root = tmp_path_factory.mktemp(f"mlflow-{kind}-{backend}")
    if backend == "sqlite":
        store = str(root / "store") if kind == "jupyter" else f"sqlite:///{root / 'mm.db'}"
    else:
        store = create_database(
            request.getfixturevalue("postgres_admin_url"),
            f"mm_{request.module.__name__.rsplit('.', 1)[-1]}_{kind}",
        )
    if kind == "jupyter":  # a PostgreSQL store has no default artifact location
        cm = jupyter_server(root, store, TOKEN, artifacts=str(root / "artifacts"))
    else:
        cm = team_server(root, store, TOKEN)
    with cm as live:
        yield live
        out = live.output()
    assert "Traceback" not in out, out[-5000:]


@pytest.fixture
def client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The official client on ``server``; the fluent API and ``mlflow-artifacts:/`` URIs resolve
    against the same tracking URI."""
    import mlflow
    from mlflow import MlflowClient

    uri = server.mlflow.rstrip("/")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    mlflow.set_tracking_uri(uri)
    forget_client_state()
    yield MlflowClient(uri)
    forget_client_state()


def rpc(server: LiveServer, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    return server.request(method, f"{server.mlflow}{path}", body, **kw)


def new_run(server: LiveServer, exp: str = "0", **fields: Any) -> str:
    r = rpc(server, "POST", "api/2.0/mlflow/runs/create", {"experiment_id": exp, **fields})
    assert r.status_code == 200, r.text
    return str(r.json()["run"]["info"]["run_id"])


def new_experiment(server: LiveServer, name: str) -> str:
    r = rpc(server, "POST", "api/2.0/mlflow/experiments/create", {"name": name})
    assert r.status_code == 200, r.text
    return str(r.json()["experiment_id"])


def error(r: Any) -> tuple[int, str, str]:
    body = r.json()
    return r.status_code, body["error_code"], body["message"]
