"""The kernel → frontend → server snapshot protocol, with real parts.

A real Jupyter server with the jupyter-mm extension (pytest-jupyter) and a real IPython kernel
(jupyter_client + ipykernel) logging into the same store. The test plays JupyterLab's part: it reads
the kernel's IOPub, sees the ``jupyter_mm`` comm announcements (sent while the cell is still
running), and posts a notebook with an unsaved edit to the snapshot route, as ``src/snapshot.ts``
does. See docs/notebook-comm.md.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelClient, AsyncKernelManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_mm.client.snapshots import best_snapshot
from jupyter_mm.core.records import snapshot_path
from jupyter_mm.core.store import Store
from jupyter_mm.notebook import frontend_comm
from jupyter_mm.notebook.frontend_comm import announce

TIMEOUT = 60


@asynccontextmanager
async def started_kernel(tmp_path: Path) -> AsyncIterator[AsyncKernelClient]:
    """A real python3 kernel whose MM_TRACKING_URI is the test server's store.

    (A context manager, not a fixture: async tests run on pytest-jupyter's loop, and pytest-asyncio
    stays in strict mode; see the root conftest.)
    """
    uri = os.environ["MM_TRACKING_URI"]  # exported by the server extension for its kernels
    workdir = tmp_path / "kernel-cwd"
    workdir.mkdir()
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel(env={**os.environ, "MM_TRACKING_URI": uri}, cwd=str(workdir))
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=TIMEOUT)
        yield kc
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


async def run_cell(kc: AsyncKernelClient, code: str) -> tuple[list[dict[str, Any]], str]:
    """Execute ``code``; return the IOPub messages of the execution (up to idle) and its stdout."""
    msg_id = kc.execute(textwrap.dedent(code))
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        msg = await kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    else:
        raise AssertionError("the kernel did not finish the cell")
    reply = await kc.get_shell_msg(timeout=TIMEOUT)
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert reply["content"]["status"] == "ok", errors or reply["content"]
    stdout = "".join(
        m["content"]["text"]
        for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
    )
    return messages, stdout


def comm_traffic(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], str]]:
    """(msg_type, data, comm_id) of the jupyter_mm comm messages, in order."""
    return [
        (m["msg_type"], m["content"]["data"], m["content"]["comm_id"])
        for m in messages
        if m["msg_type"] in ("comm_open", "comm_msg", "comm_close")
    ]


def lab_notebook(edit: str) -> dict[str, Any]:
    """What JupyterLab's ``model.toJSON()`` gives: nbformat 4.5, cell ids, unsaved source."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Churn model", id="intro"),
            new_code_cell(edit, id="c1", execution_count=1),
            new_code_cell(
                "print('done')",
                id="c2",
                execution_count=2,
                outputs=[new_output("stream", name="stdout", text="done\n")],
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "jupyter_mm": {"notebook_id": "5d0c7c40-2a3e-4d4f-9e0e-0b6c1f8d2a11"},
        },
    )
    return json.loads(json.dumps(nb))


async def test_announce_post_and_read_back(jp_fetch, jp_serverapp, tmp_path) -> None:
    async with started_kernel(tmp_path) as kernel:
        await _announce_post_and_read_back(jp_fetch, kernel, tmp_path)


async def _announce_post_and_read_back(
    jp_fetch: Any, kernel: AsyncKernelClient, tmp_path: Path
) -> None:
    uri = os.environ["MM_TRACKING_URI"]
    # The kernel announces, then keeps running: the frontend must see the message while the
    # kernel is still busy (it could not answer a comm message now).
    messages, out = await run_cell(
        kernel,
        """
        import time
        import jupyter_mm as mm
        from jupyter_mm.notebook.frontend_comm import announce
        r = mm.start_run()
        ok = announce("run_started", run_id=r.id, cell_id="c1", execution_count=1,
                      tracking_uri=mm.get_tracking_uri())
        print(r.id, ok, flush=True)
        time.sleep(0.5)
        """,
    )
    run_id, ok = out.split()
    assert ok == "True"

    traffic = comm_traffic(messages)
    assert [t[0] for t in traffic] == ["comm_open", "comm_msg"]
    open_msg = next(m for m in messages if m["msg_type"] == "comm_open")
    assert open_msg["content"]["target_name"] == "jupyter_mm"
    assert traffic[0][1] == {"type": "hello", "protocol": 1}
    assert traffic[1][1] == {
        "type": "run_started",
        "protocol": 1,
        "run_id": run_id,
        "cell_id": "c1",
        "execution_count": 1,
        "tracking_uri": uri,
    }
    assert traffic[0][2] == traffic[1][2]  # same comm
    # Sent while busy: before the stream output printed after it and before the idle status.
    kinds = [m["msg_type"] for m in messages]
    assert kinds.index("comm_msg") < kinds.index("stream") < len(kinds) - 1
    assert messages[-1]["content"]["execution_state"] == "idle"

    # Act as JupyterLab: post the live document, with an edit that exists nowhere on disk.
    edit = f"threshold = 0.5  # unsaved edit {uuid.uuid4().hex}"
    assert not any(edit in p.read_text(errors="ignore") for p in tmp_path.rglob("*.ipynb"))
    posted = lab_notebook(edit)
    event = traffic[1][1]
    r = await jp_fetch(
        "jupyter-mm",
        "api",
        "runs",
        event["run_id"],
        "snapshot",
        method="POST",
        body=json.dumps(
            {
                "phase": "start",
                "notebook": posted,
                "path": "projects/churn.ipynb",
                "notebook_id": posted["metadata"]["jupyter_mm"]["notebook_id"],
                "cell_id": event["cell_id"],
            }
        ),
    )
    assert r.code == 201

    # Read back through the Jupyter-free reader (what mm.snapshot uses)...
    with Store.open(uri) as store:
        nb, source = best_snapshot(store, run_id)
        run = store.get_run(run_id)
        assert store.artifact_info(run_id, snapshot_path("start")).size > 0
    assert source == "frontend"
    assert json.loads(json.dumps(nb)) == posted
    assert nb.cells[1].source == edit
    assert [c.id for c in nb.cells] == ["intro", "c1", "c2"]
    assert run.tags["mm.notebook.path"] == "projects/churn.ipynb"
    assert run.tags["mm.notebook.id"] == "5d0c7c40-2a3e-4d4f-9e0e-0b6c1f8d2a11"
    assert run.tags["mm.snapshot.start"] == "frontend"

    # ... through the REST route ...
    got = json.loads((await jp_fetch("jupyter-mm", "api", "runs", run_id, "snapshot")).body)
    assert (got["phase"], got["source"]) == ("start", "frontend")
    assert got["notebook"] == posted

    # ... and from inside the kernel, which logs into the same store.
    _, out = await run_cell(
        kernel,
        f"""
        from jupyter_mm.client.backend import get_store
        from jupyter_mm.client.snapshots import best_snapshot
        nb, source = best_snapshot(get_store(), {run_id!r})
        print(source, nb.cells[1].id, nb.cells[1].source == {edit!r})
        """,
    )
    assert out.split() == ["frontend", "c1", "True"]

    # run_finished goes over the same comm (no second comm_open); the end snapshot wins.
    messages, _ = await run_cell(
        kernel,
        f"""
        announce("run_finished", run_id={run_id!r}, status="FINISHED", cell_id="c1")
        mm.end_run()
        """,
    )
    traffic2 = comm_traffic(messages)
    assert [(t[0], t[2]) for t in traffic2] == [("comm_msg", traffic[0][2])]
    assert traffic2[0][1] == {
        "type": "run_finished",
        "protocol": 1,
        "run_id": run_id,
        "status": "FINISHED",
        "cell_id": "c1",
    }
    ended = lab_notebook(edit)
    ended["cells"][1]["outputs"] = [new_output("stream", name="stdout", text="trained\n")]
    ended = json.loads(json.dumps(ended))
    await jp_fetch(
        "jupyter-mm",
        "api",
        "runs",
        run_id,
        "snapshot",
        method="POST",
        body=json.dumps({"phase": "end", "notebook": ended, "path": "projects/churn.ipynb"}),
    )
    got = json.loads((await jp_fetch("jupyter-mm", "api", "runs", run_id, "snapshot")).body)
    assert (got["phase"], got["source"]) == ("end", "frontend")
    assert got["notebook"] == ended
    with Store.open(uri) as store:
        assert store.get_run(run_id).tags["mm.snapshot.end"] == "frontend"
        assert store.get_run(run_id).status == "FINISHED"


async def test_a_frontend_without_the_target_closes_the_comm_and_it_is_reopened(
    jp_serverapp, tmp_path
) -> None:
    """JupyterLab answers a comm_open for an unknown target with comm_close (e.g. a console or
    a browser tab without jupyter-mm on the same kernel); the next announcement reopens."""
    async with started_kernel(tmp_path) as kernel:
        await _reopen(kernel)


async def _reopen(kernel: AsyncKernelClient) -> None:
    messages, _ = await run_cell(
        kernel,
        "from jupyter_mm.notebook.frontend_comm import announce\n"
        "announce('run_started', run_id='0'*32)",
    )
    first = comm_traffic(messages)
    comm_id = first[0][2]
    # Close it from the "frontend" side, as KernelConnection does for an unknown target.
    close = kernel.session.msg("comm_close", {"comm_id": comm_id, "data": {}})
    kernel.shell_channel.send(close)
    await run_cell(kernel, "pass")  # the kernel handles the close once idle
    messages, out = await run_cell(
        kernel, "print(announce('run_finished', run_id='0'*32, status='FINISHED'))"
    )
    assert out.strip() == "True"
    second = comm_traffic(messages)
    assert [t[0] for t in second] == ["comm_open", "comm_msg"]
    assert second[0][2] != comm_id


async def test_announce_in_a_kernel_is_cheap_and_survives_bad_payloads(
    jp_serverapp, tmp_path
) -> None:
    async with started_kernel(tmp_path) as kernel:
        _, out = await run_cell(
            kernel,
            """
            import time
            from jupyter_mm.notebook.frontend_comm import announce
            announce("warm-up")
            t0 = time.perf_counter()
            for _ in range(200):
                announce("run_started", run_id="0" * 32)
            per_call = (time.perf_counter() - t0) / 200
            bad = announce("run_started", run_id=object())
            print(per_call, bad)
            """,
        )
        per_call, bad = out.split()
        assert bad == "False"  # not JSON-able: refused, not raised
        assert float(per_call) < 0.005  # publishing on IOPub does not wait for anyone


def test_announce_outside_a_kernel_is_false_and_cheap() -> None:
    frontend_comm._reset()
    assert announce("run_started", run_id="0" * 32, cell_id="c1") is False
    t0 = time.perf_counter()
    for _ in range(10_000):
        announce("run_finished", run_id="0" * 32, status="FINISHED")
    per_call = (time.perf_counter() - t0) / 10_000
    assert per_call < 1e-4, per_call  # generous: about a microsecond on a laptop
    assert frontend_comm._comm is None  # nothing was opened


def test_announce_never_raises(monkeypatch) -> None:
    def boom() -> bool:
        raise RuntimeError("no kernel for you")

    monkeypatch.setattr(frontend_comm, "_in_kernel", boom)
    assert announce("run_started", run_id="0" * 32) is False
