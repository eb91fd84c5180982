"""The notebook layer swallows its own failures (the user's cell never sees them) but leaves each one
in a debug log record with its traceback, on the failing module's logger."""

from __future__ import annotations

import logging

import pytest

from jupyter_mm.notebook.execution_log import ExecutionLog
from jupyter_mm.notebook.failsafe import swallowed


def debug_records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == logging.DEBUG]


def test_swallowed_logs_the_error_with_its_traceback_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("jupyter_mm.notebook.test")
    caplog.set_level(logging.DEBUG, logger="jupyter_mm")
    reached = []
    with swallowed(log, "dividing"):
        reached.append(1 / 0)
    assert reached == []
    (record,) = debug_records(caplog, "jupyter_mm.notebook.test")
    assert record.getMessage() == "jupyter-mm: dividing failed"
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    with pytest.raises(KeyboardInterrupt), swallowed(log, "waiting"):  # the user's, not ours
        raise KeyboardInterrupt


def test_an_execution_log_without_a_usable_shell_says_why_in_the_debug_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="jupyter_mm")
    log = ExecutionLog(object())  # no user_ns: the input history cannot be read
    assert log.entries == []
    (record,) = debug_records(caplog, "jupyter_mm.notebook.execution_log")
    assert "reading the input history" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is AttributeError
