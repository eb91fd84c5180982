"""``GET runs/{id}/artifact-rows/{path}`` on a real Jupyter server over a real SQLite file and a
real PostgreSQL server: the first rows of a Parquet artifact (across row groups) as text cells,
within the row, column, cell and file caps; what is not Parquet, too large or outside the run is
refused with a clear message. Replies are checked against openapi.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_mm.server.handlers import artifacts as artifacts_module

from .helpers import parquet_bytes
from .test_openapi import SPEC_PATH, Contract

TEMPLATE = "/runs/{run_id}/artifact-rows/{path}"


@pytest.fixture
def jp_server_config(mm_clean_env: None, server_store_uri: str, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False}
            },
            "JupyterMM": {
                "tracking_uri": server_store_uri,
                "artifact_uri": str(tmp_path / "artifacts"),
            },
        }
    )


def _rows(jp_fetch: Any) -> Any:
    contract = Contract(yaml.safe_load(Path(SPEC_PATH).read_text()))

    async def rows(run_id: str, path: str, **params: str) -> tuple[int, Any]:
        """``(status, JSON)``, checked against the spec."""
        try:
            r = await jp_fetch(
                "jupyter-mm", "api", "runs", run_id, "artifact-rows", path, params=params
            )
        except HTTPClientError as e:
            assert e.response is not None
            r = e.response
        contract.check("GET", TEMPLATE, r.code, r.headers, r.body)
        return r.code, json.loads(r.body)

    return rows


async def test_first_rows_across_row_groups(jp_fetch, jp_serverapp, server_store) -> None:
    n = 2500
    table = {
        "id": list(range(n)),
        "name": [f"<b>r{i}</b>" if i else None for i in range(n)],
        "long": ["x" * 2000] * n,
    }
    rid = server_store.create_run().id
    server_store.log_artifact(rid, "data/t.parquet", parquet_bytes(table, row_group_size=7))
    server_store.log_artifact(rid, "notes.txt", b"not parquet")
    rows = _rows(jp_fetch)

    code, body = await rows(rid, "data/t.parquet", max_rows="20")
    assert code == 200 and body["columns"] == ["id", "name", "long"]
    assert [r[0] for r in body["rows"]] == [str(i) for i in range(20)]
    assert body["rows"][0][1] is None and body["rows"][1][1] == "<b>r1</b>"
    assert len(body["rows"][0][2]) == artifacts_module.MAX_CELL_CHARS
    assert body["total_rows"] == n and body["truncated"] is True
    assert len((await rows(rid, "data/t.parquet"))[1]["rows"]) == 100
    assert len((await rows(rid, "data/t.parquet", max_rows="1000"))[1]["rows"]) == 1000

    for bad in ("0", "1001", "x", "²", "-1", "1e2", "00001000000"):
        code, err = await rows(rid, "data/t.parquet", max_rows=bad)
        assert code == 400 and "max_rows" in err["message"]
    code, err = await rows(rid, "notes.txt")
    assert code == 400 and "not a readable Parquet file" in err["message"]
    assert (await rows(rid, "nope.parquet"))[0] == 404
    assert (await rows("0" * 32, "t.parquet"))[0] == 404


async def test_paths_that_leave_the_run_are_refused(jp_fetch, jp_serverapp, server_store) -> None:
    rid = server_store.create_run().id
    server_store.log_artifact(rid, "t.parquet", parquet_bytes({"x": [1]}))
    rows = _rows(jp_fetch)
    for path in ("../t.parquet", "a/../../t.parquet"):
        code, err = await rows(rid, path)
        assert code == 400 and "cannot leave the run" in err["message"], (path, code, err)
    # an absolute path names a file of the run, never one of the server's
    code, err = await rows(rid, "/etc/passwd")
    assert code == 404 and "has no artifact 'etc/passwd'" in err["message"]


async def test_column_and_file_caps(jp_fetch, jp_serverapp, server_store, monkeypatch) -> None:
    rid = server_store.create_run().id
    wide = parquet_bytes({f"c{i}": [i] for i in range(250)})
    server_store.log_artifact(rid, "wide.parquet", wide)
    rows = _rows(jp_fetch)
    code, body = await rows(rid, "wide.parquet")
    assert len(body["columns"]) == artifacts_module.MAX_TABLE_COLUMNS
    assert body["total_columns"] == 250 and body["truncated"] is True
    assert body["rows"] == [[str(i) for i in range(artifacts_module.MAX_TABLE_COLUMNS)]]
    monkeypatch.setattr(artifacts_module, "MAX_TABLE_FILE_BYTES", len(wide) - 1)
    code, err = await rows(rid, "wide.parquet")
    assert code == 400 and "too large to preview" in err["message"]
