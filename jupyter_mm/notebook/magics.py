"""``%%track`` (one cell execution = one run) and ``%mm`` (runs, experiment, status)."""

from __future__ import annotations

import ast
import logging
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .execution_log import ExecutionLog
from .failsafe import log_swallowed, swallowed
from .tracked_cell import TrackedCell, warn

_log = logging.getLogger(__name__)


@magics_class
class TrackMagics(Magics):
    def __init__(self, shell: Any, log: ExecutionLog) -> None:
        super().__init__(shell)
        self.log = log

    @magic_arguments()
    @argument("name", nargs="?", help="run name (default: generated)")
    @argument("-e", "--experiment", help="experiment (default: the current one)")
    @argument("-p", "--param", nargs="+", action="append", default=[], metavar="KEY=VALUE")
    @argument("-t", "--tag", nargs="+", action="append", default=[], metavar="KEY=VALUE")
    @argument("--params", default="", help="variables to log as params after the cell, A,B")
    @argument(
        "--metrics", default="", help="numeric variables to log as metrics after the cell, X,Y"
    )
    @argument("--seed", type=int, help="seed random, numpy and torch (if imported) and record it")
    @argument("--no-snapshot", action="store_true", help="do not store a notebook snapshot")
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell as one tracked run: params, metrics, outputs, notebook snapshot, environment,
        git state and the execution log are recorded; the cell itself runs exactly as without
        the magic. ``mm.log_metric`` inside the cell logs to this run."""
        __tracebackhide__ = True  # IPython leaves this frame out of the user's traceback
        args = parse_argstring(self.track, line)
        session: TrackedCell | None = None
        try:
            session = TrackedCell(self.shell, self.log, args, cell).start()
        except Exception as e:  # the store is unreachable, a bad -p...: run the cell untracked
            log_swallowed(_log, "starting a tracked run")
            warn(f"this cell runs untracked: {e}")
            session = None
        if session is None:
            return self._run(cell)
        try:
            with session.recorder:
                result = self._run(cell)
                _flush_inline_figures()
        except BaseException as exc:
            session.finish(exc)
            raise
        session.finish(None, result)
        return result

    def _run(self, cell: str) -> Any:
        """Execute the cell in the user namespace like IPython does (magics and ``!`` lines
        transformed, the last expression's value returned for display), as ``%%time`` does."""
        __tracebackhide__ = True
        shell: Any = self.shell
        source = shell.transform_cell(cell)
        tree = shell.compile.ast_parse(source)
        tree = shell.transform_ast(tree)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        try:
            filename = shell.compile.cache(source, self.log.prompt_count())
        except Exception:
            log_swallowed(_log, "caching the cell's source for tracebacks")
            filename = "<track>"
        ns = shell.user_ns
        exec(shell.compile(tree, filename, "exec"), ns)  # noqa: S102 - running the user's cell is the point
        if last is not None:
            return eval(shell.compile(last, filename, "eval"), ns)  # noqa: S307
        return None

    @line_magic
    def mm(self, line: str) -> Any:
        """``%mm runs [FILTER]`` recent runs; ``%mm compare [FILTER]`` compares the matching runs
        (``mm.compare``); ``%mm experiment NAME`` sets the experiment; ``%mm status`` the store and
        the active run."""
        import jupyter_mm as mm

        command, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if command == "runs":
            return mm.runs(filter=rest or None, max_results=20)
        if command == "compare":
            try:
                return mm.compare(rest or None)
            except mm.MMError as e:  # a bad filter or no match: one line, not a traceback
                from IPython.core.error import UsageError

                raise UsageError(e.message) from None
        if command == "experiment":
            if not rest:
                raise _usage("%mm experiment NAME")
            mm.set_experiment(rest)
            print(f"runs now go to experiment {rest!r}")
            return None
        if command == "status":
            from ..client.backend import get_tracking_uri, store_exists

            active = mm.active_run()
            lines = [
                f"jupyter-mm {mm.__version__}",
                f"store: {get_tracking_uri()}" + ("" if store_exists() else " (not created yet)"),
                f"active run: {active.name} ({active.id})" if active else "active run: none",
            ]
            print("\n".join(lines))
            return None
        raise _usage("%mm runs [FILTER] | %mm compare [FILTER] | %mm experiment NAME | %mm status")


def _usage(text: str) -> Exception:
    from IPython.core.error import UsageError

    return UsageError(f"usage: {text}")


def _flush_inline_figures() -> None:
    """Show matplotlib figures the cell left open now, while outputs are recorded, rather than
    after the magic returns (the inline backend's post-execute hook)."""
    import sys

    backend = sys.modules.get("matplotlib_inline.backend_inline")
    if backend is None:
        return
    with swallowed(_log, "showing the cell's open matplotlib figures"):
        import matplotlib

        if "inline" in matplotlib.get_backend():
            backend.flush_figures()
