"""The prediction log of models served from this store, read back (``mm.predictions``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import predictions
from .base import StoreBase

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class PredictionsMixin(StoreBase):
    @property
    def predictions_url(self) -> str:
        """Where model servers reading from this store log predictions:
        ``<artifact root>/predictions``."""
        return predictions.predictions_url(self.blobs.url)

    def prediction_table(
        self, name: str, version: int | str | None = None, start: Any = None, end: Any = None
    ) -> pa.Table:
        """:func:`~jupyter_mm.core.predictions.read_table` over this store's log (the REST
        route sends it as Parquet)."""
        return predictions.read_table(self.predictions_url, name, version, start, end)

    def predictions(
        self, name: str, version: int | str | None = None, start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        """The logged predictions of model ``name`` (see
        :func:`~jupyter_mm.core.predictions.read_table`)."""
        return predictions.table_to_frame(self.prediction_table(name, version, start, end))
