"""``GET runs/{id}/models``: a run's models of both kinds (``mm.log_model``'s and the official
``mlflow`` client's logged models) to pick from, each registered over REST from the source the
route gives, and the versions registered from the run listed back. A real Jupyter server on
SQLite and PostgreSQL; the models are logged by the real clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.core.store import Store

from .test_mlflow_fixtures import (
    both_stores_config_fixture,
    both_stores_fixture,
    in_thread,
    mlflow_uri_fixture,
)

__all__ = [  # fixtures used by name
    "both_stores_config_fixture",
    "both_stores_fixture",
    "mlflow_uri_fixture",
]

pytest.importorskip("sklearn")


async def _api(jp_fetch: Any, method: str, *path: str, body: Any = None) -> tuple[int, Any]:
    r = await jp_fetch(
        "jupyter-mm", "api", *path, method=method, raise_error=False,
        body=None if body is None else json.dumps(body),
    )  # fmt: skip
    return r.code, json.loads(r.body or b"null")


def _log_both(store: Store) -> dict[str, Any]:
    """One run holding a model of each kind: ``pd`` by ``mm.log_model``, ``clf`` by
    ``mlflow.sklearn.log_model`` in the same run (resumed by the mlflow client)."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import jupyter_mm as mm

    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    model = LinearRegression().fit(X, X @ np.array([2.0, -1.0]))
    from jupyter_mm.client.backend import set_tracking_uri

    set_tracking_uri(None)  # reopened from MM_TRACKING_URI: this test's store
    try:
        with mm.start_run(name="both-kinds") as run:
            mm.log_model(model, "pd")
    finally:
        set_tracking_uri(None)
    with mlflow.start_run(run_id=run.id):
        info = mlflow.sklearn.log_model(model, name="clf", serialization_format="cloudpickle")
    return {"run_id": run.id, "model_id": info.model_id}


async def test_a_runs_models_of_both_kinds_registered_and_listed(
    mlflow_uri: str,
    store: Store,
    jp_fetch: Any,
    server_store_uri: str,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    # mm.* in this process writes to the server's store, as a kernel of that server would
    monkeypatch.setenv("MM_TRACKING_URI", server_store_uri)
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "artifacts"))
    logged = await in_thread(_log_both, store)
    run_id, model_id = logged["run_id"], logged["model_id"]

    code, reply = await _api(jp_fetch, "GET", "runs", run_id, "models")
    assert code == 200, reply
    assert reply["run_id"] == run_id and reply["versions"] == []
    by_kind = {m["kind"]: m for m in reply["models"]}
    assert [m["kind"] for m in reply["models"]] == ["mm", "mlflow"]
    assert by_kind["mm"] == {
        "kind": "mm", "name": "pd", "path": "models/pd", "model_id": None, "flavor": "sklearn",
        "logged_time": by_kind["mm"]["logged_time"], "source": f"runs:/{run_id}/models/pd",
    }  # fmt: skip
    assert by_kind["mlflow"] == {
        "kind": "mlflow", "name": "clf", "path": f"models/{model_id}", "model_id": model_id,
        "flavor": "sklearn", "logged_time": by_kind["mlflow"]["logged_time"],
        "source": f"models:/{model_id}",
    }  # fmt: skip
    assert all(isinstance(m["logged_time"], int) for m in reply["models"])

    # each is registered from the source the route gave; the logged model's version records
    # that logged model and leads back to the run, as MLflow's registration does
    code, _ = await _api(jp_fetch, "POST", "registry", "models", body={"name": "credit"})
    assert code == 201
    versions = []
    for m in reply["models"]:
        code, v = await _api(
            jp_fetch, "POST", "registry", "models", "credit", "versions",
            body={"source": m["source"], "comment": f"from the {m['kind']} model"},
        )  # fmt: skip
        assert code == 201, v
        versions.append(v)
    assert versions[1]["logged_model_id"] == model_id and versions[1]["run_id"] == run_id
    assert versions[1]["model_path"] == f"models/{model_id}"
    assert versions[0]["logged_model_id"] is None and versions[0]["run_id"] == run_id
    tag = store.get_logged_model(model_id).tags["mlflow.modelVersions"]
    assert json.loads(tag) == [{"name": "credit", "version": 2}]

    code, reply = await _api(jp_fetch, "GET", "runs", run_id, "models")
    assert [(v["name"], v["version"]) for v in reply["versions"]] == [("credit", 2), ("credit", 1)]


async def test_a_run_without_models_and_an_unknown_run(
    mlflow_uri: str, store: Store, jp_fetch: Any
) -> None:
    run = store.create_run(name="plain")
    code, reply = await _api(jp_fetch, "GET", "runs", run.id, "models")
    assert (code, reply) == (200, {"run_id": run.id, "models": [], "versions": []})
    code, reply = await _api(jp_fetch, "GET", "runs", "f" * 32, "models")
    assert code == 404 and reply["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    code, reply = await _api(jp_fetch, "GET", "runs", "not-a-run", "models")
    assert code == 400
