"""``mm.predictions``: the prediction log of a served model, read back as a DataFrame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .reading import get_store

if TYPE_CHECKING:
    import pandas as pd


def predictions(
    name: str, version: int | str | None = None, start: Any = None, end: Any = None
) -> pd.DataFrame:
    """The rows model servers logged for model ``name`` (one ``version`` or all), between
    ``start`` and ``end`` (inclusive; datetimes, naive = UTC, dates for whole days, ISO 8601
    strings or epoch seconds), ordered by time.

    Columns: ``request_id, row, ts, model_name, model_version, model_digest, alias, latency_ms,
    sampling_rate``, then ``input.<feature>...`` and ``output`` (or ``output.<name>...``).
    A local store reads ``<artifact root>/predictions/`` directly; a tracking server sends them
    (``GET predictions``). A model nothing was logged for gives an empty frame.
    """
    return get_store().predictions(name, version=version, start=start, end=end)
