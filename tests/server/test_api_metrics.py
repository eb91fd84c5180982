"""POST metrics/history: several runs and keys at once, ranges, down-sampling, NaN-safe JSON."""

from __future__ import annotations

from .test_api_common import call, fail, open_store


def two_runs() -> tuple[str, str]:
    with open_store() as store:
        a = store.create_run().id
        b = store.create_run().id
        store.log_batch(a, metrics=[("loss", 1.0 / (i + 1), i, 1000 + i) for i in range(100)])
        store.log_batch(
            a,
            metrics=[
                ("acc", float("nan"), 0, 5),
                ("acc", float("inf"), 1, 6),
                ("acc", float("-inf"), 2, 7),
            ],
        )
        store.log_batch(b, metrics=[("loss", 2.0, 0, 50)])
    return a, b


async def test_history_of_several_runs_and_keys(jp_fetch, jp_serverapp) -> None:
    a, b = two_runs()
    _, body = await call(
        jp_fetch, "POST", "metrics", "history", body={"run_ids": [a, b], "keys": ["loss", "acc"]}
    )
    series = {(s["run_id"], s["key"]): s for s in body["series"]}
    assert list(series) == [(a, "loss"), (a, "acc"), (b, "loss"), (b, "acc")]
    assert series[(a, "loss")]["step"] == list(range(100))
    assert series[(a, "loss")]["timestamp"][:2] == [1000, 1001]
    assert series[(a, "acc")]["value"] == ["NaN", "Infinity", "-Infinity"]
    assert series[(b, "loss")]["value"] == [2.0]
    assert series[(b, "acc")] == {
        "run_id": b,
        "key": "acc",
        "step": [],
        "timestamp": [],
        "value": [],
    }


async def test_all_keys_ranges_and_downsampling(jp_fetch, jp_serverapp) -> None:
    a, _ = two_runs()
    _, body = await call(jp_fetch, "POST", "metrics", "history", body={"run_ids": [a]})
    assert sorted(s["key"] for s in body["series"]) == ["acc", "loss"]

    _, body = await call(
        jp_fetch,
        "POST",
        "metrics",
        "history",
        body={"run_ids": [a], "keys": ["loss"], "step_range": [10, 19]},
    )
    assert body["series"][0]["step"] == list(range(10, 20))
    _, body = await call(
        jp_fetch,
        "POST",
        "metrics",
        "history",
        body={"run_ids": [a], "keys": ["loss"], "time_range": {"min": 1095, "max": None}},
    )
    assert body["series"][0]["step"] == [95, 96, 97, 98, 99]
    _, body = await call(
        jp_fetch,
        "POST",
        "metrics",
        "history",
        body={"run_ids": [a], "keys": ["loss"], "max_points": 10},
    )
    steps = body["series"][0]["step"]
    assert len(steps) <= 10 and steps[0] == 0 and steps[-1] == 99


async def test_history_errors(jp_fetch, jp_serverapp) -> None:
    a, _ = two_runs()
    code, err = await fail(
        jp_fetch, "POST", "metrics", "history", body={"run_ids": ["0" * 32], "keys": ["x"]}
    )
    assert code == 404
    assert (await fail(jp_fetch, "POST", "metrics", "history", body={"run_ids": ["0" * 32]}))[
        0
    ] == 404
    for bad in (
        {},
        {"run_ids": []},
        {"run_ids": "abc"},
        {"run_ids": ["nothex"]},
        {"run_ids": [a], "keys": "loss"},
        {"run_ids": [a], "max_points": 0},
        {"run_ids": [a], "max_points": "x"},
        {"run_ids": [a], "step_range": [1]},
        {"run_ids": [a], "step_range": {"lo": 1}},
        {"run_ids": [a], "time_range": ["a", None]},
        {"run_ids": [a], "extra": 1},
        {"run_ids": [a] * 1001},
    ):
        code, err = await fail(jp_fetch, "POST", "metrics", "history", body=bad)
        assert code == 400, bad
