"""The labels store beside the prediction log: delayed ground truth as Parquet parts, written
and read here (below the client and the store, so a local store and the server's ``labels``
route share them); ``monitoring/labels.py`` builds a call's table and joins labels to the log.

Layout, under the store's artifact root (beside ``predictions/``, not inside it, so a Hive
reader of the log never meets a label file)::

    <artifact root>/labels/model=<name>/date=<YYYY-MM-DD>/part-<batch>.parquet

``date`` is the UTC day the labels were recorded. Columns: ``request_id`` (text), ``row``
(int32), ``label`` (as given), ``at`` (when the outcome was known, ``timestamp[ms, UTC]``),
``recorded_at`` (``timestamp[us, UTC]``) and ``seq`` (position in its call).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

LABELS_DIRNAME = "labels"
KEY = ["request_id", "row"]


def labels_url(artifact_url: str) -> str:
    return posixpath.join(artifact_url.rstrip("/"), LABELS_DIRNAME)


def _types() -> dict[str, pa.DataType]:
    import pyarrow as pa

    return {"request_id": pa.string(), "row": pa.int32(), "label": pa.null(),
            "at": pa.timestamp("ms", tz="UTC"), "recorded_at": pa.timestamp("us", tz="UTC"),
            "seq": pa.int64()}  # fmt: skip


def check_label_table(table: pa.Table) -> pa.Table:
    """A call's labels as a client sent them (``POST labels``), checked and cast to the store's
    types: exactly the six columns, no missing id, row, label or time, no empty id, one
    ``recorded_at`` for the call. Raises :class:`InvalidInput` naming what is wrong."""
    import pyarrow as pa
    import pyarrow.compute as pc

    types = _types()
    if table.num_rows == 0:
        raise InvalidInput("no labels given")
    if sorted(table.column_names) != sorted(types):
        raise InvalidInput(f"labels need exactly the columns {', '.join(types)}; got "
                           f"{', '.join(table.column_names)}")  # fmt: skip
    columns = {}
    for column, type_ in types.items():
        values = table.column(column)
        if values.null_count:
            raise InvalidInput(f"column {column} has missing values")
        if column != "label":
            try:
                values = values.cast(type_)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise InvalidInput(f"column {column} must be {type_}: {e}") from None
        elif pa.types.is_nested(values.type) or pa.types.is_null(values.type):
            raise InvalidInput(f"labels must be numbers, booleans or text, not {values.type}")
        columns[column] = values
    if pc.any(pc.equal(pc.utf8_length(columns["request_id"]), 0)).as_py():
        raise InvalidInput("ids must not be empty")
    recorded = columns["recorded_at"]
    if pc.min_max(recorded)["min"] != pc.min_max(recorded)["max"]:
        raise InvalidInput("recorded_at must be one time for the whole call")
    return pa.table(columns)


def write_label_table(root: str, name: str, table: pa.Table, batch: str | None = None) -> int:
    """Write one call's checked labels as a part under ``root`` (the labels folder), in the
    partition of the day they were recorded, named after ``batch`` (a call sent twice is
    written once). Returns the rows written."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    from .predictions import write_part

    if not isinstance(name, str) or not name:
        raise InvalidInput("the model name must be a non-empty string")
    fs, base = fsspec.core.url_to_fs(root)
    day = table.column("recorded_at")[0].as_py().date().isoformat()
    partition = posixpath.join(base.rstrip("/"), f"model={quote(name, safe='')}", f"date={day}")
    write_part(fs, isinstance(fs, LocalFileSystem), partition, table, batch)
    return int(table.num_rows)


def label_frame_table(name: str, root: str) -> pa.Table:
    """:func:`read_labels` as an Arrow table (the ``GET labels`` route sends it as Parquet)."""
    import pyarrow as pa

    return pa.Table.from_pandas(read_labels(root, name), preserve_index=False)


def read_labels(root: str, name: str) -> pd.DataFrame:
    """The model's labels, duplicates resolved (the last recorded wins): request_id, row,
    label, at, recorded_at, duplicates (how many earlier labels of that id it replaced)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    from .predictions import _filesystem, _missing

    fs, base = _filesystem(root)
    where = posixpath.join(base.rstrip("/"), f"model={quote(name, safe='')}")
    empty = pd.DataFrame({"request_id": pd.Series([], dtype=object),
                          "row": pd.Series([], dtype="int32"), "label": [],
                          "at": pd.Series([], dtype="datetime64[ms, UTC]"),
                          "recorded_at": pd.Series([], dtype="datetime64[us, UTC]"),
                          "duplicates": pd.Series([], dtype="int64")})  # fmt: skip
    if _missing(fs, where):
        return empty
    dataset = ds.dataset(where, filesystem=fs, format="parquet", exclude_invalid_files=False)
    fragments = list(dataset.get_fragments())
    if not fragments:
        return empty
    try:
        schema = pa.unify_schemas([f.physical_schema for f in fragments],
                                  promote_options="permissive")  # fmt: skip
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InvalidInput(f"labels of {name!r} were logged with types that do not mix: {e}") from e
    frame = ds.FileSystemDataset(fragments, schema, dataset.format, dataset.filesystem).to_table()
    df = frame.to_pandas().sort_values(["recorded_at", "seq"], kind="stable")
    counts = df.groupby(KEY, sort=False).size().rename("duplicates") - 1
    last = df.drop_duplicates(KEY, keep="last").drop(columns="seq")
    last = last.merge(counts.reset_index(), on=KEY, how="left")
    return last.reset_index(drop=True)
