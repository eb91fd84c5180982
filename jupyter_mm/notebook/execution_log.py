"""The kernel session's execution log: which cells ran, in what order, with what source.

Every cell execution appends ``{execution_count, cell_id, source_sha256, started, ended, success}``.
Compared with the notebook document, it tells whether cells ran out of order and whether a cell was
edited after it ran (hidden state), the two commonest reasons a notebook does not reproduce.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..core.execution_log import source_hash
from .failsafe import log_swallowed, swallowed

_log = logging.getLogger(__name__)


def _counts_before_running() -> bool:
    """Whether this IPython numbers a cell before running it (9.8 and later, ipython/ipython#15088):
    then, while a cell runs, ``shell.execution_count`` is already the *next* cell's number."""
    try:
        import IPython

        return tuple(IPython.version_info[:2]) >= (9, 8)
    except Exception:
        log_swallowed(_log, "reading IPython's version")
        return False


class ExecutionLog:
    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.entries: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        #: The running cell's source exactly as the user wrote it (magic line included).
        self.current_source: str | None = None
        self._registered = False
        #: ``shell.execution_count`` during a cell minus the cell's prompt number; learnt from each
        #: finished cell's result (the exact number), so an IPython that changes its order is right
        #: from its second cell on even if the version guess were wrong.
        self._ahead = 1 if _counts_before_running() else 0
        self._seed_from_history()

    def _seed_from_history(self) -> None:
        """Cells run before the extension loaded: known from IPython's input history only."""
        try:
            inputs = list(self.shell.user_ns.get("_ih", []))
        except Exception:
            log_swallowed(_log, "reading the input history")
            return
        for count, source in enumerate(inputs):
            if count == 0 or not source:
                continue
            self.entries.append(
                {
                    "execution_count": count,
                    "cell_id": None,
                    "source_sha256": source_hash(source),
                    "started": None,
                    "ended": None,
                    "success": None,
                    "from_history": True,
                }
            )

    def register(self) -> None:
        if not self._registered:
            self.shell.events.register("pre_run_cell", self._pre)
            self.shell.events.register("post_run_cell", self._post)
            self._registered = True

    def unregister(self) -> None:
        if self._registered:
            for name, fn in (("pre_run_cell", self._pre), ("post_run_cell", self._post)):
                try:
                    self.shell.events.unregister(name, fn)
                except ValueError:
                    pass
            self._registered = False

    # IPython calls these for every interactive cell; they must never raise into the user's cell.
    def _pre(self, info: Any = None, *args: Any, **kwargs: Any) -> None:
        try:
            if (
                info is None
                or getattr(info, "silent", False)
                or not getattr(info, "store_history", True)
            ):
                self._current = None
                return
            self.current_source = getattr(info, "raw_cell", None)
            self._current = {
                "execution_count": self.prompt_count(),
                "cell_id": getattr(info, "cell_id", None),
                "source_sha256": source_hash(getattr(info, "raw_cell", "") or ""),
                "started": time.time(),
                "ended": None,
                "success": None,
            }
        except Exception:
            log_swallowed(_log, "logging a cell's start")
            self._current = None

    def _post(self, result: Any = None, *args: Any, **kwargs: Any) -> None:
        with swallowed(_log, "logging a cell's end"):
            entry, self._current = self._current, None
            if entry is None:
                return
            entry["ended"] = time.time()
            exact = getattr(result, "execution_count", None)
            if isinstance(exact, int):
                self._ahead += entry["execution_count"] - exact
                entry["execution_count"] = exact
            entry["success"] = bool(getattr(result, "success", True))
            self.entries.append(entry)

    def prompt_count(self) -> int:
        """The number of the cell running now, as its prompt shows it (``[5]``), whatever order
        this IPython counts in."""
        return int(self.shell.execution_count) - self._ahead

    def current(self) -> dict[str, Any] | None:
        """The entry of the cell running now (a ``%%track`` cell asks for its own)."""
        return dict(self._current) if self._current else None

    def snapshot(self) -> list[dict[str, Any]]:
        """The log up to and including the running cell."""
        out = [dict(e) for e in self.entries]
        if self._current:
            out.append(dict(self._current))
        return out
