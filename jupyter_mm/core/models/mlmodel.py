"""The ``MLmodel`` file (MLflow's model descriptor, YAML) and the input example beside it.

Only the keys MLflow reads are written, with MLflow's spellings, so ``mlflow.pyfunc.load_model``
and ``mlflow.models.Model.load`` accept our models and we accept theirs; unknown keys from MLflow
(or from a newer MLflow) are kept in :attr:`MLModel.extra` and written back unchanged.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput
from .signature import Signature

MLMODEL = "MLmodel"
PYFUNC = "python_function"
INPUT_EXAMPLE = "input_example.json"
SERVING_INPUT_EXAMPLE = "serving_input_example.json"

_KNOWN = (
    "artifact_path",
    "flavors",
    "model_uuid",
    "run_id",
    "signature",
    "saved_input_example_info",
    "utc_time_created",
    "metadata",
)


@dataclass
class MLModel:
    flavors: dict[str, dict[str, Any]]
    signature: Signature | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    )
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pyfunc(self) -> dict[str, Any] | None:
        return self.flavors.get(PYFUNC)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            {
                "artifact_path": self.artifact_path,
                "flavors": self.flavors,
                "model_uuid": self.model_uuid,
                "run_id": self.run_id,
                "utc_time_created": self.utc_time_created,
            }
        )
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.metadata:
            out["metadata"] = self.metadata
        return out

    def to_yaml(self) -> str:
        import yaml

        return str(yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True))

    @classmethod
    def from_yaml(cls, text: str | bytes, where: str = "MLmodel") -> MLModel:
        """Parse an MLmodel file; InvalidInput when it is not one (never a YAML traceback)."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{where} is not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
            raise InvalidInput(f"{where} is not an MLmodel file: it has no 'flavors' mapping")
        flavors = data["flavors"]
        if not all(isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items()):
            raise InvalidInput(f"{where}: every flavor must be a mapping of settings")
        sig = data.get("signature")
        return cls(
            flavors=flavors,
            signature=Signature.from_dict(sig) if isinstance(sig, dict) else None,
            run_id=data.get("run_id"),
            artifact_path=data.get("artifact_path"),
            model_uuid=str(data.get("model_uuid") or ""),
            utc_time_created=str(data.get("utc_time_created") or ""),
            saved_input_example_info=data.get("saved_input_example_info"),
            metadata=data.get("metadata") if isinstance(data.get("metadata"), dict) else None,
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )


def example_files(example: Any) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``input_example.json`` and ``serving_input_example.json`` (a ready ``/invocations``
    body) for ``example``, in MLflow's layout, plus the ``saved_input_example_info`` entry."""
    import numpy as np
    import pandas as pd

    if isinstance(example, pd.Series):
        example = example.to_frame()
    if isinstance(example, (list, tuple)) and example and all(isinstance(r, dict) for r in example):
        example = pd.DataFrame(list(example))
    if isinstance(example, dict) and not all(isinstance(v, np.ndarray) for v in example.values()):
        from .signature import _frame_from_mapping

        example = _frame_from_mapping(example)
    if isinstance(example, (list, tuple)):
        example = np.asarray(example)
    if isinstance(example, pd.DataFrame):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        body = {"columns": split["columns"], "data": split["data"]}
        info = {"type": "dataframe", "pandas_orient": "split"}
        serving: Any = {"dataframe_split": body}
    elif isinstance(example, np.ndarray):
        body = example.tolist()
        info = {"type": "ndarray"}
        serving = {"inputs": body}
    elif isinstance(example, dict):
        body = {str(k): v.tolist() for k, v in example.items()}
        info = {"type": "ndarray"}
        serving = {"inputs": body}
    else:
        raise InvalidInput(
            f"input_example must be a DataFrame, a numpy array or a dict; got {type(example).__name__}"
        )
    info.update(artifact_path=INPUT_EXAMPLE, serving_input_path=SERVING_INPUT_EXAMPLE)
    files = {
        INPUT_EXAMPLE: json.dumps(body).encode(),
        SERVING_INPUT_EXAMPLE: json.dumps(serving, indent=2).encode(),
    }
    return files, info
