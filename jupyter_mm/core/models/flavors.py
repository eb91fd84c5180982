"""Model flavors: how each kind of model is written and read back.

* ``sklearn``: MLflow's own sklearn flavor layout. Saved with **skops** by default (a format
  that rebuilds objects without unpickling); ``serialization="cloudpickle"`` or ``"pickle"``
  only on request. The pyfunc loader is ``mlflow.sklearn``, so a plain MLflow install (with
  skops) loads the model. We load skops files ourselves, auto-trusting only types from the
  ``sklearn`` namespace (skops >= 0.15 no longer trusts e.g. ``sklearn.tree._tree.Tree``), never
  the allow-list the file itself claims.
* ``mm_python``: any object with ``predict``, cloudpickled. Marked as requiring trust: loading
  it runs code from the file, so ``trust=True`` is required.
* ``pytorch``: MLflow's pytorch flavor layout (``data/model.pth`` saved with ``torch.save`` and
  cloudpickle, ``data/pickle_module_info.txt``), loader ``mlflow.pytorch``. ``torch`` is
  imported only when a torch model is saved or loaded. Loading unpickles: trust required.

Everything else MLflow can write (xgboost, pyfunc ``PythonModel``, pt2 exports...) is loaded by
MLflow's own pyfunc loader when ``mlflow`` is installed and the caller trusts the model.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput, MissingDependency, UntrustedModel
from . import environment as env
from .files import ModelFiles

SKLEARN = "sklearn"
PYTHON = "mm_python"
PYTORCH = "pytorch"
SERIALIZATIONS = ("skops", "cloudpickle", "pickle")
#: the pyfunc loader for flavors MLflow has no loader for (must be importable where MLflow loads)
MM_LOADER = "jupyter_mm.core.models.pyfunc"


@dataclass
class Saved:
    """What a flavor wrote: files, its MLmodel sections and the distributions it needs."""

    flavor: str
    files: dict[str, bytes]
    conf: dict[str, Any]
    pyfunc: dict[str, Any]
    requirements: list[str]
    requires_trust: bool
    model_file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _require(module: str, why: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        dist = {"sklearn": "scikit-learn"}.get(module, module)
        raise MissingDependency(
            f"{why} needs {module!r}, which is not installed: pip install {dist}"
        ) from None


# ---- which flavor ------------------------------------------------------------------------------


def is_sklearn(model: Any) -> bool:
    base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
    return base is not None and isinstance(model, base)


def is_torch(model: Any) -> bool:
    torch = sys.modules.get("torch")  # a torch model exists only if torch was imported
    module = getattr(getattr(torch, "nn", None), "Module", None)
    return module is not None and isinstance(model, module)


def choose_flavor(model: Any, flavor: str | None = None) -> str:
    if flavor is not None:
        if flavor not in (SKLEARN, PYTHON, PYTORCH):
            raise InvalidInput(
                f"unknown flavor {flavor!r}; use 'sklearn', 'pytorch' or 'mm_python'"
            )
        return flavor
    if is_sklearn(model):
        return SKLEARN
    if is_torch(model):
        return PYTORCH
    if callable(getattr(model, "predict", None)):
        return PYTHON
    raise InvalidInput(
        f"cannot log a {type(model).__module__}.{type(model).__qualname__}: it is not a "
        "scikit-learn estimator or a torch module and has no predict method"
    )


# ---- scikit-learn ------------------------------------------------------------------------------


def _auto_trusted(type_name: str) -> bool:
    return type_name.startswith("sklearn.")


def canonical_skops(data: bytes) -> bytes:
    """The same skops archive, byte-for-byte reproducible: skops names arrays and memo ids
    after ``id()`` and stamps zip entries with the time, so two saves of one model would
    otherwise never share a blob. Ids are renumbered in document order, array files renamed to
    match, zip entries sorted and dated 1980-01-01."""
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(src.read("schema.json"))
    ids: dict[Any, int] = {}
    names: dict[str, str] = {}
    members_in = set(src.namelist())

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "__id__" in node:
                node["__id__"] = ids.setdefault(node["__id__"], len(ids))
            f = node.get("file")
            if isinstance(f, str) and f in members_in:
                ext = f.rsplit(".", 1)[1] if "." in f else "bin"
                node["file"] = names.setdefault(f, f"{len(names)}.{ext}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    out = io.BytesIO()
    members = {"schema.json": json.dumps(schema, indent=2, sort_keys=True).encode()}
    for old, new in names.items():
        members[new] = src.read(old)
    for other in members_in - names.keys() - {"schema.json"}:  # unreferenced: kept as they are
        members.setdefault(other, src.read(other))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            dst.writestr(info, members[name])
    return out.getvalue()


def save_sklearn(model: Any, serialization: str | None) -> Saved:
    import sklearn

    fmt = serialization or "skops"
    if fmt not in SERIALIZATIONS:
        raise InvalidInput(f"unknown serialization {fmt!r}; use one of {list(SERIALIZATIONS)}")
    trusted: list[str] | None = None
    if fmt == "skops":
        sio = _require("skops.io", "saving a scikit-learn model with skops")
        try:
            data = canonical_skops(sio.dumps(model))
        except Exception as exc:
            raise InvalidInput(
                f"skops cannot save this model ({type(exc).__name__}: {exc}); pass "
                "serialization='cloudpickle' to pickle it instead (loading then needs trust=True)"
            ) from None
        untrusted = list(sio.get_untrusted_types(data=data))
        foreign = [t for t in untrusted if not _auto_trusted(t)]
        if foreign:
            raise InvalidInput(
                f"the model contains types skops does not trust and that are not part of "
                f"scikit-learn: {foreign}. Pass serialization='cloudpickle' to pickle it "
                "instead (loading then needs trust=True)"
            )
        try:
            sio.loads(data, trusted=untrusted)  # what we write must load back
        except Exception as exc:
            raise InvalidInput(
                f"skops cannot load this model back ({type(exc).__name__}: {exc}); pass "
                "serialization='cloudpickle'"
            ) from None
        trusted = untrusted or None  # MLflow's sklearn loader passes this list to skops
        name, base = "model.skops", ["skops"]
    elif fmt == "cloudpickle":
        import cloudpickle

        data, name, base = cloudpickle.dumps(model), "model.pkl", ["cloudpickle"]
    else:
        import pickle

        data, name, base = pickle.dumps(model, protocol=4), "model.pkl", []
    conf = {
        "pickled_model": name,
        "serialization_format": fmt,
        "sklearn_version": sklearn.__version__,
        "skops_trusted_types": trusted,
        "code": None,
    }
    pyfunc = {"loader_module": "mlflow.sklearn", "model_path": name, "predict_fn": "predict"}
    reqs = ["mlflow", "scikit-learn", "numpy", "scipy", "pandas", *base]
    return Saved(SKLEARN, {name: data}, conf, pyfunc, reqs, fmt != "skops", name)


def load_sklearn(files: ModelFiles, conf: dict[str, Any], trust: bool) -> Any:
    name = conf.get("pickled_model") or "model.pkl"
    fmt = conf.get("serialization_format") or "pickle"
    data = files.read(name)
    if fmt == "skops":
        sio = _require("skops.io", "loading a skops model")
        try:
            untrusted = list(sio.get_untrusted_types(data=data))
        except Exception as exc:
            raise InvalidInput(f"{files.where}/{name} is not a skops file: {exc}") from None
        foreign = [t for t in untrusted if not _auto_trusted(t)]
        if foreign and not trust:
            raise UntrustedModel(
                f"the model at {files.where} contains types outside scikit-learn that skops "
                f"does not trust: {foreign}. Loading could run their code; pass trust=True "
                "if you trust where the model came from"
            )
        return sio.loads(data, trusted=untrusted)
    if fmt not in ("pickle", "cloudpickle"):
        raise InvalidInput(f"unknown sklearn serialization_format {fmt!r} in {files.where}")
    _check_trust(trust, files.where, f"is {fmt}d")
    import pickle

    return pickle.loads(data)  # cloudpickle output is read by the standard unpickler


def _check_trust(trust: bool, where: str, what: str) -> None:
    if not trust:
        raise UntrustedModel(
            f"the model at {where} {what}: loading it runs code from its files. Pass "
            "trust=True if you trust where the model came from"
        )


# ---- any object with predict (cloudpickle) -------------------------------------------------------


def save_python(model: Any, predict_fn: str = "predict") -> Saved:
    import cloudpickle

    if not callable(getattr(model, predict_fn, None)):
        raise InvalidInput(f"the model has no callable {predict_fn!r} method")
    try:
        data = cloudpickle.dumps(model)
    except Exception as exc:
        raise InvalidInput(
            f"cloudpickle cannot serialize the model: {type(exc).__name__}: {exc}"
        ) from None
    name = "model.cloudpickle"
    conf = {
        "model_file": name,
        "serialization_format": "cloudpickle",
        "cloudpickle_version": env.installed_version("cloudpickle"),
        "predict_fn": predict_fn,
        "requires_trust": True,
    }
    pyfunc = {"loader_module": MM_LOADER, "predict_fn": "predict"}
    reqs = ["jupyter-mm", "cloudpickle", *env.distributions_of(model)]
    return Saved(PYTHON, {name: data}, conf, pyfunc, reqs, True, name)


def load_python(files: ModelFiles, conf: dict[str, Any], trust: bool) -> Any:
    _check_trust(trust, files.where, "is a cloudpickled Python object")
    import pickle

    return pickle.loads(files.read(conf.get("model_file") or "model.cloudpickle"))


# ---- PyTorch -----------------------------------------------------------------------------------


def save_pytorch(model: Any) -> Saved:
    torch = _require("torch", "saving a PyTorch model")
    import cloudpickle

    buf = io.BytesIO()
    if isinstance(model, torch.jit.ScriptModule):
        torch.jit.save(model, buf)
    else:
        torch.save(model, buf, pickle_module=cloudpickle)
    pickle_module = "mlflow.pytorch.pickle_module"  # MLflow's name for cloudpickle's API
    files = {
        "data/model.pth": buf.getvalue(),
        "data/pickle_module_info.txt": pickle_module.encode(),
    }
    conf = {"model_data": "data", "pytorch_version": str(torch.__version__), "code": None}
    pyfunc = {
        "loader_module": "mlflow.pytorch",
        "data": "data",
        "pickle_module_name": pickle_module,
        "model_config": {"device": None},
    }
    reqs = ["mlflow", "torch", "cloudpickle", "numpy", *env.distributions_of(model)]
    return Saved(PYTORCH, files, conf, pyfunc, reqs, True, "data/model.pth")


def load_pytorch(files: ModelFiles, conf: dict[str, Any], trust: bool) -> Any:
    data_dir = conf.get("model_data") or "data"
    names = files.names()
    if f"{data_dir}/model.pth" not in names:
        raise InvalidInput(
            f"the PyTorch model at {files.where} is not a pickled model.pth (MLflow's pt2 export?); "
            "jupyter-mm loads it through MLflow: install mlflow and pass trust=True"
        )
    _check_trust(trust, files.where, "is a pickled PyTorch module")
    torch = _require("torch", "loading a PyTorch model")
    import pickle

    return torch.load(
        io.BytesIO(files.read(f"{data_dir}/model.pth")),
        map_location="cpu",
        pickle_module=pickle,
        weights_only=False,
    )


class TorchPredictor:
    """``predict`` for a torch module: numpy / DataFrame in, numpy out, in eval mode."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def predict(self, data: Any) -> Any:
        import numpy as np
        import torch

        if hasattr(data, "to_numpy"):
            data = data.to_numpy()
        first = next(iter(self.module.parameters()), None)
        want = first.dtype if first is not None and first.is_floating_point() else None

        def tensor(value: Any) -> Any:
            t = torch.from_numpy(np.asarray(value))
            # float64 numpy data into a float32 network: the usual case, converted here
            return t.to(want) if want is not None and t.is_floating_point() else t

        self.module.eval()
        with torch.no_grad():
            if isinstance(data, dict):
                out = self.module(**{k: tensor(v) for k, v in data.items()})
            else:
                out = self.module(tensor(data))
        return out.detach().cpu().numpy() if hasattr(out, "detach") else out


# ---- dispatch ----------------------------------------------------------------------------------

SAVERS: dict[str, Callable[..., Saved]] = {
    SKLEARN: save_sklearn,
    PYTHON: lambda model, serialization=None: save_python(model),
    PYTORCH: lambda model, serialization=None: save_pytorch(model),
}
LOADERS: dict[str, Callable[[ModelFiles, dict[str, Any], bool], Any]] = {
    SKLEARN: load_sklearn,
    PYTHON: load_python,
    PYTORCH: load_pytorch,
}


def predictor(flavor: str, native: Any, conf: dict[str, Any]) -> Callable[..., Any]:
    """The callable that scores data for a natively loaded model."""
    if flavor == PYTORCH:
        return TorchPredictor(native).predict
    method = conf.get("predict_fn") or "predict"
    fn = getattr(native, method, None)
    if not callable(fn):
        raise InvalidInput(f"the loaded {flavor} model has no predict method")
    if flavor == SKLEARN:
        from .forests import forest_predictor

        return forest_predictor(native, method, fn)
    return fn
