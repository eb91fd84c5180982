"""Kernel → JupyterLab announcements over the ``jupyter_mm`` comm (see ``docs/notebook-comm.md``).

While a ``%%track`` cell runs the kernel is busy: it cannot receive shell or comm messages, but what it
*sends* on IOPub reaches the frontend at once. So the kernel only announces (``run_started``,
``run_finished``); the jupyter-mm JupyterLab plugin reacts by posting the live notebook document to
the server extension, never by replying to the kernel.

:func:`announce` is best effort: it never raises, returns whether a message was published, and
costs microseconds when no frontend is listening (outside a kernel it returns ``False`` after two
dictionary look-ups).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from .failsafe import log_swallowed

#: Comm target name the JupyterLab plugin registers on every notebook kernel.
TARGET_NAME = "jupyter_mm"
#: Version of the message format. Bump it on an incompatible change; frontends ignore messages
#: whose protocol they do not know.
PROTOCOL = 1
#: Events the ``%%track`` magic announces.
RUN_STARTED = "run_started"
RUN_FINISHED = "run_finished"

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_comm: Any = None


def _in_kernel() -> bool:
    """Whether this process is a running ipykernel (without importing ipykernel if it is not)."""
    if "ipykernel" not in sys.modules:
        return False
    kernelbase = sys.modules.get("ipykernel.kernelbase")
    if kernelbase is None:
        return False
    try:
        return bool(kernelbase.Kernel.initialized())
    except Exception:
        log_swallowed(_log, "asking whether this is a running kernel")
        return False


def _is_open(c: Any) -> bool:
    # A frontend without the target answers comm_open with comm_close; the kernel marks the comm
    # closed when it handles that (once idle). Reopen then: another frontend may be listening.
    return c is not None and not getattr(c, "_closed", True)


def _get_comm() -> Any:
    """The session's comm, opened on first use (and again if a frontend closed it)."""
    global _comm
    c = _comm
    if _is_open(c):
        return c
    with _lock:
        if _is_open(_comm):
            return _comm
        import comm

        new = comm.create_comm(
            target_name=TARGET_NAME,
            data={"type": "hello", "protocol": PROTOCOL},
            metadata={},
        )
        # comm's default factory gives a DummyComm that publishes nothing: not in a real kernel.
        if isinstance(new, comm.DummyComm):
            return None
        _comm = new
        return new


def announce(event: str, **payload: Any) -> bool:
    """Tell the JupyterLab frontend (if any) that ``event`` happened; best effort, never raises.

    Sends ``{"type": event, "protocol": 1, **payload}`` on the ``jupyter_mm`` comm, opening it
    first if needed. Returns True when the message was published on IOPub (which says nothing
    about whether a frontend was listening), False when it could not be (not in a kernel, no comm
    support, a payload that is not JSON-able, ...).
    """
    try:
        if not _in_kernel():
            return False
        c = _get_comm()
        if c is None:
            return False
        msg: dict[str, Any] = {**payload, "type": str(event), "protocol": PROTOCOL}
        c.send(data=msg)
        return True
    except Exception:  # never break the user's cell
        log_swallowed(_log, f"announcing {event!r} to the frontend")
        return False


def _reset() -> None:
    """Forget the comm (tests)."""
    global _comm
    with _lock:
        _comm = None
