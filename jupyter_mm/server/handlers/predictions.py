"""``jupyter-mm/api/predictions`` and ``labels``: the prediction log of a model and the labels
beside it, read as Parquet, and written from Parquet bodies (a remote ``mm.log_predictions`` /
``mm.log_labels``) into the same files a local store writes (``core/predictions.py``,
``core/labels.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.web import HTTPError

from ...errors import InvalidInput
from .base import MMHandler
from .common import optional_arg, required_arg

if TYPE_CHECKING:
    import pyarrow as pa

    from ...core.store import Store

#: Media type of the answer (the Parquet format's registered type).
PARQUET_TYPE = "application/vnd.apache.parquet"
#: Largest Parquet body one POST takes (the client splits larger batches into parts).
MAX_PARQUET_BYTES = 64 * 1024 * 1024
#: Media types a POST body may be declared as (or none).
_BODY_TYPES = {"", PARQUET_TYPE, "application/octet-stream", "application/x-parquet"}


def _parquet_bytes(table: pa.Table) -> bytes:
    """The table as one Parquet file (zstd), what both routes answer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _predictions_parquet(
    store: Store, name: str, version: str | None, start: str | None, end: str | None
) -> bytes:
    return _parquet_bytes(store.prediction_table(name, version, start, end))


def _labels_parquet(store: Store, name: str) -> bytes:
    import pyarrow as pa

    return _parquet_bytes(pa.Table.from_pandas(store.labels(name), preserve_index=False))


class PredictionsAPIHandler(MMHandler):
    """Base of the prediction log's routes (``predictions``, ``labels``): Parquet both ways."""

    auth_resource = "jupyter_mm:predictions"

    def model_name(self) -> str:
        """The ``name`` query argument: the model, required."""
        return required_arg(self, "name", "the model's name")

    def body_table(self) -> pa.Table:
        """The request body as an Arrow table: a Parquet file of at most
        :data:`MAX_PARQUET_BYTES` (413 beyond), anything else a clear 400 (415 for another
        declared media type)."""
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        body = self.request.body or b""
        if len(body) > MAX_PARQUET_BYTES:
            raise HTTPError(413, f"request body too large: {len(body)} bytes (limit "
                                 f"{MAX_PARQUET_BYTES}); send the rows in smaller batches")  # fmt: skip
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind not in _BODY_TYPES:
            raise HTTPError(415, f"the body must be Parquet ({PARQUET_TYPE}), not {kind}")
        if not body:
            raise InvalidInput("the body is empty: send the rows as one Parquet file")
        try:
            return pq.read_table(io.BytesIO(body))
        except (pa.ArrowException, OSError, ValueError) as e:
            raise InvalidInput(f"the body is not a readable Parquet file: {e}") from None

    def batch(self) -> str | None:
        """The ``batch`` query argument: the part a POST writes (a repeat is written once)."""
        return optional_arg(self, "batch")

    async def send_parquet(self, read: Callable[..., bytes], *args: Any) -> None:
        """Answer with the Parquet file ``read(store, *args)`` makes in a worker thread."""
        data = await self.call_store(read, *args)
        self.finish(data, set_content_type=PARQUET_TYPE)


class PredictionsHandler(PredictionsAPIHandler):
    """``GET predictions?name=&version=&start=&end=``: the rows logged for model ``name`` (one
    version or all) between ``start`` and ``end`` (inclusive; ``YYYY-MM-DD`` for whole days or
    ISO 8601 instants), ordered by time, as one Parquet file (the columns of
    ``mm.predictions``). No rows is an empty file with the fixed columns."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        name = self.model_name()
        version = optional_arg(self, "version")
        start = optional_arg(self, "start")
        end = optional_arg(self, "end")
        await self.send_parquet(_predictions_parquet, name, version, start, end)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        """``POST predictions?name=&version=&batch=`` with a Parquet body: a batch of scored
        rows in the log's own columns, written whole (all rows or none) into the version's log;
        ``batch`` names its part, so the same batch sent twice is written once."""
        name = self.get_query_argument("name", "")
        version = self.get_query_argument("version", "")
        if not name or not version:
            raise InvalidInput("'name' and 'version' (the model version the rows belong to) "
                               "are required")  # fmt: skip
        table = self.body_table()
        batch = self.batch()
        rows = await self.call_store(
            lambda store: store.log_prediction_table(name, version, table, batch=batch)
        )
        self.send_json({"rows": rows}, status=201)


class LabelsHandler(PredictionsAPIHandler):
    """``GET labels?name=``: the model's labels, the last recorded per ``(request_id, row)``,
    as Parquet (``request_id, row, label, at, recorded_at, duplicates``). ``POST
    labels?name=&batch=`` with a Parquet body (``request_id, row, label, at, recorded_at,
    seq``): one ``mm.log_labels`` call, written whole."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.send_parquet(_labels_parquet, self.model_name())

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        name = self.model_name()
        table = self.body_table()
        batch = self.batch()
        rows = await self.call_store(lambda store: store.log_label_table(name, table, batch=batch))
        self.send_json({"rows": rows}, status=201)
