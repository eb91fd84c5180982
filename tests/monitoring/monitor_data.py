"""A registered model with a reference profile and an alias, and synthetic logged predictions
written by the serving layer's own prediction log (shared by the monitor tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from jupyter_mm.core.store import Store
from jupyter_mm.monitoring.labels import labels_url, write_labels
from jupyter_mm.monitoring.profile import build_profile
from jupyter_mm.monitoring.profile import undated as undated_doc
from jupyter_mm.serving.prediction_log import PredictionLog

#: 2026-01-01T00:00:00Z: the tests' clock starts here.
T0 = 1767225600.0


def features(rows: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """``income`` moved by ``shift`` standard deviations; ``region`` unchanged."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"income": rng.normal(50 + 10 * shift, 10, rows), "region": rng.choice(["N", "S"], rows)}
    )


def scored_model(store: Store, name: str = "credit", alias: str = "champion") -> None:
    """Version 1 of ``name`` behind ``alias``, with the reference profile of 2000 rows."""
    run = store.create_run("0", name="train")
    store.create_registered_model(name, actor="ana")
    store.create_model_version(name, f"runs:/{run.id}/model", actor="ana")
    store.set_registered_model_alias(name, alias, 1, actor="ana")
    profile = build_profile(features(2000))
    store.set_reference_profile(name, 1, profile.doc, actor="ana")


def log_predictions(
    store: Store, ts: float, rows: int, shift: float = 0.0, name: str = "credit", seed: int = 1
) -> None:
    """``rows`` predictions of version 1 at epoch ``ts``, through the serving layer's log."""
    data = features(rows, shift, seed)
    with PredictionLog(store.predictions_url, 1.0) as plog:
        assert plog.record(
            request_id=f"req-{ts}-{seed}", model_name=name, model_version="1",
            model_digest="sha256:test", alias="champion", inputs=data,
            outputs=np.full(rows, 0.5), latency_ms=1.0, ts=ts,
        )  # fmt: skip


def calibrated_scores(rows: int, slope: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated scores and their labels (drawn as Bernoulli(score)): the AUC grows with
    ``slope`` (about 0.8 at 1.5, 0.6 at 0.4)."""
    rng = np.random.default_rng(seed)
    s = 1 / (1 + np.exp(-(-1.0 + slope * rng.normal(size=rows))))
    return s, (rng.random(rows) < s).astype(int)


def labelled_model(store: Store, calibrated: bool = True) -> None:
    """Version 1 of ``credit`` behind ``champion``; its reference of 4000 labelled rows has an
    AUC near 0.8, with calibrated scores, or (``calibrated=False``) labels drawn at half the
    scores' level (scores twice too high)."""
    run = store.create_run("0", name="train")
    store.create_registered_model("credit", actor="ana")
    store.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")
    store.set_registered_model_alias("credit", "champion", 1, actor="ana")
    s, y = calibrated_scores(4000, 1.5, seed=0)
    if not calibrated:
        y = (np.random.default_rng(9).random(s.size) < s / 2).astype(int)
    profile = build_profile(features(4000), s, labels=y)
    store.set_reference_profile("credit", 1, profile.doc, actor="ana")


def log_scored(
    store: Store, ts: float, scores: np.ndarray, labels: np.ndarray | None = None
) -> str:
    """One request of ``len(scores)`` rows of version 1 at ``ts`` (ids ``(req-<ts>, row)``) and
    its labels when given; returns the request id (see :func:`label`)."""
    request = f"req-{ts}"
    with PredictionLog(store.predictions_url, 1.0) as plog:
        assert plog.record(
            request_id=request, model_name="credit", model_version="1",
            model_digest="sha256:test", alias="champion", inputs=features(scores.size, seed=1),
            outputs=scores, latency_ms=1.0, ts=ts,
        )  # fmt: skip
    if labels is not None:
        label(store, request, labels)
    return request


def label(store: Store, request: str, labels: np.ndarray) -> None:
    """Record (or, the last recorded winning, replace) the outcomes of ``request``'s rows."""
    ids = [(request, i) for i in range(labels.size)]
    write_labels(labels_url(store.blobs.url), "credit", ids, labels)


def undated(doc: dict[str, Any]) -> dict[str, Any]:
    """A profile document without its creation second, which a fresh build may not share."""
    assert isinstance(doc["created"], str)
    return undated_doc(doc)
