"""Content-addressed blob storage (SHA-256) over fsspec, and logical artifact paths.

Blobs live at ``<root>/sha256/ab/cdef...``: identical content is stored once, whatever run or path
refers to it, and every read is checked against its digest. The per-run index of logical paths is
kept in the database (``schema.artifacts``); this module only knows about bytes.
"""

from __future__ import annotations

import errno
import hashlib
import mimetypes
import os
import posixpath
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ..errors import IntegrityError, InvalidInput, MMError, NotFound, StoreError, StoreFull
from . import limits, validation

CHUNK = 1 << 20
#: Suffix of a blob being written (``sha256/ab/cdef….tmp-<uuid>``) and of a streamed upload in
#: ``staging/`` (``.<digest>-….part``): anything with these names is a write in progress, or
#: one a crash interrupted (``jupyter mm check`` reports those, ``--repair`` removes them).
TMP_MARK = ".tmp-"
STAGING_SUFFIX = ".part"
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


#: Files MLflow's model and project formats name without an extension: YAML text. MLflow's
#: client uploads them as ``text/plain``; guessing from the extension alone made them
#: ``application/octet-stream`` (and the run view showed no preview).
_NAMED_TEXT = {"MLmodel": "text/plain", "MLproject": "text/plain"}
#: Text formats ``mimetypes`` does not know on every platform.
_TEXT_EXTENSIONS = {".yaml": "text/plain", ".yml": "text/plain", ".log": "text/plain"}


def guess_media_type(path: str) -> str:
    """The media type an artifact is stored with when its writer gave none: from the name."""
    name = path.rsplit("/", 1)[-1]
    if name in _NAMED_TEXT:
        return _NAMED_TEXT[name]
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed
    return _TEXT_EXTENSIONS.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")


def write_failure(err: OSError, where: str) -> MMError:
    """The MMError a failed write to the artifact root stands for: :class:`StoreFull` when the
    disk or quota is full, else :class:`StoreError` (both ``retryable``)."""
    if err.errno in _FULL_ERRNOS:
        return StoreFull("artifacts", where, err.strerror or err)
    return StoreError(f"the store's artifact root ({where}) cannot be written: {err}")


def normalize_path(path: Any) -> str:
    """Return the canonical logical path, or raise InvalidInput if it could escape its run's root.

    Rejected: empty, absolute (``/x``, ``C:\\x``), ``..`` segments, NUL/control characters, backslashes.
    ``./a//b`` is normalised to ``a/b``; unicode is NFC-normalised so look-alikes map to one name.
    """
    if not isinstance(path, str):
        raise InvalidInput(f"artifact path must be a string, got {type(path).__name__}")
    if not path or not path.strip():
        raise InvalidInput("artifact path must not be empty")
    validation.unicode(path, "artifact path")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise InvalidInput(f"artifact path {path!r} contains control characters")
    if "\\" in path:
        raise InvalidInput(f"artifact path {path!r} contains '\\'; use '/' to separate folders")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidInput(f"artifact path {path!r} is absolute; give a path relative to the run")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(f"artifact path {path!r} contains '..'; paths cannot leave the run")
    if not parts:
        raise InvalidInput(f"artifact path {path!r} names no file")
    norm = unicodedata.normalize("NFC", "/".join(parts))
    if len(norm) > limits.MAX_ARTIFACT_PATH_LENGTH or len(parts) > limits.MAX_ARTIFACT_PATH_DEPTH:
        raise InvalidInput(
            f"artifact path is too long ({len(norm)} characters, {len(parts)} levels; limits "
            f"{limits.MAX_ARTIFACT_PATH_LENGTH} and {limits.MAX_ARTIFACT_PATH_DEPTH})"
        )
    return norm


def normalize_paths(paths: Iterable[Any]) -> list[str]:
    """Each path as :func:`normalize_path` makes it; the same path twice in one call (all or none
    of whose paths appear) is refused."""
    logicals = [normalize_path(path) for path in paths]
    if len(set(logicals)) != len(logicals):
        raise InvalidInput("the same artifact path appears twice in one call")
    return logicals


def check_file(path: str | os.PathLike[str]) -> None:
    """An artifact given by its file's path must name a regular file (not a folder, not absent)."""
    if not os.path.isfile(path):
        raise InvalidInput(f"{os.fspath(path)!r} is not a file")


def normalize_prefix(prefix: str | None) -> str:
    """Like normalize_path but allows the empty prefix (the run's root): ``""``, ``/``, ``./``.
    ``..`` is refused like anywhere else, never read as the root."""
    if prefix is None or not prefix.strip() or all(p in ("", ".") for p in prefix.split("/")):
        return ""
    return normalize_path(prefix)


class BlobStore:
    """Immutable blobs addressed by their SHA-256, on any fsspec filesystem."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url
        from fsspec.implementations.local import LocalFileSystem

        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")
        # local files get fsync + atomic rename; object stores make whole objects visible atomically
        self._is_local = isinstance(self.fs, LocalFileSystem)

    def _path(self, digest: str) -> str:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise InvalidInput(f"not a SHA-256 digest: {digest!r}")
        return posixpath.join(self.root, "sha256", digest[:2], digest[2:])

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    def size(self, digest: str) -> int:
        """The blob's size in bytes; :class:`NotFound` if it is not stored."""
        try:
            return int(self.fs.size(self._path(digest)))
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is missing from the artifact store {self.url}") from None

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        if not self.exists(digest):
            self._write_atomic(digest, [data])
        return digest, len(data)

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Hash the file while streaming it, then copy it in unless the blob is already there."""
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
                size += len(block)
        digest = h.hexdigest()
        if not self.exists(digest):
            with open(path, "rb") as f:
                self._write_atomic(digest, iter(lambda: f.read(CHUNK), b""), expect=digest)
        return digest, size

    def staging_dir(self) -> str | None:
        """Where to stage a streamed upload so that :meth:`put_hashed_file` can move it in
        without a copy: beside the blobs on a local store; None (the system's temporary
        directory) on an object store."""
        if not self._is_local:
            return None
        staging = posixpath.join(self.root, "staging")
        try:
            os.makedirs(staging, exist_ok=True)
        except OSError as e:
            raise write_failure(e, self.root) from e
        return staging

    def put_hashed_file(self, path: str | os.PathLike[str], digest: str) -> int:
        """Store a file whose SHA-256 the caller computed while receiving it (a streamed upload),
        taking it over: on a local store it is moved in, elsewhere copied (and verified again
        on the way). Returns its size; the file is gone afterwards either way."""
        final = self._path(digest)
        size = os.path.getsize(path)
        try:
            if self.exists(digest):
                return size
            if self._is_local:
                try:
                    with open(path, "rb") as f:
                        os.fsync(f.fileno())
                    self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
                    os.replace(path, final)  # staging_dir() is on the same filesystem
                    return size
                except OSError as e:
                    if e.errno != errno.EXDEV:
                        raise write_failure(e, self.root) from e
            with open(path, "rb") as f:
                self._write_atomic(digest, iter(lambda: f.read(CHUNK), b""), expect=digest)
            return size
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def _write_atomic(self, digest: str, blocks: Any, expect: str | None = None) -> None:
        # Write to a temporary name then move, so a crash never leaves a truncated blob under its digest.
        # A failure part-way (a full disk) removes the temporary file and says what happened.
        final = self._path(digest)
        parent = posixpath.dirname(final)
        tmp = f"{final}{TMP_MARK}{uuid.uuid4().hex}"
        h = hashlib.sha256()
        try:
            self.fs.makedirs(parent, exist_ok=True)
            with self.fs.open(tmp, "wb") as out:
                for block in blocks:
                    h.update(block)
                    out.write(block)
                if self._is_local:
                    out.flush()
                    os.fsync(out.fileno())
            if expect is not None and h.hexdigest() != expect:
                raise IntegrityError("file changed while it was being stored; try again")
            if self._is_local:
                os.replace(tmp, final)
            else:
                self.fs.mv(tmp, final)
        except BaseException as e:
            self._remove_quietly(tmp)
            if isinstance(e, OSError) and self._is_local:
                raise write_failure(e, self.root) from e
            raise

    def _remove_quietly(self, path: str) -> None:
        try:
            if self._is_local:
                os.unlink(path)
            elif self.fs.exists(path):
                self.fs.rm(path)
        except (OSError, FileNotFoundError):
            pass

    def temporary_files(self) -> list[tuple[str, float]]:
        """Leftover temporary files of a local blob store (``(path, mtime)``): blobs whose write
        was interrupted (``sha256/ab/….tmp-…``) and streamed uploads in ``staging/``. A write in
        progress has them too, so callers judge by age."""
        if not self._is_local:
            return []
        found: list[tuple[str, float]] = []
        for folder, pattern in (("sha256", TMP_MARK), ("staging", STAGING_SUFFIX)):
            top = posixpath.join(self.root, folder)
            for dirpath, _, names in os.walk(top):
                for name in names:
                    if pattern in name:
                        path = os.path.join(dirpath, name)
                        try:
                            found.append((path, os.stat(path).st_mtime))
                        except FileNotFoundError:  # finished meanwhile
                            pass
        return sorted(found)

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        try:
            with self.fs.open(self._path(digest), "rb") as f:
                data: bytes = f.read()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is missing from the artifact store {self.url}") from None
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(
                f"blob {digest} is corrupt: its content no longer matches its hash"
            )
        return data

    def open(self, digest: str) -> IO[bytes]:
        try:
            return self.fs.open(self._path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is missing from the artifact store {self.url}") from None

    def iter_verified(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream a blob; a full read (no range) is verified against its digest at the end."""
        whole = start == 0 and end is None
        h = hashlib.sha256()
        with self.open(digest) as f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                block = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not block:
                    break
                if whole:
                    h.update(block)
                if remaining is not None:
                    remaining -= len(block)
                yield block
        if whole and h.hexdigest() != digest:
            raise IntegrityError(
                f"blob {digest} is corrupt: its content no longer matches its hash"
            )
