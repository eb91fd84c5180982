"""Scoring scikit-learn's tree forests without joblib's per-tree dispatch.

A 100-tree forest's ``predict`` on one row spends about 4 ms dispatching one joblib task per tree
and checking the input again for the forest, against about 0.2 ms in the trees themselves: most
of a model server's single-row latency. For the forests' own classes, with one output and input
that is already a finite numeric matrix with the fitted columns, each tree is called as the forest
calls it (``predict``/``predict_proba`` with ``check_input=False``, in order, summed in float64,
divided by the number of trees), so the result is the forest's own, bit for bit. Anything else
(other columns, missing values, several outputs, a subclass, a large batch the model would score
on several cores) goes to the model's own method, which also gives scikit-learn's own errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: above this many rows a model fitted with ``n_jobs`` != 1 keeps its own parallel predict
PARALLEL_ROWS = 64


def forest_predictor(native: Any, method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (``native``'s ``method``), or a faster equivalent when ``native`` is a forest."""
    try:
        from sklearn import ensemble
    except ImportError:  # pragma: no cover - the sklearn flavor always has it
        return fn
    classifiers = (ensemble.RandomForestClassifier, ensemble.ExtraTreesClassifier)
    regressors = (ensemble.RandomForestRegressor, ensemble.ExtraTreesRegressor)
    kind = type(native)  # exact classes: a subclass may score differently
    if getattr(native, "n_outputs_", None) != 1 or not getattr(native, "estimators_", None):
        return fn
    if kind in classifiers and method in ("predict", "predict_proba"):
        return ForestPredictor(native, fn, classifier=True, proba=method == "predict_proba")
    if kind in regressors and method == "predict":
        return ForestPredictor(native, fn, classifier=False, proba=False)
    return fn


class ForestPredictor:
    """The forest's ``predict`` or ``predict_proba``, summed over its trees in one loop."""

    def __init__(self, forest: Any, fallback: Callable[..., Any], *, classifier: bool, proba: bool):
        self.forest = forest
        self.fallback = fallback
        self.classifier = classifier
        self.proba = proba
        names = getattr(forest, "feature_names_in_", None)
        self.names = None if names is None else [str(n) for n in names]
        self.n_features = int(forest.n_features_in_)
        self.parallel = forest.n_jobs not in (None, 1)

    def __call__(self, data: Any) -> Any:
        X = self.matrix(data)
        if X is None:
            return self.fallback(data)
        trees = self.forest.estimators_
        if self.classifier:
            out: np.ndarray = np.zeros((X.shape[0], int(self.forest.n_classes_)), dtype=np.float64)
            for tree in trees:
                out += tree.predict_proba(X, check_input=False)
        else:
            out = np.zeros(X.shape[0], dtype=np.float64)
            for tree in trees:
                out += tree.predict(X, check_input=False)
        out /= len(trees)
        if self.classifier and not self.proba:
            return self.forest.classes_.take(np.argmax(out, axis=1), axis=0)
        return out

    def matrix(self, data: Any) -> np.ndarray | None:
        """``data`` as the trees' float32 matrix, or None where the forest's own checks belong."""
        if hasattr(data, "columns") and hasattr(data, "dtypes"):  # a DataFrame
            if self.names is None or [str(c) for c in data.columns] != self.names:
                return None  # scikit-learn warns or refuses; let it
            if not all(isinstance(t, np.dtype) and t.kind in "biuf" for t in data.dtypes):
                return None
            X = data.to_numpy(dtype=np.float32)
        elif isinstance(data, np.ndarray) and self.names is None and data.dtype.kind in "biuf":
            X = data.astype(np.float32, copy=False)
        else:
            return None
        if X.ndim != 2 or X.shape[1] != self.n_features or X.shape[0] == 0:
            return None
        if self.parallel and X.shape[0] > PARALLEL_ROWS:
            return None
        if not np.isfinite(X).all():
            return None  # missing values or float32 overflow: the forest decides
        return np.ascontiguousarray(X)
