"""The on-disk spool of writes a remote tracking server could not take, replayed in order when it
is back.

One directory per server (``$MM_SPOOL_DIR/<server key>/``, by default under
``~/.cache/jupyter-mm/spool/``): ``records.jsonl`` holds one request per line, ``position`` the
byte offset replay has reached, ``blobs/<sha256>`` the bytes of spooled artifacts. Several
processes may append and replay at once: appends hold ``append.lock`` (one ``write`` of a whole
line, then ``fsync``), replay holds ``replay.lock`` so only one process replays. Replay is at
least once (a crash between sending a record and saving the position sends it again); the server
makes it exactly once, as every record is idempotent there (client-made run and batch ids).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...core.locations import spool_root
from ...errors import MMError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock, one process at a time
    fcntl = None  # type: ignore[assignment]

RECORDS = "records.jsonl"
POSITION = "position"
REJECTED = "rejected.jsonl"

#: Called for each record to replay, with the file of its bytes if it has some; raises a
#: ``retryable`` MMError to stop (the server is still down, or its store full), another MMError
#: when the record is refused for good.
Sender = Callable[[dict[str, Any], Path | None], None]


def server_key(url: str) -> str:
    """A directory name for the server: readable host and port, plus a hash of the whole URL."""
    parts = urlsplit(url)
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{parts.hostname or 'server'}_{parts.port or ''}")
    return f"{readable.strip('_')}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"


@dataclass
class ReplayResult:
    applied: int = 0
    rejected: int = 0
    #: True when the spool was empty at the end (nothing left to replay).
    drained: bool = False
    #: False when another process was replaying (nothing was done here).
    ran: bool = True


class Spool:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.records = self.dir / RECORDS

    @classmethod
    def for_server(cls, url: str) -> Spool:
        return cls(spool_root() / server_key(url))

    def __repr__(self) -> str:
        return f"<Spool {self.dir}>"

    # ------------------------------------------------------------ state

    def size(self) -> int:
        try:
            return self.records.stat().st_size
        except OSError:  # not created yet (or cannot be)
            return 0

    def position(self) -> int:
        try:
            return int((self.dir / POSITION).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def pending(self) -> bool:
        """Whether records wait to be replayed (a stat, and a small read when the file is not
        empty: cheap enough to ask after every successful request)."""
        size = self.size()
        return size > 0 and size != self.position()

    def pending_records(self) -> int:
        if not self.pending():
            return 0
        with open(self.records, "rb") as f:
            f.seek(min(self.position(), self.size()))
            return sum(1 for line in f if line.endswith(b"\n"))

    # ------------------------------------------------------------ appending

    def append(self, record: dict[str, Any], blob: bytes | os.PathLike[str] | None = None) -> None:
        """Add a record (and the bytes, or the file, it refers to) durably: on disk before this
        returns."""
        line = json.dumps(record, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        with self._lock("append.lock"):
            if blob is not None:
                self._put_blob(record["blob"], blob)
            fd = os.open(self.records, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def _put_blob(self, digest: str, data: bytes | os.PathLike[str]) -> None:
        blobs = self.dir / "blobs"
        target = blobs / digest
        if target.exists():
            return
        blobs.mkdir(parents=True, exist_ok=True)
        tmp = blobs / f".{digest}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            if isinstance(data, (bytes, bytearray)):
                f.write(data)
            else:  # a file, copied block by block (a model can be larger than memory)
                with open(data, "rb") as src:
                    shutil.copyfileobj(src, f, 1 << 20)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_dir(blobs)

    def blob(self, digest: str) -> Path:
        """The file holding a spooled record's bytes (:class:`OSError` if it is missing)."""
        path = self.dir / "blobs" / digest
        if not path.is_file():
            raise FileNotFoundError(f"spooled bytes {digest} are missing from {path.parent}")
        return path

    # ------------------------------------------------------------ replaying

    def replay(
        self,
        send: Sender,
        wait: bool = False,
        guard: Callable[[], AbstractContextManager[Any]] | None = None,
        on_drained: Callable[[], None] | None = None,
        on_rejected: Callable[[dict[str, Any]], None] | None = None,
    ) -> ReplayResult:
        """Send every record in order. Stops at the first ``retryable`` MMError (re-raised, the
        position kept: :class:`Unavailable`, a server's 5xx, a full store); a record refused
        for good is set aside in ``rejected.jsonl`` and replay goes on. With ``wait`` False, returns at once (``ran``
        False) when another process is replaying. Once everything is sent, the files are
        emptied and ``on_drained`` is called, inside ``guard`` and the append lock, so no
        record can slip in between. ``on_rejected`` is called with each record refused for good
        (to count its points in its run's record); if it fails, the reason is warned about."""
        result = ReplayResult()
        try:
            with self._lock("replay.lock", blocking=wait):
                while True:
                    advanced = self._replay_to_end(send, result, on_rejected)
                    with guard() if guard else contextlib.nullcontext(), self._lock("append.lock"):
                        if self.size() <= self.position():
                            self._reset()
                            result.drained = True
                            if on_drained is not None:
                                on_drained()
                            return result
                    if not advanced:  # only a line still being written (or torn): later
                        return result
                    # more was appended while we replayed: go on
        except BlockingIOError:
            result.ran = False
            return result

    def _replay_to_end(
        self,
        send: Sender,
        result: ReplayResult,
        on_rejected: Callable[[dict[str, Any]], None] | None = None,
    ) -> bool:
        """Send the complete records after the position; whether any was consumed."""
        size = self.size()
        pos = start = self.position()
        if pos > size:  # the files were emptied by a replay that crashed half-way: start over
            pos = start = 0
            self._save_position(0, sync=True)
        if pos == size:
            return False
        f = open(self.records, "rb")  # noqa: SIM115 - closed below
        f.seek(pos)
        try:
            while pos < size:  # a line at a time: a long outage makes a large spool
                line = f.readline(size - pos)
                if not line.endswith(b"\n"):
                    break  # a record still being written (or torn by a crash): next time
                try:
                    record = json.loads(line)
                    blob = self.blob(record["blob"]) if record.get("blob") else None
                except (ValueError, KeyError, OSError) as e:
                    self._reject(line, f"unreadable spool record: {e}")
                    result.rejected += 1
                else:
                    try:
                        send(record, blob)
                        result.applied += 1
                    except MMError as e:
                        if e.retryable:  # unreachable, full, failing: the same record later
                            raise
                        self._reject(line, f"{e.code}: {e.message}")
                        result.rejected += 1
                        if on_rejected is not None:
                            self._count_rejected(on_rejected, record)
                pos += len(line)
                self._save_position(pos, sync=False)
        finally:
            f.close()
            self._save_position(pos, sync=True)
        return pos != start

    def _reject(self, line: bytes, reason: str) -> None:
        import warnings

        text = line.decode("utf-8", "replace").rstrip("\n")
        with open(self.dir / REJECTED, "a", encoding="utf-8") as f:
            f.write(json.dumps({"reason": reason, "record": text}) + "\n")
        warnings.warn(
            f"jupyter-mm: the store refused a spooled write for good ({reason}); it is kept "
            f"in {self.dir / REJECTED}",
            RuntimeWarning,
            stacklevel=3,
        )

    def _count_rejected(
        self, on_rejected: Callable[[dict[str, Any]], None], record: dict[str, Any]
    ) -> None:
        import warnings

        try:
            on_rejected(record)
        except Exception as e:  # the run deleted, the server gone again: the file still has it
            warnings.warn(
                f"jupyter-mm: a refused spooled write could not be counted in its run's record "
                f"({e}); it is kept in {self.dir / REJECTED}",
                RuntimeWarning,
                stacklevel=4,
            )

    def _save_position(self, pos: int, sync: bool) -> None:
        path = self.dir / POSITION
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            data = str(pos).encode().ljust(20)
            os.pwrite(fd, data, 0)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _reset(self) -> None:
        """Empty the spool. The position goes to 0 first: a crash in between replays the
        records again (harmless), never skips new ones."""
        if self.size() == 0 and self.position() == 0:
            return
        self._save_position(0, sync=True)
        with contextlib.suppress(FileNotFoundError), open(self.records, "r+b") as f:
            f.truncate(0)
            os.fsync(f.fileno())
        blobs = self.dir / "blobs"
        if blobs.is_dir():
            for p in blobs.iterdir():
                with contextlib.suppress(OSError):
                    p.unlink()

    # ------------------------------------------------------------ locks

    @contextlib.contextmanager
    def _lock(self, name: str, blocking: bool = True) -> Iterator[None]:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # params, tags: the user's only
        if not self._thread_lock_for(name).acquire(blocking):
            raise BlockingIOError(name)
        try:
            fd = os.open(self.dir / name, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                yield
            finally:
                os.close(fd)  # releases the flock
        finally:
            self._thread_lock_for(name).release()

    #: flock orders processes; these order the threads of this one (one lock per file).
    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()

    def _thread_lock_for(self, name: str) -> threading.Lock:
        key = f"{self.dir}/{name}"
        with Spool._locks_guard:
            lock = Spool._locks.get(key)
            if lock is None:
                lock = Spool._locks[key] = threading.Lock()
            return lock


def _forget_thread_locks() -> None:
    Spool._locks = {}  # a forked child must not inherit a lock held by a thread it lacks
    Spool._locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_thread_locks)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
