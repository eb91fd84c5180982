"""Data preparation for comparisons (``jupyter_mm.client.comparison``) against real stores (SQLite
file and PostgreSQL), plus the status colours of ``mm.runs()`` frames."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.client import comparison as cmp
from jupyter_mm.core.entities import DatasetInput
from jupyter_mm.core.store import Store
from jupyter_mm.errors import FilterSyntaxError, InvalidInput, MMError, NotFound

T0 = 1_700_000_000_000


def make_run(
    store: Store,
    name: str,
    params: dict[str, Any] | None = None,
    metrics: dict[str, list[float]] | None = None,
    status: str = "FINISHED",
) -> str:
    run = store.create_run(name=name, params=params or {})
    points = [
        (key, v, step, T0 + step * 1000)
        for key, values in (metrics or {}).items()
        for step, v in enumerate(values)
    ]
    for i in range(0, len(points), 50_000):
        store.log_batch(run.id, points[i : i + 50_000])
    if status != "RUNNING":
        store.end_run(run.id, status)
    return run.id


# ------------------------------------------------------------------------------ histories


def test_downsampled_history_keeps_extremes(store: Store) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0.0, 1.0, 20_000)
    values[7_777] = 50.0  # a spike up
    values[12_345] = -40.0  # and one down
    rid = make_run(store, "spiky", metrics={"loss": values.tolist()})
    h = cmp.history(store, rid, "loss", max_points=200)
    assert 100 <= len(h.value) <= 200
    assert h.value.max() == 50.0 and h.value.min() == -40.0
    assert {7_777, 12_345} <= set(h.step.tolist())
    assert h.step[0] == 0 and h.step[-1] == 19_999  # first and last kept
    assert (np.diff(h.step) > 0).all()
    assert (h.timestamp == T0 + h.step * 1000).all()
    assert h.mark == (len(h.step), 19_999, T0 + 19_999_000)


def test_histories_skip_runs_without_the_metric_and_keep_non_finite(store: Store) -> None:
    a = make_run(store, "a", metrics={"loss": [1.0, math.nan, math.inf, -math.inf, 0.5]})
    b = make_run(store, "b", metrics={"acc": [0.1]})
    runs = [store.get_run(a), store.get_run(b)]
    hs = cmp.histories(store, runs, "loss")
    assert list(hs) == [a]
    v = hs[a].value
    assert v[0] == 1.0 and math.isnan(v[1]) and v[2] == math.inf and v[3] == -math.inf
    with pytest.raises(InvalidInput, match="max_points"):
        cmp.history(store, a, "loss", max_points=2)


# ------------------------------------------------------------------------------------ EMA


def reference_ema(values: list[float], w: float) -> list[float]:
    out, acc, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        n += 1
        acc = w * acc + (1 - w) * v
        out.append(acc / (1 - w**n))
    return out


def test_ema_matches_the_debiased_definition() -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    got = cmp.ema(np.array(values), 0.6)
    assert got == pytest.approx(reference_ema(values, 0.6))
    assert got[0] == pytest.approx(3.0)  # debiased: the first point is not pulled towards zero
    const = cmp.ema(np.full(100, 7.5), 0.99)
    assert const == pytest.approx(np.full(100, 7.5))
    assert (cmp.ema(np.array(values), 0.0) == np.array(values)).all()


@pytest.mark.parametrize("weight", [1e-9, 0.01, 0.6, 0.99, 0.999999])
@pytest.mark.parametrize("scale", [1.0, 1e300, 1e-300])
def test_ema_is_exact_for_any_weight_and_magnitude(weight: float, scale: float) -> None:
    """Blocks of the vectorised EMA must neither overflow (w^-k, values near 1e308) nor drift."""
    values = (np.random.default_rng(1).normal(0.0, 1.0, 3_000) * scale).tolist()
    got = cmp.ema(np.array(values), weight)
    assert np.isfinite(got).all()
    assert got == pytest.approx(reference_ema(values, weight), rel=1e-9, abs=scale * 1e-12)


def test_ema_passes_non_finite_points_through() -> None:
    values = [1.0, math.nan, 3.0, math.inf, -math.inf, 5.0]
    got = cmp.ema(np.array(values), 0.5)
    assert math.isnan(got[1]) and got[3] == math.inf and got[4] == -math.inf
    finite = [v for v in values if math.isfinite(v)]
    assert [got[0], got[2], got[5]] == pytest.approx(reference_ema(finite, 0.5))
    assert math.isnan(cmp.ema(np.array([math.nan]), 0.5)[0])
    assert len(cmp.ema(np.array([]), 0.5)) == 0


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, "x", None, math.nan])
def test_smoothing_out_of_range_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput, match=r"smoothing is a number in \[0, 1\)"):
        cmp.ema(np.array([1.0]), bad)


def test_points_per_curve_shares_a_budget() -> None:
    assert cmp.points_per_curve(1) == cmp.DEFAULT_MAX_POINTS
    assert cmp.points_per_curve(50) == 400
    assert cmp.points_per_curve(500) == cmp.MIN_POINTS_PER_CURVE
    assert cmp.points_per_curve(50, 5000) == 5000  # asked for explicitly
    for bad in (3, 2.5, "100", True):
        with pytest.raises(InvalidInput, match="max_points"):
            cmp.points_per_curve(2, bad)  # type: ignore[arg-type]


def test_axis_names_are_checked() -> None:
    assert cmp.check_axis("time") == "time"
    with pytest.raises(InvalidInput, match="step, time"):
        cmp.check_axis("epoch")


# --------------------------------------------------------------------------------- params


def test_differing_params(store: Store) -> None:
    a = make_run(store, "a", params={"lr": "0.1", "opt": "adam", "seed": "1"})
    b = make_run(store, "b", params={"lr": "0.01", "opt": "adam", "seed": "1", "extra": "x"})
    runs = [store.get_run(a), store.get_run(b)]
    differing, identical = cmp.differing_params(runs)
    assert differing == ["extra", "lr"]  # missing in one run counts as differing
    assert identical == ["opt", "seed"]
    assert cmp.differing_params(runs[:1]) == ([], ["lr", "opt", "seed"])


def test_encode_numeric_and_categorical_params() -> None:
    num = cmp.encode_param(["0.1", "1e-3", None, "2"])
    assert num.kind == "numeric" and num.values == [0.1, 0.001, None, 2.0] and num.labels == []
    cat = cmp.encode_param(["sgd", "adam", None, "10", "adam", "9"])
    assert cat.kind == "categorical"
    assert cat.labels == ["9", "10", "adam", "sgd", cmp.MISSING]  # numbers first, by value
    assert cat.values == [3.0, 2.0, 4.0, 1.0, 2.0, 0.0]
    odd = cmp.encode_param(["1", "nan", "inf"])  # non-finite text is not a number axis
    assert odd.kind == "categorical" and odd.labels == ["1", "inf", "nan"]
    assert cmp.encode_param([None, None]).kind == "categorical"


def test_parcoords_dimensions_and_scatter(store: Store) -> None:
    a = make_run(store, "a", {"lr": "0.1", "opt": "adam"}, {"auc": [0.7, 0.8]})
    b = make_run(store, "b", {"lr": "0.01", "opt": "sgd"}, {"auc": [math.nan]})
    c = make_run(store, "c", {"opt": "sgd"}, {"auc": [0.9]})
    runs = [store.get_run(i) for i in (a, b, c)]
    dims = cmp.parcoords_dimensions(runs, ["lr", "opt"], "auc")
    assert [d["label"] for d in dims] == ["lr", "opt", "auc"]
    assert dims[0] == {"label": "lr", "kind": "numeric", "values": [0.1, 0.01, None]}
    assert dims[1]["kind"] == "categorical" and dims[1]["labels"] == ["adam", "sgd"]
    assert dims[1]["values"] == [0.0, 1.0, 1.0]
    assert dims[2] == {"label": "auc", "kind": "metric", "values": [0.8, None, 0.9]}  # NaN: None
    json.dumps(dims, allow_nan=False)
    pts = cmp.scatter_points(runs, "opt", "auc")
    assert pts == {
        "kind": "categorical",
        "x": ["adam", "sgd", "sgd"],
        "y": [0.8, None, 0.9],
        "labels": ["adam", "sgd"],
    }


# ---------------------------------------------------------------------------------- runs


def test_resolve_runs_from_every_kind_of_input(store: Store) -> None:
    a = make_run(store, "a", {"lr": "0.1"}, {"loss": [1.0]})
    b = make_run(store, "b", {"lr": "0.01"}, {"loss": [2.0]})
    make_run(store, "c", {"lr": "1"}, {"loss": [3.0]})
    by_filter = cmp.resolve_runs("params.lr IN ('0.1', '0.01')", store=store)
    assert {r.id for r in by_filter} == {a, b}
    assert [r.id for r in cmp.resolve_runs([b, a], store=store)] == [b, a]  # order kept
    assert [r.id for r in cmp.resolve_runs([store.get_run(a)], store=store)] == [a]
    assert [r.id for r in cmp.resolve_runs(a, store=store)] == [a]  # one id alone
    assert [r.id for r in cmp.resolve_runs([a, a, b], store=store)] == [a, b]
    frame = pd.DataFrame({"run_id": [b, a]})
    assert [r.id for r in cmp.resolve_runs(frame, store=store)] == [b, a]
    assert len(cmp.resolve_runs(None, store=store)) == 3
    assert len(cmp.resolve_runs("", experiment="Default", store=store)) == 3


def test_resolve_runs_errors_are_clear(store: Store) -> None:
    make_run(store, "a")
    with pytest.raises(NotFound, match="no runs match the filter 'params.lr = \"9\"'"):
        cmp.resolve_runs('params.lr = "9"', store=store)
    with pytest.raises(FilterSyntaxError):
        cmp.resolve_runs("params.lr >", store=store)
    with pytest.raises(NotFound):
        cmp.resolve_runs(["0" * 32], store=store)
    with pytest.raises(InvalidInput, match="empty"):
        cmp.resolve_runs([], store=store)
    with pytest.raises(InvalidInput, match="run_id"):
        cmp.resolve_runs(pd.DataFrame({"id": ["x"]}), store=store)
    with pytest.raises(InvalidInput, match="cannot compare 'int'"):
        cmp.resolve_runs([1, 2], store=store)
    with pytest.raises(InvalidInput, match="experiment= applies to a filter"):
        cmp.resolve_runs(["0" * 32], experiment="Default", store=store)
    with pytest.raises(NotFound, match="no experiment named 'nope'"):
        cmp.resolve_runs("", experiment="nope", store=store)


def test_check_keys_names_what_is_available() -> None:
    assert cmp.check_keys(None, ["a", "b"], "metric") == ["a", "b"]
    assert cmp.check_keys("b", ["a", "b"], "metric") == ["b"]
    with pytest.raises(
        InvalidInput, match="no compared run has the metric 'c'; available: 'a', 'b'"
    ):
        cmp.check_keys(["a", "c"], ["a", "b"], "metric")
    with pytest.raises(InvalidInput) as info:
        cmp.check_keys(["zz"], [f"k{i}" for i in range(30)], "param")
    assert "and 10 more" in info.value.message
    assert isinstance(info.value, MMError) and info.value.code == "INVALID_PARAMETER_VALUE"


# ---------------------------------------------------------------------------------- diffs


def test_run_diff_of_params_metrics_tags_environment_and_datasets(store: Store) -> None:
    a = make_run(store, "a", {"lr": "0.1", "opt": "adam"}, {"auc": [0.7], "ks": [0.3]})
    b = make_run(store, "b", {"lr": "0.01", "opt": "adam"}, {"auc": [0.8]})
    store.set_tag(a, "team", "risk")
    store.set_tag(b, "mm.internal", "ignored")
    env_a = {"python": {"version": "3.11.7"}, "packages": {"numpy": "2.0", "pandas": "2.2"}}
    env_b = {"python": {"version": "3.11.7"}, "packages": {"numpy": "2.1", "scipy": "1.17"}}
    store.log_artifact(
        a, ".mm/environment.json", json.dumps({**env_a, "fingerprint": "1"}).encode()
    )
    store.log_artifact(
        b, ".mm/environment.json", json.dumps({**env_b, "fingerprint": "2"}).encode()
    )
    store.log_dataset(
        a, DatasetInput(name="train", digest="a" * 64, context="training", row_count=10)
    )
    store.log_dataset(
        b, DatasetInput(name="train", digest="b" * 64, context="training", row_count=12)
    )
    d = cmp.run_diff(store, a, b)
    assert d["params"] == [{"key": "lr", "a": "0.1", "b": "0.01", "change": "changed"}]
    assert {r["key"]: r["change"] for r in d["metrics"]} == {"auc": "changed", "ks": "removed"}
    assert d["tags"] == [{"key": "team", "a": "risk", "b": None, "change": "removed"}]
    assert {r["key"]: (r["a"], r["b"]) for r in d["environment"]} == {
        "packages.numpy": ("2.0", "2.1"),
        "packages.pandas": ("2.2", None),
        "packages.scipy": (None, "1.17"),
    }
    assert d["environment_recorded"] == (True, True)
    assert len(d["datasets"]) == 1 and d["datasets"][0]["key"] == "train (training)"
    assert d["datasets"][0]["a"]["digest"] == "a" * 64 and d["datasets"][0]["b"]["rows"] == 12
    assert "no notebook snapshot" in d["notebook"]["error"]
    with pytest.raises(InvalidInput, match="exactly two runs"):
        cmp.run_diff(store, [a, b], b)


# -------------------------------------------------------------------- mm.runs() status colours


def test_runs_frame_colours_statuses_and_stays_a_dataframe(
    mm_store: Store, store_dir: Path
) -> None:
    make_run(mm_store, "<img src=x onerror=alert(1)>", {"lr": "0.1"}, {"auc": [0.5]})
    make_run(mm_store, "b", {"lr": "0.2"}, {"auc": [0.6]}, status="FAILED")
    make_run(mm_store, "c", {"lr": "0.3"}, {"auc": [0.7]}, status="RUNNING")
    frame = mm.runs()
    assert isinstance(frame, pd.DataFrame)
    page = frame._repr_html_()
    assert page is not None
    for status in ("FINISHED", "FAILED", "RUNNING"):
        background = cmp.STATUS_COLORS[status][0]
        assert background in page, status
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # plain DataFrame behaviour: selections, arithmetic, pickling, equality with pandas' own
    finished = frame[frame["status"] == "FINISHED"]
    assert type(finished) is type(frame) and len(finished) == 1
    assert frame["metrics.auc"].sum() == pytest.approx(1.8)
    assert isinstance(frame["status"], pd.Series) and not isinstance(frame["status"], type(frame))
    back = pickle.loads(pickle.dumps(frame))
    pd.testing.assert_frame_equal(pd.DataFrame(back), pd.DataFrame(frame))
    assert frame.to_csv() == pd.DataFrame(frame).to_csv()
    no_status = frame[["name", "metrics.auc"]]
    assert no_status._repr_html_() == pd.DataFrame(no_status)._repr_html_()


def test_long_runs_frames_are_truncated_like_pandas(mm_store: Store, store_dir: Path) -> None:
    for i in range(80):
        mm_store.create_run(name=f"r{i}")
    frame = mm.runs()
    with pd.option_context("display.max_rows", 10):
        page = frame._repr_html_()
    assert page is not None
    assert page.count("<tr") < 20  # not 80 rows
    assert "r0" in page or "r79" in page
