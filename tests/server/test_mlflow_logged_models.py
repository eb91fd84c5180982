"""MLflow 3 logged models as entities of their own, through the official client and raw HTTP,
on SQLite and PostgreSQL: a model logged outside any run, finalized, linked to a run, searched,
registered by id and loaded back; deletion; bad input answered with a clear 4xx."""

from __future__ import annotations

import json
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
from .test_mlflow_wire import call, jp_fetch, new_run

__all__ = [  # fixtures used by name
    "both_stores_config_fixture",
    "both_stores_fixture",
    "client",
    "jp_fetch",
    "mlflow_uri_fixture",
    "server",
]

pytest.importorskip("sklearn")


async def test_model_outside_a_run_linked_registered_and_loaded(
    mlflow_uri: str, store: Store, jp_fetch: Any
) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        import numpy as np
        from mlflow import MlflowClient
        from mlflow.entities import LoggedModelInput, LoggedModelOutput
        from sklearn.linear_model import LinearRegression

        X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
        y = X @ np.array([2.0, -1.0]) + 0.5
        model = LinearRegression().fit(X, y)
        client = MlflowClient()
        out: dict[str, Any] = {"expected": model.predict(X).round(6).tolist()}
        mlflow.set_experiment("outside")
        assert mlflow.active_run() is None
        info = mlflow.sklearn.log_model(
            model, name="clf", params={"alpha": "0"}, model_type="regressor",
            serialization_format="cloudpickle",
        )  # fmt: skip
        model_id = info.model_id
        lm = client.get_logged_model(model_id)
        out["created"] = (lm.name, lm.source_run_id, str(lm.status), lm.params, lm.model_type)
        out["artifact_location"] = lm.artifact_location
        out["files"] = sorted(f.path for f in client.list_logged_model_artifacts(model_id))
        with mlflow.start_run() as run:
            mlflow.log_metric("rmse", 0.25, step=3, model_id=model_id, dataset=None)
            client.log_outputs(run.info.run_id, [LoggedModelOutput(model_id, step=3)])
            client.log_inputs(run.info.run_id, models=[LoggedModelInput(model_id)])
        out["run_id"] = run.info.run_id
        got = client.get_run(run.info.run_id)
        out["outputs"] = [(o.model_id, o.step) for o in got.outputs.model_outputs]
        out["inputs"] = [i.model_id for i in got.inputs.model_inputs]
        out["metrics"] = [
            (m.key, m.value, m.step, m.run_id) for m in client.get_logged_model(model_id).metrics
        ]
        mv = mlflow.register_model(f"models:/{model_id}", "outside-reg")
        out["version"] = (mv.version, mv.run_id)
        out["by_version"] = (
            mlflow.pyfunc.load_model("models:/outside-reg/1").predict(X).round(6).tolist()
        )
        out["by_id"] = mlflow.pyfunc.load_model(f"models:/{model_id}").predict(X).round(6).tolist()
        client.delete_logged_model(model_id)
        out["after_delete"] = [
            m.model_id
            for m in mlflow.search_logged_models(
                experiment_ids=[lm.experiment_id], output_format="list"
            )
        ]
        out["model_id"], out["experiment_id"] = model_id, lm.experiment_id
        return out

    out = await in_thread(scenario)
    model_id = out["model_id"]
    assert out["created"] == ("clf", "", "READY", {"alpha": "0"}, "regressor")
    assert out["artifact_location"] == (
        f"mlflow-artifacts:/{out['experiment_id']}/models/{model_id}/artifacts"
    )
    assert "MLmodel" in out["files"] and "model.pkl" in out["files"]
    assert out["outputs"] == [(model_id, 3)] and out["inputs"] == [model_id]
    assert out["metrics"] == [("rmse", 0.25, 3, out["run_id"])]
    # the run's own history has the point too
    assert store.get_run(out["run_id"]).metrics["rmse"] == 0.25
    # the version leads back to the run that logged the model as its output
    assert out["version"] == ("1", out["run_id"])
    version = store.get_model_version("outside-reg", 1)
    assert (version.logged_model_id, version.run_id) == (model_id, out["run_id"])
    assert out["by_version"] == out["by_id"] == out["expected"]
    assert out["after_delete"] == []
    # deleted, not erased: readable with allow_deleted, and its files are still there
    code, reply = await call(jp_fetch, "GET", f"logged-models/{model_id}")
    assert (code, reply["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, reply = await call(
        jp_fetch, "GET", f"logged-models/{model_id}", query={"allow_deleted": "true"}
    )
    assert code == 200 and reply["model"]["info"]["model_id"] == model_id
    assert [a.path for a in store.list_model_artifacts(model_id) if a.path == "MLmodel"]


async def test_model_of_a_run_keeps_its_files_in_the_run(mlflow_uri: str, store: Store) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        import numpy as np
        from mlflow import MlflowClient
        from sklearn.linear_model import LinearRegression

        X = np.arange(8, dtype=float).reshape(4, 2)
        model = LinearRegression().fit(X, X.sum(axis=1))
        with mlflow.start_run() as run:
            info = mlflow.sklearn.log_model(model, name="m", serialization_format="cloudpickle")
        client = MlflowClient()
        files = client.list_logged_model_artifacts(info.model_id)
        got = client.get_run(run.info.run_id)
        mv = mlflow.register_model(info.model_uri, "in-run")
        return {
            "run_id": run.info.run_id,
            "model_id": info.model_id,
            "files": sorted(f.path for f in files),
            "outputs": [o.model_id for o in got.outputs.model_outputs],
            "version_run": mv.run_id,
            "predict": mlflow.pyfunc.load_model("models:/in-run/1").predict(X).tolist(),
            "expected": model.predict(X).tolist(),
        }

    out = await in_thread(scenario)
    paths = [a.path for a in store.list_artifacts(out["run_id"], recursive=True)]
    assert f"models/{out['model_id']}/MLmodel" in paths
    assert "MLmodel" in out["files"]
    assert out["outputs"] == [out["model_id"]]
    assert out["version_run"] == out["run_id"]
    assert out["predict"] == out["expected"]
    # lineage: the version's files are the run's, so its notebook and datasets are one step away
    version = store.get_model_version("in-run", 1)
    assert (version.run_id, version.model_path) == (out["run_id"], f"models/{out['model_id']}")


async def test_search_logged_models(mlflow_uri: str) -> None:
    def scenario() -> dict[str, Any]:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        exp = client.create_experiment("search")
        other = client.create_experiment("other")
        run = client.create_run(exp)
        ids = {}
        for i, (name, acc) in enumerate([("a", 0.7), ("b", 0.9), ("c", 0.8)]):
            m = client.create_logged_model(
                exp, name=name, params={"depth": str(i)}, tags={"team": "x" if i else "y"}
            )
            ids[name] = m.model_id
            client.log_metric(
                run.info.run_id, "acc", acc, step=0, model_id=m.model_id,
                dataset_name="eval" if name != "c" else "train", dataset_digest="d1",
            )  # fmt: skip
        client.create_logged_model(other, name="elsewhere")
        client.finalize_logged_model(ids["b"], "READY")

        def names(**kw: Any) -> list[str]:
            return [m.name for m in client.search_logged_models([exp], **kw)]

        out: dict[str, Any] = {
            "all": names(),
            "by_name": names(filter_string="name = 'b'"),
            "by_param": names(filter_string="params.depth IN ('0', '2')"),
            "by_tag_and_metric": names(filter_string="tags.team = 'x' AND metrics.acc > 0.75"),
            "like": names(filter_string="name LIKE '%b%'"),
            "status": names(filter_string="status = 'READY'"),
            "since": names(filter_string="creation_timestamp >= 0"),
            "datasets": names(datasets=[{"dataset_name": "eval"}]),
            "acc_desc": names(order_by=[{"field_name": "metrics.acc", "ascending": False}]),
            "acc_on_eval": names(
                order_by=[{"field_name": "metrics.acc", "ascending": True, "dataset_name": "eval"}]
            ),
            "name_asc": names(order_by=[{"field_name": "name", "ascending": True}]),
        }
        first = client.search_logged_models([exp], max_results=2)
        second = client.search_logged_models([exp], max_results=2, page_token=first.token)
        out["pages"] = ([m.name for m in first], [m.name for m in second], second.token)
        errors = []
        for kw in (
            {"filter_string": "name = 'a' OR name = 'b'"},
            {"filter_string": "metrics.acc > 'high'"},
            {"filter_string": "colour = 'red'"},
            {"order_by": [{"field_name": "params.depth"}]},
            {"page_token": first.token, "filter_string": "name = 'a'"},
        ):
            with pytest.raises(MlflowException) as e:
                client.search_logged_models([exp], **kw)
            errors.append(e.value.error_code)
        out["errors"] = errors
        return out

    out = await in_thread(scenario)
    assert out["all"] == ["c", "b", "a"]  # newest first
    assert out["by_name"] == ["b"] and out["like"] == ["b"] and out["status"] == ["b"]
    assert out["by_param"] == ["c", "a"]
    assert out["by_tag_and_metric"] == ["c", "b"]
    assert out["since"] == ["c", "b", "a"]
    assert out["datasets"] == ["b", "a"]
    assert out["acc_desc"] == ["b", "c", "a"]
    assert out["acc_on_eval"] == ["a", "b", "c"]  # c has no acc on eval: last
    assert out["name_asc"] == ["a", "b", "c"]
    assert out["pages"] == (["c", "b"], ["a"], None)
    assert out["errors"] == ["INVALID_PARAMETER_VALUE"] * 5


async def test_logged_model_tags_params_and_errors_over_http(jp_fetch: Any) -> None:
    code, reply = await call(jp_fetch, "POST", "logged-models", {"name": "x"})
    assert (code, reply["message"]) == (
        400,
        "Missing value for required parameter 'experiment_id'.",
    )
    code, reply = await call(jp_fetch, "POST", "logged-models", {"experiment_id": "42"})
    assert (code, reply["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, reply = await call(
        jp_fetch, "POST", "logged-models", {"experiment_id": "0", "name": "a/b"}
    )
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Invalid model name" in reply["message"]
    code, reply = await call(
        jp_fetch, "POST", "logged-models",
        {"experiment_id": "0", "name": "m", "params": [{"key": "p", "value": "1"}]},
    )  # fmt: skip
    assert code == 200, reply
    info = reply["model"]["info"]
    model_id = info["model_id"]
    assert info["status"] == "LOGGED_MODEL_PENDING" and "source_run_id" not in info
    assert len(model_id) == 34 and model_id.startswith("m-")
    base = f"logged-models/{model_id}"

    code, _ = await call(jp_fetch, "PATCH", f"{base}/tags", {"tags": [{"key": "k", "value": "v"}]})
    assert code == 200
    code, reply = await call(jp_fetch, "DELETE", f"{base}/tags/missing")
    assert (code, reply["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, _ = await call(jp_fetch, "DELETE", f"{base}/tags/k")
    assert code == 200
    code, _ = await call(
        jp_fetch, "POST", f"{base}/params", {"params": [{"key": "p", "value": "1"}]}
    )
    assert code == 200  # the same value again
    code, reply = await call(
        jp_fetch, "POST", f"{base}/params", {"params": [{"key": "p", "value": "2"}]}
    )
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, reply = await call(jp_fetch, "PATCH", base, {"status": "DONE"})
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, reply = await call(jp_fetch, "PATCH", base, {})
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, reply = await call(jp_fetch, "PATCH", base, {"status": 3})  # the enum's number
    assert reply["model"]["info"]["status"] == "LOGGED_MODEL_UPLOAD_FAILED"
    code, reply = await call(jp_fetch, "GET", base)
    assert reply["model"]["info"]["tags"] == []
    assert reply["model"]["data"]["params"] == [{"key": "p", "value": "1"}]
    for bad in ("m-nothex", "m-" + "0" * 32):
        code, reply = await call(jp_fetch, "GET", f"logged-models/{bad}")
        assert (code, reply["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST"), bad

    # a metric for an unknown model is refused whole: the run's history stays empty
    run_id = await new_run(jp_fetch)
    point = {"run_id": run_id, "key": "acc", "value": 1.0, "timestamp": 1, "step": 0}
    ghost = "m-" + "f" * 32
    code, reply = await call(jp_fetch, "POST", "runs/log-metric", {**point, "model_id": ghost})
    assert (code, reply["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, reply = await call(
        jp_fetch, "POST", "runs/log-batch",
        {"run_id": run_id, "metrics": [{**point, "model_id": ghost}]},
    )  # fmt: skip
    assert code == 404
    code, reply = await call(
        jp_fetch, "GET", "metrics/get-history", query={"run_id": run_id, "metric_key": "acc"}
    )
    assert reply.get("metrics", []) == []
    code, reply = await call(
        jp_fetch, "POST", "runs/outputs", {"run_id": run_id, "models": [{"model_id": ghost}]}
    )
    assert code == 404
    code, reply = await call(jp_fetch, "POST", "runs/outputs", {"run_id": run_id, "models": [{}]})
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")

    # search's own checks
    code, reply = await call(jp_fetch, "POST", "logged-models/search", {})
    assert (code, reply["message"]) == (
        400, "Missing value for required parameter 'experiment_ids'."
    )  # fmt: skip
    for bad in (
        {"page_token": "zz"},
        {"datasets": [{"dataset_digest": "d1"}]},
        {"order_by": [{"field_name": "colour"}]},
        {"max_results": 0},
    ):
        code, reply = await call(
            jp_fetch, "POST", "logged-models/search", {"experiment_ids": ["0"], **bad}
        )
        assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), bad


async def test_logged_model_files_over_http(jp_fetch: Any) -> None:
    code, reply = await call(jp_fetch, "POST", "logged-models", {"experiment_id": "0"})
    model_id = reply["model"]["info"]["model_id"]
    uri = reply["model"]["info"]["artifact_uri"]
    assert uri == f"mlflow-artifacts:/0/models/{model_id}/artifacts"
    proxy = "jupyter-mm/mlflow/api/2.0/mlflow-artifacts/artifacts"
    for path, body in (("MLmodel", b"flavors: {}\n"), ("data/w.bin", b"\x00\x01")):
        r = await jp_fetch(f"{proxy}/0/models/{model_id}/artifacts/{path}", method="PUT", body=body)
        assert r.code == 200
    r = await jp_fetch(f"{proxy}?path=0/models/{model_id}/artifacts/data", method="GET")
    assert json.loads(r.body) == {"files": [{"path": "w.bin", "is_dir": False, "file_size": 2}]}
    code, reply = await call(jp_fetch, "GET", f"logged-models/{model_id}/artifacts/directories")
    assert reply == {
        "root_uri": uri,
        "files": [
            {"path": "MLmodel", "is_dir": False, "file_size": 12},
            {"path": "data", "is_dir": True},
        ],
    }
    api = "jupyter-mm/mlflow/api/2.0/mlflow"
    r = await jp_fetch(
        f"{api}/logged-models/{model_id}/artifacts/files?artifact_file_path=data/w.bin",
        method="GET",
    )
    assert (r.code, r.body) == (200, b"\x00\x01")
    assert r.headers["Content-Disposition"] == "attachment; filename=w.bin"
    for query in ("", "?artifact_file_path=../../x", "?artifact_file_path=/etc/passwd"):
        r = await jp_fetch(
            f"{api}/logged-models/{model_id}/artifacts/files{query}",
            method="GET",
            raise_error=False,
        )
        assert r.code == 400, query
        assert json.loads(r.body)["error_code"] == "INVALID_PARAMETER_VALUE"
    r = await jp_fetch(
        f"{api}/logged-models/{model_id}/artifacts/files?artifact_file_path=nope",
        method="GET",
        raise_error=False,
    )
    assert r.code == 404


async def test_version_from_a_models_artifact_location(jp_fetch: Any) -> None:
    """MLflow 3 clients may register ``source=<the model's artifact_location>`` with its id."""
    code, reply = await call(jp_fetch, "POST", "logged-models", {"experiment_id": "0"})
    info = reply["model"]["info"]
    await call(jp_fetch, "POST", "registered-models/create", {"name": "by-location"})
    code, reply = await call(
        jp_fetch, "POST", "model-versions/create",
        {"name": "by-location", "source": info["artifact_uri"], "model_id": info["model_id"]},
    )  # fmt: skip
    assert code == 200, reply
    assert reply["model_version"]["model_id"] == info["model_id"]
    code, reply = await call(
        jp_fetch, "GET", "model-versions/get-download-uri",
        query={"name": "by-location", "version": "1"},
    )  # fmt: skip
    assert reply["artifact_uri"] == info["artifact_uri"]
    # another experiment's path for the model is not its location
    bad = info["artifact_uri"].replace("mlflow-artifacts:/0/", "mlflow-artifacts:/7/")
    code, reply = await call(
        jp_fetch, "POST", "model-versions/create", {"name": "by-location", "source": bad}
    )
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


# -- on both servers and both stores -----------------------------------------------------------


def test_logged_models_on_every_server(server: LiveServer, client: Any, tmp_path: Path) -> None:
    """The group's key behaviours on the Jupyter-embedded and the team server, each on SQLite and
    PostgreSQL: a model outside any run with files, linked to a run with a metric, searched,
    registered by id and loaded back, deleted (kept for ``allow_deleted``), and bad input."""
    import mlflow
    from mlflow.entities import LoggedModelOutput
    from mlflow.exceptions import MlflowException

    exp = client.create_experiment("lm-live")
    model = client.create_logged_model(exp, name="clf", params={"depth": "2"}, tags={"t": "x"})
    model_id = model.model_id
    assert str(model.status) == "PENDING" and model.source_run_id in (None, "")
    assert model.artifact_location == f"mlflow-artifacts:/{exp}/models/{model_id}/artifacts"
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    client.log_model_artifacts(model_id, str(tmp_path))
    assert [f.path for f in client.list_logged_model_artifacts(model_id)] == ["MLmodel"]
    client.finalize_logged_model(model_id, "READY")
    run = client.create_run(exp).info.run_id
    client.log_metric(run, "acc", 0.9, step=3, model_id=model_id)
    client.log_outputs(run, [LoggedModelOutput(model_id, step=3)])
    assert [(o.model_id, o.step) for o in client.get_run(run).outputs.model_outputs] == [
        (model_id, 3)
    ]
    got = client.get_logged_model(model_id)
    assert (got.name, str(got.status), got.params, got.tags["t"]) == (
        "clf",
        "READY",
        {"depth": "2"},
        "x",
    )
    assert [(m.key, m.value, m.step, m.run_id) for m in got.metrics] == [("acc", 0.9, 3, run)]
    client.create_logged_model(exp, name="other")
    found = client.search_logged_models([exp], filter_string="metrics.acc > 0.5 AND name = 'clf'")
    assert [m.model_id for m in found] == [model_id]
    with pytest.raises(MlflowException) as e:
        client.search_logged_models([exp], filter_string="name = 'a' OR name = 'b'")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    # registered by id: the version leads back to the run that logged the model as its output
    mv = mlflow.register_model(f"models:/{model_id}", "lm-live-reg")
    assert (mv.version, mv.run_id) == ("1", run)
    # the client's ModelVersion.from_proto drops model_id (an MLflow TODO): read it over HTTP
    r = rpc(server, "GET", "api/2.0/mlflow/model-versions/get?name=lm-live-reg&version=1")
    assert r.json()["model_version"]["model_id"] == model_id
    local = mlflow.artifacts.download_artifacts(
        "models:/lm-live-reg/1", dst_path=str(tmp_path / "v")
    )
    assert (Path(local) / "MLmodel").read_text() == "flavors: {}\n"
    # raw HTTP: deleted, not erased
    r = rpc(server, "DELETE", "api/2.0/mlflow/logged-models/" + model_id)
    assert r.status_code == 200, r.text
    r = rpc(server, "GET", f"api/2.0/mlflow/logged-models/{model_id}")
    assert error(r)[:2] == (404, "RESOURCE_DOES_NOT_EXIST")
    r = rpc(server, "GET", f"api/2.0/mlflow/logged-models/{model_id}?allow_deleted=true")
    assert r.status_code == 200 and r.json()["model"]["info"]["model_id"] == model_id
    r = rpc(server, "POST", "api/2.0/mlflow/logged-models", {"experiment_id": exp, "name": "a/b"})
    code, kind, message = error(r)
    assert (code, kind) == (400, "INVALID_PARAMETER_VALUE") and "Invalid model name" in message
