"""The model format: MLmodel directories written and read back, checked against MLflow itself.

Every round trip is also loaded by the real ``mlflow`` (3.17) client, and every signature we infer
is compared with ``mlflow.models.infer_signature`` on the same data.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from jupyter_mm.core.models import Signature, infer_signature, load_model, save_model
from jupyter_mm.core.models.files import LocalFiles, RunFiles
from jupyter_mm.core.models.flavors import canonical_skops
from jupyter_mm.core.models.format import build_model
from jupyter_mm.core.models.mlmodel import MLModel
from jupyter_mm.core.models.uris import ModelLocation, in_run, resolve
from jupyter_mm.core.store import Store
from jupyter_mm.errors import (
    InvalidInput,
    MissingDependency,
    MMError,
    NotFound,
    UntrustedModel,
)

sklearn_linear = pytest.importorskip("sklearn.linear_model")


def _frame(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "age": rng.integers(18, 80, n),
            "debt": rng.normal(5, 2, n),
        }
    )
    y = (X["income"] - 3 * X["debt"] + rng.normal(0, 2, n) > 35).astype(int).to_numpy()
    return X, y


class Doubler:
    """Any object with predict: the cloudpickle flavor."""

    def predict(self, X: Any) -> Any:
        return np.asarray(X, dtype=float)[:, 0] * 2


# ---- signatures --------------------------------------------------------------------------------


EXAMPLES = {
    "frame": lambda: pd.DataFrame(
        {
            "a": [1.0, 2.0],
            "b": [1, 2],
            "c": ["x", "y"],
            "d": [True, False],
            "e": np.array([1, 2], dtype=np.int32),
            "f": np.array([1, 2], dtype=np.float32),
            "g": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "h": [1.5, None],
        }
    ),
    "array": lambda: np.zeros((3, 4), dtype=np.float32),
    "array3d": lambda: np.zeros((2, 3, 4)),
    "named_tensors": lambda: {"x": np.zeros((3, 4)), "y": np.arange(3)},
    "scalars": lambda: {"x": 1.0, "y": "a", "z": 3},
    "series": lambda: pd.Series([1.0, 2.0]),
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_inferred_signature_is_what_mlflow_infers(kind: str) -> None:
    from mlflow.models import infer_signature as mlflow_infer

    example = EXAMPLES[kind]()
    ours = infer_signature(example).to_dict()
    theirs = mlflow_infer(example).to_dict()
    assert json.loads(ours["inputs"] or "null") == json.loads(theirs["inputs"] or "null")


def test_signature_from_mlflow_model_signature_and_dicts() -> None:
    from mlflow.models import infer_signature as mlflow_infer

    X, _ = _frame()
    sig = Signature.coerce(mlflow_infer(X, np.zeros(3)))
    assert [s["name"] for s in sig.inputs or []] == ["income", "age", "debt"]
    assert sig.outputs == [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]
    assert Signature.coerce(sig.to_dict()) == sig
    assert Signature.coerce({"inputs": sig.inputs}) == Signature(inputs=sig.inputs)
    with pytest.raises(InvalidInput, match="signature must be"):
        Signature.coerce(42)
    with pytest.raises(InvalidInput, match="not valid JSON"):
        Signature.from_dict({"inputs": "[{"})
    with pytest.raises(InvalidInput, match="tensor spec"):
        Signature.from_dict({"inputs": [{"type": "tensor"}]})


def test_column_signature_enforcement() -> None:
    X, _ = _frame(5)
    sig = infer_signature(X)
    # extra columns are dropped and the order is the schema's
    out = sig.enforce(X.assign(extra=1)[["debt", "extra", "age", "income"]])
    assert list(out.columns) == ["income", "age", "debt"]
    # columns already of their exact dtypes skip the per-column checks: same answer, a new frame
    exact = sig.enforce(X)
    assert exact is not X and exact.equals(X[["income", "age", "debt"]])
    # a safe cast: integer income is accepted as double
    cast = sig.enforce(X.assign(income=X["income"].round().astype("int64")))
    assert cast["income"].dtype == np.float64
    # records and dicts of columns are tables too
    assert list(sig.enforce(X.to_dict(orient="records")).columns) == ["income", "age", "debt"]
    assert len(sig.enforce(X.to_dict(orient="list"))) == 5
    with pytest.raises(InvalidInput, match=r"missing input column\(s\) \['debt'\]"):
        sig.enforce(X[["income", "age"]])
    with pytest.raises(InvalidInput, match="column 'age' has type string; the model expects long"):
        sig.enforce(X.assign(age=X["age"].astype(str)))
    with pytest.raises(InvalidInput, match="column 'age' has type double; the model expects long"):
        sig.enforce(X.assign(age=X["age"] + 0.5))  # a float cannot become an integer safely
    with pytest.raises(InvalidInput, match=r"shape \(5, 2\).*3 columns"):
        sig.enforce(np.zeros((5, 2)))
    with pytest.raises(InvalidInput, match="expects a table"):
        sig.enforce("income=3")


def test_tensor_signature_enforcement() -> None:
    sig = infer_signature(np.zeros((4, 3)))
    assert sig.enforce(np.ones((2, 3), dtype=np.int32)).dtype == np.float64  # safe cast
    assert sig.enforce([[1.0, 2.0, 3.0]]).shape == (1, 3)
    with pytest.raises(InvalidInput, match=r"shape \(2, 4\); the model expects \(-1, 3\)"):
        sig.enforce(np.ones((2, 4)))
    with pytest.raises(InvalidInput, match=r"shape \(3,\)"):
        sig.enforce(np.ones(3))
    with pytest.raises(InvalidInput, match="dtype <U1; the model expects float64"):
        sig.enforce(np.array([["a", "b", "c"]]))
    named = infer_signature({"x": np.zeros((2, 3)), "y": np.arange(2)})
    with pytest.raises(InvalidInput, match=r"missing input tensor\(s\) \['y'\]"):
        named.enforce({"x": np.zeros((1, 3))})
    with pytest.raises(InvalidInput, match="dict of arrays"):
        named.enforce(np.zeros((1, 3)))


def test_inference_refuses_what_it_cannot_describe() -> None:
    with pytest.raises(InvalidInput, match="single int"):
        infer_signature(3)
    with pytest.raises(InvalidInput, match="empty dict"):
        infer_signature({})
    with pytest.raises(InvalidInput, match="cannot infer a type for column 'o'"):
        infer_signature(pd.DataFrame({"o": [object(), 1]}))


# ---- scikit-learn: ours and MLflow's loaders -----------------------------------------------------


def test_sklearn_round_trip_through_mm_and_mlflow(tmp_path: Path) -> None:
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import Model

    X, y = _frame()
    model = sklearn_linear.LogisticRegression(max_iter=500).fit(X, y)
    mlmodel = save_model(model, tmp_path / "m", input_example=X.head(3))
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == [
        "MLmodel",
        "conda.yaml",
        "input_example.json",
        "model.skops",
        "python_env.yaml",
        "requirements.txt",
        "serving_input_example.json",
    ]
    assert mlmodel.flavors["sklearn"]["serialization_format"] == "skops"
    assert mlmodel.flavors["python_function"]["loader_module"] == "mlflow.sklearn"

    ours = load_model(tmp_path / "m")
    expected = model.predict(X)
    assert ours.flavor == "sklearn" and not isinstance(ours.native, bytes)
    np.testing.assert_array_equal(ours.predict(X), expected)
    # MLflow reads the same directory: its pyfunc, its sklearn flavor, signature and example
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X), expected
    )
    np.testing.assert_array_equal(
        mlflow.sklearn.load_model(str(tmp_path / "m")).predict(X), expected
    )
    meta = Model.load(str(tmp_path / "m"))
    assert meta.signature.to_dict() == mlmodel.signature.to_dict()  # type: ignore[union-attr]
    pd.testing.assert_frame_equal(
        meta.load_input_example(str(tmp_path / "m")), X.head(3).reset_index(drop=True)
    )
    # MLflow enforces our signature too
    with pytest.raises(Exception, match="debt"):
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X[["income", "age"]])
    with pytest.raises(InvalidInput, match="debt"):
        ours.predict(X[["income", "age"]])


def test_tree_models_load_with_skops_where_mlflow_alone_would_refuse(tmp_path: Path) -> None:
    """skops >= 0.15 no longer trusts sklearn's Tree type. Our loader trusts the sklearn
    namespace; the MLmodel lists the type so MLflow's sklearn loader accepts it too."""
    import mlflow.pyfunc
    from sklearn.ensemble import RandomForestClassifier

    X, y = _frame()
    forest = RandomForestClassifier(n_estimators=4, random_state=0).fit(X.to_numpy(), y)
    mlmodel = save_model(forest, tmp_path / "rf", input_example=X.to_numpy()[:2])
    assert mlmodel.flavors["sklearn"]["skops_trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert mlmodel.signature == Signature(
        inputs=[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}],
        outputs=[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}],
    )
    expected = forest.predict(X.to_numpy())
    np.testing.assert_array_equal(load_model(tmp_path / "rf").predict(X.to_numpy()), expected)
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "rf")).predict(X.to_numpy()), expected
    )


def test_skops_bytes_are_reproducible() -> None:
    """Two fits of the same model give one blob: ids and zip timestamps are normalised."""
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    X, y = _frame()
    a = RandomForestClassifier(n_estimators=3, random_state=1).fit(X, y)
    b = RandomForestClassifier(n_estimators=3, random_state=1).fit(X, y)
    assert sio.dumps(a) != sio.dumps(b)  # skops alone: ids and timestamps differ
    ca, cb = canonical_skops(sio.dumps(a)), canonical_skops(sio.dumps(b))
    assert ca == cb
    back = sio.loads(ca, trusted=sio.get_untrusted_types(data=ca))
    np.testing.assert_array_equal(back.predict(X), a.predict(X))
    _, files_a = build_model(a)
    _, files_b = build_model(b)
    assert files_a["model.skops"] == files_b["model.skops"]
    c = RandomForestClassifier(n_estimators=3, random_state=2).fit(X, y)
    assert build_model(c)[1]["model.skops"] != files_a["model.skops"]


class Scaler:
    """A user class inside a pipeline: not something skops may rebuild without trust."""

    def fit(self, X: Any, y: Any = None) -> Scaler:
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X) / 10.0


def _pipeline() -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _frame()
    return make_pipeline(
        FunctionTransformer(Scaler().transform), sklearn_linear.LogisticRegression()
    ).fit(X.to_numpy(), y), X.to_numpy()


def test_foreign_types_need_an_explicit_choice(tmp_path: Path) -> None:
    pipe, X = _pipeline()
    with pytest.raises(InvalidInput, match="serialization='cloudpickle'") as e:
        save_model(pipe, tmp_path / "p")
    assert "Scaler" in str(e.value)
    assert not (tmp_path / "p").exists()  # nothing half-written
    mlmodel = save_model(pipe, tmp_path / "p", serialization="cloudpickle")
    assert mlmodel.metadata and mlmodel.metadata["mm.requires_trust"] is True
    assert "cloudpickle==" in (tmp_path / "p" / "requirements.txt").read_text()
    with pytest.raises(UntrustedModel, match="trust=True"):
        load_model(tmp_path / "p")
    np.testing.assert_array_equal(
        load_model(tmp_path / "p", trust=True).predict(X), pipe.predict(X)
    )


def test_the_file_cannot_vouch_for_itself(tmp_path: Path) -> None:
    """A skops file whose MLmodel lists its own foreign types as trusted is still refused."""
    import skops.io as sio

    pipe, X = _pipeline()
    data = sio.dumps(pipe)
    foreign = sio.get_untrusted_types(data=data)
    assert any("Scaler" in t for t in foreign)
    root = tmp_path / "crafted"
    root.mkdir()
    (root / "model.skops").write_bytes(data)
    conf = {
        "pickled_model": "model.skops",
        "serialization_format": "skops",
        "skops_trusted_types": foreign,
    }
    mlmodel = MLModel(
        flavors={"python_function": {"loader_module": "mlflow.sklearn"}, "sklearn": conf}
    )
    (root / "MLmodel").write_text(mlmodel.to_yaml())
    with pytest.raises(UntrustedModel, match="Scaler"):
        load_model(root)
    np.testing.assert_array_equal(load_model(root, trust=True).predict(X), pipe.predict(X))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_pickled_sklearn_needs_trust(tmp_path: Path, fmt: str) -> None:
    import mlflow.pyfunc

    X, y = _frame()
    model = sklearn_linear.LinearRegression().fit(X, y)
    save_model(model, tmp_path / fmt, serialization=fmt)
    with pytest.raises(UntrustedModel, match=f"is {fmt}d"):
        load_model(tmp_path / fmt)
    np.testing.assert_allclose(load_model(tmp_path / fmt, trust=True).predict(X), model.predict(X))
    np.testing.assert_allclose(
        mlflow.pyfunc.load_model(str(tmp_path / fmt)).predict(X), model.predict(X)
    )


# ---- any object with predict (cloudpickle) -------------------------------------------------------


def test_python_object_round_trip_and_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc

    X = np.arange(6, dtype=float).reshape(3, 2)
    mlmodel = save_model(Doubler(), tmp_path / "d", input_example=X)
    assert mlmodel.flavors["python_function"]["loader_module"] == "jupyter_mm.core.models.pyfunc"
    assert mlmodel.flavors["mm_python"]["requires_trust"] is True
    with pytest.raises(UntrustedModel, match="cloudpickled Python object"):
        load_model(tmp_path / "d")
    loaded = load_model(tmp_path / "d", trust=True)
    np.testing.assert_array_equal(loaded.predict(X), [0.0, 4.0, 8.0])
    with pytest.raises(InvalidInput, match=r"shape \(3, 3\)"):
        loaded.predict(np.zeros((3, 3)))
    by_mlflow = mlflow.pyfunc.load_model(str(tmp_path / "d"))
    np.testing.assert_array_equal(by_mlflow.predict(X), [0.0, 4.0, 8.0])
    # MLflow's own switch against unpickling is honoured by our loader_module
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(UntrustedModel, match="MLFLOW_ALLOW_PICKLE_DESERIALIZATION"):
        mlflow.pyfunc.load_model(str(tmp_path / "d"))


def test_bad_models_and_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no predict method"):
        save_model(object(), tmp_path / "x")
    with pytest.raises(InvalidInput, match="must not be None"):
        save_model(None, tmp_path / "x")
    X, y = _frame()
    model = sklearn_linear.LinearRegression().fit(X, y)
    with pytest.raises(InvalidInput, match="unknown serialization 'json'"):
        save_model(model, tmp_path / "x", serialization="json")
    with pytest.raises(InvalidInput, match="scikit-learn models only"):
        save_model(Doubler(), tmp_path / "x", serialization="skops")
    with pytest.raises(InvalidInput, match="input_example must be"):
        save_model(model, tmp_path / "x", input_example="income")
    with pytest.raises(InvalidInput, match="unknown flavor"):
        save_model(model, tmp_path / "x", flavor="onnx")
    with pytest.raises(InvalidInput, match="metadata must be plain"):
        save_model(model, tmp_path / "x", metadata={"owner": object()})
    assert not (tmp_path / "x").exists()
    save_model(model, tmp_path / "x")
    with pytest.raises(InvalidInput, match="not an empty directory"):
        save_model(model, tmp_path / "x")


def test_unreadable_directories(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no model directory"):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="no MLmodel file"):
        load_model(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "MLmodel").write_text("flavors: [1, 2]\n")
    with pytest.raises(InvalidInput, match="no 'flavors' mapping"):
        load_model(tmp_path / "bad")
    (tmp_path / "bad" / "MLmodel").write_text("flavors: {a: b\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_model(tmp_path / "bad")
    (tmp_path / "bad" / "MLmodel").write_text(
        "flavors: {sklearn: {pickled_model: model.skops, serialization_format: skops}}\n"
    )
    with pytest.raises(NotFound, match="no file 'model.skops'"):
        load_model(tmp_path / "bad")


# ---- PyTorch -----------------------------------------------------------------------------------


def test_pytorch_flavor_without_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch is not installed in CI (its wheels and CUDA libraries are gigabytes); what can be
    checked without it: a clear MissingDependency, and trust asked before anything is unpickled."""
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError, installed or not
    with pytest.raises(MissingDependency, match="pip install torch"):
        save_model(Doubler(), tmp_path / "t", flavor="pytorch")
    assert not (tmp_path / "t").exists()
    root = tmp_path / "mlflow-torch"
    (root / "data").mkdir(parents=True)
    (root / "data" / "model.pth").write_bytes(b"not really a torch file")
    mlmodel = MLModel(
        flavors={
            "python_function": {"loader_module": "mlflow.pytorch", "data": "data"},
            "pytorch": {"model_data": "data", "pytorch_version": "2.14.1"},
        }
    )
    (root / "MLmodel").write_text(mlmodel.to_yaml())
    with pytest.raises(UntrustedModel, match="pickled PyTorch module"):
        load_model(root)
    with pytest.raises(MissingDependency, match="torch"):
        load_model(root, trust=True)


# ---- environment -------------------------------------------------------------------------------


def test_environment_records_installed_versions(tmp_path: Path) -> None:
    import importlib.metadata as md
    import platform

    X, y = _frame()
    save_model(
        sklearn_linear.LinearRegression().fit(X, y),
        tmp_path / "m",
        extra_pip_requirements=["requests>=2", "numpy<99"],
    )
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    for dist in ("scikit-learn", "skops", "scipy", "pandas", "mlflow"):
        assert f"{dist}=={md.version(dist)}" in reqs
    assert "requests>=2" in reqs and "numpy<99" in reqs  # the caller's line wins over the pin
    assert not any(r.startswith("numpy==") for r in reqs)
    py_env = yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())
    assert py_env["python"] == platform.python_version()
    assert py_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert f"python={platform.python_version()}" in conda["dependencies"]
    assert conda["dependencies"][-1]["pip"] == reqs
    pinned = build_model(Doubler(), pip_requirements=["cloudpickle==3.1.3"])[1]
    assert pinned["requirements.txt"].decode().split() == ["cloudpickle==3.1.3"]
    one = build_model(Doubler(), pip_requirements="cloudpickle")[1]  # a string is one line
    assert one["requirements.txt"].decode().split() == ["cloudpickle"]


# ---- models MLflow wrote -----------------------------------------------------------------------


def test_models_saved_by_mlflow_load_here(tmp_path: Path) -> None:
    import mlflow.pyfunc
    import mlflow.sklearn

    X, y = _frame()
    model = sklearn_linear.LogisticRegression(max_iter=500).fit(X, y)
    mlflow.sklearn.save_model(
        model, str(tmp_path / "sk"), input_example=X.head(2), pip_requirements=["scikit-learn"]
    )
    loaded = load_model(tmp_path / "sk")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(InvalidInput, match="missing input column"):
        loaded.predict(X[["age"]])

    class Plus(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.asarray(model_input)[:, 0] + 1

    mlflow.pyfunc.save_model(
        str(tmp_path / "py"),
        python_model=Plus(),
        input_example=np.ones((2, 2)),
        pip_requirements=["numpy"],  # skips MLflow's requirement inference (a subprocess)
    )
    with pytest.raises(UntrustedModel, match="mlflow.pyfunc.model"):
        load_model(tmp_path / "py")
    generic = load_model(tmp_path / "py", trust=True)
    assert generic.flavor == "python_function"
    np.testing.assert_array_equal(generic.predict(np.ones((3, 2))), [2.0, 2.0, 2.0])


# ---- stored as run artifacts -------------------------------------------------------------------


def _store_model(store: Store, files: dict[str, bytes], prefix: str = "models/m") -> str:
    exp = store.create_experiment("models")
    run = store.create_run(exp)
    store.log_artifacts(run.id, [(f"{prefix}/{k}", v, None) for k, v in files.items()])
    return run.id


def test_loading_from_run_artifacts(store: Store) -> None:
    X, y = _frame()
    model = sklearn_linear.LogisticRegression(max_iter=500).fit(X, y)
    _, files = build_model(model, input_example=X.head(2))
    run_id = _store_model(store, files)
    where = resolve(store, f"runs:/{run_id}/models/m")
    assert where == ModelLocation(run_id, "models/m")
    run_files = RunFiles(store, run_id, where.path)
    assert sorted(run_files.names()) == sorted(files)
    np.testing.assert_array_equal(load_model(run_files).predict(X), model.predict(X))
    with pytest.raises(NotFound, match="no model at 'models/other'"):
        resolve(store, f"runs:/{run_id}/models/other")
    with pytest.raises(InvalidInput, match="runs:/RUN_ID/PATH"):
        resolve(store, f"runs:/{run_id}")
    with pytest.raises(InvalidInput, match="unsupported model URI scheme 's3:'"):
        resolve(store, "s3://bucket/model")
    with pytest.raises(InvalidInput, match="'..'"):
        resolve(store, f"runs:/{run_id}/../m")
    with pytest.raises(NotFound):
        resolve(store, f"runs:/{'0' * 32}/models/m")


def test_mlflow_logged_model_in_its_run_is_found_by_name_and_id(store: Store) -> None:
    """The layout the MLflow adapter writes (server/mlflow/logged_models.py): a logged-model
    entity created with a run keeps its files under the run's ``models/<model_id>``."""
    X, y = _frame()
    model = sklearn_linear.LinearRegression().fit(X, y)
    _, files = build_model(model)
    exp = store.create_experiment("models")
    run = store.create_run(exp)
    model_id = store.create_logged_model(exp, "model", source_run_id=run.id).model_id
    store.log_artifacts(run.id, [(f"models/{model_id}/{k}", v, None) for k, v in files.items()])
    store.set_tag(run.id, "mm.mlflow.models", json.dumps({model_id: "model"}))
    assert in_run(store, run.id, "model") == ModelLocation(run.id, f"models/{model_id}")
    assert resolve(store, f"models:/{model_id}") == ModelLocation(run.id, f"models/{model_id}")
    with pytest.raises(NotFound, match="m-" + "cd" * 16):
        resolve(store, "models:/m-" + "cd" * 16)


def test_registry_uris(store: Store) -> None:
    X, y = _frame()
    _, files = build_model(sklearn_linear.LinearRegression().fit(X, y))
    run_id = _store_model(store, files)
    store.create_registered_model("scorer", actor="alice")
    store.create_model_version("scorer", f"runs:/{run_id}/models/m", actor="alice")
    store.create_model_version("scorer", f"runs:/{run_id}/models/m", actor="alice")
    store.set_registered_model_alias("scorer", "champion", 1, actor="alice")
    here = ModelLocation(run_id, "models/m")
    assert resolve(store, "models:/scorer/1") == here
    assert resolve(store, "models:/scorer@champion") == here
    assert resolve(store, "models:/scorer/latest") == here
    with pytest.raises(MMError):
        resolve(store, "models:/scorer/9")
    with pytest.raises(MMError, match="alias"):
        resolve(store, "models:/scorer@nobody")
    with pytest.raises(InvalidInput, match="must be a number"):
        resolve(store, "models:/scorer/one")
    for malformed in ("models:/scorer", "models:/@champion", "models:/scorer@"):
        with pytest.raises(InvalidInput, match="models:/NAME"):
            resolve(store, malformed)
    with pytest.raises(NotFound):
        resolve(store, "models:/absent/1")


def test_local_files_refuse_escaping_paths(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path)
    with pytest.raises(InvalidInput, match="'..'"):
        files.read("../etc/passwd")


def test_skops_archive_is_a_plain_zip(tmp_path: Path) -> None:
    X, y = _frame()
    save_model(sklearn_linear.LinearRegression().fit(X, y), tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m" / "model.skops") as z:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
        assert "schema.json" in z.namelist()
