"""The prediction log of models served from this store, read back (``mm.predictions``), batches
of scores logged into it (``mm.log_predictions``), and the labels beside it (``mm.log_labels``,
``mm.labels``). A tracking server's ``predictions`` and ``labels`` routes call these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import labels, predictions
from .base import StoreBase

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from ..registry.entities import ModelVersion, RegisteredModel


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

    def log_prediction_table(
        self, name: str, version: int | str, table: pa.Table, *, batch: str | None = None
    ) -> int:
        """Write a batch of logged rows of model ``name`` version ``version`` (the log's own
        columns, see :func:`~jupyter_mm.core.predictions.check_prediction_table`) into the log,
        named after ``batch`` (the same batch twice is written once). Returns the rows."""
        v = str(self._model_version(name, version).version)
        checked = predictions.check_prediction_table(table, name, v)
        return predictions.write_prediction_table(self.predictions_url, checked, batch)

    def log_label_table(self, name: str, table: pa.Table, *, batch: str | None = None) -> int:
        """Write one ``mm.log_labels`` call's table (see
        :func:`~jupyter_mm.core.labels.check_label_table`) for model ``name``, named after
        ``batch``. Returns the labels written."""
        self._registered_model(name)  # NotFound before writing
        checked = labels.check_label_table(table)
        return labels.write_label_table(labels.labels_url(self.blobs.url), name, checked, batch)

    def labels(self, name: str) -> pd.DataFrame:
        """The model's labels, the last recorded per id (see
        :func:`~jupyter_mm.core.labels.read_labels`)."""
        return labels.read_labels(labels.labels_url(self.blobs.url), name)

    def _model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.get_model_version(name, version)  # type: ignore[attr-defined]

    def _registered_model(self, name: str) -> RegisteredModel:
        return self.get_registered_model(name)  # type: ignore[attr-defined]
