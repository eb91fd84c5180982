"""Rows a prediction log could not write before it closed (its disk full, its bucket refusing):
kept in a spool on another disk, and moved into the log by the next writer or ``jupyter mm sync``.

One directory per log root, ``$MM_SPOOL_DIR/predictions-<hash of the root>/`` (by default under
``~/.cache/jupyter-mm/spool/``, beside the tracking spools), holding the file :data:`ROOT_FILE`
(the log's root) and the parts as they would have been written, under their partition path::

    model=<name>/version=<v>/date=<YYYY-MM-DD>/part-<uuid>.parquet

A spooled part is already what the log writes (dropped and hashed columns applied: no personal
data lands in the spool that the log would not hold). Moving it is exactly once: the part keeps
its name in the log, a name already there is not written again, and the spooled file is removed
only after the log's copy is whole. Imports only the standard library, pyarrow, fsspec and core
(a deploy bundle's server runs this).
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
from pathlib import Path
from typing import Any

from ..core.locations import spool_root

log = logging.getLogger(__name__)

ROOT_FILE = "log_root"
PREFIX = "predictions-"


def spool_dir(root: str) -> Path:
    digest = hashlib.sha256(root.rstrip("/").encode()).hexdigest()[:16]
    return spool_root() / f"{PREFIX}{digest}"


def spill(root: str, relative: str, table: Any) -> Path:
    """Write ``table`` whole into the spool of log ``root`` under partition path ``relative``
    (raises OSError when the spool's disk cannot take it either)."""
    from fsspec.implementations.local import LocalFileSystem

    from ..core.predictions import write_part

    directory = spool_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / ROOT_FILE
    if not marker.exists():
        tmp = directory / f".{ROOT_FILE}.{os.getpid()}"
        tmp.write_text(root.rstrip("/") + "\n")
        os.replace(tmp, marker)
    return Path(write_part(LocalFileSystem(), True, str(directory / relative), table))


def pending(root: str) -> list[Path]:
    """The spooled parts of log ``root`` (oldest first)."""
    directory = spool_dir(root)
    if not directory.is_dir():
        return []
    found = [p for p in directory.rglob("part-*.parquet") if p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def drain(root: str) -> tuple[int, int]:
    """Move the spooled parts of log ``root`` into it: (rows moved, parts still spooled). A part
    that cannot be written yet stays for the next try."""
    import fsspec
    import pyarrow.parquet as pq
    from fsspec.implementations.local import LocalFileSystem

    from ..core.predictions import write_part

    parts = pending(root)
    if not parts:
        return 0, 0
    fs, base = fsspec.core.url_to_fs(root.rstrip("/"))
    local = isinstance(fs, LocalFileSystem)
    directory = spool_dir(root)
    moved = left = 0
    for part in parts:
        relative = part.parent.relative_to(directory).as_posix()
        partition = posixpath.join(base.rstrip("/"), relative)
        try:
            if not fs.exists(posixpath.join(partition, part.name)):
                table = pq.read_table(part)
                write_part(
                    fs, local, partition, table, part=part.name[len("part-") : -len(".parquet")]
                )
                moved += table.num_rows
            part.unlink(missing_ok=True)
        except FileNotFoundError:  # another writer moved it first
            continue
        except Exception as e:  # the log still cannot take it: keep it spooled
            log.warning("prediction log %s: spooled part %s not moved yet: %s", root, part, e)
            left += 1
    return moved, left


def spooled_logs() -> list[str]:
    """The log roots that have spooled parts."""
    root = spool_root()
    if not root.is_dir():
        return []
    found = []
    for d in sorted(root.glob(f"{PREFIX}*")):
        marker = d / ROOT_FILE
        if marker.is_file():
            found.append(marker.read_text().strip())
    return [r for r in found if pending(r)]
