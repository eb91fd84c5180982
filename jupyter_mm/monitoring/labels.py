"""Delayed ground truth, stored beside the prediction log and joined to it by id.

Layout, under the store's artifact root (beside ``predictions/``, not inside it, so a Hive
reader of the log never meets a label file)::

    <artifact root>/labels/model=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet

``date`` is the UTC day the labels were recorded. Columns: ``request_id`` (text), ``row``
(int32), ``label`` (as given), ``at`` (when the outcome was known, ``timestamp[ms, UTC]``),
``recorded_at`` (``timestamp[us, UTC]``) and ``seq`` (position in its call). Parts are written
by the prediction log's own writer (:func:`~jupyter_mm.serving.prediction_log.write_part`):
whole or not at all.

Join key: ``(request_id, row)``. An id given alone means ``row`` 0 — which is how
``mm.log_predictions(ids=)`` stores rows with their own ids; a server request of several rows
takes ``(request_id, row)`` pairs. Rules:

- **late labels** are ordinary: labels join whenever they arrive, whatever the window;
- **duplicates**: the label recorded last wins (``recorded_at``, then ``seq``); the number of
  labels it replaced is kept in ``duplicates``;
- **unknown ids** (no logged prediction has them) are kept on disk and reported
  (``matched=False``), never joined to anything.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

LABELS_DIRNAME = "labels"
KEY = ["request_id", "row"]


def labels_url(artifact_url: str) -> str:
    return posixpath.join(artifact_url.rstrip("/"), LABELS_DIRNAME)


def _keys(ids: Any) -> tuple[list[str], list[int]]:
    import pandas as pd

    if isinstance(ids, pd.DataFrame):
        if "request_id" not in ids.columns:
            raise InvalidInput("ids as a DataFrame need a request_id column (and optionally row)")
        rid = [str(x) for x in ids["request_id"].tolist()]
        rows = ids["row"].tolist() if "row" in ids.columns else [0] * len(rid)
    else:
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__len__"):
            raise InvalidInput("ids must be a list (or Series, or DataFrame) of ids, one per label")
        rid, rows = [], []
        for x in list(ids):
            if isinstance(x, tuple):
                if len(x) != 2:
                    raise InvalidInput(f"an id pair is (request_id, row), got {x!r}")
                rid.append(str(x[0]))
                rows.append(x[1])
            else:
                rid.append(str(x))
                rows.append(0)
    for r in rows:
        if isinstance(r, bool) or not isinstance(r, (int,)) and not hasattr(r, "__index__"):
            raise InvalidInput(f"a row must be a whole number, got {r!r}")
    if any(x is None or x == "" or x == "None" for x in rid):
        raise InvalidInput("ids must not be empty or None")
    return rid, [int(r) for r in rows]


def label_table(ids: Any, labels: Any, at: Any = None) -> Any:
    """The Arrow table of one ``log_labels`` call (checked: one label per id, no nulls)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from ..core.predictions import _bound

    rid, rows = _keys(ids)
    values = labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels)
    if values.ndim != 1 or values.size != len(rid):
        raise InvalidInput(f"log_labels needs one label per id: {values.size} labels, "
                           f"{len(rid)} ids")  # fmt: skip
    if len(rid) == 0:
        raise InvalidInput("no labels given")
    if pd.isna(pd.Series(values)).any():
        raise InvalidInput("labels must not be missing (NaN/None): log only outcomes known")
    now = time.time()
    if at is None:
        when = np.full(len(rid), int(now * 1000), dtype=np.int64)
    elif isinstance(at, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        if len(at) != len(rid):
            raise InvalidInput(f"at= needs one time per label or a single time, got {len(at)}")
        when = np.array([_ms(_bound(a, "at", end=False)[0]) for a in at], dtype=np.int64)
    else:
        when = np.full(len(rid), _ms(_bound(at, "at", end=False)[0]), dtype=np.int64)
    return pa.table({
        "request_id": pa.array(rid, pa.string()),
        "row": pa.array(np.asarray(rows, dtype=np.int32)),
        "label": pa.array(values, from_pandas=True),
        "at": pa.array(when, pa.timestamp("ms", tz="UTC")),
        "recorded_at": pa.array(np.full(len(rid), int(now * 1e6), np.int64),
                                pa.timestamp("us", tz="UTC")),
        "seq": pa.array(np.arange(len(rid), dtype=np.int64)),
    })  # fmt: skip


def _ms(instant: dt.datetime | None) -> int:
    assert instant is not None
    return int(instant.timestamp() * 1000)


def write_labels(root: str, name: str, ids: Any, labels: Any, at: Any = None) -> int:
    """Write one call's labels as a new part under ``root`` (the labels folder); returns rows."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    from ..serving.prediction_log import write_part

    if not isinstance(name, str) or not name:
        raise InvalidInput("the model name must be a non-empty string")
    table = label_table(ids, labels, at)
    fs, base = fsspec.core.url_to_fs(root)
    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    partition = posixpath.join(base.rstrip("/"), f"model={quote(name, safe='')}", f"date={day}")
    write_part(fs, isinstance(fs, LocalFileSystem), partition, table)
    return int(table.num_rows)


def read_labels(root: str, name: str) -> pd.DataFrame:
    """The model's labels, duplicates resolved (the last recorded wins): request_id, row,
    label, at, recorded_at, duplicates (how many earlier labels of that id it replaced)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    from ..core.predictions import _filesystem, _missing

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


@dataclass(frozen=True)
class Joined:
    """Predictions with their labels (``frame``, only rows that have one), and the labels no
    prediction read has (``unmatched``): kept and reported, never joined."""

    frame: Any
    unmatched: Any
    duplicates: int


def join(predictions: Any, labels: Any) -> Joined:
    """Inner join on ``(request_id, row)``; ``unmatched`` are the labels without a prediction."""
    left = predictions.copy()
    left["row"] = left["row"].astype("int32")
    lab = labels.rename(columns={"at": "label_at"})
    frame = left.merge(lab[[*KEY, "label", "label_at"]], on=KEY, how="inner")
    keys = left[KEY].drop_duplicates()
    probe = lab.merge(keys.assign(_hit=True), on=KEY, how="left")
    unmatched = probe[probe["_hit"].isna()].drop(columns="_hit").reset_index(drop=True)
    return Joined(frame, unmatched, int(labels["duplicates"].sum()) if len(labels) else 0)
