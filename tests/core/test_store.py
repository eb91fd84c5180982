"""The store on SQLite and PostgreSQL: experiments, runs, params, tags, metrics, datasets, paging."""

from __future__ import annotations

import math

import pytest

from jupyter_mm.core.entities import DatasetInput, Metric
from jupyter_mm.core.store import Store
from jupyter_mm.errors import AlreadyExists, Conflict, InvalidInput, NotFound


def test_default_experiment_exists(store: Store) -> None:
    exp = store.get_experiment("0")
    assert exp.name == "Default" and exp.lifecycle_stage == "active"


def test_experiment_lifecycle(store: Store) -> None:
    exp_id = store.create_experiment("credit", tags={"team": "risk"})
    assert store.get_experiment(exp_id).tags == {"team": "risk"}
    with pytest.raises(AlreadyExists, match="credit"):
        store.create_experiment("credit")
    store.rename_experiment(exp_id, "credit-v2")
    assert store.get_experiment_by_name("credit-v2").id == exp_id  # type: ignore[union-attr]
    assert store.get_experiment_by_name("credit") is None
    store.delete_experiment(exp_id)
    assert exp_id not in [e.id for e in store.list_experiments()]
    assert exp_id in [e.id for e in store.list_experiments(view="deleted")]
    with pytest.raises(InvalidInput, match="deleted"):
        store.create_run(exp_id)
    store.restore_experiment(exp_id)
    assert store.create_run(exp_id).experiment_id == exp_id
    with pytest.raises(InvalidInput, match="default experiment"):
        store.delete_experiment("0")
    with pytest.raises(NotFound):
        store.get_experiment("999")


def test_get_or_create_experiment_is_idempotent(store: Store) -> None:
    a = store.get_or_create_experiment("x")
    assert store.get_or_create_experiment("x") == a


def test_run_lifecycle_and_fields(store: Store) -> None:
    parent = store.create_run("0", name="parent", user="ana")
    run = store.create_run("0", name="child", user="ana", parent_run_id=parent.id, tags={"k": "v"})
    got = store.get_run(run.id)
    assert (got.name, got.status, got.user, got.parent_run_id) == (
        "child",
        "RUNNING",
        "ana",
        parent.id,
    )
    assert got.tags == {"k": "v"} and got.end_time is None and got.experiment == "Default"
    store.update_run(run.id, status="FINISHED", notes="looks good", name="child-2")
    got = store.get_run(run.id)
    assert got.status == "FINISHED" and got.end_time is not None and got.end_time >= got.start_time
    assert got.notes == "looks good" and got.name == "child-2"
    store.delete_run(run.id)
    assert store.get_run(run.id).lifecycle_stage == "deleted"
    assert [r.id for r in store.search_runs(["0"])[0]] == [parent.id]
    with pytest.raises(InvalidInput, match="deleted"):
        store.log_param(run.id, "a", 1)
    store.restore_run(run.id)
    assert {r.id for r in store.search_runs(["0"])[0]} == {parent.id, run.id}


def test_generated_names_and_bad_ids(store: Store) -> None:
    assert store.create_run("0").name.count("-") == 2
    with pytest.raises(InvalidInput, match="32 lowercase hex"):
        store.get_run("../etc")
    with pytest.raises(NotFound):
        store.get_run("0" * 32)
    with pytest.raises(NotFound, match="parent"):
        store.create_run("0", parent_run_id="f" * 32)
    with pytest.raises(InvalidInput, match="status"):
        store.update_run(store.create_run("0").id, status="DONE")


def test_params_are_write_once(store: Store) -> None:
    run = store.create_run("0")
    store.log_batch(run.id, params={"lr": 0.1, "depth": 3})
    store.log_param(run.id, "lr", "0.1")  # same value again: fine
    with pytest.raises(Conflict, match="'lr'.*'0.1'.*'0.2'"):
        store.log_batch(
            run.id, params={"new": "x", "lr": 0.2}, tags={"t": "1"}, metrics=[("m", 1.0, 0, 1)]
        )
    got = store.get_run(run.id)
    # nothing of the rejected batch was written
    assert got.params == {"lr": "0.1", "depth": "3"} and got.tags == {} and got.metrics == {}


def test_tags_overwrite_and_delete(store: Store) -> None:
    run = store.create_run("0")
    store.set_tag(run.id, "stage", "dev")
    store.set_tag(run.id, "stage", "prod")
    assert store.get_run(run.id).tags == {"stage": "prod"}
    store.delete_tag(run.id, "stage")
    assert store.get_run(run.id).tags == {}
    with pytest.raises(NotFound, match="stage"):
        store.delete_tag(run.id, "stage")


def test_metrics_nan_inf_and_latest(store: Store) -> None:
    run = store.create_run("0")
    store.log_batch(
        run.id,
        metrics=[
            ("loss", 0.5, 0, 100),
            ("loss", float("nan"), 1, 101),
            ("loss", float("inf"), 2, 102),
            ("loss", -float("inf"), 2, 99),  # same step, older: not the latest
            ("acc", 0.9, 5, 100),
        ],
    )
    store.log_batch(run.id, metrics=[Metric("acc", 0.1, 3, 200)])  # lower step: not the latest
    got = store.get_run(run.id)
    assert got.metrics["loss"] == math.inf and got.metrics["acc"] == 0.9
    assert got.latest_metrics["loss"].step == 2
    h = store.get_metric_history(run.id, "loss")
    assert list(h["step"]) == [0, 1, 2, 2]
    v = list(h["value"])
    assert v[0] == 0.5 and math.isnan(v[1]) and v[2] == math.inf and v[3] == -math.inf
    store.log_batch(run.id, metrics=[("nan_only", float("nan"), 0, 1)])
    assert math.isnan(store.get_run(run.id).metrics["nan_only"])
    assert store.metric_keys(run.id) == ["acc", "loss", "nan_only"]


def test_metric_history_spans_chunks_and_ranges(store: Store) -> None:
    run = store.create_run("0")
    n = 10_000  # > two chunks, written in uneven batches so the open chunk is topped up
    points = [("m", float(i % 97) - (i == 5000) * 1000, i, 1000 + i) for i in range(n)]
    for a, b in [(0, 1), (1, 3000), (3000, 3001), (3001, n)]:
        store.log_batch(run.id, metrics=points[a:b])
    h = store.get_metric_history(run.id, "m")
    assert list(h["step"]) == list(range(n))
    assert list(h["value"]) == [p[1] for p in points]
    r = store.get_metric_history(run.id, "m", step_range=(4100, 4200))
    assert list(r["step"]) == list(range(4100, 4201))
    t = store.get_metric_history(run.id, "m", time_range=(1000 + 9990, None))
    assert list(t["step"]) == list(range(9990, n))
    d = store.get_metric_history(run.id, "m", max_points=200)
    assert len(d["step"]) <= 200
    assert d["value"].min() == -1000 + 5000 % 97 and d["step"][0] == 0 and d["step"][-1] == n - 1


def test_history_out_of_order_steps_sorted(store: Store) -> None:
    run = store.create_run("0")
    store.log_batch(run.id, metrics=[("m", 3.0, 3, 1), ("m", 1.0, 1, 2), ("m", 2.0, 2, 3)])
    h = store.get_metric_history(run.id, "m")
    assert list(h["step"]) == [1, 2, 3] and list(h["value"]) == [1.0, 2.0, 3.0]


def test_history_of_unknown_run_or_key(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_metric_history("a" * 32, "m")
    run = store.create_run("0")
    assert len(store.get_metric_history(run.id, "nope")["value"]) == 0


def test_datasets(store: Store) -> None:
    run = store.create_run("0")
    ds = DatasetInput(
        name="train",
        digest="ab" * 32,
        context="training",
        source="s3://x",
        source_type="file",
        schema={"cols": ["a"]},
        row_count=10,
    )
    store.log_dataset(run.id, ds)
    store.log_dataset(run.id, ds)  # idempotent
    store.log_dataset(run.id, DatasetInput(name="train", digest="ab" * 32, context="validation"))
    got = store.get_run(run.id).datasets
    assert sorted((d.name, d.context, d.row_count, d.source) for d in got) == [
        ("train", "training", 10, "s3://x"),
        ("train", "validation", 10, "s3://x"),  # the dataset is recorded once, by digest
    ]
    assert all(d.schema == {"cols": ["a"]} for d in got)
    assert all(d.digest == "ab" * 32 for d in got)
    with pytest.raises(InvalidInput, match="SHA-256"):
        store.log_dataset(run.id, DatasetInput(name="x", digest="123", context="training"))


def test_search_filter_order_and_paging(store: Store) -> None:
    exp = store.create_experiment("search")
    ids = []
    for i in range(25):
        r = store.create_run(
            exp, name=f"run-{i:02d}", params={"model": "rf" if i % 2 else "lr"}, start_time=1000 + i
        )
        store.log_batch(r.id, metrics=[("acc", i / 25, 0, 1)], tags={"i": str(i)})
        ids.append(r.id)
    store.create_run("0", name="elsewhere")
    runs, token = store.search_runs(
        [exp], "params.model = 'rf' and metrics.acc > 0.5", ["metrics.acc DESC"]
    )
    assert [r.name for r in runs] == [f"run-{i:02d}" for i in (23, 21, 19, 17, 15, 13)]
    assert token is None
    seen = []
    token = None
    while True:
        page, token = store.search_runs(
            [exp], None, ["attributes.start_time ASC"], max_results=10, page_token=token
        )
        seen.extend(r.id for r in page)
        if token is None:
            break
    assert seen == ids
    default_order = [r.id for r in store.search_runs([exp])[0]]
    assert default_order == ids[::-1]  # newest first
    assert store.count_runs([exp]) == 25 and store.counts()["runs"] == 26
    with pytest.raises(InvalidInput, match="page token"):
        store.search_runs([exp], page_token="garbage")
    with pytest.raises(InvalidInput, match="max_results"):
        store.search_runs([exp], max_results=0)


def test_reopen_keeps_data(store_uri: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    st = Store.open(store_uri, artifact_uri=str(tmp_path / "a"))
    run = st.create_run("0", params={"p": 1})
    st.close()
    st2 = Store.open(store_uri, artifact_uri=str(tmp_path / "a"))
    assert st2.get_run(run.id).params == {"p": "1"}
    st2.close()


@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("page", [1, 2, 3, 100])
def test_order_by_metric_pages_numbers_then_nan_then_missing(
    store: Store, ascending: bool, page: int
) -> None:
    """Ordering led by a metric runs in two phases (with a value, then without); every page size
    must give the single order: numbers (asc/desc), NaN, then runs without the metric."""
    values = {"a": 3.0, "b": 1.0, "c": float("nan"), "d": None, "e": 2.0, "f": None, "g": 1.0}
    names = {}
    for i, (name, v) in enumerate(values.items()):
        run = store.create_run("0", name=name, start_time=1000 + i)
        names[run.id] = name
        if v is not None:
            store.log_batch(run.id, metrics=[("m", v, 0, 1)])
    numbers = sorted(
        (v, -i, n) for i, (n, v) in enumerate(values.items()) if v == v and v is not None
    )
    if ascending:
        ordered = [n for _, _, n in sorted(numbers, key=lambda t: (t[0], t[1]))]
    else:
        ordered = [n for _, _, n in sorted(numbers, key=lambda t: (-t[0], t[1]))]
    expected = ordered + ["c", "f", "d"]  # NaN, then missing runs newest first
    seen, token = [], None
    while True:
        runs, token = store.search_runs(
            ["0"],
            order_by=[f"metrics.m {'ASC' if ascending else 'DESC'}"],
            max_results=page,
            page_token=token,
        )
        assert len(runs) <= page
        seen.extend(names[r.id] for r in runs)
        if token is None:
            break
    assert seen == expected


def test_order_by_param_with_filter_across_pages(store: Store) -> None:
    for i, model in enumerate(["rf", "lr", None, "gbm", "rf"]):
        run = store.create_run("0", name=f"r{i}", start_time=1000 + i)
        store.log_batch(run.id, params={"model": model} if model else {}, tags={"i": str(i)})
    seen, token = [], None
    while True:
        runs, token = store.search_runs(
            ["0"], "tags.i != '3'", ["params.model ASC"], max_results=2, page_token=token
        )
        seen.extend(r.name for r in runs)
        if token is None:
            break
    assert seen == ["r1", "r4", "r0", "r2"]


def test_running_run_with_a_stale_heartbeat_is_shown_killed(store: Store) -> None:
    from sqlalchemy import update

    from jupyter_mm.core import schema as s
    from jupyter_mm.core.entities import STALE_HEARTBEAT_MS
    from jupyter_mm.core.store import now_ms

    dead, alive, done = store.create_run("0"), store.create_run("0"), store.create_run("0")
    store.update_run(done.id, status="FINISHED")
    old = now_ms() - STALE_HEARTBEAT_MS - 5_000
    with store.engine.begin() as conn:
        conn.execute(
            update(s.runs)
            .where(s.runs.c.run_uuid.in_([dead.id, done.id]))
            .values(heartbeat_time=old)
        )
    assert store.get_run(dead.id).status == "KILLED"
    assert store.get_run(alive.id).status == "RUNNING"
    assert store.get_run(done.id).status == "FINISHED"
    assert {r.id: r.status for r in store.search_runs(["0"])[0]}[dead.id] == "KILLED"


def test_runs_without_a_heartbeat_are_not_shown_killed(store: Store) -> None:
    """Writers that never beat one (the MLflow client) leave runs RUNNING until they end them."""
    run = store.create_run("0", start_time=1_000, heartbeat=False)
    got = store.get_run(run.id)
    assert got.heartbeat_time is None and got.status == "RUNNING"


def test_a_batch_id_is_applied_once(store: Store) -> None:
    """A retried or replayed batch (same id) is acknowledged without writing its points twice."""
    run = store.create_run("0")
    batch = {"metrics": [("loss", 0.5, 1, 10), ("loss", 0.4, 2, 20)], "tags": {"t": "1"}}
    assert store.log_batch(run.id, **batch, batch_id="b-1") is True
    assert store.log_batch(run.id, **batch, batch_id="b-1") is False
    assert list(store.get_metric_history(run.id, "loss")["step"]) == [1, 2]
    # the same id on another run is another batch
    other = store.create_run("0")
    assert store.log_batch(other.id, **batch, batch_id="b-1") is True
    # end_run shares the receipts: a replayed end does not append its final points again
    assert store.end_run(run.id, metrics=[("loss", 0.3, 3, 30)], batch_id="end") is True
    assert store.end_run(run.id, metrics=[("loss", 0.3, 3, 30)], batch_id="end") is False
    assert list(store.get_metric_history(run.id, "loss")["step"]) == [1, 2, 3]
    assert store.get_run(run.id).status == "FINISHED"


def test_bad_batch_ids_are_refused_before_writing(store: Store) -> None:
    run = store.create_run("0")
    for bad in ["", "x" * 65, "a b", "é", 7]:
        with pytest.raises(InvalidInput, match="batch id"):
            store.log_batch(run.id, metrics=[("m", 1.0, 0, 0)], batch_id=bad)  # type: ignore[arg-type]
    assert len(store.get_metric_history(run.id, "m")["step"]) == 0


def test_identity_tag_follows_the_run_user_and_is_never_rewritten(store: Store) -> None:
    """``mlflow.user`` says who ran the run: set from the run's user at creation, refused
    (PermissionDenied, nothing written) by every later write."""
    from jupyter_mm.errors import PermissionDenied

    run = store.create_run(user="ana", tags={"mlflow.user": "bob", "k": "v"})
    assert run.tags["mlflow.user"] == "ana"
    assert store.get_run(run.id).tags == {"mlflow.user": "ana", "k": "v"}
    claimed = store.create_run(tags={"mlflow.user": "carl"})  # no user given: the tag names it
    assert (claimed.user, store.get_run(claimed.id).tags["mlflow.user"]) == ("carl", "carl")
    for write in (
        lambda: store.set_tag(run.id, "mlflow.user", "bob"),
        lambda: store.log_batch(run.id, tags={"k": "w", "mlflow.user": "bob"}),
        lambda: store.delete_tag(run.id, "mlflow.user"),
        lambda: store.end_run(run.id, tags={"mlflow.user": "bob"}),
    ):
        with pytest.raises(PermissionDenied, match="mlflow.user"):
            write()
    got = store.get_run(run.id)
    assert got.tags == {"mlflow.user": "ana", "k": "v"} and got.status == "RUNNING"


def test_a_run_with_a_stopped_heartbeat_is_killed_everywhere(store: Store) -> None:
    """Search, sorting and reads agree on the shown status: a RUNNING run whose heartbeat is
    over a minute old is KILLED (found by status = 'KILLED', not by 'RUNNING') and ended at its
    last heartbeat; a run without a heartbeat (MLflow's) stays RUNNING."""
    from sqlalchemy import update

    from jupyter_mm.core import schema

    stale = store.create_run(name="stale")
    store.create_run(name="alive")
    mlflow_run = store.create_run(name="no-heartbeat", heartbeat=False)
    done = store.create_run(name="done")
    store.update_run(done.id, status="FINISHED")
    last_beat = stale.start_time - 5 * 60_000
    with store.engine.begin() as conn:  # the writer died five minutes ago
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_uuid == stale.id)
            .values(heartbeat_time=last_beat)
        )

    def names(filter: str, order_by: list[str] | None = None) -> list[str]:
        return [r.name for r in store.search_runs(filter=filter, order_by=order_by)[0]]

    assert names("attributes.status = 'KILLED'") == ["stale"]
    assert sorted(names("status = 'RUNNING'")) == ["alive", "no-heartbeat"]
    assert sorted(names("status IN ('KILLED', 'FINISHED')")) == ["done", "stale"]
    assert names("status != 'RUNNING' AND status LIKE 'K%'") == ["stale"]
    assert names("end_time = " + str(last_beat)) == ["stale"]
    assert sorted(names("end_time IS NULL")) == ["alive", "no-heartbeat"]
    ordered = names("", ["attributes.status ASC", "attributes.run_name ASC"])
    assert ordered == ["done", "stale", "alive", "no-heartbeat"]
    got = store.get_run(stale.id)
    assert (got.status, got.end_time) == ("KILLED", last_beat)
    assert store.get_run(mlflow_run.id).status == "RUNNING"
    # the writer comes back (it was only paused): the run is RUNNING again, with no end time
    store.heartbeat(stale.id)
    assert names("status = 'KILLED'") == []
    assert store.get_run(stale.id).end_time is None
