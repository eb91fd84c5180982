"""No failure may vanish without a trace: every broad handler (``except Exception``,
``except BaseException``, bare ``except:``, ``suppress(Exception)``) in ``jupyter_mm/`` must
re-raise, pass the error on (use the bound exception: into a user-facing error, a record's
``errors``, a future), warn, or log it (``log_swallowed`` or a logger call, usually at debug).
A deliberate exception to the rule says why on the ``except`` line: ``# broad-except-ok: <reason>``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_mm"
BROAD = {"Exception", "BaseException"}
#: Calls that leave a trace: a logger's methods, the project's helper, ``warnings.warn``.
TRACING = {"debug", "info", "warning", "error", "exception", "critical", "log_swallowed", "warn"}
ALLOWED = "# broad-except-ok:"


def _is_broad(node: ast.expr | None) -> bool:
    if node is None:
        return True
    if isinstance(node, ast.Name):
        return node.id in BROAD
    if isinstance(node, ast.Attribute):
        return node.attr in BROAD
    if isinstance(node, ast.Tuple):
        return any(_is_broad(e) for e in node.elts)
    return False


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _leaves_a_trace(handler: ast.ExceptHandler) -> bool:
    for node in (n for stmt in handler.body for n in ast.walk(stmt)):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call) and _call_name(node) in TRACING:
            return True
        if handler.name and isinstance(node, ast.Name) and node.id == handler.name:
            return True  # the error itself is passed on
    return False


def silent_broad_handlers(source: str, filename: str = "<source>") -> list[str]:
    """``file:line`` of each broad handler in ``source`` that leaves no trace."""
    lines = source.splitlines()
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ExceptHandler) and _is_broad(node.type):
            silent = not _leaves_a_trace(node)
        elif isinstance(node, ast.With | ast.AsyncWith):
            silent = any(
                isinstance(item.context_expr, ast.Call)
                and _call_name(item.context_expr) == "suppress"
                and any(_is_broad(a) for a in item.context_expr.args)
                for item in node.items
            )
        else:
            continue
        if silent and ALLOWED not in lines[node.lineno - 1]:
            found.append(
                (node.lineno, f"{filename}:{node.lineno}: {lines[node.lineno - 1].strip()}")
            )
    return [where for _, where in sorted(found)]


def test_every_broad_handler_in_the_package_leaves_a_trace() -> None:
    silent = []
    for path in sorted(PACKAGE.rglob("*.py")):
        silent += silent_broad_handlers(path.read_text(encoding="utf-8"), str(path))
    assert silent == [], "broad handlers that swallow errors silently:\n" + "\n".join(silent)


def test_the_check_flags_silent_handlers_and_accepts_traced_ones() -> None:
    silent = """
try:
    f()
except Exception:
    pass
try:
    f()
except (ValueError, BaseException):
    x = None
try:
    f()
except:
    pass
with contextlib.suppress(Exception):
    f()
"""
    assert [s.split(":")[1] for s in silent_broad_handlers(silent)] == ["4", "8", "12", "14"]
    traced = """
try:
    f()
except Exception:
    log_swallowed(_log, "f")
try:
    f()
except Exception:
    _log.debug("f failed", exc_info=True)
try:
    f()
except Exception as e:
    errors.append(str(e))
try:
    f()
except BaseException:
    cleanup()
    raise
try:
    f()
except Exception:  # broad-except-ok: the logger itself failed
    pass
try:
    f()
except ValueError:
    pass
with contextlib.suppress(OSError):
    f()
"""
    assert silent_broad_handlers(traced) == []
