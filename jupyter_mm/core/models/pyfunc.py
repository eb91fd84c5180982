"""MLflow's ``loader_module`` for flavors MLflow has no loader of its own for (``mm_python``).

``mlflow.pyfunc.load_model(dir)`` imports this module and calls ``_load_pyfunc(dir)``. It is kept
free of heavy imports so MLflow's loader stays quick. Trust: MLflow loads its own cloudpickled
models unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` is false, and so do we here: whoever calls
``mlflow.pyfunc.load_model`` asked MLflow to unpickle. ``mm.load_model`` asks for ``trust=True``.
"""

from __future__ import annotations

import os
from typing import Any

from ...errors import UntrustedModel


def _mlflow_allows_pickle() -> bool:
    value = os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true").strip().lower()
    return value not in ("false", "0", "no")


class _PyfuncWrapper:
    """What MLflow's ``PyFuncModel`` calls: ``predict(data, params=None)``."""

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.loaded._predict(data)  # MLflow has already enforced the signature

    def get_raw_model(self) -> Any:
        return self.loaded.native


def _load_pyfunc(path: str, model_config: Any = None) -> _PyfuncWrapper:
    from .files import LocalFiles
    from .format import load_model

    root = path if os.path.isdir(path) else os.path.dirname(path)
    if not _mlflow_allows_pickle():
        raise UntrustedModel(
            f"the model at {root} is a cloudpickled Python object and "
            "MLFLOW_ALLOW_PICKLE_DESERIALIZATION is false"
        )
    return _PyfuncWrapper(load_model(LocalFiles(root), trust=True))
