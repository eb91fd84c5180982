"""Full-content fingerprints of the data a run used: pandas DataFrames/Series, numpy arrays, files
and directories. The digest is a SHA-256 over every value (plus column names and dtypes), so two
datasets share a digest only if their content is identical."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..core.entities import DatasetInput
from ..errors import InvalidInput

_BLOCK = 1 << 20


def describe(
    data: Any, name: str, context: str = "training", source: str | None = None
) -> DatasetInput:
    module = type(data).__module__.split(".")[0]
    if isinstance(data, (str, os.PathLike)):
        return DatasetInput(name=name, context=context, **_describe_path(Path(data)))
    if module == "pandas":
        facts = _describe_pandas(data)
    elif module == "numpy":
        facts = _describe_numpy(data)
    else:
        raise InvalidInput(
            f"log_dataset takes a pandas DataFrame or Series, a numpy array or a file/directory "
            f"path, got {type(data).__name__}"
        )
    return DatasetInput(name=name, context=context, source=source or "", **facts)


def _hash_array(h: Any, arr: Any) -> None:
    import numpy as np

    arr = np.asarray(arr)
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    if arr.dtype.kind in "biufcmM":
        h.update(np.ascontiguousarray(arr).tobytes())
    else:  # objects and strings: a separator that cannot occur in str() of common values
        for i in range(0, arr.size, 65536):
            part = arr.reshape(-1)[i : i + 65536]
            h.update("\x1f".join(map(str, part.tolist())).encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")


# The describers below return what the data itself decides of its DatasetInput (digest,
# source_type, schema, row count...); ``describe`` adds the name and context the caller gives.


def _describe_pandas(data: Any) -> dict[str, Any]:
    import pandas as pd

    frame = data.to_frame() if isinstance(data, pd.Series) else data
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"unsupported pandas object {type(data).__name__}")
    h = hashlib.sha256(b"pandas.DataFrame\x00")
    _hash_array(h, frame.index.to_numpy())
    columns = []
    for col in frame.columns:
        series = frame[col]
        h.update(f"\x1d{col}\x1d{series.dtype}".encode())
        _hash_array(h, series.to_numpy())
        columns.append({"name": str(col), "type": str(series.dtype)})
    profile = {"columns": len(columns), "memory_bytes": int(frame.memory_usage(deep=False).sum())}
    return {"digest": h.hexdigest(), "source_type": "pandas", "schema": {"columns": columns},
            "row_count": len(frame), "profile": profile}  # fmt: skip


def _describe_numpy(data: Any) -> dict[str, Any]:
    import numpy as np

    arr = np.asarray(data)
    h = hashlib.sha256(b"numpy.ndarray\x00")
    _hash_array(h, arr)
    return {"digest": h.hexdigest(), "source_type": "numpy",
            "schema": {"dtype": arr.dtype.str, "shape": list(arr.shape)},
            "row_count": int(arr.shape[0]) if arr.ndim else 1}  # fmt: skip


def _hash_file(path: Path) -> tuple[str, int, int]:
    """SHA-256, size and newline count of a file, in one streaming pass."""
    h = hashlib.sha256()
    size = lines = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            h.update(block)
            size += len(block)
            lines += block.count(b"\n")
    return h.hexdigest(), size, lines


def _describe_path(path: Path) -> dict[str, Any]:
    if path.is_file():
        digest, size, lines = _hash_file(path)
        rows = max(lines - 1, 0) if path.suffix.lower() in (".csv", ".tsv") else None
        return {"digest": digest, "source": str(path.resolve()), "source_type": "file",
                "schema": {"size": size, "format": path.suffix.lstrip(".").lower()},
                "row_count": rows}  # fmt: skip
    if path.is_dir():
        h = hashlib.sha256(b"directory\x00")
        files = sorted(p for p in path.rglob("*") if p.is_file())
        total = 0
        for f in files:
            digest, size, _ = _hash_file(f)
            total += size
            h.update(f"{f.relative_to(path).as_posix()}\x00{digest}\n".encode())
        return {"digest": h.hexdigest(), "source": str(path.resolve()),
                "source_type": "directory", "schema": {"files": len(files), "size": total}}  # fmt: skip
    raise InvalidInput(f"dataset path {str(path)!r} does not exist")


#: File types a logged dataset can be read back from as a table.
TABLE_SUFFIXES = ("csv", "parquet", "pq")


def read_back(d: DatasetInput) -> Any:
    """The rows of a logged dataset, read back as a DataFrame from its CSV or Parquet file if
    the file is still there with the digest that was logged. InvalidInput saying why not (a
    DataFrame logged from memory keeps only its digest; a file gone, changed or unreadable)."""
    import pandas as pd

    what = f"dataset {d.name!r}"
    if d.source_type != "file" or not d.source:
        raise InvalidInput(
            f"{what} was logged from {d.source_type or 'memory'}, not a file: it cannot be read back"
        )
    suffix = d.source.lower().rsplit(".", 1)[-1]
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(f"{what}: {d.source!r} is not a CSV or Parquet file")
    now = describe(d.source, d.name).digest  # InvalidInput when the file is gone
    if now != d.digest:
        raise InvalidInput(
            f"{what}: {d.source!r} changed since it was logged (digest {now[:12]}…, logged "
            f"{d.digest[:12]}…)"
        )
    try:
        return pd.read_csv(d.source) if suffix == "csv" else pd.read_parquet(d.source)
    except (OSError, ValueError, ImportError) as e:
        raise InvalidInput(f"{what}: {d.source!r} cannot be read as a table: {e}") from None
