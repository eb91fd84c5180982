"""Delayed ground truth, stored beside the prediction log and joined to it by id.

The files (layout, types, reading and writing) are ``core/labels.py``'s; here: checking one
``mm.log_labels`` call into its table, and joining labels to the log.

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
import time
from dataclasses import dataclass
from typing import Any

from ..core.labels import KEY, LABELS_DIRNAME, labels_url, read_labels, write_label_table
from ..errors import InvalidInput

__all__ = ["KEY", "LABELS_DIRNAME", "Joined", "join", "label_table", "labels_url", "read_labels",
           "write_labels"]  # fmt: skip


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
    if not isinstance(name, str) or not name:
        raise InvalidInput("the model name must be a non-empty string")
    return write_label_table(root, name, label_table(ids, labels, at))


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
