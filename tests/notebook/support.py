"""Running notebooks in real kernels the way JupyterLab does: each execute_request carries the
cell's id in its metadata (``cellId``), which nbclient alone does not send."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from jupyter_mm.core.store import Store


class LabLikeClient(NotebookClient):
    """An nbclient that sends ``cellId`` like JupyterLab, and can run cells in any order."""

    current_cell: Any = None

    def _wrap(self) -> None:
        kc = self.kc
        if getattr(kc, "_mm_wrapped", False):
            return

        def execute(
            code: str,
            silent: bool = False,
            store_history: bool = True,
            user_expressions: Any = None,
            allow_stdin: Any = None,
            stop_on_error: bool = True,
        ) -> str:
            content = {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": user_expressions or {},
                "allow_stdin": False,
                "stop_on_error": stop_on_error,
            }
            cell = self.current_cell
            metadata = {"cellId": cell.id} if cell is not None and "id" in cell else {}
            msg = kc.session.msg("execute_request", content, metadata=metadata)
            kc.shell_channel.send(msg)
            return str(msg["header"]["msg_id"])

        kc.execute = execute
        kc._mm_wrapped = True

    @contextmanager
    def running(self) -> Iterator[LabLikeClient]:
        with self.setup_kernel():
            self._wrap()
            yield self

    def run(self, index: int) -> Any:
        cell = self.current_cell = self.nb.cells[index]
        return self.execute_cell(cell, index)


def notebook(sources: list[str]) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        cell.id = f"cell-{i}"
        nb.cells.append(cell)
    return nb


def client_for(nb: Any, directory: Path, timeout: int = 60) -> LabLikeClient:
    return LabLikeClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(directory)}},
    )


def runs_by_name(store_dir: Path) -> dict[str, Any]:
    with Store.open(str(store_dir)) as st:
        return {r.name: r for r in st.search_runs(view="all", max_results=1000)[0]}


def artifact_json(store_dir: Path, run_id: str, path: str) -> Any:
    with Store.open(str(store_dir)) as st:
        return json.loads(st.read_artifact(run_id, path))


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def outputs_text(cell: Any) -> str:
    """What the cell printed and returned, without the live run panel's widget."""
    parts = []
    for o in cell.get("outputs", []):
        if WIDGET_VIEW in o.get("data", {}):
            continue
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
        elif o.get("output_type") == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
    return "".join(parts)


def kernel_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    env.update(extra)
    return env
