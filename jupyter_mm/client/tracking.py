"""The module-level tracking API (``mm.start_run``, ``mm.log_metric``...) over whatever store the
tracking URI names.

Each thread has its own stack of active runs, as in MLflow's fluent API. A thread with no run of its
own logs into the main thread's active run, so a training loop in a worker thread (or a callback
running on one) lands in the notebook's run without passing a handle around.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core import records
from ..errors import InvalidInput, MMError
from .active_run import ActiveRun, default_user
from .backend import get_store

_log = logging.getLogger(__name__)

_lock = threading.RLock()
_MAIN_THREAD = threading.main_thread().ident
_main_stack: list[ActiveRun] = []
_local = threading.local()
_open_runs: list[ActiveRun] = []  # every thread's, for the exit handler
_experiment: str | None = None
_last: ActiveRun | None = None


def _own_stack() -> list[ActiveRun]:
    if threading.get_ident() == _MAIN_THREAD:
        return _main_stack
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def set_experiment(name: str) -> str:
    """Make ``name`` the experiment new runs go to (created if needed); returns its id."""
    global _experiment
    exp_id = get_store().get_or_create_experiment(name)
    _experiment = name
    return exp_id


_experiment_ids: dict[tuple[str, str], str] = {}


def _experiment_id(experiment: str | None) -> str:
    """The experiment's id, looked up (or created) once per store and name."""
    name = experiment or _experiment or os.environ.get("MM_EXPERIMENT_NAME")
    if not name:
        return "0"
    store = get_store()
    cache_key = (store.location.db_url, name)
    exp_id = _experiment_ids.get(cache_key)
    if exp_id is None:
        exp_id = _experiment_ids[cache_key] = store.get_or_create_experiment(name)
    return exp_id


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, Any] | None = None,
    parent: str | ActiveRun | None = None,
    params: Mapping[str, Any] | None = None,
    nested: bool = False,
) -> ActiveRun:
    """Start a run and make it the active one. Use it as a context manager to end it for you.

    Starting a run while another is active is an error unless ``nested=True`` or ``parent`` is
    given; nested runs record the active run as their parent.
    """
    global _last
    store = get_store()
    stack = _own_stack()
    with _lock:
        if stack and not (nested or parent):
            raise InvalidInput(
                f"run {stack[-1].name!r} is still active: end it with mm.end_run() first, "
                "or pass nested=True"
            )
        parent_id = parent.id if isinstance(parent, ActiveRun) else parent
        if parent_id is None and stack:
            parent_id = stack[-1].id
        all_tags = {records.TAG_SOURCE_TYPE: _source_type()}
        if tags:
            all_tags.update({str(k): v for k, v in tags.items()})
        run = store.create_run(
            _experiment_id(experiment),
            name=name,
            user=default_user(),
            tags=all_tags,
            params=params,
            parent_run_id=parent_id,
        )

        def forget(ended: ActiveRun) -> None:
            with _lock:
                for runs in (stack, _open_runs):
                    if ended in runs:
                        runs.remove(ended)

        active = ActiveRun(store, run, on_end=forget)
        stack.append(active)
        _open_runs.append(active)
        _last = active
        return active


def _source_type() -> str:
    """NOTEBOOK inside a Jupyter kernel, else LOCAL (having ipykernel imported is not enough)."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
    except Exception:
        _log.debug("asking IPython for its shell failed", exc_info=True)
        shell = None
    return "NOTEBOOK" if shell is not None and "ZMQ" in type(shell).__name__ else "LOCAL"


def active_run() -> ActiveRun | None:
    """This thread's innermost active run, else the main thread's, else None."""
    stack = _own_stack()
    if stack:
        return stack[-1]
    return _main_stack[-1] if _main_stack else None


def last_run() -> ActiveRun | None:
    """The run most recently started in this process (active or ended)."""
    return _last


def end_run(status: str = "FINISHED") -> None:
    run = active_run()
    if run is not None:
        run.end(status)


def _run() -> ActiveRun:
    run = active_run()
    if run is not None:
        return run
    raise InvalidInput("no active run: start one with mm.start_run() (or `with mm.start_run():`)")


def log_metric(key: str, value: Any, step: int | None = None, timestamp: int | None = None) -> None:
    """Log one metric point. ``step`` defaults to the key's previous step + 1 (first: 0)."""
    if _main_stack and threading.get_ident() == _MAIN_THREAD:  # the hot path, kept short
        _main_stack[-1].log_metric(key, value, step, timestamp)
    else:
        _run().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    _run().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    _run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _run().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _run().set_tags(tags)


def log_artifact(path_or_bytes: str | os.PathLike[str] | bytes, name: str | None = None) -> str:
    """Store a file (or bytes) with the run; returns its logical path. ``name`` defaults to the
    file's name and is required for bytes."""
    run = _run()
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        if not name:
            raise InvalidInput("log_artifact(bytes) needs a name, e.g. name='model.bin'")
        return run.store.log_artifact(run.id, name, bytes(path_or_bytes)).path
    p = Path(path_or_bytes)
    if not p.is_file():
        raise InvalidInput(f"{str(p)!r} is not a file (use mm.log_artifacts for a directory)")
    return run.store.log_artifact(run.id, name or p.name, p).path


def log_artifacts(directory: str | os.PathLike[str], prefix: str | None = None) -> list[str]:
    """Store every file under ``directory``, keeping relative paths (under ``prefix`` if given):
    all of them or, if one is refused, none."""
    run = _run()
    root = Path(directory)
    if not root.is_dir():
        raise InvalidInput(f"{str(root)!r} is not a directory")
    items: list[tuple[str, str | os.PathLike[str], str | None]] = []
    for f in sorted(q for q in root.rglob("*") if q.is_file()):
        rel = f.relative_to(root).as_posix()
        items.append((f"{prefix}/{rel}" if prefix else rel, f, None))
    if not items:
        return []
    return [a.path for a in run.store.log_artifacts(run.id, items)]


def log_text(text: str, name: str) -> str:
    run = _run()
    return run.store.log_artifact(run.id, name, text.encode("utf-8"), media_type="text/plain").path


def log_figure(fig: Any, name: str) -> str:
    """Store a plotly figure (as interactive HTML, or ``.json``) or a matplotlib figure (``.png``,
    ``.svg``, ``.pdf``) under ``name``."""
    from .figures import figure_bytes

    data, media_type = figure_bytes(fig, name)
    run = _run()
    return run.store.log_artifact(run.id, name, data, media_type=media_type).path


def log_dataset(data: Any, name: str, context: str = "training", source: str | None = None) -> str:
    """Record a dataset the run used: its full-content SHA-256, schema and row count. Returns the digest."""
    from .datasets import describe

    info = describe(data, name, context, source)
    run = _run()
    run.store.log_dataset(run.id, info)
    return info.digest


def _end_all_at_exit() -> None:
    """At interpreter exit: flush and close runs still open. An uncaught KeyboardInterrupt marks them
    KILLED, another uncaught exception FAILED with its traceback, a normal exit FINISHED."""
    exc_type = getattr(sys, "last_type", None)
    for run in reversed(list(_open_runs)):
        try:
            if exc_type is None:
                run.end("FINISHED")
            else:
                run.__exit__(
                    exc_type, getattr(sys, "last_value", None), getattr(sys, "last_traceback", None)
                )
        except MMError as e:
            print(f"jupyter-mm: could not close run {run.id}: {e}", file=sys.stderr)


atexit.register(_end_all_at_exit)
