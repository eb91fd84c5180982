"""The forests' fast scoring path gives the forest's own answers, bit for bit, and hands every
case it does not cover back to scikit-learn (its errors and warnings included)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ensemble = pytest.importorskip("sklearn.ensemble")

from jupyter_mm.core.models.forests import ForestPredictor, forest_predictor  # noqa: E402
from jupyter_mm.core.models.format import load_model, save_model  # noqa: E402


def table(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "income": rng.normal(50_000, 15_000, n),
            "age": rng.integers(18, 90, n),
            # integers past float32's exact range: converted once, the way scikit-learn does
            "account": rng.integers(2**24, 2**40, n),
            "ratio": rng.random(n),
            "flag": rng.random(n) > 0.5,
        }
    )
    y = (X["income"] / 50_000 + X["ratio"] + rng.normal(0, 0.3, n) > 1.5).astype(int)
    return X, y.to_numpy()


def fitted(kind: Any, X: Any, y: Any, **kw: Any) -> Any:
    return kind(n_estimators=25, random_state=0, **kw).fit(X, y)


@pytest.mark.parametrize("kind", ["RandomForestClassifier", "ExtraTreesClassifier"])
@pytest.mark.parametrize("labels", ["ints", "strings", "three classes"])
def test_classifiers_answer_exactly_as_the_forest(kind: str, labels: str) -> None:
    X, y = table()
    if labels == "strings":
        y = np.where(y == 1, "bad", "good")
    elif labels == "three classes":
        y = y + (X["age"].to_numpy() > 60)
    forest = fitted(getattr(ensemble, kind), X, y)
    predict = forest_predictor(forest, "predict", forest.predict)
    proba = forest_predictor(forest, "predict_proba", forest.predict_proba)
    assert isinstance(predict, ForestPredictor) and isinstance(proba, ForestPredictor)
    fresh, _ = table(200, seed=1)
    for rows in (fresh, fresh.iloc[:1]):
        assert np.array_equal(predict(rows), forest.predict(rows))
        got, want = proba(rows), forest.predict_proba(rows)
        assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("kind", ["RandomForestRegressor", "ExtraTreesRegressor"])
def test_regressors_answer_exactly_as_the_forest(kind: str) -> None:
    X, _ = table()
    forest = fitted(getattr(ensemble, kind), X, X["income"] * 0.1 + X["age"])
    predict = forest_predictor(forest, "predict", forest.predict)
    assert isinstance(predict, ForestPredictor)
    fresh, _ = table(200, seed=2)
    assert np.array_equal(predict(fresh), forest.predict(fresh))
    # a forest fitted on a plain matrix scores plain matrices
    arr = fitted(getattr(ensemble, kind), X.to_numpy(float), X["age"].to_numpy())
    fast = forest_predictor(arr, "predict", arr.predict)
    assert isinstance(fast, ForestPredictor)
    assert np.array_equal(fast(fresh.to_numpy(float)), arr.predict(fresh.to_numpy(float)))


def test_what_it_does_not_cover_goes_to_the_forest_itself() -> None:
    X, y = table()
    forest = fitted(ensemble.RandomForestClassifier, X, y)
    fast = forest_predictor(forest, "predict", forest.predict)
    assert isinstance(fast, ForestPredictor)
    fresh, _ = table(50, seed=3)
    for data in (
        fresh[list(reversed(fresh.columns))],  # columns in another order
        fresh.assign(age=fresh["age"].astype("float64").where(fresh.index != 3)),  # a NaN
        fresh.to_numpy(float),  # names dropped
        fresh.assign(ratio=fresh["ratio"].astype(str)),  # text
        fresh.iloc[:0],  # no rows: scikit-learn refuses them
    ):
        assert fast.matrix(data) is None
    # ... and scikit-learn answers as it would have: its own refusal, word for word
    reordered = fresh[list(reversed(fresh.columns))]
    with pytest.raises(ValueError) as ours:
        fast(reordered)
    with pytest.raises(ValueError) as theirs:
        forest.predict(reordered)
    assert str(ours.value) == str(theirs.value)
    missing = fresh.assign(age=np.nan)  # scikit-learn's forests route missing values themselves
    assert np.array_equal(fast(missing), forest.predict(missing))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert np.array_equal(fast(fresh.to_numpy(float)), forest.predict(fresh.to_numpy(float)))
    assert any("feature names" in str(w.message) for w in seen)


def test_only_the_forests_own_single_output_methods_are_replaced() -> None:
    X, y = table()

    class Calibrated(ensemble.RandomForestClassifier):  # type: ignore[misc]
        def predict(self, X: Any) -> Any:
            return np.zeros(len(X))

    sub = Calibrated(n_estimators=5, random_state=0).fit(X, y)
    assert forest_predictor(sub, "predict", sub.predict) == sub.predict
    multi = fitted(ensemble.RandomForestClassifier, X, np.c_[y, 1 - y])
    assert forest_predictor(multi, "predict", multi.predict) == multi.predict
    forest = fitted(ensemble.RandomForestClassifier, X, y)
    assert forest_predictor(forest, "apply", forest.apply) == forest.apply
    boosted = ensemble.GradientBoostingClassifier(n_estimators=5).fit(X, y)
    assert forest_predictor(boosted, "predict", boosted.predict) == boosted.predict


def test_a_parallel_forest_keeps_its_own_predict_for_large_batches() -> None:
    X, y = table()
    forest = fitted(ensemble.RandomForestClassifier, X, y, n_jobs=2)
    fast = forest_predictor(forest, "predict", forest.predict)
    assert isinstance(fast, ForestPredictor)
    assert fast.matrix(X.iloc[:8]) is not None
    assert fast.matrix(X) is None
    assert np.array_equal(fast(X), forest.predict(X))


def test_a_saved_forest_loads_with_the_fast_path(tmp_path: Path) -> None:
    X, y = table()
    forest = fitted(ensemble.RandomForestClassifier, X, y)
    save_model(forest, tmp_path / "rf", input_example=X.iloc[:2])
    loaded = load_model(tmp_path / "rf")
    assert isinstance(loaded._predict, ForestPredictor)
    fresh, _ = table(100, seed=4)
    assert np.array_equal(loaded.predict(fresh), forest.predict(fresh))
