"""A small tmpfs that a test can fill up: the real "disk full" (ENOSPC from the kernel, SQLite's
"database or disk is full"), not a simulation. Mounting needs root (CI runs as root); where the
mount is refused the tests that need it are skipped, saying why."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / "ballast"

    def fill(self) -> None:
        """Take every free byte: unbuffered writes, smaller and smaller, until the kernel says
        ENOSPC even for one byte."""
        with open(self.ballast, "ab", buffering=0) as f:
            size = 1 << 20
            while size:
                try:
                    if not f.write(b"\0" * size):
                        size //= 2
                except OSError as e:
                    assert e.errno == 28, e  # ENOSPC
                    size //= 2

    def free(self) -> None:
        self.ballast.unlink()

    def files(self, pattern: str) -> list[Path]:
        return sorted(p for p in self.path.rglob(pattern) if p != self.ballast)


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int = 8) -> Iterator[SmallDisk]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        # lazily, so a file a server or a store still holds open cannot keep the mount
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            os.rmdir(path)
