"""Where a saved model's files are read from: a local directory or a run's artifacts.

Loaders read bytes through this small interface, so a model stored as run artifacts is loaded
straight from the content-addressed store (every read verified against its digest) without
first copying it to disk; only loaders that insist on a directory (MLflow's) get one, made on
demand and removed with the loaded model.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import NotFound
from ..artifacts import normalize_path

if TYPE_CHECKING:
    from ..store import TrackingStore


class ModelFiles(ABC):
    """Read-only view of one model's files, by path relative to the model's root."""

    where: str = ""

    @abstractmethod
    def read(self, rel: str) -> bytes: ...

    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def local_dir(self) -> str:
        """A local directory holding the files (for loaders that need paths)."""


class LocalFiles(ModelFiles):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.where = str(self.root)

    def read(self, rel: str) -> bytes:
        path = self.root / normalize_path(rel)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"the model at {self.where} has no file {rel!r}") from None

    def names(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    def local_dir(self) -> str:
        return str(self.root)


class RunFiles(ModelFiles):
    """The artifacts of ``run_id`` under ``prefix`` (e.g. ``models/scorer``)."""

    def __init__(self, store: TrackingStore, run_id: str, prefix: str) -> None:
        self.store, self.run_id, self.prefix = store, run_id, prefix.strip("/")
        self.where = f"runs:/{run_id}/{self.prefix}"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def read(self, rel: str) -> bytes:
        path = f"{self.prefix}/{normalize_path(rel)}" if self.prefix else normalize_path(rel)
        try:
            return self.store.read_artifact(self.run_id, path)
        except NotFound:
            raise NotFound(f"the model at {self.where} has no file {rel!r}") from None

    def names(self) -> list[str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        return [
            a.path[cut:]
            for a in self.store.list_artifacts(self.run_id, self.prefix or None, recursive=True)
            if not a.is_dir
        ]

    def local_dir(self) -> str:
        if self._tmp is None:
            tmp = tempfile.TemporaryDirectory(prefix="mm-model-")
            for rel in self.names():
                target = Path(tmp.name) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.read(rel))
            self._tmp = tmp
        return self._tmp.name


def keep_alive(owner: Any, files: ModelFiles) -> None:
    """Tie a RunFiles' temporary directory to ``owner`` (it is removed when ``owner`` is)."""
    owner._mm_files = files
