"""``GET jupyter-mm/api/predictions``: the prediction log of a served model, as Parquet."""

from __future__ import annotations

from typing import TYPE_CHECKING

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...errors import InvalidInput
from .base import MMHandler

if TYPE_CHECKING:
    from ...core.store import Store

#: Media type of the answer (the Parquet format's registered type).
PARQUET_TYPE = "application/vnd.apache.parquet"


def _parquet(
    store: Store, name: str, version: str | None, start: str | None, end: str | None
) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = store.prediction_table(name, version, start, end)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


class PredictionsHandler(MMHandler):
    """``GET predictions?name=&version=&start=&end=``: the rows logged for model ``name`` (one
    version or all) between ``start`` and ``end`` (inclusive; ``YYYY-MM-DD`` for whole days or
    ISO 8601 instants), ordered by time, as one Parquet file (the columns of
    ``mm.predictions``). No rows is an empty file with the fixed columns."""

    auth_resource = "jupyter_mm:predictions"

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        name = self.get_query_argument("name", "")
        if not name:
            raise InvalidInput("'name' (the model's name) is required")
        version = self.get_query_argument("version", None) or None
        start = self.get_query_argument("start", None) or None
        end = self.get_query_argument("end", None) or None
        data = await self.call_store(_parquet, name, version, start, end)
        self.finish(data, set_content_type=PARQUET_TYPE)
