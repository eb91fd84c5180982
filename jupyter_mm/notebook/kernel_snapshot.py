"""The kernel's own notebook snapshot, for when the JupyterLab frontend cannot send the live one:
the ``.ipynb`` on disk when the kernel knows its path, else a notebook rebuilt from the session's
input history with the outputs it still holds.

Built as plain nbformat-4.5 JSON on purpose: importing nbformat pulls in jsonschema and its
format checkers, over a second of a kernel's first ``%%track`` cell. Readers validate with nbformat.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

from .failsafe import log_swallowed, swallowed

_log = logging.getLogger(__name__)


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


def from_disk(path: str) -> dict[str, Any] | None:
    """The saved notebook, as nbformat 4.5 (cells without an id get one); None if unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
        if nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
            return None
        if nb.get("nbformat_minor", 0) < 5:
            nb["nbformat_minor"] = 5
        for cell in nb["cells"]:
            cell.setdefault("id", uuid.uuid4().hex[:8])
        return nb
    except Exception:
        log_swallowed(_log, f"reading the notebook {path!r}")
        return None


def _code_cell(cell_id: str, source: str, count: int | None, outputs: list[Any]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": {},
        "execution_count": count,
        "source": source,
        "outputs": outputs,
    }


def from_history(shell: Any, tracked_cell: dict[str, Any] | None = None) -> dict[str, Any]:
    """A notebook of the session's inputs in execution order; outputs from ``Out`` (and, for the
    tracked cell, everything it displayed)."""
    inputs = list(shell.user_ns.get("_ih", []))
    results = shell.user_ns.get("Out", {}) or {}
    tracked_count = (tracked_cell or {}).get("execution_count")
    cells = []
    for count, source in enumerate(inputs):
        if count == 0 or not source:
            continue
        outputs: list[Any] = []
        if tracked_cell is not None and count == tracked_count:
            source = tracked_cell.get("source", source)
            outputs = list(tracked_cell.get("outputs", []))
        elif count in results:
            with swallowed(_log, f"formatting Out[{count}]"):
                data, _ = shell.display_formatter.format(results[count])
                outputs = [
                    {
                        "output_type": "execute_result",
                        "data": data,
                        "metadata": {},
                        "execution_count": count,
                    }
                ]
        cells.append(_code_cell(f"exec-{count}", source, count, outputs))
    if tracked_cell is not None and tracked_count not in range(1, len(inputs)):
        # the running cell is not in _ih when it runs with store_history off
        cells.append(
            _code_cell(
                "tracked-cell",
                tracked_cell.get("source", ""),
                tracked_count,
                list(tracked_cell.get("outputs", [])),
            )
        )
    language = getattr(getattr(shell, "kernel", None), "language_info", None) or {"name": "python"}
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"jupyter_mm": {"rebuilt_from": "kernel history"}, "language_info": language},
        "cells": cells,
    }


def dumps(nb: dict[str, Any]) -> bytes:
    """Serialised like ``nbformat.writes``: stable keys, one-space indent, trailing newline."""
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
