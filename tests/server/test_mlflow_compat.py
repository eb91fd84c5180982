"""MLflow compatibility beyond the common path (issue 16), on both servers (the Jupyter-embedded
server and the team server), each on SQLite and on PostgreSQL, through raw HTTP and the official
client.

Ids MLflow accepts as values, registry search order and filters, the bulk metric history
routes, the UI's upload and download routes, delete-experiment-tag, search-datasets, and
MLflow's exact validation wording."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from .live import LiveServer
from .mlflow_live import client, error, new_run, rpc, server

__all__ = ["client", "server"]  # fixtures used by name

# -- ids --------------------------------------------------------------------------------------


def test_foreign_run_ids_are_missing_runs_or_kept_values(server: LiveServer, client: Any) -> None:
    from mlflow.exceptions import MlflowException

    for rpc_path, body in [
        ("runs/get", None),
        ("runs/delete-tag", {"key": "k"}),
        ("runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}),
    ]:
        if body is None:
            r = rpc(server, "GET", f"api/2.0/mlflow/{rpc_path}?run_id=fake_run_id")
        else:
            r = rpc(server, "POST", f"api/2.0/mlflow/{rpc_path}", {"run_id": "fake_run_id", **body})
        code, kind, message = error(r)
        assert (code, kind) == (404, "RESOURCE_DOES_NOT_EXIST")
        assert message == "Run with id=fake_run_id not found"
    # a parent id from elsewhere stays a tag value; no link is made
    run = client.create_run("0", tags={"mlflow.parentRunId": "7"})
    assert client.get_run(run.info.run_id).data.tags["mlflow.parentRunId"] == "7"
    # a version's run id and a runs:/ source naming a run of another server are kept as values
    client.create_registered_model("foreign")
    mv = client.create_model_version("foreign", "runs:/run_id/model", "run_id_1")
    assert (mv.run_id, mv.source) == ("run_id_1", "runs:/run_id/model")
    assert client.get_model_version_download_uri("foreign", "1") == "runs:/run_id/model"
    # ...but never one that escapes its root, nor a run id longer than MLflow's column
    for source, run_id in [("runs:/run_id/../x", "r"), ("runs:/run_id/model", "r" * 33)]:
        with pytest.raises(MlflowException) as e:
            client.create_model_version("foreign", source, run_id)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert [v.version for v in client.search_model_versions("name = 'foreign'")] == ["1"]


# -- registry search --------------------------------------------------------------------------


def test_version_search_order_filters_paging_and_latest_by_stage(client: Any) -> None:
    for name in ("srch-a", "srch-b"):
        client.create_registered_model(name)
    made = []
    for name in ("srch-a", "srch-b", "srch-a", "srch-b", "srch-a"):
        mv = client.create_model_version(name, f"runs:/run_{name}/model", f"run_{name}")
        made.append((mv.name, mv.version))
    flt = "name LIKE 'srch-%'"

    def found(**kw: Any) -> list[tuple[str, str]]:
        out, token = [], None
        while True:
            page = client.search_model_versions(flt, page_token=token, **kw)
            out += [(v.name, v.version) for v in page]
            token = page.token
            if not token:
                return out

    assert found() == made[::-1]  # latest update first
    assert found(max_results=2) == made[::-1]
    assert found(order_by=["name DESC"]) == sorted(made, key=lambda m: (m[0], m[1]), reverse=True)
    assert found(order_by=["version_number DESC"]) == sorted(made, key=lambda m: (-int(m[1]), m[0]))
    hits = client.search_model_versions("source_path = 'runs:/run_srch-b/model'")
    assert sorted(v.version for v in hits) == ["1", "2"]
    assert [v.version for v in client.search_model_versions("run_id = 'run_srch-a'")] == [
        "3",
        "2",
        "1",
    ]
    client.transition_model_version_stage("srch-a", "1", "Production")
    client.transition_model_version_stage("srch-a", "2", "Staging")
    latest = {v.current_stage: v.version for v in client.get_latest_versions("srch-a")}
    assert latest == {"Production": "1", "Staging": "2", "None": "3"}
    staged = client.get_latest_versions("srch-a", ["Staging", "None"])
    assert {v.current_stage: v.version for v in staged} == {"Staging": "2", "None": "3"}


# -- metric history bulk routes -----------------------------------------------------------------


def test_registered_logged_models_and_copies_as_mlflow(client: Any) -> None:
    """The logged model records its versions in ``mlflow.modelVersions``; a copy's download URI
    is its source version's (on the Jupyter and the team server)."""
    client.create_registered_model("lm-reg")
    model = client.create_logged_model(experiment_id="0")
    client.create_model_version("lm-reg", model.artifact_location, model_id=model.model_id)
    tag = client.get_logged_model(model.model_id).tags["mlflow.modelVersions"]
    assert tag == '[{"name": "lm-reg", "version": 1}]'
    copy = client.copy_model_version("models:/lm-reg/1", "lm-copy")
    assert copy.source == "models:/lm-reg/1"
    source_uri = client.get_model_version_download_uri("lm-reg", "1")
    assert source_uri == model.artifact_location
    assert client.get_model_version_download_uri("lm-copy", copy.version) == source_uri


def test_metric_history_bulk_and_interval(server: LiveServer, client: Any) -> None:
    r1, r2 = sorted(client.create_run("0").info.run_id for _ in range(2))
    for step in range(10):
        client.log_metric(r1, "m", float(step), timestamp=1, step=step)
    for step in range(20):
        client.log_metric(r2, "m", -float(step), timestamp=2, step=step)
    bulk = "ajax-api/2.0/mlflow/metrics/get-history-bulk"
    reply = rpc(server, "GET", bulk, params={"run_id": [r2, r1], "metric_key": "m"}).json()
    assert [(m["run_id"], m["step"]) for m in reply["metrics"]] == [
        *((r1, s) for s in range(10)),
        *((r2, s) for s in range(20)),
    ]
    assert reply["metrics"][0] == {
        "key": "m",
        "value": 0.0,
        "timestamp": 1,
        "step": 0,
        "run_id": r1,
    }
    reply = rpc(server, "GET", bulk, params={"run_id": [r1], "metric_key": "m", "max_results": 3})
    assert [m["step"] for m in reply.json()["metrics"]] == [0, 1, 2]
    for params, message in [
        ({"metric_key": "m"}, "GetMetricHistoryBulk request must specify at least one run_id."),
        ({"run_id": [r1]}, "GetMetricHistoryBulk request must specify a metric_key."),
        (
            # 1,001 query fields: more than tornado's default cap (see MAX_QUERY_FIELDS)
            {"run_id": [f"id_{i}" for i in range(1000)], "metric_key": "m"},
            "GetMetricHistoryBulk request cannot specify more than 100 run_ids",
        ),
    ]:
        code, kind, text = error(rpc(server, "GET", bulk, params=params))
        assert (code, kind) == (400, "INVALID_PARAMETER_VALUE") and text.startswith(message)

    interval = "ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
    reply = rpc(
        server, "GET", interval, params={"run_ids": [r1], "metric_key": "m", "max_results": 5}
    )
    assert [m["step"] for m in reply.json()["metrics"]] == [0, 2, 4, 6, 8, 9]
    reply = rpc(
        server, "GET", interval, params={"run_ids": [r1, r2], "metric_key": "m", "max_results": 5}
    )
    steps = [(m["run_id"] == r1, m["step"]) for m in reply.json()["metrics"]]
    assert steps == [(True, s) for s in (0, 4, 8, 9)] + [
        (False, s) for s in (0, 4, 8, 9, 12, 16, 19)
    ]
    for params, message in [
        ({"metric_key": "m"}, "Missing value for required parameter 'run_ids'."),
        ({"run_ids": [r1], "metric_key": ""}, "Missing value for required parameter 'metric_key'."),
        (
            {"run_ids": [f"id_{i}" for i in range(1000)], "metric_key": "m"},
            "GetMetricHistoryBulkInterval request must specify at most 100 run_ids.",
        ),
        (
            {"run_ids": [r1], "metric_key": "m", "max_results": 0},
            "max_results must be between 1 and 2500",
        ),
        ({"run_ids": [r1], "metric_key": "m", "start_step": 1}, "If either start step or end step"),
        (
            {"run_ids": [r1], "metric_key": "m", "start_step": 2, "end_step": 1},
            "end_step must be greater than start_step. ",
        ),
    ]:
        code, kind, text = error(rpc(server, "GET", interval, params=params))
        assert (code, kind) == (400, "INVALID_PARAMETER_VALUE") and text.startswith(message)


def test_query_field_cap_is_raised_but_still_bounded(server: LiveServer) -> None:
    """MLflow's clients may send 1,000 run ids; the cap moves up to MAX_QUERY_FIELDS, no further."""
    from jupyter_mm.server.mlflow.handlers import MAX_QUERY_FIELDS

    bulk = "ajax-api/2.0/mlflow/metrics/get-history-bulk"
    # short fields ("f=&"), so the query stays under the header size limit
    filler = [""] * (MAX_QUERY_FIELDS - 2)
    fields = {"run_id": ["x"], "metric_key": "m", "f": filler}
    r = rpc(server, "GET", bulk, params=fields)  # at the cap: the route answers
    assert (r.status_code, r.json()) == (200, {"metrics": []})
    filler.append("")
    r = rpc(server, "GET", bulk, params=fields)  # over it: tornado's bare 400, before any route
    assert (r.status_code, r.content) == (400, b"")


# -- artifacts ----------------------------------------------------------------------------------


def test_upload_and_download_routes_of_the_ui(server: LiveServer, client: Any) -> None:
    run_id = new_run(server)
    upload = "ajax-api/2.0/mlflow/upload-artifact"
    for params, data, message in [
        ({}, None, "Request must specify run_uuid."),
        ({"run_uuid": run_id}, None, "Request must specify path."),
        ({"run_uuid": run_id, "path": "../x.txt"}, b"x", "Invalid path"),
        ({"run_uuid": run_id, "path": "a.txt"}, None, "Request must specify data."),
    ]:
        r = server.session.post(f"{server.mlflow}{upload}", params=params, data=data)
        assert error(r) == (400, "INVALID_PARAMETER_VALUE", message)
    r = server.session.post(
        f"{server.mlflow}{upload}", params={"run_uuid": run_id, "path": "d/a.html"}, data=b"<b>hi"
    )
    assert r.status_code == 200, r.text
    r = server.session.get(
        f"{server.mlflow}get-artifact", params={"run_id": run_id, "path": "d/a.html"}
    )
    assert (r.status_code, r.content) == (200, b"<b>hi")
    # a page is never served as one on the server's origin, whatever the client asks for
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"] == "attachment; filename=a.html"
    for url, params in [
        ("get-artifact", {"run_id": run_id, "path": "../x"}),
        ("api/2.0/mlflow/artifacts/list", {"run_id": run_id, "path": "../x"}),
        ("/model-versions/get-artifact", {"name": "m", "version": "1", "path": "../x"}),
    ]:
        r = server.session.get(f"{server.mlflow}{url}", params=params)
        assert r.status_code == 400 and r.json() == {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": "Invalid path",
        }
    # a version's files through its run
    client.create_registered_model("ui-files")
    client.create_model_version("ui-files", f"runs:/{run_id}/d", run_id)
    r = server.session.get(
        f"{server.mlflow}model-versions/get-artifact",
        params={"name": "ui-files", "version": "1", "path": "a.html"},
    )
    assert (r.status_code, r.content) == (200, b"<b>hi")


def test_proxy_routes_types_and_a_versions_files(
    server: LiveServer, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mlflow-artifacts`` upload, listing and download with the server's media type, and a
    registered version's files fetched by the official client through the proxy."""
    proxy = f"{server.mlflow}api/2.0/mlflow-artifacts/artifacts"
    html = {"Content-Type": "text/html"}
    r = server.session.put(f"{proxy}/d/page.html", data=b"<b>1</b>", headers=html)
    assert r.status_code == 200, r.text
    assert server.session.put(f"{proxy}/d/p.png", data=b"png").status_code == 200
    r = server.session.get(f"{proxy}/d/page.html", headers={"Accept": "text/html"})
    assert (r.content, r.headers["Content-Type"]) == (b"<b>1</b>", "text/plain")
    assert r.headers["Content-Disposition"] == "attachment; filename=page.html"
    assert server.session.get(f"{proxy}/d/p.png").headers["Content-Type"] == "image/png"
    listing = server.session.get(proxy, params={"path": "d"}).json()["files"]
    assert sorted((f["path"], f["file_size"]) for f in listing) == [("p.png", 3), ("page.html", 8)]

    from mlflow.artifacts import download_artifacts

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, str(model_dir), "model")
    client.create_registered_model("proxied")
    mv = client.create_model_version("proxied", f"runs:/{run_id}/model", run_id)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.mlflow.rstrip("/"))
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", server.mlflow.rstrip("/"))
    out = download_artifacts(f"models:/proxied/{mv.version}", dst_path=str(tmp_path / "out"))
    assert (Path(out) / "MLmodel").read_text() == "flavors: {}\n"


def test_logged_image_reads_back_byte_for_byte(server: LiveServer, client: Any) -> None:
    np = pytest.importorskip("numpy")
    image_mod = pytest.importorskip("PIL.Image")
    image = np.arange(12 * 10 * 3, dtype=np.uint8).reshape(12, 10, 3)
    run_id = client.create_run("0").info.run_id
    client.log_image(run_id, image, key="dog", step=3, timestamp=100, synchronous=True)
    listing = server.session.get(
        f"{server.mlflow}ajax-api/2.0/mlflow/artifacts/list",
        params={"run_id": run_id, "path": "images"},
    ).json()["files"]
    pngs = [f["path"] for f in listing if f["path"].endswith(".png")]
    # the client names the file (this release: dog+step+3+timestamp+100+<uuid>.png)
    assert len(pngs) == 1 and pngs[0].startswith("images/dog")
    r = server.session.get(
        f"{server.mlflow}get-artifact", params={"run_id": run_id, "path": pngs[0]}
    )
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"] == f"attachment; filename={pngs[0][len('images/') :]}"
    assert (np.asarray(image_mod.open(io.BytesIO(r.content))) == image).all()


# -- routes and messages ------------------------------------------------------------------------


def test_experiment_tags_run_tags_and_datasets(server: LiveServer, client: Any) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.exceptions import MlflowException

    exp = client.create_experiment("tagged", tags={"a": "1", "b": "2"})
    client.delete_experiment_tag(exp, "a")
    assert client.get_experiment(exp).tags == {"b": "2"}
    with pytest.raises(MlflowException) as e:
        client.delete_experiment_tag(exp, "a")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    run = client.create_run(exp, start_time=456, run_name="my name", tags={"mlflow.user": "u"})
    got = client.get_run(run.info.run_id)
    user = "u" if server.kind == "jupyter" else "ci"  # the team server records who is signed in
    assert (got.info.start_time, got.info.run_name, got.info.user_id) == (456, "my name", user)
    with pytest.raises(MlflowException, match="No tag with name: nope"):
        client.delete_tag(run.info.run_id, "nope")
    ds = Dataset(name="d1", digest="dg1", source_type="local", source="s")
    ctx = [InputTag(key="mlflow.data.context", value="training")]
    client.log_inputs(run.info.run_id, [DatasetInput(dataset=ds, tags=ctx)])
    # an input's own tags come back; one without a context has none (MLflow's answers)
    ds2 = Dataset(name="d2", digest="dg2", source_type="local", source="s")
    client.log_inputs(run.info.run_id, [DatasetInput(dataset=ds2, tags=[InputTag("k", "v")])])
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert sorted((d.dataset.name, [(t.key, t.value) for t in d.tags]) for d in inputs) == [
        ("d1", [("mlflow.data.context", "training")]),
        ("d2", [("k", "v")]),
    ]
    search = "ajax-api/2.0/mlflow/experiments/search-datasets"
    r = rpc(server, "POST", search, {"experiment_ids": [exp]})
    assert sorted(r.json()["dataset_summaries"], key=lambda d: d["name"]) == [
        {"experiment_id": exp, "name": "d1", "digest": "dg1", "context": "training"},
        {"experiment_id": exp, "name": "d2", "digest": "dg2"},
    ]
    assert error(rpc(server, "POST", search, {})) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "SearchDatasets request must specify at least one experiment_id.",
    )
    client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException, match=f"The run {run.info.run_id} must be in"):
        client.delete_tag(run.info.run_id, "mlflow.runName")


def test_experiment_round_trip_and_a_chosen_artifact_location_refused(
    server: LiveServer, client: Any
) -> None:
    from mlflow.exceptions import MlflowException

    exp = client.create_experiment("round-trip", tags={"team": "a"})
    got = client.get_experiment(exp)
    assert (got.name, got.tags, got.artifact_location) == (
        "round-trip",
        {"team": "a"},
        f"mlflow-artifacts:/{exp}",
    )
    assert client.get_experiment_by_name("round-trip").experiment_id == exp
    found = client.search_experiments(filter_string="name = 'round-trip'")
    assert [(e.experiment_id, e.tags) for e in found] == [(exp, {"team": "a"})]
    # a location the caller picks is refused in MLflow's shape, never silently ignored
    with pytest.raises(MlflowException) as e:
        client.create_experiment("chosen", artifact_location="s3://bucket/prefix")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "c.JupyterMM.artifact_uri" in e.value.message
    r = rpc(
        server,
        "POST",
        "api/2.0/mlflow/experiments/create",
        {"name": "chosen", "artifact_location": "/tmp/my_location"},
    )
    code, kind, text = error(r)
    assert (code, kind) == (400, "INVALID_PARAMETER_VALUE")
    assert text.startswith("Invalid value \"/tmp/my_location\" for parameter 'artifact_location'")
    assert client.get_experiment_by_name("chosen") is None  # nothing was created
    # empty means unset (MLflow's client sends nothing; some tools send "")
    r = rpc(
        server, "POST", "api/2.0/mlflow/experiments/create", {"name": "e", "artifact_location": ""}
    )
    assert r.status_code == 200, r.text


def test_validation_messages_use_mlflows_words(server: LiveServer) -> None:
    run_id = new_run(server)
    cases = [
        ("experiments/create", {}, "Missing value for required parameter 'name'."),
        ("experiments/create", {"name": 123}, "Invalid value 123 for parameter 'name' supplied"),
        (
            "experiments/create",
            {"name": "x", "artifact_location": 9.0},
            "Invalid value 9.0 for parameter 'artifact_location' supplied",
        ),
        (
            "runs/log-metric",
            {"run_id": run_id, "key": "k", "value": 1, "timestamp": 1, "step": "foo"},
            "Invalid value \"foo\" for parameter 'step' supplied",
        ),
        (
            "runs/log-batch",
            {"run_id": run_id, "metrics": [{"key": "k", "value": 1}]},
            "Missing value for required parameter 'metrics[0].timestamp'.",
        ),
        (
            "runs/log-batch",
            {"run_id": run_id, "tags": "foo"},
            "Invalid value \"foo\" for parameter 'tags' supplied",
        ),
        ("model-versions/get", None, "Parameter 'version' must be an integer, got 'x'."),
    ]
    for path, body, message in cases:
        if body is None:
            r = rpc(server, "GET", f"api/2.0/mlflow/{path}?name=m&version=x")
        else:
            r = rpc(server, "POST", f"api/2.0/mlflow/{path}", body)
        assert error(r) == (
            400,
            "INVALID_PARAMETER_VALUE",
            message,
        ), (path, body)
