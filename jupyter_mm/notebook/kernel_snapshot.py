"""The kernel's own notebook snapshot, for when the JupyterLab frontend cannot send the live one:
the ``.ipynb`` on disk when the kernel knows its path, else a notebook rebuilt from the session's
input history with the outputs it still holds."""

from __future__ import annotations

import os
from typing import Any


def notebook_path(shell: Any) -> str | None:
    """The notebook file this kernel runs, if it can be known: VS Code's ``__vsc_ipynb_file__``,
    then Jupyter's ``JPY_SESSION_NAME`` / ``__session__`` (absolute since jupyter_server 2.0.7)."""
    ns = getattr(shell, "user_ns", {}) or {}
    for candidate in (
        ns.get("__vsc_ipynb_file__"),
        os.environ.get("JPY_SESSION_NAME"),
        ns.get("__session__"),
    ):
        if (
            isinstance(candidate, str)
            and candidate.endswith(".ipynb")
            and os.path.isfile(candidate)
        ):
            return os.path.abspath(candidate)
    return None


def from_disk(path: str) -> Any | None:
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nb = nbformat.v4.upgrade(nb, from_version=nb.nbformat, from_minor=nb.nbformat_minor)
        if nb.nbformat_minor < 5:  # give old notebooks cell ids so runs can be diffed by cell
            nb.nbformat_minor = 5
            nbformat.validator.normalize(nb)  # adds missing ids
        return nb
    except Exception:
        return None


def from_history(shell: Any, tracked_cell: dict[str, Any] | None = None) -> Any:
    """A notebook of the session's inputs in execution order; outputs from ``Out`` (and, for the
    tracked cell, everything it displayed)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["jupyter_mm"] = {"rebuilt_from": "kernel history"}
    inputs = list(shell.user_ns.get("_ih", []))
    results = shell.user_ns.get("Out", {}) or {}
    tracked_count = (tracked_cell or {}).get("execution_count")
    for count, source in enumerate(inputs):
        if count == 0 or not source:
            continue
        cell = nbformat.v4.new_code_cell(source=source, execution_count=count)
        cell.id = f"exec-{count}"
        if tracked_cell is not None and count == tracked_count:
            cell.source = tracked_cell.get("source", source)
            cell.outputs = [nbformat.from_dict(o) for o in tracked_cell.get("outputs", [])]
        elif count in results:
            try:
                data, metadata = shell.display_formatter.format(results[count])
                cell.outputs = [
                    nbformat.v4.new_output("execute_result", data=data, execution_count=count)
                ]
            except Exception:
                pass
        nb.cells.append(cell)
    if tracked_cell is not None and tracked_count not in range(1, len(inputs)):
        # the running cell is not in _ih yet when store_history is off
        cell = nbformat.v4.new_code_cell(
            source=tracked_cell.get("source", ""), execution_count=tracked_count
        )
        cell.id = "tracked-cell"
        cell.outputs = [nbformat.from_dict(o) for o in tracked_cell.get("outputs", [])]
        nb.cells.append(cell)
    return nb
