"""Request bodies to model inputs and predictions back, for both protocols.

MLflow's scoring protocol (``/invocations``, as ``mlflow/pyfunc/scoring_server`` 3.17 reads it):
a UTF-8 JSON object with exactly one of ``dataframe_split``, ``dataframe_records``,
``instances``, ``inputs`` (plus ``params``), CSV or Parquet; answers ``{"predictions": ...}``,
records-oriented. The Open Inference Protocol v2: ``inputs`` as tensors, one per column (KServe's
tabular convention) or one 2-D tensor for an all-numeric table; answers ``outputs`` tensors.

Everything here raises :class:`ProtocolError` (the request is malformed: status and code
chosen to match MLflow) or :class:`~jupyter_mm.errors.InvalidInput`; the signature check that
follows is the model's own (``ServedModel.enforce``).
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core import json_body
from ..errors import InvalidInput

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = [CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET]
INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# MLflow's own texts (mlflow/pyfunc/scoring_server/__init__.py), so clients matching on them work
REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)


class ProtocolError(Exception):
    """A body the protocol cannot read: 400 ``BAD_REQUEST`` (MLflow's code for these), or 415
    for a content type it does not take (answered as text/plain, as MLflow does)."""

    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


# ---- MLflow scoring protocol ---------------------------------------------------------------------


def check_content_type(content_type: str | None) -> str:
    """The MIME type of an /invocations body; 415 for what MLflow's server refuses."""
    parts = [p.strip() for p in (content_type or "").split(";")]
    mime = parts[0].lower()
    params = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in parts[1:])}
    if params.get("charset", "utf-8").lower() != "utf-8":
        raise ProtocolError("The scoring server only supports UTF-8", 415)
    unexpected = set(params) - {"charset"}
    if unexpected:
        raise ProtocolError(
            f"Unrecognized content type parameters: {', '.join(sorted(unexpected))}.", 415
        )
    if mime not in CONTENT_TYPES:
        raise ProtocolError(
            "This predictor only supports the following content types: Types: "
            f"{CONTENT_TYPES}. Got '{content_type or ''}'.",
            415,
        )
    return mime


def parse_invocation(body: bytes, mime: str, signature: Any) -> tuple[Any, dict[str, Any] | None]:
    """(model input, params) from an /invocations body."""
    if mime == CONTENT_TYPE_CSV:
        return _csv(body, signature), None
    if mime == CONTENT_TYPE_PARQUET:
        try:
            return pd.read_parquet(io.BytesIO(body)), None
        except Exception as e:
            raise ProtocolError(
                "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
                "Parquet Pandas DataFrame produced using the `pandas.DataFrame.to_parquet()` "
                f"method. Error: '{e}'"
            ) from None
    doc = decode_json(body)
    if not isinstance(doc, dict):
        what = "a list" if isinstance(doc, list) else f"unexpected input type '{type(doc)}'"
        raise ProtocolError(f"{REQUIRED_INPUT_FORMAT}. Received {what}.")
    keys = [k for k in INPUT_KEYS if k in doc]
    if len(keys) != 1:
        raise ProtocolError(
            f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: {list(doc)}."
        )
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise ProtocolError("'params' must be a JSON object", 400, "INVALID_PARAMETER_VALUE")
    key = keys[0]
    value = doc[key]
    tensor = signature is not None and signature.is_tensor
    if key == "dataframe_split":
        return _split(value), params
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise InvalidInput("dataframe_records must be a list of objects, one per row")
        return pd.DataFrame.from_records(value), params
    if key == "instances":
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            if tensor:
                return {k: np.asarray([r.get(k) for r in value]) for k in value[0]}, params
            return pd.DataFrame.from_records(value), params
        return _tensorish(value, "instances", tensor), params
    return _tensorish(value, "inputs", tensor), params


def decode_json(body: bytes) -> Any:
    if not body.strip():
        raise ProtocolError(
            "Ensure that input is a valid JSON formatted string. Error: the body is empty"
        )
    try:  # the project's one JSON body reader: depth limit, lone surrogates refused
        return json_body.parse(body)
    except json_body.NotJSON as e:
        raise ProtocolError(
            f"Ensure that input is a valid JSON formatted string. Error: {e}"
        ) from None
    except InvalidInput as e:
        raise ProtocolError(str(e)) from None


def _split(value: Any) -> pd.DataFrame:
    if not isinstance(value, dict) or "data" not in value:
        raise ProtocolError('dataframe_split must be {"columns": [...], "data": [[...], ...]}')
    data, columns = value["data"], value.get("columns")
    if not isinstance(data, list) or (columns is not None and not isinstance(columns, list)):
        raise ProtocolError("dataframe_split: 'data' must be a list of rows, 'columns' a list")
    width = len(columns) if columns is not None else None
    for i, row in enumerate(data):
        if not isinstance(row, list) or (width is not None and len(row) != width):
            raise ProtocolError(
                f"dataframe_split: row {i} has shape "
                f"({len(row) if isinstance(row, list) else 'scalar'},); "
                f"the columns are {columns}"
            )
    try:
        return pd.DataFrame(data, columns=columns, index=value.get("index"))
    except (TypeError, ValueError) as e:
        raise ProtocolError(f"dataframe_split cannot be read as a table: {e}") from None


def _tensorish(value: Any, key: str, tensor: bool) -> Any:
    if isinstance(value, dict):
        if tensor:
            return {k: _array(v, f"{key}[{k!r}]") for k, v in value.items()}
        try:
            return pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in value.items()})
        except ValueError as e:
            raise InvalidInput(f"{key}: the columns are not of one length: {e}") from None
    if isinstance(value, list):
        return _array(value, key) if tensor else value
    raise InvalidInput(f"{key} must be a list (rows) or an object (columns)")


def _array(value: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except ValueError as e:
        raise InvalidInput(f"{what} is not a rectangular array: {e}") from None


def _csv(body: bytes, signature: Any) -> pd.DataFrame:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(
            f"Ensure that input is a valid UTF-8 encoded string. Error: '{e!r}'"
        ) from None
    dtypes = {}
    if signature is not None and signature.inputs and not signature.is_tensor:
        dtypes = {s["name"]: str for s in signature.inputs if s.get("type") == "string"}
    try:
        # index_col=False: rows with one field more than the header would otherwise make the
        # first column the index and shift every value one column left, silently
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), dtype=dtypes or None, index_col=False)
    except Exception as e:
        raise ProtocolError(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` "
            f"method. Error: '{e}'"
        ) from None


def jsonable(predictions: Any) -> Any:
    """MLflow's ``_get_jsonable_obj(..., pandas_orient="records")``."""
    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return pd.DataFrame(predictions).to_dict(orient="records")
    return predictions


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (pd.Timestamp,)) or hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, default=_default).encode()


def rows(data: Any) -> int:
    """How many rows an enforced input has."""
    if isinstance(data, Mapping):
        first = next(iter(data.values()), None)
        return len(first) if first is not None and hasattr(first, "__len__") else 1
    try:
        return len(data)
    except TypeError:
        return 1


# ---- Open Inference Protocol v2 ------------------------------------------------------------------

#: OIP datatype → numpy dtype
DATATYPES = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
    "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64", "BYTES": "object",
}  # fmt: skip
#: MLflow column type → OIP datatype (model metadata)
COLUMN_DATATYPES = {
    "boolean": "BOOL", "integer": "INT32", "long": "INT64", "float": "FP32", "double": "FP64",
    "string": "BYTES", "binary": "BYTES", "datetime": "BYTES",
}  # fmt: skip


def datatype_of(dtype: Any) -> str:
    d = np.dtype(dtype)
    if d.kind == "b":
        return "BOOL"
    if d.kind in "iuf":
        return {"i": "INT", "u": "UINT", "f": "FP"}[d.kind] + str(d.itemsize * 8)
    return "BYTES"


_NONE = object()


def _values(inp: Mapping[str, Any]) -> np.ndarray:
    """One OIP input tensor as a numpy array of its shape, its data checked against its
    datatype (400 naming the input, the datatype or the shape otherwise)."""
    name, shape, datatype, data = inp["name"], inp["shape"], inp["datatype"], inp["data"]
    flat = data
    if isinstance(data, list) and any(isinstance(v, list) for v in data):
        flat = list(_flatten(data))
    if not isinstance(flat, list):
        flat = [flat]
    want = math.prod(shape)
    if len(flat) != want:
        raise InvalidInput(
            f"input {name!r} has shape {shape}, which holds {want} value(s); its data has "
            f"{len(flat)}"
        )
    if datatype == "BYTES":
        bad = next((v for v in flat if not isinstance(v, str)), _NONE)
        if bad is not _NONE:
            raise InvalidInput(f"input {name!r} is BYTES but holds {bad!r}, not a string")
        return np.asarray(flat, dtype=object).reshape(shape)
    if datatype == "BOOL":
        bad = next((v for v in flat if not isinstance(v, bool)), _NONE)
    elif datatype.startswith(("INT", "UINT")):
        bad = next((v for v in flat if isinstance(v, bool) or not isinstance(v, int)), _NONE)
    else:
        bad = next(
            (v for v in flat if isinstance(v, bool) or not isinstance(v, (int, float))), _NONE
        )
    if bad is not _NONE:
        raise InvalidInput(f"input {name!r} is {datatype} but holds {bad!r}")
    try:
        return np.asarray(flat, dtype=DATATYPES[datatype]).reshape(shape)
    except (OverflowError, ValueError) as e:
        raise InvalidInput(f"input {name!r} does not fit {datatype}: {e}") from None


def _flatten(data: list[Any]) -> Any:
    for v in data:
        if isinstance(v, list):
            yield from _flatten(v)
        else:
            yield v


def parse_infer(doc: Any, signature: Any) -> tuple[Any, dict[str, Any]]:
    """(model input, request parameters) from an OIP inference request."""
    if not isinstance(doc, dict):
        raise InvalidInput("an inference request is a JSON object with 'inputs'")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("'inputs' must be a non-empty list of tensors")
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidInput("'parameters' must be an object")
    for i, inp in enumerate(inputs):
        if not isinstance(inp, dict):
            raise InvalidInput(f"inputs[{i}] must be an object")
        missing = [k for k in ("name", "shape", "datatype", "data") if k not in inp]
        if missing:
            raise InvalidInput(f"inputs[{i}] lacks {missing}")
        shape = inp["shape"]
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise InvalidInput(
                f"input {inp['name']!r}: shape must be a list of sizes, got {shape!r}"
            )
        if inp["datatype"] not in DATATYPES:
            raise InvalidInput(
                f"input {inp['name']!r}: unknown datatype {inp['datatype']!r}; use one of "
                f"{sorted(DATATYPES)}"
            )
    arrays = {str(inp["name"]): _values(inp) for inp in inputs}
    specs = (signature.inputs or []) if signature is not None else []
    if signature is not None and signature.is_tensor:
        if len(specs) == 1 and specs[0].get("name") is None:
            if len(arrays) != 1:
                raise InvalidInput(f"the model takes one tensor; the request has {len(arrays)}")
            return next(iter(arrays.values())), params
        return arrays, params
    names = [s.get("name") for s in specs]
    if len(arrays) == 1:
        ((name, array),) = arrays.items()
        if array.ndim == 2 and name not in names and (array.shape[1] > 1 or len(names) == 1):
            # one 2-D tensor for a whole table (all-numeric models): columns in schema order
            if names and array.shape[1] != len(names):
                raise InvalidInput(
                    f"input {name!r} has shape {list(array.shape)}; the model expects "
                    f"[-1, {len(names)}] (columns {names})"
                )
            cols = names if names and all(n is not None for n in names) else None
            frame = pd.DataFrame(array, columns=cols).infer_objects()
            for spec in specs if cols else []:
                # one FP64 tensor holds the integer columns too: whole numbers become integers
                col = frame[spec["name"]]
                if spec.get("type") in ("long", "integer") and col.dtype.kind == "f":
                    if col.notna().all() and (col == col.round()).all():
                        frame[spec["name"]] = col.astype(
                            "int64" if spec["type"] == "long" else "int32"
                        )
            return frame, params
    columns = {}
    n_rows: int | None = None
    for name, array in arrays.items():
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise InvalidInput(
                f"input {name!r} has shape {list(array.shape)}; a column is a tensor of shape [n]"
            )
        if n_rows is not None and len(array) != n_rows:
            raise InvalidInput(
                f"input {name!r} has {len(array)} rows; the inputs before it have {n_rows}"
            )
        n_rows = len(array)
        columns[name] = array
    return pd.DataFrame(columns), params


def infer_outputs(predictions: Any) -> list[dict[str, Any]]:
    """OIP output tensors: one per column of a table, else one named ``predict``."""
    if isinstance(predictions, pd.DataFrame):
        return [_tensor(str(c), predictions[c].to_numpy()) for c in predictions.columns]
    if isinstance(predictions, dict):
        return [_tensor(str(k), np.asarray(v)) for k, v in predictions.items()]
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_numpy()
    return [_tensor("predict", np.asarray(predictions))]


def _tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    datatype = datatype_of(array.dtype)
    data = array.reshape(-1).tolist()
    if datatype == "BYTES":
        data = [v if isinstance(v, str) else str(v) for v in data]
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def io_metadata(specs: list[dict[str, Any]] | None, default: str) -> list[dict[str, Any]]:
    """OIP model metadata ``inputs`` / ``outputs`` from a signature part."""
    out = []
    for i, s in enumerate(specs or []):
        if s.get("type") == "tensor":
            ts = s["tensor-spec"]
            try:
                datatype = datatype_of(ts["dtype"])
            except TypeError:
                datatype = "BYTES"
            out.append({"name": s.get("name") or f"{default}-{i}", "datatype": datatype,
                        "shape": list(ts["shape"])})  # fmt: skip
        else:
            out.append({"name": s.get("name") or f"{default}-{i}",
                        "datatype": COLUMN_DATATYPES.get(s.get("type", ""), "BYTES"),
                        "shape": [-1]})  # fmt: skip
    return out
