"""Saving a model as an MLflow model directory, and loading one (ours or MLflow's) back.

``save_model`` writes ``MLmodel`` (the native flavor plus ``python_function``), the model
file(s), the environment files and the input example into a directory; nothing is half-written:
every check (flavor, serialization, signature, example) runs before the directory is touched.
``load_model`` reads any :class:`~.files.ModelFiles` and returns a :class:`LoadedModel` whose
``predict`` enforces the signature.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ...errors import InvalidInput, MissingDependency, NotFound, UntrustedModel
from . import environment as env
from . import flavors as fl
from .files import LocalFiles, ModelFiles, keep_alive
from .mlmodel import MLMODEL, PYFUNC, MLModel, example_files
from .signature import Signature, infer_schema, infer_signature

_log = logging.getLogger(__name__)

#: MLmodel ``metadata`` key saying loading runs code from the files (informational: the loader
#: decides from the serialization format, never from this claim)
TRUST_KEY = "mm.requires_trust"


def build_model(
    model: Any,
    *,
    input_example: Any = None,
    signature: Any = None,
    serialization: str | None = None,
    flavor: str | None = None,
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] = (),
    run_id: str | None = None,
    artifact_path: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[MLModel, dict[str, bytes]]:
    """The MLmodel and every file of the saved model, in memory, all checks done."""
    if model is None:
        raise InvalidInput("model must not be None")
    kind = fl.choose_flavor(model, flavor)
    if serialization is not None and kind != fl.SKLEARN:
        raise InvalidInput(f"serialization= applies to scikit-learn models only, not {kind}")
    saved = fl.SAVERS[kind](model, serialization=serialization)

    sig: Signature | None = None
    files: dict[str, bytes] = dict(saved.files)
    info = None
    if signature is not None and signature is not False:
        sig = Signature.coerce(signature)
    if input_example is not None:
        example, info = example_files(input_example)
        files.update(example)
        if sig is None and signature is not False:
            sig = infer_signature(input_example)
            outputs = _output_schema(model, kind, saved, input_example)
            if outputs is not None:
                sig = Signature(inputs=sig.inputs, outputs=outputs)

    if isinstance(pip_requirements, str):  # one line given as a string, not its characters
        pip_requirements = [pip_requirements]
    if isinstance(extra_pip_requirements, str):
        extra_pip_requirements = [extra_pip_requirements]
    reqs = list(pip_requirements) if pip_requirements is not None else None
    req_lines = (
        env.requirements([], reqs)
        if reqs is not None
        else env.requirements(saved.requirements, extra_pip_requirements)
    )
    files.update(env.environment_files(req_lines))
    pyfunc = {
        **saved.pyfunc,
        "env": {"conda": env.CONDA_ENV, "virtualenv": env.PYTHON_ENV},
        "python_version": env.python_version(),
    }
    meta = dict(metadata or {})
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"metadata must be plain JSON-like values: {exc}") from None
    meta[TRUST_KEY] = saved.requires_trust
    from ... import __version__

    meta["mm.version"] = __version__
    mlmodel = MLModel(
        flavors={PYFUNC: pyfunc, saved.flavor: saved.conf},
        signature=sig,
        run_id=run_id,
        artifact_path=artifact_path,
        saved_input_example_info=info,
        metadata=meta,
    )
    mlmodel.extra["model_size_bytes"] = sum(len(b) for b in files.values())
    files[MLMODEL] = mlmodel.to_yaml().encode()
    return mlmodel, files


def _output_schema(model: Any, kind: str, saved: fl.Saved, example: Any) -> list[Any] | None:
    """The schema of the model's output on its example; None when it cannot score it (the
    output schema is optional, and a model may need more than the example gives)."""
    try:
        output = fl.predictor(kind, model, {**saved.pyfunc, **saved.conf})(example)
        return infer_schema(output)
    except Exception:
        _log.debug("the model could not score its input example", exc_info=True)
        return None


def save_model(model: Any, path: str | os.PathLike[str], **kwargs: Any) -> MLModel:
    """Write ``model`` as an MLflow model directory at ``path`` (which must not exist or be
    empty); keyword arguments as :func:`build_model`."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"{str(target)!r} already exists and is not an empty directory")
    mlmodel, files = build_model(model, **kwargs)
    for rel, data in files.items():
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return mlmodel


# ---- loading -----------------------------------------------------------------------------------


class LoadedModel:
    """A model ready to score: ``predict(data)`` checks ``data`` against the signature first.

    ``native`` is the model object itself (the estimator, the torch module, your object) or,
    for flavors loaded through MLflow, MLflow's ``PyFuncModel``.
    """

    def __init__(
        self,
        mlmodel: MLModel,
        flavor: str,
        native: Any,
        predict_fn: Callable[..., Any],
        source: str,
    ) -> None:
        self.metadata = mlmodel
        self.flavor = flavor
        self.native = native
        self.source = source
        self._predict = predict_fn

    @property
    def signature(self) -> Signature | None:
        return self.metadata.signature

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        sig = self.signature
        if sig is not None:
            data = sig.enforce(data)
        if params:
            return self._predict(data, params=dict(params))
        return self._predict(data)

    def __repr__(self) -> str:
        return f"<LoadedModel {self.flavor} from {self.source}>"


def read_mlmodel(files: ModelFiles) -> MLModel:
    try:
        text = files.read(MLMODEL)
    except NotFound:
        raise NotFound(f"no MLmodel file at {files.where}: it is not a saved model") from None
    return MLModel.from_yaml(text, where=f"{files.where}/MLmodel")


def load_model(source: ModelFiles | str | os.PathLike[str], trust: bool = False) -> LoadedModel:
    """Load a saved model. Flavors we know are read natively; any other MLflow flavor goes
    through ``mlflow.pyfunc`` (installed, and ``trust=True``, since its loaders unpickle)."""
    files = source if isinstance(source, ModelFiles) else _local(source)
    mlmodel = read_mlmodel(files)
    for kind in (fl.SKLEARN, fl.PYTHON, fl.PYTORCH):
        conf = mlmodel.flavors.get(kind)
        if conf is None:
            continue
        if (
            kind == fl.PYTORCH
            and f"{conf.get('model_data') or 'data'}/model.pth" not in files.names()
        ):
            break  # MLflow's pt2 export: MLflow's loader below
        native = fl.LOADERS[kind](files, conf, trust)
        predict_conf = {"predict_fn": (mlmodel.pyfunc or {}).get("predict_fn"), **conf}
        return LoadedModel(
            mlmodel, kind, native, fl.predictor(kind, native, predict_conf), files.where
        )
    return _load_with_mlflow(files, mlmodel, trust)


def _local(path: str | os.PathLike[str]) -> LocalFiles:
    p = Path(path)
    if not p.is_dir():
        raise NotFound(f"no model directory at {str(p)!r}")
    return LocalFiles(p)


def _load_with_mlflow(files: ModelFiles, mlmodel: MLModel, trust: bool) -> LoadedModel:
    pyfunc = mlmodel.pyfunc
    flavors = sorted(k for k in mlmodel.flavors if k != PYFUNC)
    if pyfunc is None:
        raise InvalidInput(
            f"the model at {files.where} has no python_function flavor (flavors: {flavors}); "
            "it cannot be scored generically"
        )
    if not trust:
        raise UntrustedModel(
            f"the model at {files.where} ({', '.join(flavors) or 'python_function'}) is loaded "
            f"by MLflow's {pyfunc.get('loader_module')!r}, which may unpickle code from its "
            "files. Pass trust=True if you trust where the model came from"
        )
    try:
        import mlflow.pyfunc
    except ImportError:
        raise MissingDependency(
            f"the model at {files.where} needs MLflow's {pyfunc.get('loader_module')!r} loader: "
            "pip install mlflow"
        ) from None
    model = mlflow.pyfunc.load_model(files.local_dir())
    keep_alive(model, files)
    kind = flavors[0] if flavors else PYFUNC
    return LoadedModel(mlmodel, kind, model, model.predict, files.where)
