"""POST/GET jupyter-mm/api/runs/<run_id>/snapshot: live notebook snapshots from the frontend."""

from __future__ import annotations

import json
import os
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from tornado.httpclient import HTTPClientError

from jupyter_mm.client.snapshots import best_snapshot
from jupyter_mm.core.records import snapshot_path
from jupyter_mm.core.store import Store
from jupyter_mm.server.handlers import snapshots as snapshots_module


def make_notebook(source: str = "x = 1  # an unsaved edit") -> dict[str, Any]:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title", id="md-1"),
            new_code_cell(
                source,
                id="code-1",
                execution_count=3,
                outputs=[new_output("stream", name="stdout", text="hello\nworld\n")],
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "jupyter_mm": {"notebook_id": "3f2b8a8e-6a55-4f42-9c1d-1d0bd2d1a0e4"},
        },
    )
    return json.loads(nbformat.writes(nb))


def new_run() -> str:
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        return store.create_run(name="tracked").id


async def post(jp_fetch, run_id: str, body: Any, **kw: Any):
    return await jp_fetch(
        "jupyter-mm",
        "api",
        "runs",
        run_id,
        "snapshot",
        method="POST",
        body=body if isinstance(body, (str, bytes)) else json.dumps(body),
        **kw,
    )


async def get(jp_fetch, run_id: str):
    return await jp_fetch("jupyter-mm", "api", "runs", run_id, "snapshot")


async def error_of(coro) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as e:
        await coro
    assert e.value.response is not None
    return e.value.code, json.loads(e.value.response.body)


async def test_store_and_read_back_both_phases(jp_fetch, jp_serverapp) -> None:
    run_id = new_run()
    start = make_notebook("x = 1  # typed, never saved")
    r = await post(
        jp_fetch,
        run_id,
        {
            "phase": "start",
            "notebook": start,
            "path": "work/analysis.ipynb",
            "notebook_id": "nb-123",
            "cell_id": "code-1",
        },
    )
    assert r.code == 201
    reply = json.loads(r.body)
    assert reply["path"] == ".mm/notebook/start.ipynb"
    assert reply["cells"] == 2

    got = json.loads((await get(jp_fetch, run_id)).body)
    assert (got["phase"], got["source"]) == ("start", "frontend")
    assert nbformat.from_dict(got["notebook"]) == nbformat.reads(
        nbformat.writes(nbformat.from_dict(start)), 4
    )

    end = make_notebook("x = 2  # edited during the run")
    end["cells"][1]["outputs"].append(
        json.loads(json.dumps(new_output("execute_result", {"text/plain": "2"}, execution_count=3)))
    )
    r = await post(
        jp_fetch, run_id, {"phase": "end", "notebook": end, "path": "work/analysis.ipynb"}
    )
    assert r.code == 201

    got = json.loads((await get(jp_fetch, run_id)).body)
    assert (got["phase"], got["source"]) == ("end", "frontend")
    assert got["notebook"]["cells"][1]["source"] == "x = 2  # edited during the run"
    assert [c["id"] for c in got["notebook"]["cells"]] == ["md-1", "code-1"]

    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        run = store.get_run(run_id)
        assert run.tags["mm.notebook.path"] == "work/analysis.ipynb"
        assert run.tags["mm.notebook.id"] == "nb-123"
        assert run.tags["mm.snapshot.start"] == "frontend"
        assert run.tags["mm.snapshot.end"] == "frontend"
        # Canonical nbformat JSON, content-addressed.
        raw = store.read_artifact(run_id, snapshot_path("end"))
        assert raw.decode() == nbformat.writes(nbformat.reads(raw.decode(), 4))
        info = store.artifact_info(run_id, snapshot_path("end"))
        assert info.media_type == "application/x-ipynb+json"
        nb, source = best_snapshot(store, run_id)
        assert source == "frontend"
        assert nb.cells[1].outputs[1].data["text/plain"] == "2"


async def test_identical_snapshots_are_stored_once(jp_fetch, jp_serverapp) -> None:
    run_a, run_b = new_run(), new_run()
    nb = make_notebook()
    da = json.loads((await post(jp_fetch, run_a, {"phase": "start", "notebook": nb})).body)
    db = json.loads((await post(jp_fetch, run_b, {"phase": "end", "notebook": nb})).body)
    assert da["digest"] == db["digest"]


async def test_older_minor_is_upgraded_keeping_cell_ids(jp_fetch, jp_serverapp) -> None:
    run_id = new_run()
    nb = make_notebook()
    nb["nbformat_minor"] = 4
    nb["cells"][1].pop("id")  # 4.4 cells may lack ids: they get new ones
    await post(jp_fetch, run_id, {"phase": "start", "notebook": nb})
    got = json.loads((await get(jp_fetch, run_id)).body)["notebook"]
    assert got["nbformat_minor"] >= 5
    assert got["cells"][0]["id"] == "md-1"
    assert got["cells"][1]["id"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"phase": "middle", "notebook": {}}, "'phase' must be one of start, end"),
        ({"phase": "start"}, "'notebook' is missing"),
        ({"phase": "start", "notebook": []}, "must be a JSON object"),
        ({"phase": "start", "notebook": {"nbformat": 3, "nbformat_minor": 0}}, "nbformat 4"),
        ({"phase": "start", "notebook": make_notebook(), "path": 5}, "'path' must be a string"),
        ({"phase": "start", "notebook": "{}"}, "must be a JSON object"),
        ([1, 2], "must be a JSON object"),
    ],
)
async def test_bad_bodies_are_400(jp_fetch, jp_serverapp, body: Any, fragment: str) -> None:
    code, err = await error_of(post(jp_fetch, new_run(), body))
    assert code == 400
    assert err["error_code"] == "INVALID_PARAMETER_VALUE"
    assert fragment in err["message"]


async def test_invalid_notebook_is_400_with_nbformats_message(jp_fetch, jp_serverapp) -> None:
    run_id = new_run()
    nb = make_notebook()
    nb["cells"][1]["cell_type"] = "spreadsheet"
    code, err = await error_of(post(jp_fetch, run_id, {"phase": "start", "notebook": nb}))
    assert code == 400
    assert err["message"].startswith("invalid notebook:")

    nb = make_notebook()
    del nb["cells"][1]["outputs"]
    code, err = await error_of(post(jp_fetch, run_id, {"phase": "start", "notebook": nb}))
    assert code == 400
    assert "outputs" in err["message"]

    # Nothing was stored.
    code, err = await error_of(get(jp_fetch, run_id))
    assert code == 404
    assert "no notebook snapshot" in err["message"]


async def test_malformed_json_is_400(jp_fetch, jp_serverapp) -> None:
    with pytest.raises(HTTPClientError) as e:
        await post(jp_fetch, new_run(), "{not json")
    assert e.value.code == 400


async def test_unknown_run_is_404(jp_fetch, jp_serverapp) -> None:
    missing = "0" * 32
    code, err = await error_of(
        post(jp_fetch, missing, {"phase": "start", "notebook": make_notebook()})
    )
    assert code == 404
    assert err["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    code, err = await error_of(get(jp_fetch, missing))
    assert code == 404


async def test_malformed_run_id_is_400(jp_fetch, jp_serverapp) -> None:
    code, err = await error_of(
        post(jp_fetch, "not-a-run", {"phase": "start", "notebook": make_notebook()})
    )
    assert code == 400
    assert "run id" in err["message"]


async def test_too_large_body_is_413(jp_fetch, jp_serverapp, monkeypatch) -> None:
    monkeypatch.setattr(snapshots_module, "MAX_SNAPSHOT_BYTES", 1000)
    nb = make_notebook("y = 0\n" * 500)
    code, err = await error_of(post(jp_fetch, new_run(), {"phase": "start", "notebook": nb}))
    assert code == 413
    assert err["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "too large" in err["message"] and "limit 1000" in err["message"]


async def test_kernel_snapshot_is_the_fallback(jp_fetch, jp_serverapp) -> None:
    run_id = new_run()
    kernel_nb = nbformat.writes(nbformat.from_dict(make_notebook("from history")))
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        store.log_artifact(run_id, snapshot_path("kernel"), kernel_nb.encode())
        store.set_tag(run_id, "mm.snapshot.kernel", "history")
    got = json.loads((await get(jp_fetch, run_id)).body)
    assert (got["phase"], got["source"]) == ("kernel", "history")
    assert got["notebook"]["cells"][1]["source"] == "from history"

    # A frontend snapshot wins over the kernel's.
    await post(jp_fetch, run_id, {"phase": "start", "notebook": make_notebook("live")})
    got = json.loads((await get(jp_fetch, run_id)).body)
    assert (got["phase"], got["source"]) == ("start", "frontend")


async def test_snapshot_route_is_registered_with_its_auth_resource(jp_web_app) -> None:
    from .helpers import mm_routes

    handlers = {h.__name__: (p, h) for p, h in mm_routes(jp_web_app)}
    pattern, handler = handlers["SnapshotHandler"]
    assert pattern.endswith("jupyter-mm/api/runs/(?P<run_id>[^/]+)/snapshot$")
    assert handler.auth_resource == "jupyter_mm:snapshots"


async def test_unauthenticated_requests_are_refused(
    jp_serverapp, http_server_client, jp_base_url
) -> None:
    run_id = new_run()
    path = f"{jp_base_url}jupyter-mm/api/runs/{run_id}/snapshot"
    body = json.dumps({"phase": "start", "notebook": make_notebook()})
    for method, data in (("GET", None), ("POST", body)):
        r = await http_server_client.fetch(
            path, method=method, body=data, raise_error=False, follow_redirects=False
        )
        assert r.code in (401, 403), (method, r.code)
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        assert store.list_artifacts(run_id, recursive=True) == []


async def test_end_snapshot_decides_the_hidden_state_flags(jp_fetch, jp_serverapp) -> None:
    """The kernel only sees the file on disk; the live document posted at the end decides whether
    cells were edited after they ran."""
    from jupyter_mm.core import records
    from jupyter_mm.notebook.execution_log import source_hash

    run_id = new_run()
    entries = [{"cell_id": "code-1", "source_sha256": source_hash("x = 1"), "execution_count": 1}]
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        log = {"entries": entries, "flags": {"out_of_order": False, "edited_after_run": []}}
        store.log_artifact(run_id, records.EXECUTION_LOG, json.dumps(log).encode())
    await post(jp_fetch, run_id, {"phase": "end", "notebook": make_notebook("x = 2  # edited")})
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        run = store.get_run(run_id)
        flags = json.loads(store.read_artifact(run_id, records.EXECUTION_LOG))["flags"]
    assert run.tags[records.TAG_HIDDEN_STATE] == "true"
    assert flags["edited_after_run"] == ["code-1"] and flags["document"] == "frontend"
    # the same source as what ran: no hidden state
    run2 = new_run()
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        store.log_artifact(run2, records.EXECUTION_LOG, json.dumps(log).encode())
    await post(jp_fetch, run2, {"phase": "end", "notebook": make_notebook("x = 1")})
    with Store.open(os.environ["MM_TRACKING_URI"]) as store:
        assert store.get_run(run2).tags[records.TAG_HIDDEN_STATE] == "false"


async def test_diff_between_two_runs_snapshots(jp_fetch, jp_serverapp) -> None:
    a, b = new_run(), new_run()
    await post(jp_fetch, a, {"phase": "end", "notebook": make_notebook("x = 1")})
    await post(jp_fetch, b, {"phase": "end", "notebook": make_notebook("x = 2")})
    r = await jp_fetch("jupyter-mm", "api", "runs", a, "snapshot", "diff", params={"other": b})
    got = json.loads(r.body)
    assert got["cells"] == {"added": 0, "removed": 0, "modified": 1}
    assert got["base"]["source"] == "frontend" and got["other"]["run_id"] == b
    # nbdime patches cell 1's source in place: "x = 1" -> "x = 2" replaces the character at 4
    (cells_op,) = got["diff"]
    (cell_op,) = cells_op["diff"]
    assert cells_op["key"] == "cells" and cell_op["key"] == 1
    assert '"key": "source"' in json.dumps(cell_op) and '"valuelist": "2"' in json.dumps(cell_op)
    # outputs only: the sources differ, but the outputs are the same, so nothing changed
    r = await jp_fetch(
        "jupyter-mm", "api", "runs", a, "snapshot", "diff", params={"other": b, "parts": "outputs"}
    )
    assert json.loads(r.body)["cells"] == {"added": 0, "removed": 0, "modified": 0}
    code, err = await error_of(
        jp_fetch(
            "jupyter-mm",
            "api",
            "runs",
            a,
            "snapshot",
            "diff",
            params={"other": b, "parts": "colours"},
        )
    )
    assert code == 400 and "parts" in err["message"]
    code, _ = await error_of(
        jp_fetch("jupyter-mm", "api", "runs", a, "snapshot", "diff", params={"other": "f" * 32})
    )
    assert code == 404


async def test_diff_carries_the_base_notebook_it_applies_to(jp_fetch, jp_serverapp) -> None:
    """The frontend builds nbdime's NotebookDiffModel from ``base.notebook`` + ``diff``."""
    import nbdime
    from nbdime.diff_utils import to_diffentry_dicts

    a, b = new_run(), new_run()
    await post(jp_fetch, a, {"phase": "end", "notebook": make_notebook("x = 1\ny = 2")})
    other = make_notebook("x = 1\ny = 3")
    other["cells"].append({"cell_type": "markdown", "id": "md-2", "metadata": {}, "source": "new"})
    await post(jp_fetch, b, {"phase": "end", "notebook": other})
    got = json.loads(
        (
            await jp_fetch("jupyter-mm", "api", "runs", a, "snapshot", "diff", params={"other": b})
        ).body
    )
    base = got["base"]["notebook"]
    assert base["cells"][1]["source"] == "x = 1\ny = 2"
    assert got["cells"] == {"added": 1, "removed": 0, "modified": 1}
    # the diff applied to the base gives the other run's notebook
    patched = nbdime.patch(nbformat.from_dict(base), to_diffentry_dicts(got["diff"]))
    assert [c["source"] for c in patched["cells"]] == ["# Title", "x = 1\ny = 3", "new"]
    # with a part left out the base is still whole (its outputs shown unchanged), and the diff
    # touches only what was asked for
    got = json.loads(
        (
            await jp_fetch(
                "jupyter-mm",
                "api",
                "runs",
                a,
                "snapshot",
                "diff",
                params={"other": b, "parts": "outputs"},
            )
        ).body
    )
    assert got["base"]["notebook"]["cells"][1]["outputs"][0]["text"] == "hello\nworld\n"
    assert got["base"]["notebook"]["cells"][1]["source"] == "x = 1\ny = 2"
    patched = nbdime.patch(
        nbformat.from_dict(got["base"]["notebook"]), to_diffentry_dicts(got["diff"])
    )
    assert [c["source"] for c in patched["cells"]] == ["# Title", "x = 1\ny = 2", ""]
