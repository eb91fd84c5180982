"""Monitoring: reference profiles, drift statistics and presets (Jupyter-free; above core and
client, beside ``serving``). Nothing here imports Jupyter, IPython, tornado or the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .presets import DriftResult, drift
    from .profile import ReferenceProfile, build_profile
    from .statistics import Bins, Verdict

__all__ = ["Bins", "DriftResult", "ReferenceProfile", "Verdict", "build_profile", "drift"]

_WHERE = {
    "drift": "presets",
    "DriftResult": "presets",
    "ReferenceProfile": "profile",
    "build_profile": "profile",
    "Bins": "statistics",
    "Verdict": "statistics",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
