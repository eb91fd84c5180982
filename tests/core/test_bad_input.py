"""Bad input gets a clear MMError that says what was wrong, and nothing of the call is written."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_mm.core import limits, validation
from jupyter_mm.core.store import Store
from jupyter_mm.core.store.base import encode_token
from jupyter_mm.errors import FilterSyntaxError, InvalidInput, MMError


def _nothing_written(store: Store, run_id: str) -> None:
    run = store.get_run(run_id)
    assert run.params == {} and run.metrics == {} and run.tags == {}
    assert store.metric_keys(run_id) == []


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ([("ok", 1.0, 0, 1), ("bad", "high", 0, 1)], "metric 'bad' must be a number"),
        ([("ok", 1.0, 0, 1), ("bad", None, 0, 1)], "must be a number"),
        ([("ok", 1.0, 0, 1), ("big", 10**400, 0, 1)], "must be a number|out of range"),
        ([("ok", 1.0, 0, 1), ("s", 1.0, 2**64, 1)], "does not fit in 64 bits"),
        ([("ok", 1.0, 0, 1), ("s", 1.0, 1.5, 1)], "step .* must be an integer"),
        ([("ok", 1.0, 0, 1), ("s", 1.0, 0, -5)], "timestamp"),
        ([("ok", 1.0, 0, 1), ("bad key!", 1.0, 0, 1)], "invalid metric name"),
        ([("ok", 1.0, 0, 1), ("x" * (limits.MAX_KEY_LENGTH + 1), 1.0, 0, 1)], "the limit is"),
        ([("ok", 1.0, 0, 1), ("../up", 1.0, 0, 1)], "'..'"),
        ([("ok", 1.0, 0, 1), (" pad", 1.0, 0, 1)], "leading or trailing"),
        ([("ok", 1.0, 0, 1), ("ok", 1.0)], r"\(key, value, step, timestamp\)"),
    ],
)
def test_bad_metrics_rejected_whole(store: Store, metrics: list, message: str) -> None:  # type: ignore[type-arg]
    run = store.create_run("0")
    with pytest.raises(InvalidInput, match=message):
        store.log_batch(run.id, metrics=metrics, params={"p": 1}, tags={"t": "x"})
    _nothing_written(store, run.id)


@pytest.mark.parametrize(
    ("params", "tags", "message"),
    [
        ({"p": None}, {}, "no value"),
        ({"p": "v" * (limits.MAX_PARAM_VALUE_LENGTH + 1)}, {}, "the limit is 6000"),
        ({}, {"t": "v" * (limits.MAX_TAG_VALUE_LENGTH + 1)}, "the limit is"),
        ({"p": "a\x00b"}, {}, "NUL"),
        ({"": 1}, {}, "must not be empty"),
        ({3: 1}, {}, "must be a string"),
        ({"😀": 1}, {}, "invalid param name"),
        ({f"k{i}": i for i in range(limits.MAX_BATCH_PARAMS + 1)}, {}, "too many params"),
        ([1, 2], {}, "must be a mapping"),
    ],
)
def test_bad_params_and_tags(store: Store, params: object, tags: dict, message: str) -> None:  # type: ignore[type-arg]
    run = store.create_run("0")
    with pytest.raises(InvalidInput, match=message):
        store.log_batch(run.id, params=params, tags=tags, metrics=[("m", 1.0, 0, 1)])  # type: ignore[arg-type]
    _nothing_written(store, run.id)


def test_unicode_keys_and_values_round_trip(store: Store) -> None:
    run = store.create_run("0", name="экспер-1 ✓")
    store.log_batch(
        run.id,
        params={"точность": "высокая", "学习率": "0.1"},
        tags={"note": "naïve ✓ 🚀"},
        metrics=[("val/损失", 0.25, 0, 1)],
    )
    got = store.get_run(run.id)
    assert got.name == "экспер-1 ✓"
    assert got.params == {"точность": "высокая", "学习率": "0.1"}
    assert got.tags == {"note": "naïve ✓ 🚀"} and got.metrics == {"val/损失": 0.25}


def test_too_many_points_in_one_batch(store: Store) -> None:
    run = store.create_run("0")
    with pytest.raises(InvalidInput, match="too many metric points"):
        store.log_batch(
            run.id, metrics=[("m", 1.0, i, 1) for i in range(limits.MAX_BATCH_METRICS + 1)]
        )
    _nothing_written(store, run.id)


@pytest.mark.parametrize(
    "bad_filter",
    [
        "metrics.acc >",
        "metrics.acc > 'high'",
        "params.lr = 0.1 and",
        "foo.bar = 1",
        "(metrics.a > 1",
        "metrics.a > 1)",
        "attributes.status = 'DONE'",
        "metrics.`unterminated > 1",
        "\x00",
    ],
)
def test_malformed_filters(store: Store, bad_filter: str) -> None:
    with pytest.raises(FilterSyntaxError) as err:
        store.search_runs(filter=bad_filter)
    assert isinstance(err.value, MMError) and "position" in str(err.value)


def test_bad_order_by(store: Store) -> None:
    with pytest.raises(FilterSyntaxError):
        store.search_runs(order_by=["metrics.acc SIDEWAYS"])


def test_invalid_run_names_and_experiments(store: Store) -> None:
    with pytest.raises(InvalidInput, match="blank"):
        store.create_experiment("   ")
    with pytest.raises(InvalidInput, match="experiment id"):
        store.create_run("not-a-number")
    with pytest.raises(InvalidInput, match="the limit is"):
        store.create_run("0", name="n" * (limits.MAX_NAME_LENGTH + 1))
    assert store.count_runs() == 0


# --- text no database can store, numbers past 64 bits (issue 14) -------------------------------

LONE = "\ud800"  # a lone UTF-16 surrogate, as a JSON "\ud800" escape decodes


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda st, rid: st.create_run("0", name="r" + LONE), id="run name"),
        pytest.param(lambda st, rid: st.create_run("0", user=LONE), id="user"),
        pytest.param(lambda st, rid: st.create_run("0", tags={"t": LONE}), id="create tags"),
        pytest.param(lambda st, rid: st.create_experiment("e" + LONE), id="experiment name"),
        pytest.param(lambda st, rid: st.get_experiment_by_name(LONE), id="experiment lookup"),
        pytest.param(lambda st, rid: st.set_tag(rid, "k", LONE), id="tag value"),
        pytest.param(lambda st, rid: st.set_tag(rid, "k" + LONE, "v"), id="tag key"),
        pytest.param(
            lambda st, rid: st.log_batch(rid, params={"ok": "1", "p": "a" + LONE}), id="param"
        ),
        pytest.param(
            lambda st, rid: st.log_batch(rid, params={"ok": "1"}, tags={"t": LONE}),
            id="batch tag after a good param",
        ),
        pytest.param(lambda st, rid: st.log_batch(rid, metrics=[("m" + LONE, 1.0, 0, 1)]),
                     id="metric key"),
        pytest.param(lambda st, rid: st.update_run(rid, notes=LONE), id="notes"),
        pytest.param(lambda st, rid: st.update_run(rid, name=LONE), id="rename"),
        pytest.param(lambda st, rid: st.log_artifact(rid, f"a{LONE}.txt", b"x"), id="artifact"),
        pytest.param(lambda st, rid: st.search_runs(filter=f"params.p = '{LONE}'"), id="filter"),
        pytest.param(lambda st, rid: st.search_runs(order_by=[f"params.`{LONE}`"]), id="order_by"),
        pytest.param(lambda st, rid: st.create_registered_model(LONE, actor="a"), id="model name"),
        pytest.param(
            lambda st, rid: st.create_registered_model("m", description=LONE, actor="a"),
            id="model description",
        ),
        pytest.param(lambda st, rid: st.search_registered_models(filter=f"name = '{LONE}'"),
                     id="model filter"),
    ],
)  # fmt: skip
def test_lone_surrogates_are_refused_before_any_write(store: Store, call: Any) -> None:
    run = store.create_run("0")
    with pytest.raises(InvalidInput, match="lone UTF-16 surrogate") as e:
        call(store, run.id)
    assert "\\ud800" in e.value.message  # quoted, so the message itself can be logged
    assert LONE not in e.value.message
    _nothing_written(store, run.id)
    assert [x.name for x in store.list_experiments()] == ["Default"]
    assert store.search_registered_models()[0] == []
    assert store.list_artifacts(run.id) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda st, rid: st.create_run("0", start_time=2**63), "start_time .* out of range"),
        (lambda st, rid: st.create_run("0", start_time=-1), "start_time .* out of range"),
        (lambda st, rid: st.update_run(rid, end_time=2**63), "end_time .* out of range"),
        (lambda st, rid: st.update_run(rid, status="FINISHED", end_time=2**64), "end_time"),
        (lambda st, rid: st.get_experiment("9" * 30), "experiment id .* out of range"),
        (lambda st, rid: st.create_run("9" * 30), "experiment id .* out of range"),
        (lambda st, rid: st.search_runs(page_token=encode_token(0, 10**23)), "invalid page token"),
        (lambda st, rid: st.search_runs(page_token=encode_token(0, -1)), "invalid page token"),
        (lambda st, rid: st.search_registered_models(page_token=encode_token(0, 2**63)),
         "invalid page token"),
    ],
)  # fmt: skip
def test_integers_past_64_bits_are_refused(store: Store, call: Any, message: str) -> None:
    run = store.create_run("0")
    with pytest.raises(InvalidInput, match=message):
        call(store, run.id)
    got = store.get_run(run.id)
    assert got.status == "RUNNING" and got.end_time is None
    assert len(store.search_runs()[0]) == 1


def test_json_values_are_checked_without_recursion() -> None:
    deep: Any = []
    for _ in range(100_000):  # deeper than the interpreter's recursion limit
        deep = [deep]
    with pytest.raises(InvalidInput, match=f"nested deeper than {limits.MAX_JSON_DEPTH}"):
        validation.json_value(deep, "the body")
    at_limit: Any = "x"
    for _ in range(limits.MAX_JSON_DEPTH):
        at_limit = {"a": at_limit}
    assert validation.json_value(at_limit, "the body") is at_limit
    with pytest.raises(InvalidInput, match="nested deeper"):
        validation.json_value([at_limit], "the body")
    with pytest.raises(InvalidInput, match="a key in the body holds a lone UTF-16 surrogate"):
        validation.json_value([{"k": 1, LONE: 2}], "the body")
    assert validation.json_value(["\U0001f600", {"\u00e9": "ok"}], "the body")  # pairs are fine
