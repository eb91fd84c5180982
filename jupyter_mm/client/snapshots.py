"""Notebook snapshots of a run: where they are stored and which one is the best record.

A ``%%track`` run may hold up to three snapshots of its notebook, as run artifacts:

- ``.mm/notebook/end.ipynb``: the live document from JupyterLab when the run finished (outputs
  included), posted by the frontend (``mm.snapshot.end = "frontend"``);
- ``.mm/notebook/start.ipynb``: the live document when the run started (``mm.snapshot.start``);
- ``.mm/notebook/kernel.ipynb``: the kernel's own fallback when no frontend answered, from the file
  on disk or from the session's input history; run tag ``mm.snapshot.kernel`` says which
  (``"disk"`` or ``"history"``).

:func:`best_snapshot` picks the first that exists in that order. Jupyter-free: only nbformat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.records import SNAPSHOT_DIR, TAG_KERNEL_SNAPSHOT, snapshot_path, snapshot_tag
from ..errors import NotFound

if TYPE_CHECKING:
    import nbformat

    from ..core.store import TrackingStore


def best_snapshot_info(store: TrackingStore, run_id: str) -> tuple[str, str, bytes]:
    """``(phase, source, raw bytes)`` of the best snapshot of the run (see the module docstring).

    Raises NotFound when the run does not exist or holds no snapshot.
    """
    run = store.get_run(run_id)  # NotFound for an unknown run
    stored = {a.path for a in store.list_artifacts(run.id, SNAPSHOT_DIR, recursive=True)}
    for phase in ("end", "start"):
        path = snapshot_path(phase)
        if path in stored:
            return (
                phase,
                run.tags.get(snapshot_tag(phase), "frontend"),
                store.read_artifact(run.id, path),
            )
    path = snapshot_path("kernel")
    if path in stored:
        return (
            "kernel",
            run.tags.get(TAG_KERNEL_SNAPSHOT, "unknown"),
            store.read_artifact(run.id, path),
        )
    raise NotFound(
        f"run {run.id} has no notebook snapshot: none was posted by JupyterLab "
        f"({snapshot_path('start')}, {snapshot_path('end')}) and none was taken by the kernel "
        f"({snapshot_path('kernel')}); was the run started with %%track in a notebook?"
    )


def best_snapshot(store: TrackingStore, run_id: str) -> tuple[nbformat.NotebookNode, str]:
    """The run's best notebook snapshot and its source (``"frontend"``, ``"disk"`` or ``"history"``).

    Order: the frontend's ``end`` snapshot, else its ``start`` snapshot, else the kernel's.
    Raises NotFound (with what was looked for) when the run has none.
    """
    import nbformat

    _, source, raw = best_snapshot_info(store, run_id)
    return nbformat.reads(raw.decode("utf-8"), as_version=4), source


def diff_snapshots(
    store: TrackingStore,
    base_run_id: str,
    other_run_id: str,
    sources: bool = True,
    outputs: bool = True,
    metadata: bool = True,
) -> dict[str, Any]:
    """nbdime's diff from one run's best snapshot to another's, cells aligned by id first.

    Parts not selected are blanked in both copies before diffing (thread-safe, unlike nbdime's
    global part selectors), so the diff holds only what was asked for.
    """
    import nbdime

    base, base_source = best_snapshot(store, base_run_id)
    other, other_source = best_snapshot(store, other_run_id)
    for nb in (base, other):
        if not metadata:
            nb.metadata = {}
        for cell in nb.cells:
            if not sources:
                cell.source = ""
            if not metadata:
                cell.metadata = {}
            if cell.cell_type == "code" and not outputs:
                cell.outputs = []
                cell.execution_count = None
    diff = nbdime.diff_notebooks(base, other)
    changed = {"added": 0, "removed": 0, "modified": 0}
    for op in diff:
        if op.get("key") != "cells":
            continue
        for cell_op in op.get("diff", []):
            kind = cell_op.get("op")
            if kind == "addrange":
                changed["added"] += len(cell_op.get("valuelist", []))
            elif kind == "removerange":
                changed["removed"] += int(cell_op.get("length", 0))
            elif kind == "patch":
                changed["modified"] += 1
    return {
        "base": {"run_id": base_run_id, "source": base_source, "cells": len(base.cells)},
        "other": {"run_id": other_run_id, "source": other_source, "cells": len(other.cells)},
        "parts": {"sources": sources, "outputs": outputs, "metadata": metadata},
        "cells": changed,
        "diff": _plain(diff),
    }


def _plain(value: Any) -> Any:
    """nbdime's diff entries are dict subclasses; make them plain JSON values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
