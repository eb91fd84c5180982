"""Helpers for client tests that need a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def child_env(store_dir: Path | str | None = None) -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
        env.pop(var, None)
    if store_dir is not None:
        env["MM_TRACKING_URI"] = str(store_dir)
    return env


def run_script(
    code: str, store_dir: Path, tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script file in a fresh interpreter tracking into ``store_dir``."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        env=child_env(store_dir),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
