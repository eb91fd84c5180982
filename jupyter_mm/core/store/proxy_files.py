"""Files the MLflow artifact proxy holds outside any run or logged model.

MLflow's proxy stores any path under its artifacts destination (``PUT
mlflow-artifacts/artifacts/dir/b.pkl``). Here such a file is a content-addressed blob of the
artifact store, named by a normalised logical path in ``proxy_artifacts`` (the path never
becomes a file name on disk, and :func:`~..artifacts.normalize_path` refuses any path that could
escape). Identical content is stored once, whatever its names. Deleting a path removes its name
(and the names below it), as MLflow's proxy does; the blob stays in the store, like every blob.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, delete, or_, select

from ...errors import NotFound
from .. import schema as s
from ..artifacts import normalize_path, normalize_prefix
from ..entities import ArtifactInfo
from .artifact_index import folder_listing
from .base import StoreBase, now_ms


def _info(row: Any) -> ArtifactInfo:
    media_type = mimetypes.guess_type(row.path)[0] or "application/octet-stream"
    return ArtifactInfo(row.path, row.size, row.digest, media_type, row.created_time)


def _under(path: str) -> Any:
    """Rows at ``path`` or below it (LIKE narrows; callers re-check exactly, since SQLite's
    LIKE ignores ASCII case)."""
    p = s.proxy_artifacts.c.path
    return or_(p == path, p.startswith(path + "/", autoescape=True))


class ProxyFilesMixin(StoreBase):
    def put_proxy_file(self, path: str, data: bytes, created_by: str = "") -> ArtifactInfo:
        """Store ``data`` as the proxy file ``path`` (replacing a file already there). A path
        that is a folder of other files, or lies inside a file, is refused."""
        logical = normalize_path(path)
        digest, size = self.blobs.put_bytes(bytes(data))
        t = now_ms()
        row = {
            "path": logical,
            "digest": digest,
            "size": size,
            "created_time": t,
            "created_by": str(created_by or "")[:250],
        }

        self._write(lambda conn: self._index_paths(conn, s.proxy_artifacts, {}, [row]))
        return ArtifactInfo(
            logical,
            size,
            digest,
            mimetypes.guess_type(logical)[0] or "application/octet-stream",
            t,
        )

    def proxy_file_info(self, path: str) -> ArtifactInfo:
        logical = normalize_path(path)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.proxy_artifacts).where(s.proxy_artifacts.c.path == logical)
            ).first()
        if row is None:
            raise NotFound(f"no artifact {logical!r}")
        return _info(row)

    def read_proxy_file(self, path: str) -> bytes:
        """The file's bytes, checked against their SHA-256."""
        return self.blobs.get_bytes(self.proxy_file_info(path).digest)

    def iter_proxy_file(self, path: str) -> Iterator[bytes]:
        return self.blobs.iter_verified(self.proxy_file_info(path).digest)

    def list_proxy_files(self, prefix: str | None = None) -> list[ArtifactInfo]:
        """Files and folders directly under ``prefix`` (a folder exists while a file is below
        it), sorted by path; nothing for a file or a path that holds nothing."""
        pre = normalize_prefix(prefix)
        q = select(s.proxy_artifacts)
        if pre:
            q = q.where(s.proxy_artifacts.c.path.startswith(pre + "/", autoescape=True))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(s.proxy_artifacts.c.path)).all()
        return folder_listing(rows, pre, False, _info)

    def delete_proxy_files(self, path: str) -> int:
        """Remove the proxy file ``path``, or every file below the folder ``path``; how many
        names went (0 when there was nothing, as MLflow answers). Blobs are kept."""
        logical = normalize_path(path)

        def write(conn: Connection) -> int:
            t = s.proxy_artifacts
            found = [
                p
                for p in conn.execute(select(t.c.path).where(_under(logical))).scalars()
                if p == logical or p.startswith(logical + "/")
            ]
            if found:
                conn.execute(delete(t).where(t.c.path.in_(found)))
            return len(found)

        return self._write(write)
