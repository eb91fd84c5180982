"""The environment a model needs, recorded as MLflow does: ``requirements.txt``,
``python_env.yaml`` and ``conda.yaml``, with the versions actually installed here.

Versions come from ``importlib.metadata`` (the core cannot use ``client.environment``, which
captures a whole kernel's environment for a run, and pinning a few distributions needs no more).
"""

from __future__ import annotations

import importlib.metadata as metadata
import logging
import platform
import sys
from collections.abc import Iterable
from typing import Any

_log = logging.getLogger(__name__)

REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA_ENV = "conda.yaml"


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pin(distribution: str) -> str:
    """``name==version`` when installed here, else the bare name (pip resolves it later)."""
    version = installed_version(distribution)
    return f"{distribution}=={version}" if version else distribution


def distributions_of(obj: Any) -> list[str]:
    """The installed distributions that provide the classes ``obj`` is built from (its type's
    bases), so a model whose class comes from, say, xgboost records xgboost too."""
    tops = {c.__module__.split(".", 1)[0] for c in type(obj).__mro__}
    tops -= {"builtins", "__main__", "abc", "typing"}
    try:
        mapping = metadata.packages_distributions()
    except Exception:  # a broken distribution's metadata must not stop a model being saved
        _log.debug("reading the installed distributions failed", exc_info=True)
        return []
    found: set[str] = set()
    for top in tops:
        found.update(mapping.get(top, []))
    return sorted(found)


def requirements(base: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Pinned base distributions plus the caller's extra lines, de-duplicated by name."""
    lines: dict[str, str] = {}
    for dist in base:
        lines.setdefault(_key(dist), pin(dist))
    for line in extra:
        line = str(line).strip()
        if line:
            lines[_key(line)] = line
    return sorted(lines.values(), key=str.lower)


def _key(line: str) -> str:
    import re

    name = re.split(r"[<>=!~;\[ @]", line, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def environment_files(reqs: list[str]) -> dict[str, bytes]:
    """The three environment files for ``reqs``."""
    import yaml

    python = platform.python_version()
    build = [pin("pip"), pin("setuptools"), "wheel"]
    python_env = {
        "python": python,
        "build_dependencies": build,
        "dependencies": ["-r requirements.txt"],
    }
    conda = {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", build[0].replace("==", "<="), {"pip": reqs}],
    }
    return {
        REQUIREMENTS: ("\n".join(reqs) + "\n").encode(),
        PYTHON_ENV: yaml.safe_dump(python_env, sort_keys=False).encode(),
        CONDA_ENV: yaml.safe_dump(conda, sort_keys=False).encode(),
    }


def python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))
