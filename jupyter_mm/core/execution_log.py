"""Execution-log analysis: did cells run out of order, or change after they ran?

The log (``{execution_count, cell_id, source_sha256, started, ended, success}`` per execution) is
recorded in the kernel (``notebook/execution_log.py``); the analysis is Jupyter-free, so the server
can re-run it against the live document the frontend posts.
"""

from __future__ import annotations

import hashlib
from typing import Any


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def analyse(entries: list[dict[str, Any]], notebook: Any | None) -> dict[str, Any]:
    """Flags from the log against the notebook's cells (when the document is known).

    - ``out_of_order``: some cell ran after a cell that sits below it in the notebook;
    - ``edited_after_run``: cells whose source in the document differs from what ran last (hidden
      state: the outputs and variables come from code no longer visible);
    - ``missing_cells``: cells that ran but are no longer in the document.
    """
    flags: dict[str, Any] = {"out_of_order": False, "edited_after_run": [], "missing_cells": []}
    if notebook is None:
        return flags
    order: dict[str, int] = {}
    current: dict[str, str] = {}
    for i, cell in enumerate(notebook.get("cells", [])):
        cid = cell.get("id")
        if cid:
            order[cid] = i
            src = cell.get("source", "")
            current[cid] = source_hash(src if isinstance(src, str) else "".join(src))
    last_ran: dict[str, str] = {}
    positions = []
    for e in entries:
        cid = e.get("cell_id")
        if not cid:
            continue
        last_ran[cid] = e["source_sha256"]
        if cid in order:
            positions.append(order[cid])
    # out of order: some execution is of a cell above one that ran before it (re-running the same
    # cell is fine; going back up is not: later cells' state may have leaked into it)
    flags["out_of_order"] = any(b < a for a, b in zip(positions, positions[1:], strict=False))
    flags["edited_after_run"] = sorted(
        c for c, h in last_ran.items() if c in current and current[c] != h
    )
    flags["missing_cells"] = sorted(c for c in last_ran if c not in current)
    return flags
