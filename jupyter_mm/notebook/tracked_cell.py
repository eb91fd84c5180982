"""One execution of a ``%%track`` cell: the run it opens, what it records, how it ends.

Each capture step runs in its own guard: a failure there costs that record and one warning, never
the user's cell or the run's status.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from typing import Any

from ..core import records
from ..core.execution_log import analyse
from .cell_params import literal_assignments, param_text
from .execution_log import ExecutionLog
from .failsafe import log_swallowed, swallowed
from .outputs import OutputRecorder

_log = logging.getLogger(__name__)


def _announce(event: str, **payload: Any) -> None:
    try:
        from .frontend_comm import announce
    except ImportError:  # no frontend comm in this build
        return
    announce(event, **payload)


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    from ..errors import InvalidInput

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(f"{what} {pair!r} must be KEY=VALUE")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


class TrackedCell:
    def __init__(self, shell: Any, log: ExecutionLog, args: Any, cell: str) -> None:
        self.shell = shell
        self.log = log
        self.args = args
        self.cell = cell
        self.problems: list[str] = []
        self.recorder = OutputRecorder(shell)
        self.run: Any = None
        self.entry = log.current() or {}
        #: the cell as written (``%%track`` line included) when IPython told us, else the body
        self.source = log.current_source or cell
        #: the prompt the user sees (``[5]``), not IPython's running counter (one ahead since 9.8)
        self.execution_count: int = self.entry.get("execution_count") or log.prompt_count()

    # ------------------------------------------------------------------ start

    def start(self) -> TrackedCell:
        from ..client import tracking
        from .kernel_snapshot import notebook_path

        a = self.args
        params: dict[str, Any] = {
            k: param_text(v) for k, v in literal_assignments(self.cell).items()
        }
        params.update(_parse_pairs([p for group in a.param for p in group], "param"))
        tags = _parse_pairs([t for group in a.tag for t in group], "tag")
        self.path = notebook_path(self.shell)
        tags[records.TAG_EXECUTION_COUNT] = str(self.execution_count)
        if self.entry.get("cell_id"):
            tags[records.TAG_CELL_ID] = self.entry["cell_id"]
        if self.path:
            tags[records.TAG_NOTEBOOK_FILE] = self.path
        if a.seed is not None:
            from ..client.seeding import seed_everything

            seed_everything(a.seed)
            tags[records.TAG_SEED] = str(a.seed)
        self.run = tracking.start_run(
            name=a.name, experiment=a.experiment, tags=tags, params=params, nested=True
        )
        self.started = time.time()
        from .live_panel import show_live_panel

        self.panel = show_live_panel(self.run)  # None when it cannot be shown; never raises
        _announce(
            "run_started",
            run_id=self.run.id,
            cell_id=self.entry.get("cell_id"),
            execution_count=self.execution_count,
            tracking_uri=self._tracking_uri(),
        )
        return self

    def _tracking_uri(self) -> str | None:
        try:
            from ..client.backend import get_tracking_uri

            return get_tracking_uri()
        except Exception:
            log_swallowed(_log, "reading the tracking URI")
            return None

    # ------------------------------------------------------------------ finish

    def finish(self, exc: BaseException | None, result: Any = None) -> None:
        """Record what the cell did and end the run; never raises."""
        run = self.run
        if run is None:
            return
        if exc is None and result is not None:
            self.recorder.add_result(result, self.execution_count)
        for step in (self._variables, self._records):
            try:
                step()
            except Exception as e:  # one capture failing must not cost the rest
                log_swallowed(_log, f"recording {step.__name__}")
                self.problems.append(f"{step.__name__.strip('_')}: {e}")
        status = "FINISHED"
        tags = dict(getattr(self, "_pending_tags", {}))
        if isinstance(exc, KeyboardInterrupt):
            status = "KILLED"
        elif exc is not None:
            status = "FAILED"
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            tags[records.TAG_ERROR] = text[-7000:]
        try:
            run.end(status, tags=tags)
        except Exception as e:
            log_swallowed(_log, "ending the run")
            self.problems.append(f"ending the run: {e}")
        panel = getattr(self, "panel", None)
        if panel is not None:
            panel.finish(status)
        for stream in (sys.stdout, sys.stderr):  # so the frontend's end snapshot has every output
            with swallowed(_log, "flushing the cell's output streams"):
                stream.flush()
        _announce("run_finished", run_id=run.id, status=status, cell_id=self.entry.get("cell_id"))
        if self.problems:
            warn("recorded this run partially: " + "; ".join(self.problems))

    def _variables(self) -> None:
        """``--params A,B`` and ``--metrics X,Y``: read from the namespace after the cell ran."""
        ns = self.shell.user_ns
        names = [n.strip() for n in self.args.params.split(",") if n.strip()]
        missing = [n for n in names if n not in ns]
        found = {
            n: param_text(ns[n])
            if isinstance(ns[n], (str, int, float, bool))
            else repr(ns[n])[:6000]
            for n in names
            if n in ns
        }
        if found:
            self.run.log_params(found)
        metric_names = [n.strip() for n in self.args.metrics.split(",") if n.strip()]
        for n in metric_names:
            if n not in ns:
                missing.append(n)
                continue
            self.run.log_metric(n, ns[n])
        if missing:
            self.problems.append(f"not defined after the cell: {', '.join(missing)}")

    def _records(self) -> None:
        """Cell, environment, git, snapshot and execution log: each computed on its own, so one
        failing costs only itself, then all written in one go."""
        self._pending: list[tuple[str, bytes, str | None]] = []
        self._pending_tags: dict[str, str] = {}
        for record in (self._cell_record, self._environment, self._git, self._snapshot_and_log):
            try:
                record()
            except Exception as e:
                log_swallowed(_log, f"recording {record.__name__}")
                self.problems.append(f"{record.__name__.strip('_').replace('_', ' ')}: {e}")
        if self._pending:
            self.run.store.log_artifacts(self.run.id, self._pending)

    def _put(self, path: str, data: bytes, media_type: str = "application/json") -> None:
        self._pending.append((path, data, media_type))

    def _cell_record(self) -> None:
        self.cell_record = {
            "source": self.source,
            "cell_id": self.entry.get("cell_id"),
            "execution_count": self.execution_count,
            "outputs": self.recorder.outputs(),
            "started": self.started,
            "ended": time.time(),
        }
        self._put(records.CELL, _json(self.cell_record))

    def _environment(self) -> None:
        from ..client.environment import capture_environment

        self._put(records.ENVIRONMENT, _json(capture_environment()))

    def _git(self) -> None:
        from ..client.git_info import capture_git

        git = capture_git(os.path.dirname(self.path) if self.path else os.getcwd())
        if git is not None:
            self._put(records.GIT, _json(git))

    def _snapshot_and_log(self) -> None:
        from .kernel_snapshot import dumps, from_disk, from_history

        nb: dict[str, Any] | None = None
        tags: dict[str, str] = {}
        if not self.args.no_snapshot:
            nb = from_disk(self.path) if self.path else None
            source = "disk" if nb is not None else "history"
            snapshot = (
                nb
                if nb is not None
                else from_history(self.shell, getattr(self, "cell_record", None))
            )
            self._put(records.KERNEL_SNAPSHOT, dumps(snapshot), "application/x-ipynb+json")
            tags[records.TAG_KERNEL_SNAPSHOT] = source
            nb_id = (
                (nb.get("metadata", {}).get("jupyter_mm") or {}).get("notebook_id") if nb else None
            )
            if nb_id:
                tags[records.TAG_NOTEBOOK_ID] = str(nb_id)
        entries = self.log.snapshot()
        flags = analyse(entries, nb)
        running = self.entry.get("cell_id")
        if nb is not None and running in flags["edited_after_run"]:
            # the file on disk predates the cell that is running (unsaved edits): it cannot tell
            # which other cells were edited either; the frontend's live document will decide
            flags["edited_after_run"] = []
            flags["document"] = "stale file"
        self._put(records.EXECUTION_LOG, _json({"entries": entries, "flags": flags}))
        tags[records.TAG_OUT_OF_ORDER] = str(flags["out_of_order"]).lower()
        tags[records.TAG_HIDDEN_STATE] = str(bool(flags["edited_after_run"])).lower()
        self._pending_tags.update(tags)


def _json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, default=str).encode()


def warn(message: str) -> None:
    """One line on stderr: visible under the cell, without a warnings-module source line."""
    with swallowed(_log, "writing a warning to stderr"):
        sys.stderr.write(f"jupyter-mm warning: {message}\n")
