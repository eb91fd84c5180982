"""``mm.serve`` outside Jupyter: the model server in a thread of this process, on a loopback
port with a random token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

import jupyter_mm as mm

from .support import Models, credit_frame, credit_store, expected


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("client-serve")) as m:
        yield m


def test_serve_in_this_process(
    models: Models, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MM_JUPYTER_SERVER_INFO", raising=False)
    mm.set_tracking_uri(models.store_uri)
    try:
        ep = mm.serve("models:/credit@champion")
    finally:
        mm.set_tracking_uri(None)
    rows = credit_frame(4, seed=5)[0]
    try:
        assert ep.url.startswith("http://127.0.0.1:") and ep.version == "1"
        assert ep.predict(rows).tolist() == expected(models.directory, rows)
        http = urllib3.PoolManager()
        body = {"inputs": [{"name": c, "shape": [4], "datatype": "FP64" if c != "age" else "INT64",
                            "data": rows[c].tolist()} for c in rows.columns]}  # fmt: skip
        r = http.request("POST", ep.oip_infer_url, body=json.dumps(body), headers=ep.headers)
        assert r.status == 200
        assert json.loads(r.data)["outputs"][0]["data"] == expected(models.directory, rows)
        # the random token is required
        r = http.request("POST", ep.invocations_url, body=b"{}",
                         headers={"Content-Type": "application/json"})  # fmt: skip
        assert r.status == 401
        assert "stopped" not in repr(ep) and ep.invocations_url in repr(ep)
    finally:
        ep.stop()
    assert ep.stopped
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        urllib3.PoolManager().request("GET", ep.url + "ping", retries=0)
