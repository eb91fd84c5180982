"""GET jupyter-mm/api/status: the store in use, what it holds, and the error format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mm.core.store import Store
from jupyter_mm.server.store_provider import StoreProvider


async def test_status_of_an_empty_store(jp_fetch, mm_store_dir: Path) -> None:
    r = await jp_fetch("jupyter-mm", "api", "status")
    assert r.code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = json.loads(r.body)
    assert body["store"] == {"uri": str(mm_store_dir.resolve()), "kind": "sqlite"}
    # A new store holds only the default experiment.
    assert body["counts"]["runs"] == 0
    assert body["counts"]["experiments"] >= 0
    assert "error" not in body
    assert "version_match" not in body


async def test_status_counts_runs_logged_through_the_store(
    jp_fetch, jp_serverapp, mm_store_dir: Path
) -> None:
    before = json.loads((await jp_fetch("jupyter-mm", "api", "status")).body)["counts"]

    # A kernel would do this through mm.start_run(); the store API is the same writer.
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        exp = store.create_experiment("credit-risk")
        for i in range(3):
            store.create_run(exp, name=f"run-{i}", params={"lr": 0.1 * (i + 1)})
        store.create_run(name="in-default-experiment")

    r = await jp_fetch("jupyter-mm", "api", "status")
    body = json.loads(r.body)
    assert body["counts"] == {
        "experiments": before["experiments"] + 1,
        "runs": before["runs"] + 4,
    }


async def test_server_exports_its_store_to_kernels(jp_serverapp, mm_store_dir: Path) -> None:
    assert os.environ["MM_TRACKING_URI"] == str(mm_store_dir.resolve())


async def test_unreachable_store_still_answers_with_the_error(jp_fetch, jp_web_app) -> None:
    # A PostgreSQL server that is not there: the sidebar must still say which store fails.
    provider = StoreProvider("postgresql://mm:s3cret@127.0.0.1:9/mm")
    jp_web_app.settings["jupyter_mm_store"] = provider
    r = await jp_fetch("jupyter-mm", "api", "status")
    body = json.loads(r.body)
    assert r.code == 200
    assert body["store"] == {"uri": "postgresql://mm:***@127.0.0.1:9/mm", "kind": "postgresql"}
    assert body["counts"] is None
    assert body["error"]["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "s3cret" not in r.body.decode()


async def test_unknown_route_is_a_json_404(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "no-such-route")
    assert e.value.code == 404


async def test_post_to_status_is_refused(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-mm", "api", "status", method="POST", body="{}")
    assert e.value.code == 405
