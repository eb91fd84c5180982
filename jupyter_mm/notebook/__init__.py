"""The notebook layer: ``%%track`` and ``%mm`` magics, the kernel session's execution log, notebook
snapshots and the comm with the JupyterLab frontend.

Everything here is loaded only inside IPython (``%load_ext jupyter_mm``, or ``import jupyter_mm`` in
a kernel), and never breaks the user's kernel: hooks are removed on every failure path.
"""

from __future__ import annotations

from typing import Any

_loaded: dict[int, Any] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and the execution log on ``ipython`` (idempotent)."""
    if id(ipython) in _loaded:
        return
    import jupyter_mm

    from .execution_log import ExecutionLog
    from .magics import TrackMagics

    # `mm` is what the docs and the live panel use; give it to the user unless the name is taken
    if "mm" not in ipython.user_ns:
        ipython.push({"mm": jupyter_mm}, interactive=False)
    log = ExecutionLog(ipython)
    log.register()
    magics = TrackMagics(ipython, log)
    ipython.register_magics(magics)
    _loaded[id(ipython)] = (log, magics)


def unload_ipython_extension(ipython: Any) -> None:
    entry = _loaded.pop(id(ipython), None)
    if entry is None:
        return
    log, magics = entry
    log.unregister()
    for kind in ("line", "cell"):
        table = ipython.magics_manager.magics.get(kind, {})
        for name in ("track", "mm"):
            if getattr(table.get(name), "__self__", None) is magics:
                del table[name]
