"""Each run's index of logical artifact paths over the content-addressed blob store, and the index
helpers the files of a logged model without a run share (their own table, the same rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from ...errors import InvalidInput, NotFound
from .. import schema as s
from ..artifacts import (
    check_file,
    guess_media_type,
    normalize_path,
    normalize_paths,
    normalize_prefix,
)
from ..entities import ArtifactInfo
from .base import (
    StoreBase,
    check_run_id,
    now_ms,
)
from .interface import ArtifactItem, BatchShortcuts

#: ``(sha256, size, media_type)`` of a blob in the blob store.
StoredBlob = tuple[str, int, str | None]


def store_blobs(store: StoreBase, items: Sequence[ArtifactItem]) -> list[StoredBlob]:
    """Put each item's bytes (or the file it names) in the blob store."""
    stored: list[StoredBlob] = []
    for _, data, media_type in items:
        if isinstance(data, (bytes, bytearray, memoryview)):
            digest, size = store.blobs.put_bytes(bytes(data))
        else:
            check_file(data)
            digest, size = store.blobs.put_file(data)
        stored.append((digest, size, media_type))
    return stored


def write_index(
    store: StoreBase,
    table: Table,
    owner: tuple[str, str],
    logicals: list[str],
    stored: list[StoredBlob],
    check: Callable[[Connection], object] | None = None,
) -> list[ArtifactInfo]:
    """Give the blobs ``stored`` the paths ``logicals`` in the artifact index ``table`` of one
    owner (``(column, id)``: a run's, or a logged model's without a run), in one transaction
    (after ``check``): a path that is a file's folder, or under a file, is refused, so all or none
    of the paths appear."""
    key, owner_id = owner
    t = now_ms()
    rows: list[dict[str, Any]] = [
        {
            key: owner_id,
            "path": logical,
            "digest": digest,
            "size": size,
            "media_type": media_type or guess_media_type(logical),
            "created_time": t,
        }
        for logical, (digest, size, media_type) in zip(logicals, stored, strict=True)
    ]

    def write(conn: Connection) -> None:
        if check is not None:
            check(conn)
        store._index_paths(conn, table, {key: owner_id}, rows)

    store._write(write)
    return [ArtifactInfo(r["path"], r["size"], r["digest"], r["media_type"], t) for r in rows]


def list_index(
    store: StoreBase,
    table: Table,
    owner: tuple[str, str],
    prefix: str | None,
    recursive: bool,
    require: Callable[[Connection], object],
) -> list[ArtifactInfo]:
    """The files (and, unless ``recursive``, the folders, each with the size of what it holds)
    directly under ``prefix`` in one owner's index, sorted by path. When there is nothing,
    ``require`` checks that the owner exists (a missing one is a 404, not an empty listing)."""
    key, owner_id = owner
    pre = normalize_prefix(prefix)
    a = table.c
    q = select(table).where(a[key] == owner_id)
    if pre:
        q = q.where(a.path.startswith(pre + "/", autoescape=True))
    with store.engine.connect() as conn:
        rows = conn.execute(q.order_by(a.path)).all()
        if not rows:
            require(conn)
    return folder_listing(rows, pre, recursive, _info)


def folder_listing(
    rows: Iterable[Any], pre: str, recursive: bool, info: Callable[[Any], ArtifactInfo]
) -> list[ArtifactInfo]:
    """The index rows (``path``, ``size``) below the normalised prefix ``pre`` as a listing sorted
    by path: each file (``info(row)``) and, unless ``recursive``, each folder directly under
    ``pre`` instead of what it holds, with the size of all of it. Rows are checked against
    ``pre`` here, since SQLite's LIKE (``startswith``) ignores case."""
    out: list[ArtifactInfo] = []
    dirs: dict[str, int] = {}
    for row in rows:
        if pre and not row.path.startswith(pre + "/"):
            continue
        rest = row.path[len(pre) + 1 :] if pre else row.path
        if recursive or "/" not in rest:
            out.append(info(row))
        else:
            d = (pre + "/" if pre else "") + rest.split("/", 1)[0]
            dirs[d] = dirs.get(d, 0) + row.size
    out.extend(
        ArtifactInfo(d, size, "", "inode/directory", 0, is_dir=True) for d, size in dirs.items()
    )
    return sorted(out, key=lambda x: x.path)


def index_entry(
    store: StoreBase, table: Table, owner: tuple[str, str], path: str, whose: str
) -> ArtifactInfo:
    """The index entry of ``path`` of one owner (``whose`` it is, for the 404 when absent)."""
    key, owner_id = owner
    logical = normalize_path(path)
    a = table.c
    with store.engine.connect() as conn:
        row = conn.execute(select(table).where(a[key] == owner_id, a.path == logical)).first()
    if row is None:
        raise NotFound(f"{whose} has no artifact {logical!r}")
    return _info(row)


def _info(row: Any) -> ArtifactInfo:
    return ArtifactInfo(row.path, row.size, row.digest, row.media_type, row.created_time)


class ArtifactIndexMixin(StoreBase, BatchShortcuts):
    """A run's artifacts; ``log_artifact`` comes from :class:`~.interface.BatchShortcuts`."""

    def log_artifacts(self, run_id: str, items: Sequence[ArtifactItem]) -> list[ArtifactInfo]:
        """Store several ``(path, data, media_type)`` artifacts: blobs first, then every index
        row in one transaction (all or none of the paths appear)."""
        run_uuid, logicals = self._artifact_paths(run_id, [path for path, _, _ in items])
        stored = store_blobs(self, items)
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
        self, run_uuid: str, logicals: list[str], stored: list[StoredBlob]
    ) -> list[ArtifactInfo]:
        def check(conn: Connection) -> None:
            self._check_active(conn, run_uuid)

        return write_index(self, s.artifacts, ("run_uuid", run_uuid), logicals, stored, check)

    def list_artifacts(
        self, run_id: str, prefix: str | None = None, recursive: bool = False
    ) -> list[ArtifactInfo]:
        """Files (and, unless recursive, folders) directly under ``prefix``, sorted by path."""
        run_uuid = check_run_id(run_id)

        def require(conn: Connection) -> None:
            self._require_run(conn, run_uuid)

        return list_index(self, s.artifacts, ("run_uuid", run_uuid), prefix, recursive, require)

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo:
        run_uuid = check_run_id(run_id)
        return index_entry(self, s.artifacts, ("run_uuid", run_uuid), path, f"run {run_uuid}")

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The artifact's bytes, checked against their SHA-256."""
        return self.blobs.get_bytes(self.artifact_info(run_id, path).digest)

    def iter_artifact(
        self, run_id: str, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        return self.blobs.iter_verified(self.artifact_info(run_id, path).digest, start, end)
