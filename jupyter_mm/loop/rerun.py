"""Re-running a tracked run's notebook: which cells, in which order, with which parameters.

:func:`build_plan` reads the run's best notebook snapshot, its execution log and its cell record
(paths in ``core/records.py``) and lays out the cells *as they really ran* up to the tracked
cell: each log entry is matched to a snapshot cell by the SHA-256 of its source (raw, or as IPython
transformed it, for cells logged from the kernel's history), so out-of-order execution is
replayed as it happened. Overrides are applied where the parameter lives: the ``%%track`` line's
``-p KEY=VALUE``, a literal assignment in the tracked cell (what ``%%track`` records as params),
papermill's ``parameters``-tagged cell (an ``injected-parameters`` cell is added after it), or a
literal assignment in an earlier cell. :func:`execute` runs the plan in a fresh kernel with
nbclient, streaming outputs to a callback. :func:`finalize` links and compares the new run.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core import records
from ..core.execution_log import source_hash
from ..errors import InvalidInput, MMError, NotFound

if TYPE_CHECKING:
    from ..core.store import TrackingStore

_log = logging.getLogger(__name__)

#: Run tags the re-run sets: the original run, the job, the overrides (JSON).
TAG_RERUN_OF = "mm.rerun_of"
TAG_RERUN_JOB = "mm.rerun.job"
TAG_RERUN_PARAMS = "mm.rerun.params"
#: Artifact of the new run holding the plan's facts and the comparison with the original.
RERUN_RECORD = ".mm/rerun.json"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


@dataclass
class Plan:
    """The notebook to execute and what was done to it."""

    run_id: str
    notebook: Any  # nbformat.NotebookNode
    tracked_index: int
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {value, where}
    warnings: list[str] = field(default_factory=list)
    snapshot: str = ""
    kernel_name: str = "python3"

    def facts(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "cells": len(self.notebook.cells),
            "tracked_cell": self.tracked_index,
            "overrides": self.overrides,
            "warnings": self.warnings,
            "snapshot": self.snapshot,
            "kernel": self.kernel_name,
        }


def _src(cell: Any) -> str:
    s = cell.get("source", "")
    return s if isinstance(s, str) else "".join(s)


def _transformed(source: str) -> str | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return None
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # not IPython syntax either: the caller treats the cell as opaque
        _log.debug("transforming a cell's IPython syntax failed", exc_info=True)
        return None


def _load_json(store: TrackingStore, run_id: str, path: str) -> Any:
    try:
        return json.loads(store.read_artifact(run_id, path))
    except NotFound:
        return None


def build_plan(
    store: TrackingStore, run_id: str, params: Mapping[str, Any] | None = None,
    *, tags: Mapping[str, str] | None = None,
) -> Plan:  # fmt: skip
    """The cells to run for a re-run of ``run_id`` with ``params`` overridden (see the module
    docstring). Raises InvalidInput when the run cannot be re-run as it ran, naming why."""
    import nbformat

    from ..client.snapshots import best_snapshot

    run = store.get_run(run_id)
    if params is not None and not isinstance(params, Mapping):
        raise InvalidInput(
            f"params must be a mapping of name to value, got {type(params).__name__}"
        )
    for key in params or {}:
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidInput(f"param override {key!r} is not a Python name")
    try:
        snapshot, source = best_snapshot(store, run.id)
    except NotFound as e:
        raise InvalidInput(f"run {run.id} cannot be re-run: {e.message}") from None
    cell_record = _load_json(store, run.id, records.CELL) or {}
    log = _load_json(store, run.id, records.EXECUTION_LOG) or {}
    entries = [e for e in log.get("entries", []) if isinstance(e, dict)]
    tracked_source = cell_record.get("source")
    if not tracked_source or not entries:
        raise InvalidInput(
            f"run {run.id} cannot be re-run: it has no cell record or execution log "
            "(it was not started by %%track)"
        )
    by_hash: dict[str, Any] = {}
    by_id: dict[str, Any] = {}
    for cell in snapshot.cells:
        if cell.cell_type != "code":
            continue
        text = _src(cell)
        by_hash.setdefault(source_hash(text), cell)
        t = _transformed(text)
        if t is not None:  # the kernel's history keeps cells as IPython transformed them
            by_hash.setdefault(source_hash(t), cell)
            by_hash.setdefault(source_hash(t.rstrip("\n")), cell)
        if cell.get("id"):
            by_id[cell["id"]] = cell
    warnings: list[str] = []
    cells: list[Any] = []
    tracked_count = run.tags.get(records.TAG_EXECUTION_COUNT)
    last = len(entries) - 1
    for i, entry in enumerate(entries):
        label = f"execution [{entry.get('execution_count')}]"
        if i == last:  # the tracked cell: its record holds the source exactly as it ran
            found_source = tracked_source
            meta_cell = by_id.get(entry.get("cell_id") or "") or by_hash.get(entry["source_sha256"])
        else:
            match = by_hash.get(entry.get("source_sha256", ""))
            if match is None and entry.get("cell_id") in by_id:
                match = by_id[entry["cell_id"]]
                warnings.append(
                    f"{label}: cell {entry['cell_id']} was edited after it ran; its current "
                    "source is re-run"
                )
            if match is None:
                raise InvalidInput(
                    f"run {run.id} cannot be re-run as it ran: the source of {label} is not in "
                    f"the notebook snapshot ({source}); the cell was deleted or edited"
                )
            found_source, meta_cell = _src(match), match
        new = nbformat.v4.new_code_cell(found_source)
        new.id = f"rerun-{i}"
        if meta_cell is not None:
            new.metadata["tags"] = list(meta_cell.get("metadata", {}).get("tags", []))
            new.metadata["jupyter_mm"] = {"original_cell_id": meta_cell.get("id")}
        if entry.get("success") is False and i != last:
            new.metadata.setdefault("tags", []).append("raises-exception")
        cells.append(new)
    if tracked_count and str(entries[last].get("execution_count")) != str(tracked_count):
        warnings.append("the execution log's last entry is not the tracked cell's execution")
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        k: v for k, v in snapshot.metadata.items() if k in ("kernelspec", "language_info")
    }
    nb.metadata["jupyter_mm"] = {"rerun_of": run.id}
    nb.cells = cells
    plan = Plan(run.id, nb, len(cells) - 1, warnings=warnings, snapshot=source)
    plan.kernel_name = str((snapshot.metadata.get("kernelspec") or {}).get("name") or "python3")
    _apply_overrides(plan, dict(params or {}))
    _add_track_tags(plan, {TAG_RERUN_OF: run.id, **(tags or {})})
    return plan


# ------------------------------------------------------------------------------- overrides


def _typed(value: Any, like: Any) -> Any:
    """A text override of a non-text literal is read as a Python literal (``"0.1"`` → 0.1)."""
    if isinstance(value, str) and not isinstance(like, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def _literal(value: Any) -> str:
    text = repr(value)
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InvalidInput(f"param override {value!r} is not a plain literal") from None
    return text


def _split_magic(source: str) -> tuple[str, str]:
    first, _, body = source.partition("\n")
    return first, body


def _track_args(first: str) -> list[str]:
    text = first.strip()
    if not text.startswith("%%track"):
        raise InvalidInput("the tracked cell does not start with %%track")
    return shlex.split(text[len("%%track") :])


def _p_values(args: list[str]) -> dict[str, int]:
    """``{key: token index}`` of ``-p``/``--param`` values in the %%track arguments."""
    out: dict[str, int] = {}
    in_p = False
    for i, tok in enumerate(args):
        if tok in ("-p", "--param"):
            in_p = True
            continue
        if tok.startswith("-"):
            in_p = False
            continue
        if in_p and "=" in tok:
            out[tok.split("=", 1)[0].strip()] = i
    return out


def _assignment_span(source: str, key: str) -> tuple[ast.expr, Any] | None:
    """The value node of the last top-level ``key = <literal>`` in ``source``, and the literal."""
    from ..notebook.cell_params import literal_assignment_nodes

    found = None
    for name, node, literal in literal_assignment_nodes(source):
        if name == key:
            found = (node, literal)
    return found


def _replace_span(source: str, node: ast.expr, text: str) -> str:
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: node.lineno - 1]) + _char_col(
        lines[node.lineno - 1], node.col_offset
    )
    end_line = node.end_lineno or node.lineno
    end = sum(len(line) for line in lines[: end_line - 1]) + _char_col(
        lines[end_line - 1], node.end_col_offset or 0
    )
    return source[:start] + text + source[end:]


def _char_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


def _apply_overrides(plan: Plan, params: dict[str, Any]) -> None:
    from ..notebook.cell_params import param_text

    cells = plan.notebook.cells
    tracked = cells[plan.tracked_index]
    first, body = _split_magic(_src(tracked))
    args = _track_args(first)
    p_at = _p_values(args)
    injected: dict[str, str] = {}
    param_cell = next(
        (i for i, c in enumerate(cells) if PARAMETERS_TAG in c.metadata.get("tags", [])), None
    )
    for key, value in params.items():
        if key in p_at:
            i = p_at[key]
            args[i] = f"{key}={param_text(value)}"
            plan.overrides[key] = {"value": value, "where": "%%track -p"}
            continue
        span = _assignment_span(body, key)
        if span is not None:
            value = _typed(value, span[1])
            body = _replace_span(body, span[0], _literal(value))
            plan.overrides[key] = {"value": value, "where": "tracked cell"}
            continue
        if param_cell is not None:
            pspan = _assignment_span(_src(cells[param_cell]), key)
            if pspan is not None:
                value = _typed(value, pspan[1])
                injected[key] = _literal(value)
                plan.overrides[key] = {"value": value, "where": "parameters cell"}
                continue
        for i in range(plan.tracked_index - 1, -1, -1):
            espan = _assignment_span(_src(cells[i]), key)
            if espan is not None:
                value = _typed(value, espan[1])
                cells[i].source = _replace_span(_src(cells[i]), espan[0], _literal(value))
                plan.overrides[key] = {"value": value, "where": f"cell {i + 1}"}
                break
        else:
            known = sorted({*p_at, *_names(body), *(
                _names(_src(cells[param_cell])) if param_cell is not None else ()
            )})  # fmt: skip
            raise InvalidInput(
                f"cannot override {key!r}: it is not a -p value of the %%track line, a literal "
                "assignment of the tracked cell, of a 'parameters' cell or of an earlier cell"
                + (f" (overridable: {', '.join(known)})" if known else ""),
                {"param": key, "overridable": known},
            )
    tracked.source = "%%track " + shlex.join(args) + ("\n" + body if body else "")
    if injected:
        import nbformat

        cell = nbformat.v4.new_code_cell(
            "# Parameters\n" + "".join(f"{k} = {v}\n" for k, v in injected.items())
        )
        cell.id = "injected-parameters"
        cell.metadata["tags"] = [INJECTED_TAG]
        cells.insert(param_cell + 1, cell)  # type: ignore[operator]
        plan.tracked_index += 1


def _names(source: str) -> list[str]:
    from ..notebook.cell_params import literal_assignments

    return list(literal_assignments(source))


def _add_track_tags(plan: Plan, tags: Mapping[str, str]) -> None:
    tracked = plan.notebook.cells[plan.tracked_index]
    first, body = _split_magic(_src(tracked))
    extra = " ".join(f"-t {shlex.quote(f'{k}={v}')}" for k, v in tags.items())
    tracked.source = f"{first} {extra}" + ("\n" + body if body else "")


# ------------------------------------------------------------------------------- execution


class CellFailed(MMError):
    """A cell of the re-run raised: the re-run failed (``details["cell"]`` says which)."""

    code = "RERUN_FAILED"
    http_status = 422


def execute(
    plan: Plan,
    *,
    env: Mapping[str, str],
    cwd: str,
    on_output: Callable[[str], None] | None = None,
    cell_timeout: int | None = None,
) -> Any:
    """Run the plan in a fresh kernel (nbclient); returns the executed notebook. Outputs are
    passed to ``on_output`` as text as they come. Raises CellFailed at the first failing cell
    (the executed notebook is its ``details["notebook"]``)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    say = on_output or (lambda text: None)

    class Client(NotebookClient):
        def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
            say(_msg_text(msg))
            return super().output(outs, msg, display_id, cell_index)

    client = Client(
        plan.notebook,
        timeout=cell_timeout,
        kernel_name=plan.kernel_name,
        allow_errors=False,
        resources={"metadata": {"path": cwd}},
        extra_arguments=["--IPKernelApp.extensions=['jupyter_mm']"],
    )
    cells = plan.notebook.cells

    def on_start(cell: Any, cell_index: int, **_: Any) -> None:
        say(f"── cell {cell_index + 1}/{len(cells)}"
            f"{' (tracked)' if cell_index == plan.tracked_index else ''}\n")  # fmt: skip
        client._mm_cell = cell  # type: ignore[attr-defined]

    client.on_cell_start = on_start
    _send_cell_ids(client)
    try:
        client.execute(env=dict(env))
    except CellExecutionError as e:
        raise CellFailed(str(e)[-4000:], {"notebook": plan.notebook}) from None
    return plan.notebook


def _send_cell_ids(client: Any) -> None:
    """Send each cell's id in the execute request's metadata (``cellId``), as JupyterLab does,
    so the re-run's own execution log names its cells."""
    original = client.start_new_kernel_client

    def start(*a: Any, **k: Any) -> Any:
        kc = original(*a, **k)
        raw = client.kc

        def execute(code: str, silent: bool = False, store_history: bool = True,
                    user_expressions: Any = None, allow_stdin: Any = None,
                    stop_on_error: bool = True) -> str:  # fmt: skip
            cell = getattr(client, "_mm_cell", None)
            content = {
                "code": code, "silent": silent, "store_history": store_history,
                "user_expressions": user_expressions or {}, "allow_stdin": False,
                "stop_on_error": stop_on_error,
            }  # fmt: skip
            meta = {"cellId": cell.id} if cell is not None and "id" in cell else {}
            msg = raw.session.msg("execute_request", content, metadata=meta)
            raw.shell_channel.send(msg)
            return str(msg["header"]["msg_id"])

        raw.execute = execute
        return kc

    client.start_new_kernel_client = start


def _msg_text(msg: Mapping[str, Any]) -> str:
    kind, content = msg.get("msg_type"), msg.get("content", {})
    if kind == "stream":
        return str(content.get("text", ""))
    if kind == "error":
        return "\n".join(content.get("traceback", [])) + "\n"
    if kind in ("execute_result", "display_data"):
        data = content.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            return ""
        text = data.get("text/plain")
        return f"{text}\n" if text else ""
    return ""


def rerun_env(tracking_uri: str, artifact_uri: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    env["MM_TRACKING_URI"] = tracking_uri
    if artifact_uri:
        env["MM_ARTIFACT_URI"] = artifact_uri
    env.pop("JPY_SESSION_NAME", None)
    return env


def working_dir(store: TrackingStore, run_id: str, fallback: str) -> str:
    """The original notebook's folder when it still exists here (relative paths keep working)."""
    path = store.get_run(run_id).tags.get(records.TAG_NOTEBOOK_FILE)
    if path and os.path.isdir(os.path.dirname(path)):
        return os.path.dirname(path)
    return fallback


# ------------------------------------------------------------------------------- the new run


def find_new_run(store: TrackingStore, job_id: str) -> Any | None:
    runs, _ = store.search_runs(
        filter=f"tags.`{TAG_RERUN_JOB}` = '{job_id}'", view="all", max_results=10
    )
    return runs[0] if runs else None


def finalize(
    store: TrackingStore, plan: Plan, new_run_id: str, job_id: str, executed: Any | None
) -> dict[str, Any]:
    """Store the executed notebook as the new run's ``end`` snapshot, the overrides as a tag,
    and the comparison with the original as ``.mm/rerun.json``; returns the comparison summary."""
    import nbformat

    from ..client.comparison import run_diff

    pending: list[tuple[str, bytes, str | None]] = []
    if executed is not None:
        pending.append((records.snapshot_path("end"),
                        nbformat.writes(executed).encode(), "application/x-ipynb+json"))  # fmt: skip
    diff = run_diff(store, plan.run_id, new_run_id, notebook=False)
    comparison = {
        "params": diff["params"],
        "metrics": diff["metrics"],
        "environment": diff["environment"],
        "datasets": diff["datasets"],
    }
    record = {"rerun_of": plan.run_id, "job_id": job_id, "plan": plan.facts(),
              "comparison": comparison, "time": int(time.time() * 1000)}  # fmt: skip
    pending.append((RERUN_RECORD, json.dumps(record, sort_keys=True, default=str).encode(),
                    "application/json"))  # fmt: skip
    store.log_artifacts(new_run_id, pending)
    tags = {records.snapshot_tag("end"): "rerun"}
    if plan.overrides:
        tags[TAG_RERUN_PARAMS] = json.dumps(
            {k: v["value"] for k, v in plan.overrides.items()}, sort_keys=True, default=str
        )[:7000]
    for key, value in tags.items():
        store.set_tag(new_run_id, key, value)
    return comparison
