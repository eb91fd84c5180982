"""``mm.log_model`` and ``mm.load_model``: models as run artifacts in MLflow's model format.

A model logged as ``name`` becomes the run's artifacts ``models/<name>/…`` (content-addressed:
the same model file logged twice, by any run, is one blob) and is listed in the run tag
``mm.models``, so the registry can point a version at ``runs:/RUN_ID/models/<name>``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.limits import MAX_TAG_VALUE_LENGTH
from ..core.models.format import LoadedModel, build_model
from ..core.models.format import load_model as _load
from ..core.models.signature import Signature
from ..core.models.uris import MODELS_TAG, ModelLocation, resolve
from ..errors import AlreadyExists, InvalidInput, NotFound
from .backend import get_store

_NAME = re.compile(r"^[^/:.%\"'\\\s][^/:.%\"'\\]{0,254}$")


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` stored: where (``model_uri``), how (``flavor``) and what it expects."""

    name: str
    run_id: str
    artifact_path: str
    flavor: str
    signature: Signature | None
    requires_trust: bool
    model_uuid: str
    files: tuple[str, ...]

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


def _check_name(name: Any) -> str:
    if (
        not isinstance(name, str)
        or not _NAME.match(name)
        or name != name.strip()
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise InvalidInput(
            f"model name {name!r} is invalid: use 1-255 characters without / : . % \" ' "
            "or surrounding spaces"
        )
    return name


def log_model(
    model: Any,
    name: str,
    input_example: Any = None,
    signature: Any = None,
    *,
    serialization: str | None = None,
    flavor: str | None = None,
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> ModelInfo:
    """Save ``model`` with the active run as ``models/<name>``, in MLflow's model format.

    Flavor by type: scikit-learn estimators (skops; ``serialization="cloudpickle"`` or
    ``"pickle"`` to opt into pickling), torch modules, or any object with ``predict``
    (cloudpickled; loading it needs ``trust=True``). The signature is inferred from
    ``input_example`` unless given (``signature=False``: none). Requirements are the installed
    versions of what the flavor needs, plus ``extra_pip_requirements``.
    """
    from .tracking import active_run

    run = active_run()
    if run is None:
        raise InvalidInput(
            "mm.log_model needs an active run: call it inside `with mm.start_run():` (or a "
            "%%track cell)"
        )
    name = _check_name(name)
    prefix = f"models/{name}"
    store = run.store
    try:
        store.artifact_info(run.id, f"{prefix}/MLmodel")
    except NotFound:
        pass
    else:
        raise AlreadyExists(f"run {run.id} already has a model named {name!r}; pick another name")
    mlmodel, files = build_model(
        model,
        input_example=input_example,
        signature=signature,
        serialization=serialization,
        flavor=flavor,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        run_id=run.id,
        artifact_path=prefix,
        metadata=metadata,
    )
    kind = next(k for k in mlmodel.flavors if k != "python_function")
    index = _models_tag(store.get_run(run.id).tags.get(MODELS_TAG))
    index[name] = {"artifact_path": prefix, "flavor": kind}
    tag = json.dumps(index, sort_keys=True)
    if len(tag) > MAX_TAG_VALUE_LENGTH:  # checked before anything is written
        raise InvalidInput(
            f"run {run.id} lists too many models to add {name!r} to its {MODELS_TAG} tag; "
            "log further models in another run"
        )
    # MLmodel last: a remote store uploads file by file, and a model without its MLmodel is
    # neither loadable nor "already logged", so an interrupted upload can simply be retried
    order = sorted(files, key=lambda rel: (rel == "MLmodel", rel))
    store.log_artifacts(run.id, [(f"{prefix}/{rel}", files[rel], None) for rel in order])
    run.set_tag(MODELS_TAG, tag)
    return ModelInfo(
        name=name,
        run_id=run.id,
        artifact_path=prefix,
        flavor=kind,
        signature=mlmodel.signature,
        requires_trust=bool((mlmodel.metadata or {}).get("mm.requires_trust")),
        model_uuid=mlmodel.model_uuid,
        files=tuple(sorted(files)),
    )


def _models_tag(value: str | None) -> dict[str, Any]:
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def logged_models(run_id: Any) -> dict[str, Any]:
    """The models ``mm.log_model`` stored with a run: ``{name: {"artifact_path", "flavor"}}``."""
    run = get_store().get_run(getattr(run_id, "id", run_id))
    return _models_tag(run.tags.get(MODELS_TAG))


def model_location(uri: str | os.PathLike[str]) -> ModelLocation:
    """Where ``uri`` (``runs:/``, ``models:/`` or a local directory) points."""
    text = os.fspath(uri)
    if os.path.isdir(text):
        return ModelLocation(None, text)
    if text.startswith("file://") and os.path.isdir(text[len("file://") :]):
        return ModelLocation(None, text[len("file://") :])
    return resolve(get_store(), text)


def load_model(uri: str | os.PathLike[str], *, trust: bool = False) -> LoadedModel:
    """Load a model from ``runs:/RUN_ID/PATH``, ``models:/NAME/VERSION``,
    ``models:/NAME@ALIAS`` or a local directory; ``predict`` checks inputs against the
    signature. Models whose loading runs code from their files (cloudpickle, pickle, torch)
    need ``trust=True``."""
    from ..core.models.files import LocalFiles, RunFiles

    where = model_location(uri)
    if where.run_id is None:
        return _load(LocalFiles(where.path), trust=trust)
    return _load(RunFiles(get_store(), where.run_id, where.path), trust=trust)


def download_model(uri: str | os.PathLike[str], dest: str | os.PathLike[str]) -> str:
    """Copy the model at ``uri`` into the directory ``dest`` (MLmodel at its top, ready for
    ``mlflow.pyfunc.load_model(dest)`` or ``mlflow models serve``); returns ``dest``."""
    import shutil
    from pathlib import Path

    from ..core.models.files import LocalFiles, ModelFiles, RunFiles

    where = model_location(uri)
    files: ModelFiles = (
        LocalFiles(where.path)
        if where.run_id is None
        else RunFiles(get_store(), where.run_id, where.path)
    )
    root = Path(dest)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidInput(f"{str(root)!r} already exists and is not an empty directory")
    if where.run_id is None:
        shutil.copytree(where.path, root, dirs_exist_ok=True)
        return str(root)
    for rel in files.names():
        target = root.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files.read(rel))  # verified against its digest as it is read
    return str(root)
