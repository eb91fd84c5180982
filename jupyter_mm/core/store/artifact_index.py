"""Each run's index of logical artifact paths over the content-addressed blob store."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from ...errors import InvalidInput, NotFound
from .. import schema as s
from ..artifacts import check_file, normalize_path, normalize_paths, normalize_prefix
from ..entities import ArtifactInfo
from .base import (
    StoreBase,
    check_run_id,
    now_ms,
)


class ArtifactIndexMixin(StoreBase):
    def log_artifact(
        self,
        run_id: str,
        path: str,
        data: bytes | str | os.PathLike[str],
        media_type: str | None = None,
    ) -> ArtifactInfo:
        """Store ``data`` (bytes, or the path of a file to copy) as the run's artifact ``path``."""
        return self.log_artifacts(run_id, [(path, data, media_type)])[0]

    def log_artifacts(
        self,
        run_id: str,
        items: Sequence[tuple[str, bytes | str | os.PathLike[str], str | None]],
    ) -> list[ArtifactInfo]:
        """Store several ``(path, data, media_type)`` artifacts: blobs first, then every index
        row in one transaction (all or none of the paths appear)."""
        run_uuid, logicals = self._artifact_paths(run_id, [path for path, _, _ in items])
        stored: list[tuple[str, int, str | None]] = []
        for _, data, media_type in items:
            if isinstance(data, (bytes, bytearray, memoryview)):
                digest, size = self.blobs.put_bytes(bytes(data))
            else:
                check_file(data)
                digest, size = self.blobs.put_file(data)
            stored.append((digest, size, media_type))
        return self._index_artifacts(run_uuid, logicals, stored)

    def index_artifacts(
        self, run_id: str, items: Sequence[tuple[str, str, str | None]]
    ) -> list[ArtifactInfo]:
        """Give blobs already in the blob store (uploaded first, as the remote client does) the
        run's artifact paths ``(path, sha256, media_type)``: all or none of the paths appear."""
        run_uuid, logicals = self._artifact_paths(run_id, [path for path, _, _ in items])
        stored: list[tuple[str, int, str | None]] = []
        for logical, (_, digest, media_type) in zip(logicals, items, strict=True):
            if not isinstance(digest, str):
                raise InvalidInput(f"artifact {logical!r}: digest must be a SHA-256 hex string")
            try:
                size = self.blobs.size(digest)
            except NotFound:
                raise InvalidInput(
                    f"artifact {logical!r}: no blob {digest} in the artifact store; upload it first"
                ) from None
            stored.append((digest, size, media_type))
        return self._index_artifacts(run_uuid, logicals, stored)

    def _artifact_paths(self, run_id: str, paths: Sequence[str]) -> tuple[str, list[str]]:
        run_uuid = check_run_id(run_id)
        logicals = normalize_paths(paths)
        with self.engine.connect() as conn:
            self._check_active(conn, run_uuid)
        return run_uuid, logicals

    def _index_artifacts(
        self, run_uuid: str, logicals: list[str], stored: list[tuple[str, int, str | None]]
    ) -> list[ArtifactInfo]:
        t = now_ms()
        rows: list[dict[str, Any]] = [
            {
                "run_uuid": run_uuid,
                "path": logical,
                "digest": digest,
                "size": size,
                "media_type": media_type
                or mimetypes.guess_type(logical)[0]
                or "application/octet-stream",
                "created_time": t,
            }
            for logical, (digest, size, media_type) in zip(logicals, stored, strict=True)
        ]

        def write(conn: Connection) -> None:
            self._check_active(conn, run_uuid)
            self._index_paths(conn, s.artifacts, {"run_uuid": run_uuid}, rows)

        self._write(write)
        return [
            ArtifactInfo(
                path=r["path"],
                size=r["size"],
                digest=r["digest"],
                media_type=r["media_type"],
                created_time=t,
            )
            for r in rows
        ]

    def list_artifacts(
        self, run_id: str, prefix: str | None = None, recursive: bool = False
    ) -> list[ArtifactInfo]:
        """Files (and, unless recursive, folders) directly under ``prefix``, sorted by path."""
        run_uuid = check_run_id(run_id)
        pre = normalize_prefix(prefix)
        a = s.artifacts.c
        q = select(s.artifacts).where(a.run_uuid == run_uuid)
        if pre:
            q = q.where(a.path.startswith(pre + "/"))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(a.path)).all()
            if not rows:
                self._require_run(conn, run_uuid)
        out: list[ArtifactInfo] = []
        dirs: dict[str, int] = {}
        for row in rows:
            rest = row.path[len(pre) + 1 :] if pre else row.path
            if recursive or "/" not in rest:
                out.append(
                    ArtifactInfo(row.path, row.size, row.digest, row.media_type, row.created_time)
                )
            else:
                d = (pre + "/" if pre else "") + rest.split("/", 1)[0]
                dirs[d] = dirs.get(d, 0) + row.size
        out.extend(
            ArtifactInfo(d, size, "", "inode/directory", 0, is_dir=True) for d, size in dirs.items()
        )
        return sorted(out, key=lambda x: x.path)

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo:
        run_uuid = check_run_id(run_id)
        logical = normalize_path(path)
        a = s.artifacts.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.artifacts).where(a.run_uuid == run_uuid, a.path == logical)
            ).first()
        if row is None:
            raise NotFound(f"run {run_uuid} has no artifact {logical!r}")
        return ArtifactInfo(row.path, row.size, row.digest, row.media_type, row.created_time)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The artifact's bytes, checked against their SHA-256."""
        return self.blobs.get_bytes(self.artifact_info(run_id, path).digest)

    def iter_artifact(
        self, run_id: str, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        return self.blobs.iter_verified(self.artifact_info(run_id, path).digest, start, end)
