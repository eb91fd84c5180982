"""A registered model with a reference profile and an alias, and synthetic logged predictions
written by the serving layer's own prediction log (shared by the monitor tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jupyter_mm.core.store import Store
from jupyter_mm.monitoring.profile import build_profile
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
