"""MLflow 3 logged models through jupyter-mm: mlflow.sklearn.log_model and loading it back."""

from __future__ import annotations

from typing import Any

import pytest

from .test_mlflow_fixtures import in_thread, mlflow_uri_fixture, mm_store_fixture

__all__ = ["mlflow_uri_fixture", "mm_store_fixture"]  # fixtures used by name

pytest.importorskip("sklearn")


async def test_sklearn_log_model_and_load_it_back(mlflow_uri: str, mm_store) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        import numpy as np
        from sklearn.linear_model import LinearRegression

        X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
        y = X @ np.array([2.0, -1.0]) + 0.5
        model = LinearRegression().fit(X, y)
        out: dict[str, Any] = {}
        mlflow.set_experiment("models")
        with mlflow.start_run() as run:
            mlflow.log_param("fit_intercept", "True")
            mlflow.log_metric("r2", 1.0)
            info = mlflow.sklearn.log_model(
                model, name="model", input_example=X[:2], serialization_format="cloudpickle"
            )
        out["run_id"] = run.info.run_id
        out["model_id"] = info.model_id
        out["model_uri"] = info.model_uri
        loaded = mlflow.pyfunc.load_model(info.model_uri)
        out["predict"] = loaded.predict(X).round(6).tolist()
        out["expected"] = model.predict(X).round(6).tolist()
        by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
        out["predict_by_run"] = by_run.predict(X).round(6).tolist()
        lm = mlflow.get_logged_model(info.model_id)
        out["status"] = str(lm.status)
        out["source_run_id"] = lm.source_run_id
        out["params"] = lm.params
        out["history"] = [
            m.value for m in mlflow.MlflowClient().get_metric_history(run.info.run_id, "r2")
        ]
        found = mlflow.search_logged_models(experiment_ids=[lm.experiment_id], output_format="list")
        out["found"] = [m.model_id for m in found]
        return out

    out = await in_thread(scenario)
    assert out["model_uri"] == f"models:/{out['model_id']}"
    assert out["predict"] == out["expected"] == out["predict_by_run"]
    assert "READY" in out["status"]
    assert out["source_run_id"] == out["run_id"]
    assert out["params"] == {"fit_intercept": "True"}
    assert out["history"] == [1.0]  # log_model's re-logging of run metrics adds no points
    assert out["found"] == [out["model_id"]]
    # the model's files are ordinary artifacts of the run
    paths = [a.path for a in mm_store.list_artifacts(out["run_id"], recursive=True)]
    assert f"models/{out['model_id']}/MLmodel" in paths


async def test_sklearn_autolog(mlflow_uri: str, mm_store) -> None:
    def scenario() -> tuple[str, Any]:
        import mlflow
        import numpy as np
        from sklearn.linear_model import Ridge

        X = np.arange(40, dtype=float).reshape(20, 2)
        y = X.sum(axis=1)
        mlflow.set_experiment("autolog")
        mlflow.sklearn.autolog(log_input_examples=False, silent=True)
        try:
            with mlflow.start_run() as run:
                Ridge(alpha=0.5).fit(X, y)
        finally:
            mlflow.sklearn.autolog(disable=True)
        models = mlflow.search_logged_models(
            experiment_ids=[run.info.experiment_id], output_format="list"
        )
        return run.info.run_id, [(m.name, m.source_run_id) for m in models]

    run_id, models = await in_thread(scenario)
    run = mm_store.get_run(run_id)
    assert run.params["alpha"] == "0.5"
    assert "training_score" in run.metrics
    assert run.status == "FINISHED"
    assert models == [("model", run_id)]
    assert run.datasets  # log-inputs


async def test_logged_model_lifecycle_with_the_client_api(mlflow_uri: str) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.entities import LoggedModelStatus
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        out: dict[str, Any] = {}
        with mlflow.start_run() as run:
            lm = client.create_logged_model("0", name="clf", source_run_id=run.info.run_id)
        out["pending"] = lm.status
        client.set_logged_model_tags(lm.model_id, {"k": "v", "gone": "x"})
        client.delete_logged_model_tag(lm.model_id, "gone")
        client.log_model_params(lm.model_id, {"depth": "3"})
        client.finalize_logged_model(lm.model_id, LoggedModelStatus.READY)
        got = client.get_logged_model(lm.model_id)
        out["got"] = (got.name, got.tags, got.params, got.status)
        client.delete_logged_model(lm.model_id)
        with pytest.raises(MlflowException) as e:
            client.get_logged_model(lm.model_id)
        out["after_delete"] = e.value.error_code
        return out

    out = await in_thread(scenario)
    assert "PENDING" in str(out["pending"])
    name, tags, params, status = out["got"]
    assert (name, tags, params) == ("clf", {"k": "v"}, {"depth": "3"})
    assert "READY" in str(status)
    assert out["after_delete"] == "RESOURCE_DOES_NOT_EXIST"
