"""Model signatures in MLflow's format: inferred from an input example, enforced at predict time.

A signature is what ``MLmodel`` stores under ``signature``: ``inputs`` / ``outputs`` / ``params``,
each a JSON string of a list of specs, so a model saved here carries a signature MLflow's own
pyfunc enforces, and a model MLflow saved is checked here the same way. Two kinds of schema:

* **column-based** (from a DataFrame, or a dict of scalars / lists):
  ``[{"type": "double", "name": "a", "required": true}, ...]``;
* **tensor-based** (from a numpy array, or a dict of arrays as named tensors):
  ``[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]``, ``-1``
  meaning "any size" (the batch axis always is).

Enforcement raises :class:`~jupyter_mm.errors.InvalidInput` naming the problem (missing column,
wrong type, wrong shape) and returns the input converted to what the model was fitted on: the
schema's columns in schema order (extra columns dropped) with safe casts applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInput

Spec = dict[str, Any]

#: MLflow column types and the numpy dtype each converts to.
_COLUMN_DTYPES = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
#: Column types an input column of another type may be cast to without losing information.
_SAFE_FROM = {
    "boolean": {"boolean"},
    "integer": {"integer"},
    "long": {"integer", "long"},
    "float": {"float"},
    "double": {"integer", "long", "float", "double"},
    "string": {"string"},
    "binary": {"binary"},
    "datetime": {"datetime"},
}


@dataclass(frozen=True)
class Signature:
    """Input, output and params schemas, each a list of MLflow specs (or None when unknown)."""

    inputs: list[Spec] | None = None
    outputs: list[Spec] | None = None
    params: list[Spec] | None = None

    def to_dict(self) -> dict[str, str | None]:
        """MLmodel's form: each part a JSON string, as MLflow's ``ModelSignature.to_dict``."""
        return {
            "inputs": json.dumps(self.inputs) if self.inputs is not None else None,
            "outputs": json.dumps(self.outputs) if self.outputs is not None else None,
            "params": json.dumps(self.params) if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        return cls(
            inputs=_schema_part(data.get("inputs"), "inputs"),
            outputs=_schema_part(data.get("outputs"), "outputs"),
            params=_schema_part(data.get("params"), "params"),
        )

    @classmethod
    def coerce(cls, value: Any) -> Signature:
        """Accept a Signature, an MLmodel-style dict, or MLflow's ``ModelSignature``."""
        if isinstance(value, Signature):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):  # mlflow.models.ModelSignature, without importing mlflow
            result = to_dict()
            if isinstance(result, Mapping):
                return cls.from_dict(result)
        raise InvalidInput(
            f"signature must be a Signature, a dict with 'inputs'/'outputs', or an MLflow "
            f"ModelSignature; got {type(value).__name__}"
        )

    @property
    def is_tensor(self) -> bool:
        return bool(self.inputs) and all(s.get("type") == "tensor" for s in self.inputs or [])

    def enforce(self, data: Any) -> Any:
        """``data`` checked against (and converted to) the input schema; unchanged without one."""
        if not self.inputs:
            return data
        if self.is_tensor:
            return _enforce_tensors(self.inputs, data)
        return _enforce_columns(self.inputs, data)


def _schema_part(value: Any, what: str) -> list[Spec] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidInput(f"signature {what} is not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
        raise InvalidInput(f"signature {what} must be a list of specs (objects)")
    for spec in value:
        kind = spec.get("type")
        if kind == "tensor":
            ts = spec.get("tensor-spec")
            if not isinstance(ts, dict) or "dtype" not in ts or "shape" not in ts:
                raise InvalidInput(
                    f"signature {what}: a tensor spec needs 'tensor-spec' with dtype and shape"
                )
        elif not isinstance(kind, str):
            raise InvalidInput(f"signature {what}: every spec needs a 'type'")
    return value


# ---- inference ---------------------------------------------------------------------------------


def infer_signature(input_example: Any, output: Any = None) -> Signature:
    """The signature of ``input_example`` (and of the model's ``output`` on it, when given)."""
    return Signature(
        inputs=infer_schema(input_example),
        outputs=infer_schema(output) if output is not None else None,
    )


def infer_schema(data: Any) -> list[Spec]:
    """MLflow's schema for a DataFrame, Series, numpy array, dict or list, as MLflow infers it
    (DataFrame and dict of scalars: columns; arrays and dicts of arrays: tensors)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return [_column_spec(data[c], str(c)) for c in data.columns]
    if isinstance(data, pd.Series):
        spec = _column_spec(data, None)
        return [spec]
    if isinstance(data, np.ndarray):
        return [_tensor_spec(data, None)]
    if isinstance(data, Mapping):
        if not data:
            raise InvalidInput("cannot infer a signature from an empty dict")
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return [_tensor_spec(v, str(k)) for k, v in data.items()]
        if all(_is_scalar(v) for v in data.values()):
            return [_column_spec(pd.Series([v]), str(k)) for k, v in data.items()]
        return infer_schema(_frame_from_mapping(data))
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(r, Mapping) for r in data):
            return infer_schema(pd.DataFrame(list(data)))
        return infer_schema(np.asarray(data))
    if _is_scalar(data):
        raise InvalidInput(
            f"cannot infer a signature from a single {type(data).__name__}: pass a DataFrame, a "
            "numpy array or a dict of columns"
        )
    raise InvalidInput(
        f"cannot infer a signature from {type(data).__name__}: pass a DataFrame, a numpy array "
        "or a dict of columns (or signature=...)"
    )


def _is_scalar(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (bool, int, float, str, bytes, np.generic))


def _frame_from_mapping(data: Mapping[str, Any]) -> Any:
    import pandas as pd

    try:
        return pd.DataFrame(
            {str(k): list(v) if not _is_scalar(v) else [v] for k, v in data.items()}
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot read the dict as columns of equal length: {exc}") from None


def _tensor_spec(array: Any, name: str | None) -> Spec:
    if array.dtype.kind in "OUSV" and array.dtype.kind != "O":
        dtype = (
            "str" if array.dtype.kind == "U" else "bytes" if array.dtype.kind == "S" else "object"
        )
    else:
        dtype = str(array.dtype)
    shape = [-1, *array.shape[1:]] if array.ndim else []
    spec: Spec = {"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}
    return {"name": name, **spec} if name is not None else spec


def column_type(series: Any) -> str:
    """The MLflow column type of a pandas Series (InvalidInput for mixed or unsupported ones)."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        np_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        if np_dtype.itemsize <= 4 and np_dtype.kind == "i" or np_dtype.itemsize <= 2:
            return "integer"
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        np_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        return "float" if np_dtype.itemsize <= 4 else "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    values = series.dropna()
    if len(values) and all(isinstance(v, str) for v in values):
        return "string"
    if len(values) and all(isinstance(v, (bytes, bytearray)) for v in values):
        return "binary"
    if not isinstance(dtype, np.dtype) and pd.api.types.is_string_dtype(dtype):  # all-missing str
        return "string"
    raise InvalidInput(
        f"cannot infer a type for column {series.name!r} (dtype {dtype}); give signature=..."
    )


def _column_spec(series: Any, name: str | None) -> Spec:
    spec: Spec = {"type": column_type(series)}
    if name is not None:
        spec["name"] = name
    spec["required"] = not bool(series.isna().any())  # MLflow: a column with gaps is optional
    return spec


# ---- enforcement -------------------------------------------------------------------------------


def _enforce_columns(specs: Sequence[Spec], data: Any) -> Any:
    import numpy as np
    import pandas as pd

    names = [s.get("name") for s in specs]
    if isinstance(data, pd.Series) and len(specs) == 1:
        data = data.to_frame(names[0] if names[0] is not None else 0)
    if isinstance(data, Mapping):
        data = _frame_from_mapping(data)
    elif isinstance(data, (list, tuple)) and data and all(isinstance(r, Mapping) for r in data):
        data = pd.DataFrame(list(data))
    elif isinstance(data, (np.ndarray, list, tuple)):
        array = np.asarray(data, dtype=object if isinstance(data, (list, tuple)) else None)
        if array.ndim == 1 and len(specs) == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2 or array.shape[1] != len(specs):
            raise InvalidInput(
                f"input has shape {tuple(array.shape)}; the model expects a table of "
                f"{len(specs)} columns {names}"
            )
        data = pd.DataFrame(array, columns=[n if n is not None else i for i, n in enumerate(names)])
        data = data.infer_objects()
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(
            f"the model expects a table with columns {names} (a DataFrame or a dict of "
            f"columns); got {type(data).__name__}"
        )
    if all(n is None for n in names):  # unnamed columns: match by position
        if data.shape[1] != len(specs):
            raise InvalidInput(f"input has {data.shape[1]} columns; the model expects {len(specs)}")
        names = list(data.columns)
    fast = _exact_match(specs, names, data)
    if fast is not None:
        return fast
    required = [n for n, s in zip(names, specs, strict=True) if s.get("required", True)]
    missing = [n for n in required if n not in data.columns]
    if missing:
        raise InvalidInput(f"model is missing input column(s) {missing}; it expects {names}")
    out = {}
    for name, spec in zip(names, specs, strict=True):
        if name not in data.columns:
            continue  # optional and absent
        out[name] = _cast_column(data[name], name, spec)
    return pd.DataFrame(out, index=data.index)


#: Column types whose numpy dtype says it all: a column of exactly this dtype needs no check.
_EXACT_DTYPES = {
    "boolean": "bool", "integer": "int32", "long": "int64", "float": "float32", "double": "float64"
}  # fmt: skip


def _exact_match(specs: Sequence[Spec], names: Sequence[Any], data: Any) -> Any:
    """The schema's columns of ``data`` when every one is there with exactly its type's numpy
    dtype (what the column-by-column check would return, at a fraction of its cost: the
    model server checks every request); None when any column needs the full check."""
    dtypes = data.dtypes
    columns = data.columns
    if columns.has_duplicates:
        return None
    for name, spec in zip(names, specs, strict=True):
        want = _EXACT_DTYPES.get(spec.get("type"))  # type: ignore[arg-type]
        if want is None or name not in columns or dtypes[name] != want:
            return None
    if len(columns) == len(names) and all(a == b for a, b in zip(columns, names, strict=True)):
        return data.copy(deep=False)  # the columns already, in order: a new frame, no take
        # (copy-on-write: writing to either frame later never reaches the other)
    return data[list(names)]


def _cast_column(series: Any, name: Any, spec: Spec) -> Any:
    expected = spec.get("type")
    if expected not in _COLUMN_DTYPES:
        return series  # array / object / map columns are passed through unchecked
    try:
        actual = column_type(series)
    except InvalidInput:
        actual = str(series.dtype)
    if actual == expected:
        return series
    if actual in _SAFE_FROM[expected] and not series.isna().any():
        return series.astype(_COLUMN_DTYPES[expected])
    raise InvalidInput(
        f"input column {name!r} has type {actual}; the model expects {expected}"
        + (" (it has missing values)" if actual in _SAFE_FROM[expected] else "")
    )


def _enforce_tensors(specs: Sequence[Spec], data: Any) -> Any:
    import numpy as np
    import pandas as pd

    named = [s.get("name") for s in specs]
    if len(specs) == 1 and named[0] is None:
        if isinstance(data, pd.DataFrame):
            data = data.to_numpy()
        elif isinstance(data, (list, tuple)):
            data = np.asarray(data)
        if not isinstance(data, np.ndarray):
            raise InvalidInput(f"the model expects a numpy array; got {type(data).__name__}")
        return _cast_tensor(data, specs[0]["tensor-spec"], "input")
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"the model expects a dict of arrays named {named}; got {type(data).__name__}"
        )
    missing = [n for n in named if n not in data]
    if missing:
        raise InvalidInput(f"model is missing input tensor(s) {missing}; it expects {named}")
    return {
        n: _cast_tensor(np.asarray(data[n]), s["tensor-spec"], f"input {n!r}")
        for n, s in zip(named, specs, strict=True)
    }


def _cast_tensor(array: Any, spec: Mapping[str, Any], what: str) -> Any:
    import numpy as np

    shape = list(spec.get("shape") or [])
    if array.ndim != len(shape) or any(
        want != -1 and want != got for want, got in zip(shape, array.shape, strict=False)
    ):
        raise InvalidInput(
            f"{what} has shape {tuple(array.shape)}; the model expects "
            f"{tuple(shape)} (-1: any size)"
        )
    try:
        want = np.dtype(spec["dtype"])
    except TypeError:
        return array  # a dtype numpy does not know (e.g. 'str' in old specs): unchecked
    if array.dtype == want or want.kind == "O":
        return array
    if np.can_cast(array.dtype, want, casting="safe"):
        return array.astype(want)
    raise InvalidInput(f"{what} has dtype {array.dtype}; the model expects {want}")
