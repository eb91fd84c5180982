"""The official mlflow client against jupyter-mm's MLflow routes: experiments, runs, search, history."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from .test_mlflow_fixtures import in_thread, mlflow_uri_fixture, mm_store_fixture

__all__ = ["mlflow_uri_fixture", "mm_store_fixture"]  # fixtures used by name


async def test_experiments_lifecycle(mlflow_uri: str) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        out: dict[str, Any] = {}
        default = client.get_experiment("0")
        out["default"] = (default.experiment_id, default.name)
        exp_id = client.create_experiment("demo", tags={"team": "vision"})
        exp = client.get_experiment(exp_id)
        out["created"] = (exp.name, exp.tags.get("team"), exp.artifact_location)
        out["by_name"] = client.get_experiment_by_name("demo").experiment_id
        out["missing_by_name"] = client.get_experiment_by_name("nope")
        with pytest.raises(MlflowException) as e:
            client.create_experiment("demo")
        out["duplicate"] = e.value.error_code
        with pytest.raises(MlflowException) as e:
            client.get_experiment("987654")
        out["unknown"] = e.value.error_code
        client.rename_experiment(exp_id, "demo-renamed")
        out["renamed"] = client.get_experiment(exp_id).name
        client.set_experiment_tag(exp_id, "stage", "dev")
        out["tag"] = client.get_experiment(exp_id).tags["stage"]
        # set_experiment on a new name creates it (get-by-name 404, then create)
        out["set_new"] = mlflow.set_experiment("fresh").name
        names = [e.name for e in client.search_experiments()]
        out["search_all"] = sorted(names)
        out["search_like"] = [
            e.name for e in client.search_experiments(filter_string="name LIKE 'demo%'")
        ]
        out["search_tag"] = [
            e.name for e in client.search_experiments(filter_string="tags.team = 'vision'")
        ]
        page = client.search_experiments(max_results=2, order_by=["name ASC"])
        out["page1"] = [e.name for e in page]
        out["page2"] = [
            e.name
            for e in client.search_experiments(
                max_results=2, order_by=["name ASC"], page_token=page.token
            )
        ]
        client.delete_experiment(exp_id)
        out["deleted"] = client.get_experiment(exp_id).lifecycle_stage
        out["active_after_delete"] = sorted(e.name for e in client.search_experiments())
        out["deleted_view"] = [
            e.name
            for e in client.search_experiments(view_type=mlflow.entities.ViewType.DELETED_ONLY)
        ]
        client.restore_experiment(exp_id)
        out["restored"] = client.get_experiment(exp_id).lifecycle_stage
        return out

    out = await in_thread(scenario)
    assert out["default"] == ("0", "Default")
    assert out["created"][:2] == ("demo", "vision")
    assert out["created"][2].startswith("mlflow-artifacts:/")
    assert out["by_name"] is not None
    assert out["missing_by_name"] is None
    assert out["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert out["unknown"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["renamed"] == "demo-renamed"
    assert out["tag"] == "dev"
    assert out["set_new"] == "fresh"
    assert out["search_all"] == ["Default", "demo-renamed", "fresh"]
    assert out["search_like"] == ["demo-renamed"]
    assert out["search_tag"] == ["demo-renamed"]
    assert out["page1"] == ["Default", "demo-renamed"]
    assert out["page2"] == ["fresh"]
    assert out["deleted"] == "deleted"
    assert out["active_after_delete"] == ["Default", "fresh"]
    assert out["deleted_view"] == ["demo-renamed"]
    assert out["restored"] == "active"


async def test_runs_logging_and_reading_back(mlflow_uri: str, mm_store) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        out: dict[str, Any] = {}
        mlflow.set_experiment("runs")
        with mlflow.start_run(run_name="first") as run:
            run_id = run.info.run_id
            out["artifact_uri"] = run.info.artifact_uri
            mlflow.log_param("alpha", "0.5")
            mlflow.log_params({"beta": 2, "gamma": "x"})
            mlflow.log_metric("loss", 1.0, step=0)
            mlflow.log_metric("loss", 0.5, step=1)
            mlflow.log_metrics({"acc": 0.9, "nan": float("nan"), "inf": float("inf")}, step=1)
            mlflow.set_tag("kind", "test")
            mlflow.set_tags({"a": "1", "b": "2"})
            client.delete_tag(run_id, "b")
            with pytest.raises(MlflowException) as e:
                mlflow.log_param("alpha", "0.7")
            out["param_conflict"] = (e.value.error_code, e.value.get_http_status_code())
        got = client.get_run(run_id)
        out["status"] = got.info.status
        out["end_time"] = got.info.end_time
        out["name"] = got.info.run_name
        out["params"] = got.data.params
        out["metrics"] = got.data.metrics
        out["tags"] = got.data.tags
        out["history"] = [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]
        client.update_run(run_id, name="renamed")
        out["renamed"] = client.get_run(run_id).info.run_name
        client.delete_run(run_id)
        out["deleted"] = client.get_run(run_id).info.lifecycle_stage
        with pytest.raises(MlflowException) as e:
            client.log_param(run_id, "late", "1")
        out["write_deleted"] = e.value.error_code
        client.restore_run(run_id)
        out["restored"] = client.get_run(run_id).info.lifecycle_stage
        with pytest.raises(MlflowException) as e:
            client.get_run("0" * 32)
        out["unknown_run"] = (e.value.error_code, e.value.get_http_status_code())
        # a batch with a conflicting param writes nothing
        with pytest.raises(MlflowException):
            client.log_batch(
                run_id,
                metrics=[mlflow.entities.Metric("batch", 1.0, 0, 0)],
                params=[mlflow.entities.Param("alpha", "9")],
            )
        out["after_rejected_batch"] = "batch" in client.get_run(run_id).data.metrics
        out["run_id"] = run_id
        return out

    out = await in_thread(scenario)
    assert (
        out["artifact_uri"]
        == f"mlflow-artifacts:/{out['artifact_uri'].split('/')[1]}/{out['run_id']}/artifacts"
    )
    assert out["param_conflict"] == ("INVALID_PARAMETER_VALUE", 400)
    assert out["status"] == "FINISHED" and out["end_time"]
    assert out["name"] == "first"
    assert out["params"] == {"alpha": "0.5", "beta": "2", "gamma": "x"}
    assert out["metrics"]["loss"] == 0.5 and out["metrics"]["acc"] == 0.9
    assert math.isnan(out["metrics"]["nan"])
    assert out["metrics"]["inf"] == math.inf
    assert out["tags"]["kind"] == "test" and out["tags"]["a"] == "1" and "b" not in out["tags"]
    assert out["tags"]["mlflow.runName"] == "first"
    assert out["history"] == [(0, 1.0), (1, 0.5)]
    assert out["renamed"] == "renamed"
    assert out["deleted"] == "deleted"
    assert out["write_deleted"] == "INVALID_PARAMETER_VALUE"
    assert out["restored"] == "active"
    assert out["unknown_run"] == ("RESOURCE_DOES_NOT_EXIST", 404)
    assert out["after_rejected_batch"] is False

    # the run is an ordinary run of ours
    (run,), _ = mm_store.search_runs(filter=f"attributes.run_id = '{out['run_id']}'")
    assert run.name == "renamed"
    assert run.params == {"alpha": "0.5", "beta": "2", "gamma": "x"}
    assert run.metrics["loss"] == 0.5 and run.metrics["inf"] == math.inf
    assert math.isnan(run.metrics["nan"])
    assert run.tags["kind"] == "test" and run.tags["mlflow.runName"] == "renamed"
    assert run.status == "FINISHED"
    assert list(mm_store.get_metric_history(run.id, "loss")["value"]) == [1.0, 0.5]


async def test_search_runs_dataframe_filter_order_and_pages(mlflow_uri: str) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient

        exp = mlflow.set_experiment("search")
        for i in range(7):
            with mlflow.start_run(run_name=f"r{i}"):
                mlflow.log_param("lr", str(i / 10))
                mlflow.log_metric("rmse", float(10 - i))
                mlflow.set_tag("parity", "even" if i % 2 == 0 else "odd")
                time.sleep(0.002)
        out: dict[str, Any] = {}
        df = mlflow.search_runs(
            experiment_names=["search"],
            filter_string="metrics.rmse < 8 and tags.parity = 'even'",
            order_by=["metrics.rmse DESC"],
        )
        out["df_names"] = list(df["tags.mlflow.runName"])
        out["df_columns"] = sorted(c for c in df.columns if c.startswith(("metrics.", "params.")))
        out["df_rmse"] = list(df["metrics.rmse"])
        client = MlflowClient()
        first = client.search_runs(
            [exp.experiment_id], max_results=3, order_by=["attributes.run_name ASC"]
        )
        second = client.search_runs(
            [exp.experiment_id],
            max_results=3,
            order_by=["attributes.run_name ASC"],
            page_token=first.token,
        )
        third = client.search_runs(
            [exp.experiment_id],
            max_results=3,
            order_by=["attributes.run_name ASC"],
            page_token=second.token,
        )
        out["pages"] = [[r.info.run_name for r in p] for p in (first, second, third)]
        out["last_token"] = third.token
        out["by_param"] = [
            r.info.run_name for r in client.search_runs([exp.experiment_id], "params.lr = '0.3'")
        ]
        out["default_order"] = [r.info.run_name for r in client.search_runs([exp.experiment_id])]
        return out

    out = await in_thread(scenario)
    assert out["df_names"] == ["r4", "r6"]
    assert out["df_rmse"] == [6.0, 4.0]
    assert out["df_columns"] == ["metrics.rmse", "params.lr"]
    assert out["pages"] == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]
    assert not out["last_token"]
    assert out["by_param"] == ["r3"]
    assert out["default_order"] == [f"r{i}" for i in reversed(range(7))]


async def test_nested_runs_and_the_default_experiment(mlflow_uri: str, mm_store) -> None:
    def scenario() -> tuple[str, str, str]:
        import mlflow

        with mlflow.start_run() as parent:
            with mlflow.start_run(nested=True) as child:
                mlflow.log_metric("x", 1)
        return parent.info.run_id, child.info.run_id, parent.info.experiment_id

    parent_id, child_id, exp_id = await in_thread(scenario)
    assert exp_id == "0"
    child = mm_store.get_run(child_id)
    assert child.parent_run_id == parent_id
    assert child.experiment_id == "0"
    assert child.user  # mlflow.user from the client


async def test_log_input_dataset(mlflow_uri: str, mm_store) -> None:
    def scenario() -> tuple[str, Any]:
        import mlflow
        import pandas as pd

        df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6]})
        dataset = mlflow.data.from_pandas(df, name="train-set")
        with mlflow.start_run() as run:
            mlflow.log_input(dataset, context="training")
        got = mlflow.get_run(run.info.run_id)
        return run.info.run_id, got.inputs.dataset_inputs

    run_id, inputs = await in_thread(scenario)
    assert [(d.dataset.name, d.tags[0].value) for d in inputs] == [("train-set", "training")]
    assert len(inputs[0].dataset.digest) <= 36  # MLflow's own digest comes back
    (ds,) = mm_store.get_run(run_id).datasets
    assert (ds.name, ds.context, ds.row_count) == ("train-set", "training", 3)
