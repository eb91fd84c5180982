"""``jupyter-mm/api/runs/<run_id>/snapshot``: live notebook snapshots posted by JupyterLab.

``POST`` (from the frontend, when the kernel announces ``run_started`` / ``run_finished`` on the
``jupyter_mm`` comm; see ``docs/notebook-comm.md``)::

    {"phase": "start" | "end", "notebook": {...nbformat 4...},
     "path": "dir/analysis.ipynb", "notebook_id": "<uuid>", "cell_id": "<cell id>"}

validates the notebook with nbformat (upgraded to 4.5 first, keeping cell ids), stores it as the
run's artifact ``.mm/notebook/<phase>.ipynb`` (canonical ``nbformat.writes`` JSON, content-addressed)
and sets the run tags ``mm.notebook.path``, ``mm.notebook.id`` and ``mm.snapshot.<phase>``.

``GET`` answers ``{"run_id", "phase", "source", "notebook"}`` for the run's best snapshot (``end`` >
``start`` > ``kernel``), or 404 when it has none.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from ...client.snapshots import best_snapshot_info
from ...core.records import (
    FRONTEND_PHASES,
    TAG_NOTEBOOK_ID,
    TAG_NOTEBOOK_PATH,
    snapshot_path,
    snapshot_tag,
)
from ...errors import InvalidInput
from .base import MMHandler
from .common import parse_run, read_json_body

if TYPE_CHECKING:
    import nbformat

    from ...core.store import Store

#: Largest request body accepted (the notebook with its outputs, as JSON).
MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024
#: Media type of stored snapshots.
IPYNB_MEDIA_TYPE = "application/x-ipynb+json"
#: Longest optional string field (path, notebook id, cell id) accepted.
_MAX_FIELD = 4096
_MAX_ERROR = 1000


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'{key}' must be a string, got {type(value).__name__}")
    if len(value) > _MAX_FIELD:
        raise InvalidInput(f"'{key}' is too long ({len(value)} characters; limit {_MAX_FIELD})")
    return value


def validated_notebook(notebook: Any) -> nbformat.NotebookNode:
    """The posted notebook as a valid nbformat 4.5 node; InvalidInput with nbformat's message if not.

    Older 4.x documents are upgraded to 4.5; cell ids they already carry are kept (nbformat's
    upgrade would replace them with random ones).
    """
    import nbformat

    if not isinstance(notebook, dict):
        raise InvalidInput(f"'notebook' must be a JSON object, got {type(notebook).__name__}")
    major = notebook.get("nbformat")
    minor = notebook.get("nbformat_minor")
    if major != 4 or not isinstance(minor, int) or isinstance(minor, bool):
        raise InvalidInput(
            "'notebook' must be an nbformat 4 document (with integer 'nbformat' = 4 and "
            f"'nbformat_minor'), got nbformat={major!r}, nbformat_minor={minor!r}"
        )
    nb = nbformat.from_dict(notebook)
    try:
        if minor < 5:
            cells = nb.get("cells")
            ids = [c.get("id") if isinstance(c, dict) else None for c in cells or []]
            nb = nbformat.v4.upgrade(nb, from_version=4, from_minor=minor)
            for cell, cell_id in zip(nb.cells, ids, strict=False):
                if isinstance(cell_id, str) and cell_id:
                    cell["id"] = cell_id
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        message = getattr(e, "message", None) or str(e)
        where = "/".join(str(p) for p in getattr(e, "absolute_path", []) or [])
        text = f"invalid notebook: {message}" + (f" (at {where})" if where else "")
        if len(text) > _MAX_ERROR:
            text = text[:_MAX_ERROR] + "…"
        raise InvalidInput(text) from None
    except (AttributeError, TypeError, KeyError, ValueError) as e:
        raise InvalidInput(f"invalid notebook: {e}") from None
    return nb


def store_snapshot(
    store: Store,
    run_id: str,
    phase: str,
    notebook: Any,
    path: str | None = None,
    notebook_id: str | None = None,
) -> dict[str, Any]:
    """Validate and store a frontend snapshot; returns what was stored."""
    import nbformat

    run = store.get_run(run_id)  # NotFound before the (possibly slow) validation
    nb = validated_notebook(notebook)
    data = nbformat.writes(nb).encode("utf-8")
    info = store.log_artifact(run.id, snapshot_path(phase), data, media_type=IPYNB_MEDIA_TYPE)
    tags = {snapshot_tag(phase): "frontend"}
    if path is not None:
        tags[TAG_NOTEBOOK_PATH] = path
    if notebook_id is not None:
        tags[TAG_NOTEBOOK_ID] = notebook_id
    store.log_batch(run.id, tags=tags)
    if phase == "end":
        reflag_with_live_document(store, run.id, nb)
    return {
        "run_id": run.id,
        "phase": phase,
        "path": info.path,
        "digest": info.digest,
        "size": info.size,
        "cells": len(nb.cells),
    }


def reflag_with_live_document(store: Store, run_id: str, nb: Any) -> None:
    """Recompute the out-of-order and hidden-state flags against the live document.

    The kernel can only compare its execution log with the file on disk, which misses unsaved
    edits; the frontend's end snapshot is what the user actually had, so it decides.
    """
    import json

    from ...core import records
    from ...core.execution_log import analyse
    from ...errors import NotFound

    try:
        log = json.loads(store.read_artifact(run_id, records.EXECUTION_LOG))
    except NotFound:  # not a %%track run, or the kernel has not written its log
        return
    flags = analyse(log.get("entries", []), nb)
    log["flags"] = {**flags, "document": "frontend"}
    data = json.dumps(log, sort_keys=True, default=str).encode()
    store.log_artifact(run_id, records.EXECUTION_LOG, data, media_type="application/json")
    store.log_batch(
        run_id,
        tags={
            records.TAG_OUT_OF_ORDER: str(flags["out_of_order"]).lower(),
            records.TAG_HIDDEN_STATE: str(bool(flags["edited_after_run"])).lower(),
        },
    )


def load_best_snapshot(store: Store, run_id: str) -> dict[str, Any]:
    """The reply of GET: the best snapshot with multi-line strings joined, as JupyterLab sends them."""
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    phase, source, raw = best_snapshot_info(store, run_id)
    return {
        "run_id": run_id,
        "phase": phase,
        "source": source,
        "notebook": rejoin_lines(nbformat.from_dict(json.loads(raw.decode("utf-8")))),
    }


class SnapshotsAPIHandler(MMHandler):
    """Base of the notebook snapshot routes of a run."""

    auth_resource = "jupyter_mm:snapshots"


class SnapshotHandler(SnapshotsAPIHandler):
    """A run's notebook snapshots: POST one from the frontend, GET the best one."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run_id = parse_run(run_id)
        self.finish(await self.call_store(load_best_snapshot, run_id))

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = read_json_body(self, MAX_SNAPSHOT_BYTES, advice="clear large outputs and run again")
        run_id = parse_run(run_id)
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object with 'phase' and 'notebook'")
        phase = body.get("phase")
        if phase not in FRONTEND_PHASES:
            raise InvalidInput(
                f"'phase' must be one of {', '.join(FRONTEND_PHASES)}; got {phase!r}"
            )
        if "notebook" not in body:
            raise InvalidInput("'notebook' is missing: post the nbformat document")
        path = _optional_str(body, "path")
        notebook_id = _optional_str(body, "notebook_id")
        _optional_str(body, "cell_id")  # validated; the kernel records the run's cell itself
        reply = await self.call_store(
            store_snapshot, run_id, phase, body["notebook"], path, notebook_id
        )
        self.set_status(201)
        self.finish(reply)


class SnapshotDiffHandler(SnapshotsAPIHandler):
    """An nbdime diff between two runs' notebook snapshots:
    ``GET runs/{run_id}/snapshot/diff?other=<run id>&parts=sources,outputs,metadata``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run_id = parse_run(run_id)
        other = parse_run(self.get_query_argument("other", ""))
        raw = self.get_query_argument("parts", "sources,outputs,metadata")
        parts = {p.strip() for p in raw.split(",") if p.strip()}
        unknown = parts - {"sources", "outputs", "metadata"}
        if unknown or not parts:
            raise InvalidInput(
                f"'parts' is a comma list of sources, outputs, metadata; got {raw!r}"
            )
        self.finish(
            await self.call_store(
                diff_with_base,
                run_id,
                other,
                "sources" in parts,
                "outputs" in parts,
                "metadata" in parts,
            )
        )


def diff_with_base(
    store: Store, run_id: str, other: str, sources: bool, outputs: bool, metadata: bool
) -> dict[str, Any]:
    """The diff reply, with the base notebook it applies to as ``base.notebook``.

    nbdime's ``NotebookDiffModel`` (the frontend's diff view) is built from the base document
    plus the diff. The base is sent whole: parts left out of the diff were equal (blanked) on
    both sides, so the diff holds no operation on them and applies to the whole base, showing
    them unchanged, like nbdime's own ``--ignore-*`` options.
    """
    from ...client.snapshots import diff_snapshots

    reply = diff_snapshots(store, run_id, other, sources, outputs, metadata)
    reply["base"]["notebook"] = load_best_snapshot(store, run_id)["notebook"]
    return reply
