"""How the notebook layer swallows its own failures: never into the user's cell, always into a
debug log record (with the traceback) on the failing module's logger, so it can be diagnosed.

``logging.getLogger("jupyter_mm").setLevel(logging.DEBUG)`` plus a handler shows them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


def log_swallowed(log: logging.Logger, what: str) -> None:
    """Record the exception being handled (call it inside ``except``) at debug level."""
    try:
        log.debug("jupyter-mm: %s failed", what, exc_info=True)
    except Exception:  # broad-except-ok: logging itself is broken; the cell must not see it
        pass


@contextlib.contextmanager
def swallowed(log: logging.Logger, what: str) -> Iterator[None]:
    """Run the block; an ``Exception`` it raises goes to :func:`log_swallowed`, not further."""
    try:
        yield
    except Exception:
        log_swallowed(log, what)
