"""Behaviours where MLflow's own REST tests, run against this server, found us differing from
MLflow 3.17.2 (docs/mlflow-compat.md, "Measured with MLflow's own tests"): a dataset input's
own tags, the ``mlflow.modelVersions`` tag of a registered logged model, the wording for a
non-integer version, which writes move a registered model's update time, and where a copied
version's files are. Through the official client, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.core.store import Store

from .live import LiveServer
from .mlflow_live import client, error, rpc, server
from .test_mlflow_fixtures import (
    both_stores_config_fixture,
    both_stores_fixture,
    in_thread,
    mlflow_uri_fixture,
)

__all__ = [  # fixtures used by name
    "both_stores_config_fixture",
    "both_stores_fixture",
    "client",
    "mlflow_uri_fixture",
    "server",
]


def _tags(dataset_input: Any) -> list[tuple[str, str]]:
    return [(t.key, t.value) for t in dataset_input.tags]


async def test_dataset_inputs_keep_their_own_tags(mlflow_uri: str, store: Store) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        import pandas as pd
        from mlflow import MlflowClient
        from mlflow.entities import Dataset, DatasetInput, InputTag

        client = MlflowClient()
        out: dict[str, Any] = {}
        dataset = mlflow.data.from_pandas(pd.DataFrame({"a": [1.0, 2.0]}), name="train-set")
        with mlflow.start_run() as run:
            mlflow.log_input(dataset, context="train", tags={"foo": "baz"})
        out["log_input"] = [_tags(d) for d in mlflow.get_run(run.info.run_id).inputs.dataset_inputs]

        exp = client.create_experiment("inputs")
        plain = Dataset("name1", "digest1", "source_type1", "source1")
        r1 = client.create_run(exp).info.run_id
        client.log_inputs(r1, [DatasetInput(plain, tags=[InputTag("tag1", "value1")])])
        got = client.get_run(r1).inputs.dataset_inputs
        out["no_context"] = [(d.dataset.name, d.dataset.digest, _tags(d)) for d in got]
        # the same dataset in another run with other tags keeps each run's own
        r2 = client.create_run(exp).info.run_id
        client.log_inputs(
            r2,
            [
                DatasetInput(
                    plain,
                    tags=[InputTag("z", "last"), InputTag("mlflow.data.context", "eval")],
                )
            ],
        )
        out["other_run"] = [_tags(d) for d in client.get_run(r2).inputs.dataset_inputs]
        out["first_run_again"] = [_tags(d) for d in client.get_run(r1).inputs.dataset_inputs]
        # logging the same input again adds nothing
        client.log_inputs(r1, [DatasetInput(plain, tags=[InputTag("tag1", "value1")])])
        out["again"] = len(client.get_run(r1).inputs.dataset_inputs)
        out["runs"] = (r1, r2)
        return out

    out = await in_thread(scenario)
    assert out["log_input"] == [[("foo", "baz"), ("mlflow.data.context", "train")]]
    assert out["no_context"] == [("name1", "digest1", [("tag1", "value1")])]
    assert out["other_run"] == [[("mlflow.data.context", "eval"), ("z", "last")]]
    assert out["first_run_again"] == [[("tag1", "value1")]]
    assert out["again"] == 1
    r1, r2 = out["runs"]
    assert [d.context for d in store.get_run(r2).datasets] == ["eval"]  # our record's context


async def test_registering_a_logged_model_tags_it_with_its_versions(
    mlflow_uri: str, store: Store
) -> None:
    def scenario() -> list[str]:
        from mlflow import MlflowClient

        client = MlflowClient()
        client.create_registered_model("tagged")
        client.create_registered_model("other")
        model = client.create_logged_model(experiment_id="0")
        seen = []
        for name in ("tagged", "tagged", "other"):
            client.create_model_version(name, model.artifact_location, model_id=model.model_id)
            seen.append(client.get_logged_model(model.model_id).tags["mlflow.modelVersions"])
        return seen

    seen = await in_thread(scenario)
    assert seen[0] == '[{"name": "tagged", "version": 1}]'  # MLflow's exact JSON
    assert json.loads(seen[-1]) == [
        {"name": "tagged", "version": 1},
        {"name": "tagged", "version": 2},
        {"name": "other", "version": 1},
    ]


async def test_version_wording_timestamps_and_copies(mlflow_uri: str, store: Store) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        out: dict[str, Any] = {}
        with mlflow.start_run() as run:
            mlflow.log_text("x", "model/MLmodel")
        source = f"runs:/{run.info.run_id}/model"
        client.create_registered_model("M")
        client.create_model_version("M", source, run.info.run_id)
        with pytest.raises(MlflowException) as e:
            client.get_model_version("M", "something not correct")
        out["bad_version"] = (e.value.error_code, e.value.message)

        before = client.get_registered_model("M").last_updated_timestamp
        v_before = client.get_model_version("M", "1").last_updated_timestamp
        # edit until the version's own time moves (the clock has ticked; no sleep): under the
        # old rule its model's time moved with it, in the same write
        deadline, n = time.monotonic() + 30, 0
        while time.monotonic() < deadline:
            n += 1
            client.update_model_version("M", "1", description=f"d{n}")
            client.set_model_version_tag("M", "1", "k", str(n))
            if client.get_model_version("M", "1").last_updated_timestamp > v_before:
                break
        out["version_moved"] = client.get_model_version("M", "1").last_updated_timestamp > v_before
        out["rm_times"] = (before, client.get_registered_model("M").last_updated_timestamp)

        client.set_registered_model_alias("M", "a", "1")
        copy = client.copy_model_version("models:/M@a", "Copy")
        out["copy"] = (copy.name, copy.version, copy.source)
        out["source_uri"] = client.get_model_version_download_uri("M", "1")
        out["copy_uri"] = client.get_model_version_download_uri("Copy", copy.version)
        # a copy of a copy leads to the same files
        copy2 = client.copy_model_version(f"models:/Copy/{copy.version}", "Copy")
        out["copy2_uri"] = client.get_model_version_download_uri("Copy", copy2.version)
        local = mlflow.artifacts.download_artifacts(f"models:/Copy/{copy2.version}")
        out["loaded"] = (Path(local) / "MLmodel").read_text()
        return out

    out = await in_thread(scenario)
    assert out["bad_version"] == (
        "INVALID_PARAMETER_VALUE",
        "INVALID_PARAMETER_VALUE: Parameter 'version' must be an integer, got 'something not "
        "correct'.",
    )
    assert out["version_moved"]  # the version's own time moves...
    assert out["rm_times"][1] == out["rm_times"][0]  # ...its model's does not
    assert out["copy"] == ("Copy", "1", "models:/M/1")
    assert out["source_uri"].startswith("mlflow-artifacts:/")
    assert out["copy_uri"] == out["copy2_uri"] == out["source_uri"]
    assert out["loaded"] == "x"


# -- on both servers and both stores -----------------------------------------------------------


def test_measured_behaviours_on_every_server(
    server: LiveServer, client: Any, tmp_path: Path
) -> None:
    """The group's key behaviours on the Jupyter-embedded and the team server, each on SQLite and
    PostgreSQL: a dataset input's own tags per run, the ``mlflow.modelVersions`` tag, the wording
    for a non-integer version, which writes move a model's update time, and copies' files."""
    import mlflow
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.exceptions import MlflowException

    exp = client.create_experiment("measured-live")
    plain = Dataset("name1", "digest1", "source_type1", "source1")
    r1, r2 = (client.create_run(exp).info.run_id for _ in range(2))
    client.log_inputs(r1, [DatasetInput(plain, tags=[InputTag("tag1", "value1")])])
    eval_tags = [InputTag("z", "last"), InputTag("mlflow.data.context", "eval")]
    client.log_inputs(r2, [DatasetInput(plain, tags=eval_tags)])
    client.log_inputs(r1, [DatasetInput(plain, tags=[InputTag("tag1", "value1")])])
    assert [_tags(d) for d in client.get_run(r1).inputs.dataset_inputs] == [[("tag1", "value1")]]
    # raw HTTP: each run keeps its own tags for the same dataset
    r = rpc(server, "GET", f"api/2.0/mlflow/runs/get?run_id={r2}")
    inputs = r.json()["run"]["inputs"]["dataset_inputs"]
    assert [sorted((t["key"], t["value"]) for t in d["tags"]) for d in inputs] == [
        [("mlflow.data.context", "eval"), ("z", "last")]
    ]
    # registering a logged model tags it with its versions, in MLflow's exact JSON
    client.create_registered_model("tagged")
    model = client.create_logged_model(experiment_id=exp)
    client.create_model_version("tagged", model.artifact_location, model_id=model.model_id)
    assert client.get_logged_model(model.model_id).tags["mlflow.modelVersions"] == (
        '[{"name": "tagged", "version": 1}]'
    )
    # the wording for a non-integer version, over raw HTTP and through the client
    r = rpc(server, "GET", "api/2.0/mlflow/model-versions/get?name=tagged&version=x")
    assert error(r) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "Parameter 'version' must be an integer, got 'x'.",
    )
    with pytest.raises(MlflowException) as e:
        client.get_model_version("tagged", "x")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    # a version's edits move its own time, never its model's
    run = client.create_run(exp).info.run_id
    client.log_text(run, "x", "model/MLmodel")
    client.create_registered_model("M")
    client.create_model_version("M", f"runs:/{run}/model", run)
    before = client.get_registered_model("M").last_updated_timestamp
    v_before = client.get_model_version("M", "1").last_updated_timestamp
    deadline, n = time.monotonic() + 30, 0
    while client.get_model_version("M", "1").last_updated_timestamp == v_before:
        assert time.monotonic() < deadline, "the version's update time never moved"
        n += 1
        client.update_model_version("M", "1", description=f"d{n}")
        client.set_model_version_tag("M", "1", "k", str(n))
    assert client.get_registered_model("M").last_updated_timestamp == before
    # a copy (of a copy) leads to the source's files
    client.set_registered_model_alias("M", "a", "1")
    copy = client.copy_model_version("models:/M@a", "Copy")
    assert (copy.name, copy.version, copy.source) == ("Copy", "1", "models:/M/1")
    copy2 = client.copy_model_version("models:/Copy/1", "Copy")
    source_uri = client.get_model_version_download_uri("M", "1")
    assert source_uri.startswith("mlflow-artifacts:/")
    assert client.get_model_version_download_uri("Copy", copy2.version) == source_uri
    local = mlflow.artifacts.download_artifacts(
        f"models:/Copy/{copy2.version}", dst_path=str(tmp_path)
    )
    assert (Path(local) / "MLmodel").read_text() == "x"
