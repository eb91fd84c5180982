"""``mm.log_model`` / ``mm.load_model``: models stored as run artifacts on a real SQLite file and a
real PostgreSQL server, loaded back by us and by the real ``mlflow`` client, and models the
``mlflow`` client logs through our Jupyter server loaded by us."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.client import backend, tracking
from jupyter_mm.client.models import download_model, logged_models
from jupyter_mm.core.store import Store
from jupyter_mm.errors import AlreadyExists, InvalidInput, MMError, NotFound, UntrustedModel
from tests.server.test_mlflow_fixtures import in_thread, mlflow_uri_fixture, mm_store_fixture

__all__ = ["mlflow_uri_fixture", "mm_store_fixture"]  # fixtures used by name

linear = pytest.importorskip("sklearn.linear_model")


@pytest.fixture
def mm_uri(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``mm`` pointed at a fresh store (SQLite file, then PostgreSQL) with blobs in tmp_path."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_ARTIFACT_URI", str(tmp_path / "blobs"))
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    mm.set_tracking_uri(store_uri)
    try:
        yield store_uri
    finally:
        while mm.active_run() is not None:
            mm.end_run()
        mm.set_tracking_uri(None)


def _store() -> Store:
    return backend.get_store()


def _data(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"income": rng.normal(50, 10, n), "age": rng.integers(18, 80, n)})
    y = (X["income"] + rng.normal(0, 5, n) > 50).astype(int).to_numpy()
    return X, y


class Doubler:
    def predict(self, X: Any) -> Any:
        return np.asarray(X, dtype=float)[:, 0] * 2


def _blobs(root: Path) -> set[str]:
    return {p.name for p in (root / "sha256").rglob("*") if p.is_file()}


def test_log_and_load_round_trip(mm_uri: str, tmp_path: Path) -> None:
    import mlflow.pyfunc

    X, y = _data()
    model = linear.LogisticRegression(max_iter=500).fit(X, y)
    with mm.start_run() as run:
        info = mm.log_model(model, "scorer", input_example=X.head(3))
    assert info.model_uri == f"runs:/{run.id}/models/scorer"
    assert info.flavor == "sklearn" and not info.requires_trust
    assert [s["name"] for s in info.signature.inputs or []] == ["income", "age"]  # type: ignore[union-attr]
    paths = {a.path for a in _store().list_artifacts(run.id, "models/scorer", recursive=True)}
    assert paths == {f"models/scorer/{f}" for f in info.files}
    assert "models/scorer/model.skops" in paths
    assert logged_models(run.id) == {
        "scorer": {"artifact_path": "models/scorer", "flavor": "sklearn"}
    }

    expected = model.predict(X)
    loaded = mm.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(X), expected)
    with pytest.raises(InvalidInput, match=r"missing input column\(s\) \['age'\]"):
        loaded.predict(X[["income"]])
    with pytest.raises(InvalidInput, match="column 'income' has type string"):
        loaded.predict(X.assign(income="high"))

    exported = download_model(info.model_uri, tmp_path / "export")
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(exported).predict(X), expected)
    np.testing.assert_array_equal(mm.load_model(exported).predict(X), expected)  # a local directory


def test_logged_model_files_have_previewable_media_types(mm_uri: str) -> None:
    """``MLmodel`` and the environment files are stored as text, as MLflow's client uploads them
    (the run view previews them by media type); the model's binary stays binary."""
    X, y = _data()
    model = linear.LogisticRegression(max_iter=500).fit(X, y)
    with mm.start_run() as run:
        mm.log_model(model, "scorer", input_example=X.head(3))
    types = {
        a.path.rsplit("/", 1)[-1]: a.media_type
        for a in _store().list_artifacts(run.id, "models/scorer", recursive=True)
    }
    assert types["MLmodel"] == "text/plain"
    assert types["conda.yaml"] == "text/plain" and types["python_env.yaml"] == "text/plain"
    assert types["requirements.txt"] == "text/plain"
    assert types["model.skops"] == "application/octet-stream"


def test_identical_models_are_stored_once(mm_uri: str, tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = _data()
    fits = [RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y) for _ in range(2)]
    with mm.start_run() as first:
        mm.log_model(fits[0], "forest", input_example=X.head(2))
    before = _blobs(tmp_path / "blobs")
    with mm.start_run() as second:
        mm.log_model(fits[1], "forest", input_example=X.head(2))
    added = _blobs(tmp_path / "blobs") - before
    digest = [
        _store().artifact_info(r.id, "models/forest/model.skops").digest for r in (first, second)
    ]
    assert digest[0] == digest[1]
    # only the MLmodel differs (it names its run and when it was written)
    mlmodel = _store().artifact_info(second.id, "models/forest/MLmodel").digest
    assert added == {mlmodel[2:]}
    np.testing.assert_array_equal(
        mm.load_model(f"runs:/{second.id}/models/forest").predict(X), fits[0].predict(X)
    )


def test_cloudpickled_objects_need_trust(mm_uri: str) -> None:
    X = np.arange(6, dtype=float).reshape(3, 2)
    with mm.start_run():
        info = mm.log_model(Doubler(), "doubler", input_example=X)
    assert info.flavor == "mm_python" and info.requires_trust
    with pytest.raises(UntrustedModel, match="trust=True") as e:
        mm.load_model(info.model_uri)
    assert e.value.code == "UNTRUSTED_MODEL"
    loaded = mm.load_model(info.model_uri, trust=True)
    np.testing.assert_array_equal(loaded.predict(X), [0.0, 4.0, 8.0])
    with pytest.raises(InvalidInput, match=r"shape \(3, 5\); the model expects \(-1, 2\)"):
        loaded.predict(np.zeros((3, 5)))


def test_bad_input_writes_nothing(mm_uri: str, tmp_path: Path) -> None:
    X, y = _data()
    model = linear.LinearRegression().fit(X, y)
    with pytest.raises(InvalidInput, match="needs an active run"):
        mm.log_model(model, "m")
    with mm.start_run() as run:
        with pytest.raises(InvalidInput, match="no predict method"):
            mm.log_model(object(), "m")
        for bad in ("", "a/b", "a.b", " m", "x:y", "tab\there", 7):
            with pytest.raises(InvalidInput, match="model name"):
                mm.log_model(model, bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="input_example must be"):
            mm.log_model(model, "m", input_example=object())
        assert _store().list_artifacts(run.id, recursive=True) == []
        assert "mm.models" not in _store().get_run(run.id).tags
        first = mm.log_model(model, "m")
        with pytest.raises(AlreadyExists, match="already has a model named 'm'"):
            mm.log_model(Doubler(), "m")
    assert mm.load_model(first.model_uri).flavor == "sklearn"  # the first one is intact
    with pytest.raises(InvalidInput, match="unsupported model URI scheme 'hdfs:'"):
        mm.load_model("hdfs://cluster/model")
    with pytest.raises(NotFound, match="no model at 'models/absent'"):
        mm.load_model(f"runs:/{run.id}/models/absent")
    with pytest.raises(NotFound):
        mm.load_model(f"runs:/{'f' * 32}/models/m")
    with pytest.raises(NotFound, match="no model at"):
        mm.load_model(str(tmp_path / "nowhere"))
    with pytest.raises(InvalidInput, match="not an empty directory"):
        download_model(first.model_uri, tmp_path)


def test_registry_uris_load(mm_uri: str) -> None:
    X, y = _data()
    models = [linear.LinearRegression().fit(X, y * k) for k in (1, 3)]
    uris = []
    for model in models:
        with mm.start_run():
            uris.append(mm.log_model(model, "credit").model_uri)
    store = _store()
    store.create_registered_model("credit-scorer", actor="alice")
    for uri in uris:
        store.create_model_version("credit-scorer", uri, actor="alice")
    store.set_registered_model_alias("credit-scorer", "champion", 1, actor="alice")
    want = [m.predict(X) for m in models]
    np.testing.assert_allclose(mm.load_model("models:/credit-scorer/1").predict(X), want[0])
    np.testing.assert_allclose(mm.load_model("models:/credit-scorer/2").predict(X), want[1])
    np.testing.assert_allclose(mm.load_model("models:/credit-scorer@champion").predict(X), want[0])
    np.testing.assert_allclose(mm.load_model("models:/credit-scorer/latest").predict(X), want[1])
    store.set_registered_model_alias("credit-scorer", "champion", 2, actor="alice")
    np.testing.assert_allclose(mm.load_model("models:/credit-scorer@champion").predict(X), want[1])
    with pytest.raises(MMError, match="alias"):
        mm.load_model("models:/credit-scorer@challenger")


async def test_models_the_mlflow_client_logged_through_our_server(
    mlflow_uri: str, mm_store: Store
) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow

        X, y = _data()
        model = linear.LogisticRegression(max_iter=500).fit(X, y)
        mlflow.set_experiment("from-mlflow")
        with mlflow.start_run() as run:
            info = mlflow.sklearn.log_model(model, name="model", input_example=X.head(2))
        mlflow.register_model(info.model_uri, "mlflow-scorer")
        return {
            "run_id": run.info.run_id,
            "model_id": info.model_id,
            "X": X,
            "expected": model.predict(X),
        }

    out = await in_thread(scenario)

    def load_all() -> dict[str, Any]:
        mm.set_tracking_uri(os.environ["MM_TRACKING_URI"])  # the server's store, as a kernel has it
        try:
            X = out["X"]
            loaded = {
                uri: mm.load_model(uri)
                for uri in (
                    f"runs:/{out['run_id']}/model",
                    f"models:/{out['model_id']}",
                    "models:/mlflow-scorer/1",
                )
            }
            with pytest.raises(InvalidInput, match="missing input column"):
                loaded["models:/mlflow-scorer/1"].predict(X[["age"]])
            return {uri: m.predict(X) for uri, m in loaded.items()}
        finally:
            mm.set_tracking_uri(None)

    predictions = await in_thread(load_all)
    assert len(predictions) == 3
    for value in predictions.values():
        np.testing.assert_array_equal(value, out["expected"])
    run = mm_store.get_run(out["run_id"])
    assert out["model_id"] in json.loads(run.tags["mm.mlflow.models"])


def test_other_mlflow_flavors_from_a_run_load_through_mlflow(mm_uri: str, tmp_path: Path) -> None:
    """A flavor only MLflow can load (here a ``PythonModel``) is materialised from the store into
    a temporary directory for ``mlflow.pyfunc``, after ``trust=True``."""
    import mlflow.pyfunc

    class Plus(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.asarray(model_input)[:, 0] + 1

    mlflow.pyfunc.save_model(
        str(tmp_path / "py"),
        python_model=Plus(),
        input_example=np.ones((2, 2)),
        pip_requirements=["numpy"],  # skips MLflow's requirement inference (a subprocess)
    )
    with mm.start_run() as run:
        mm.log_artifacts(tmp_path / "py", prefix="models/plus")
    uri = f"runs:/{run.id}/models/plus"
    with pytest.raises(UntrustedModel, match="mlflow.pyfunc.model"):
        mm.load_model(uri)
    loaded = mm.load_model(uri, trust=True)
    np.testing.assert_array_equal(loaded.predict(np.zeros((3, 2))), [1.0, 1.0, 1.0])
    with pytest.raises(InvalidInput, match=r"shape \(3, 1\)"):
        loaded.predict(np.zeros((3, 1)))
