"""Runs over REST: search (GET runs, POST runs/search), get/update/delete/restore, log-batch,
tag deletion and datasets."""

from __future__ import annotations

import math
import time

from jupyter_mm.core.entities import DatasetInput

from .test_api_common import call, fail, open_store

RUN_KEYS = {
    "id",
    "name",
    "experiment_id",
    "experiment",
    "status",
    "start_time",
    "end_time",
    "heartbeat_time",
    "user",
    "lifecycle_stage",
    "parent_run_id",
    "notes",
    "params",
    "metrics",
    "tags",
}


def make_runs() -> tuple[str, list[str], str]:
    """Experiment 'exp' with runs auc 0.1..0.5, plus one run in Default. Returns ids."""
    with open_store() as store:
        exp = store.create_experiment("exp")
        ids = []
        for i in range(5):
            run = store.create_run(exp, name=f"r{i}", params={"i": i}, tags={"team": "a"})
            store.log_batch(run.id, metrics=[("auc", 0.1 * (i + 1), 0, 1000 + i)])
            ids.append(run.id)
        other = store.create_run(name="default-run").id
    return exp, ids, other


async def test_search_filter_order_pages_and_columns(jp_fetch, jp_serverapp) -> None:
    exp, ids, other = make_runs()
    _, body = await call(jp_fetch, "GET", "runs")
    assert len(body["runs"]) == 6 and body["next_page_token"] is None
    by_id = {r["id"]: r for r in body["runs"]}
    assert set(by_id[ids[0]]) == RUN_KEYS
    # every run carries its own experiment id
    assert by_id[ids[0]]["experiment_id"] == exp and by_id[other]["experiment_id"] == "0"
    assert by_id[ids[2]]["params"] == {"i": "2"}
    assert math.isclose(by_id[ids[2]]["metrics"]["auc"], 0.3)

    _, body = await call(
        jp_fetch,
        "GET",
        "runs",
        params=[
            ("experiment_ids", exp),
            ("filter", "metrics.auc > 0.2"),
            ("order_by", "metrics.auc DESC"),
            ("max_results", "2"),
            ("columns", "name,metrics.auc"),
        ],
    )
    assert [r["name"] for r in body["runs"]] == ["r4", "r3"]
    assert set(body["runs"][0]) == {"id", "name", "metrics"}
    token = body["next_page_token"]
    assert token
    _, page2 = await call(
        jp_fetch,
        "POST",
        "runs",
        "search",
        body={
            "experiment_ids": [exp],
            "filter": "metrics.auc > 0.2",
            "order_by": ["metrics.auc DESC"],
            "max_results": 2,
            "page_token": token,
            "columns": ["name"],
        },
    )
    assert [r["name"] for r in page2["runs"]] == ["r2"] and page2["next_page_token"] is None

    # order_by is repeatable
    _, body = await call(
        jp_fetch,
        "GET",
        "runs",
        params=[("experiment_ids", exp), ("order_by", "params.i DESC"), ("order_by", "name")],
    )
    assert [r["name"] for r in body["runs"]] == ["r4", "r3", "r2", "r1", "r0"]
    # the empty search body is every active run
    _, body = await call(jp_fetch, "POST", "runs", "search", body="")
    assert len(body["runs"]) == 6


async def test_search_spans_several_or_all_experiments(jp_fetch, jp_serverapp) -> None:
    """The run panel's "All experiments": one search, paged, across experiments, each run
    naming its experiment."""
    exp, ids, other = make_runs()
    with open_store() as store:
        third = store.create_experiment("third")
        lone = store.create_run(third, name="lone").id
    for experiment_ids in ([exp, "0"], []):
        seen: list[dict] = []
        token = None
        while True:
            _, page = await call(
                jp_fetch,
                "POST",
                "runs",
                "search",
                body={
                    "experiment_ids": experiment_ids,
                    "order_by": ["attributes.start_time DESC"],
                    "max_results": 2,
                    "page_token": token,
                    "columns": ["name", "experiment_id", "experiment"],
                },
            )
            seen += page["runs"]
            token = page["next_page_token"]
            if token is None:
                break
        by_id = {r["id"]: r for r in seen}
        assert len(seen) == len(by_id)  # pages neither repeat nor skip
        wanted = {*ids, other} | ({lone} if not experiment_ids else set())
        assert set(by_id) == wanted, experiment_ids
        assert by_id[ids[0]]["experiment"] == "exp" and by_id[other]["experiment"] == "Default"
        assert by_id[other]["experiment_id"] == "0"
    # the newest run of every experiment, which the panel opens on
    _, newest = await call(
        jp_fetch,
        "POST",
        "runs",
        "search",
        body={"max_results": 1, "columns": ["experiment_id"], "experiment_ids": []},
    )
    assert newest["runs"][0]["experiment_id"] == third


async def test_search_errors(jp_fetch) -> None:
    code, err = await fail(jp_fetch, "GET", "runs", params={"filter": "metrics.auc >> 1"})
    assert code == 400 and err["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "^" in err["message"]  # points at the position
    # ... and says it as data, so a UI need not parse the message
    assert err["details"] == {"field": "filter", "position": 13}
    code, err = await fail(
        jp_fetch, "POST", "runs", "search", body={"order_by": ["name", "metrics.auc SIDEWAYS"]}
    )
    assert code == 400 and err["details"] == {"field": "order_by", "item": 1, "position": 12}
    code, err = await fail(jp_fetch, "POST", "runs", "search", body={"filter": "x" * 20_000})
    assert code == 400 and err["details"] == {"field": "filter"}  # too long: no position
    # other errors carry no details
    code, err = await fail(jp_fetch, "GET", "runs", params={"max_results": "0"})
    assert code == 400 and "details" not in err
    for query in (
        [("max_results", "0")],
        [("max_results", "abc")],
        [("max_results", "99999999")],
        [("experiment_ids", "x")],
        [("view", "nope")],
        [("page_token", "garbage")],
        [("columns", "bogus")],
        [("order_by", "name SIDEWAYS")],
        [("filter", "a = 'x'"), ("filter", "b = 'y'")],
    ):
        assert (await fail(jp_fetch, "GET", "runs", params=query))[0] == 400, query
    for body in ({"filter": 1}, {"order_by": [1]}, {"experiment_ids": "0,1,x"}, {"x": 1}, [1]):
        assert (await fail(jp_fetch, "POST", "runs", "search", body=body))[0] == 400, body


async def test_get_update_delete_restore(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run(name="first").id
    _, run = await call(jp_fetch, "GET", "runs", rid)
    assert run["name"] == "first" and run["status"] == "RUNNING" and run["end_time"] is None

    _, run = await call(
        jp_fetch,
        "PATCH",
        "runs",
        rid,
        body={"name": "second", "notes": "## notes", "status": "FINISHED", "tags": {"t": "1"}},
    )
    assert (run["name"], run["notes"], run["status"]) == ("second", "## notes", "FINISHED")
    assert run["end_time"] is not None and run["tags"] == {"t": "1"}

    _, run = await call(jp_fetch, "DELETE", "runs", rid)
    assert run["lifecycle_stage"] == "deleted"
    _, body = await call(jp_fetch, "GET", "runs")
    assert rid not in [r["id"] for r in body["runs"]]
    _, body = await call(jp_fetch, "GET", "runs", params={"view": "deleted"})
    assert [r["id"] for r in body["runs"]] == [rid]
    _, run = await call(jp_fetch, "POST", "runs", rid, "restore", body="")
    assert run["lifecycle_stage"] == "active"

    assert (await fail(jp_fetch, "PATCH", "runs", rid, body={"status": "DONE"}))[0] == 400
    assert (await fail(jp_fetch, "PATCH", "runs", rid, body={"name": 3}))[0] == 400
    assert (await fail(jp_fetch, "PATCH", "runs", rid, body={"end_time": -1}))[0] == 400
    assert (await fail(jp_fetch, "PATCH", "runs", rid, body={"bogus": 1}))[0] == 400


async def test_unknown_and_malformed_run_ids(jp_fetch) -> None:
    missing = "0" * 32
    for method, suffix, body in (
        ("GET", (), None),
        ("PATCH", (), {"name": "x"}),
        ("DELETE", (), None),
        ("POST", ("restore",), ""),
        ("POST", ("log-batch",), {}),
        ("DELETE", ("tags", "k"), None),
        ("GET", ("datasets",), None),
    ):
        code, err = await fail(jp_fetch, method, "runs", missing, *suffix, body=body)
        assert code == 404 and err["error_code"] == "RESOURCE_DOES_NOT_EXIST", (method, suffix)
        code, err = await fail(jp_fetch, method, "runs", "not-a-run", *suffix, body=body)
        assert code == 400, (method, suffix)


async def test_log_batch(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run().id
    code, body = await call(
        jp_fetch,
        "POST",
        "runs",
        rid,
        "log-batch",
        body={
            "metrics": [
                {"key": "loss", "value": 1.0, "step": 0, "timestamp": 10},
                {"key": "loss", "value": "NaN", "step": 1, "timestamp": 11},
                {"key": "loss", "value": "Infinity", "step": 2, "timestamp": 12},
                {"key": "gap", "value": "-Infinity"},
                {"key": "n", "value": 3},
            ],
            "params": {"lr": 0.1, "model": "logreg"},
            "tags": [{"key": "stage", "value": "dev"}],
        },
    )
    assert code == 200
    assert body == {"run_id": rid, "metrics": 5, "params": 2, "tags": 1, "applied": True}
    with open_store() as store:
        h = store.get_metric_history(rid, "loss")
        run = store.get_run(rid)
    assert h["step"].tolist() == [0, 1, 2]
    assert h["value"][0] == 1.0 and math.isnan(h["value"][1]) and h["value"][2] == math.inf
    assert run.params == {"lr": "0.1", "model": "logreg"} and run.tags == {"stage": "dev"}
    _, got = await call(jp_fetch, "GET", "runs", rid)
    assert got["metrics"] == {"loss": "Infinity", "gap": "-Infinity", "n": 3.0}

    # write-once params: a conflict is a 400 and nothing of the batch is written
    code, err = await fail(
        jp_fetch,
        "POST",
        "runs",
        rid,
        "log-batch",
        body={"params": {"lr": 0.2}, "tags": {"new": "x"}},
    )
    assert code == 400 and "write-once" in err["message"]
    with open_store() as store:
        assert "new" not in store.get_run(rid).tags

    for bad in (
        {"metrics": [{"key": "m", "value": "nan"}]},
        {"metrics": [{"key": "m", "value": True}]},
        {"metrics": [{"key": "m", "value": None}]},
        {"metrics": [{"key": "m", "value": 1, "step": 1.5}]},
        {"metrics": [{"key": "m", "value": 1, "timestamp": -1}]},
        {"metrics": [{"key": "m", "value": 1, "extra": 1}]},
        {"metrics": [{"value": 1}]},
        {"metrics": [{"key": 1, "value": 1}]},
        {"metrics": [{"key": "bad key!", "value": 1}]},
        {"metrics": [{"key": "m", "value": 10**400}]},
        {"metrics": {"key": "m"}},
        {"params": {"p": None}},
        {"params": {"p": "x" * 7000}},
        {"tags": "x"},
        {"other": 1},
    ):
        code, err = await fail(jp_fetch, "POST", "runs", rid, "log-batch", body=bad)
        assert code == 400, bad
    # deleted runs cannot be logged to
    with open_store() as store:
        store.delete_run(rid)
    code, err = await fail(jp_fetch, "POST", "runs", rid, "log-batch", body={"tags": {"a": "b"}})
    assert code == 400 and "deleted" in err["message"]


async def test_delete_tag(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run(tags={"a/b": "1", "c": "2"}).id
    _, body = await call(jp_fetch, "DELETE", "runs", rid, "tags", "a/b")
    assert body == {"run_id": rid, "deleted": "a/b"}
    _, body = await call(jp_fetch, "DELETE", "runs", rid, "tags", "c")
    with open_store() as store:
        assert store.get_run(rid).tags == {}
    code, err = await fail(jp_fetch, "DELETE", "runs", rid, "tags", "c")
    assert code == 404


async def test_datasets(jp_fetch, jp_serverapp) -> None:
    ds = DatasetInput(
        name="train",
        digest="ab" * 32,
        context="training",
        source="data/train.csv",
        source_type="file",
        schema={"columns": [{"name": "x", "dtype": "int64"}]},
        row_count=10,
    )
    with open_store() as store:
        rid = store.create_run().id
        store.log_dataset(rid, ds)
    _, body = await call(jp_fetch, "GET", "runs", rid, "datasets")
    assert body["run_id"] == rid
    (got,) = body["datasets"]
    assert got["digest"] == "ab" * 32 and got["row_count"] == 10
    assert got["schema"] == {"columns": [{"name": "x", "dtype": "int64"}]}


async def test_a_refused_update_writes_nothing(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run(name="keep").id
    for body in (
        {"name": "changed", "status": "BOGUS"},
        {"name": "changed", "tags": {"bad key!": "x"}},
        {"tags": {"t": "1"}, "notes": "x" * 200_000},
    ):
        assert (await fail(jp_fetch, "PATCH", "runs", rid, body=body))[0] in (400, 413), body
    with open_store() as store:
        run = store.get_run(rid)
    assert run.name == "keep" and run.tags == {} and run.notes == ""


# --- the writes a remote client makes ------------------------------------------------------------


async def test_create_run(jp_fetch, jp_serverapp) -> None:
    rid = "0123456789abcdef" * 2
    started = int(time.time() * 1000)
    code, run = await call(
        jp_fetch,
        "POST",
        "runs",
        body={
            "experiment_name": "remote",
            "run_id": rid,
            "name": "r1",
            "start_time": started,
            "params": {"lr": 0.1},
            "tags": {"t": "v"},
            "user": "ana",
        },
    )
    assert code == 201
    assert run["id"] == rid and run["name"] == "r1" and run["experiment"] == "remote"
    assert run["start_time"] == started and run["status"] == "RUNNING" and run["user"] == "ana"
    assert run["params"] == {"lr": "0.1"} and run["tags"] == {"t": "v"}
    # a replay of the same create is refused, and changes nothing
    code, err = await fail(jp_fetch, "POST", "runs", body={"run_id": rid, "name": "other"})
    assert code == 400 and err["error_code"] == "RESOURCE_ALREADY_EXISTS"
    # the same experiment name again: the same experiment; a child run of the first
    code, child = await call(
        jp_fetch,
        "POST",
        "runs",
        body={"experiment_name": "remote", "parent_run_id": rid},
    )
    assert child["experiment_id"] == run["experiment_id"] and child["parent_run_id"] == rid
    # no user claimed: the authenticated identity; no experiment: Default
    code, plain = await call(jp_fetch, "POST", "runs", body={})
    assert plain["experiment_id"] == "0" and plain["user"]
    with open_store() as store:
        assert store.get_run(rid).name == "r1"
        assert store.count_runs() == 3
    for bad in (
        {"experiment_id": "1", "experiment_name": "x"},
        {"experiment_id": "x"},
        {"run_id": "xyz"},
        {"run_id": 5},
        {"parent_run_id": "0" * 32},  # 404
        {"params": {"p": None}},
        {"start_time": -1},
        {"user": 3},
        {"other": 1},
    ):
        code, err = await fail(jp_fetch, "POST", "runs", body=bad)
        assert code in (400, 404), bad
    with open_store() as store:
        assert store.count_runs() == 3  # nothing half-written


async def test_batch_ids_make_writes_idempotent(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run().id
    batch = {"metrics": [{"key": "m", "value": 1.0, "step": 0}], "batch_id": "b-1"}
    _, first = await call(jp_fetch, "POST", "runs", rid, "log-batch", body=batch)
    _, again = await call(jp_fetch, "POST", "runs", rid, "log-batch", body=batch)
    assert first["applied"] is True and again["applied"] is False
    code, _ = await fail(jp_fetch, "POST", "runs", rid, "log-batch", body={"batch_id": "a b"})
    assert code == 400
    end = {"status": "FAILED", "metrics": [{"key": "m", "value": 2.0, "step": 1}], "batch_id": "e"}
    _, ended = await call(jp_fetch, "POST", "runs", rid, "end", body=end)
    _, replay = await call(jp_fetch, "POST", "runs", rid, "end", body=end)
    assert ended == {"run_id": rid, "status": "FAILED", "metrics": 1, "applied": True}
    assert replay["applied"] is False
    with open_store() as store:
        assert store.get_metric_history(rid, "m")["value"].tolist() == [1.0, 2.0]
        run = store.get_run(rid)
    assert run.status == "FAILED" and run.end_time is not None
    code, err = await fail(jp_fetch, "POST", "runs", rid, "end", body={"status": "DONE"})
    assert code == 400 and "status" in err["message"]


async def test_heartbeat_and_full_run(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run(start_time=1).id
        store.log_batch(rid, metrics=[("m", float("nan"), 3, 7)])
        before = store.get_run(rid).heartbeat_time
    _, beat = await call(jp_fetch, "POST", "runs", rid, "heartbeat", body=b"")
    assert beat == {"run_id": rid}
    with open_store() as store:
        assert store.get_run(rid).heartbeat_time >= before
    _, run = await call(jp_fetch, "GET", "runs", rid)
    assert set(run) == RUN_KEYS | {"latest_metrics", "datasets"}
    assert run["latest_metrics"] == {"m": {"value": "NaN", "step": 3, "timestamp": 7}}
    code, _ = await fail(jp_fetch, "POST", "runs", "0" * 32, "heartbeat", body=b"")
    assert code == 404


async def test_log_dataset(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run().id
    dataset = {
        "name": "train",
        "digest": "ab" * 32,
        "context": "training",
        "source": "s3://b/train.csv",
        "source_type": "file",
        "schema": {"x": "int64"},
        "row_count": 10,
        "profile": None,
    }
    for _ in range(2):  # recording it again is a no-op
        code, body = await call(jp_fetch, "POST", "runs", rid, "datasets", body=dataset)
        assert code == 201 and body == {"run_id": rid, "dataset": dataset}
    _, listed = await call(jp_fetch, "GET", "runs", rid, "datasets")
    assert listed["datasets"] == [dataset]
    for bad in ({"name": "x"}, {"name": "x", "digest": "zz"}, {**dataset, "row_count": -1}):
        code, _ = await fail(jp_fetch, "POST", "runs", rid, "datasets", body=bad)
        assert code == 400, bad


async def test_a_run_whose_heartbeat_stopped_is_killed_over_rest(jp_fetch, jp_serverapp) -> None:
    """GET runs/{id}, the REST search (filter and sort), POST runs/search and MLflow's runs/get
    agree with the store: a RUNNING run silent for over a minute is KILLED, ended at its last
    heartbeat."""
    import json

    from sqlalchemy import update

    from jupyter_mm.core import schema

    with open_store() as store:
        stale = store.create_run(name="stale")
        alive = store.create_run(name="alive")
        last_beat = stale.start_time - 5 * 60_000
        with store.engine.begin() as conn:  # its process died five minutes ago
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.run_uuid == stale.id)
                .values(heartbeat_time=last_beat)
            )
    _, run = await call(jp_fetch, "GET", "runs", stale.id)
    assert (run["status"], run["end_time"]) == ("KILLED", last_beat)
    _, run = await call(jp_fetch, "GET", "runs", alive.id)
    assert (run["status"], run["end_time"]) == ("RUNNING", None)

    async def found(filter: str) -> list[str]:
        _, body = await call(jp_fetch, "GET", "runs", params={"filter": filter})
        return [r["id"] for r in body["runs"]]

    assert await found("attributes.status = 'KILLED'") == [stale.id]
    assert await found("status = 'RUNNING'") == [alive.id]
    assert await found(f"end_time = {last_beat}") == [stale.id]
    _, body = await call(jp_fetch, "POST", "runs", "search", body={"order_by": ["status ASC"]})
    assert [(r["id"], r["status"]) for r in body["runs"]] == [
        (stale.id, "KILLED"),
        (alive.id, "RUNNING"),
    ]
    r = await jp_fetch(
        "jupyter-mm", "mlflow", "api", "2.0", "mlflow", "runs", "get", params={"run_id": stale.id}
    )
    info = json.loads(r.body)["run"]["info"]
    assert (info["status"], int(info["end_time"])) == ("KILLED", last_beat)
