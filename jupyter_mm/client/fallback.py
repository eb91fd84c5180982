"""Metric points a local store could not take before its run ended (its disk full, its database
unavailable): kept in a fallback spool on disk, and written by ``jupyter mm sync``.

It is the remote client's :class:`~.remote.spool.Spool` (the same durable appends, the same
ordered, at-least-once replay), in a directory of its own per store
(``$MM_SPOOL_DIR/local-<hash>/``). Every record carries a batch id, so a record replayed twice is
applied once. While points of a run wait here, the run's tag :data:`UNWRITTEN_TAG` holds their
number; the replay that writes the last of them removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.limits import MAX_BATCH_METRICS
from ..errors import InvalidInput, MMError
from .remote.spool import ReplayResult, Spool, spool_root

if TYPE_CHECKING:
    from ..core.store import Store

#: Run tag: how many of the run's points wait in a fallback spool (absent once all are written).
UNWRITTEN_TAG = "mm.unwritten_points"
#: Run tag: how many of the run's points the store refused for good (a permanent error, such as
#: the run having been deleted meanwhile); they are not kept anywhere.
REFUSED_TAG = "mm.refused_points"
#: Beside a local spool: the store it belongs to (line 1 the database URL, line 2 the artifact
#: root), which ``jupyter mm sync`` opens.
STORE_FILE = "store"

Point = tuple[str, float, int, int]


def add_refused(store: Any, run_id: str, n: int) -> int:
    """Add ``n`` to the run's :data:`REFUSED_TAG` (read, add, write: the count may come from
    several writers, a process's metric buffer and a later replay of its spool); the new total.
    Raises the store's MMError when the run cannot be read or tagged (deleted, say)."""
    current = store.get_run(run_id).tags.get(REFUSED_TAG, "")
    total = (int(current) if current.isdigit() else 0) + n
    store.set_tag(run_id, REFUSED_TAG, str(total))
    return total


def spool_for(db_url: str) -> Spool:
    return Spool(spool_root() / f"local-{hashlib.sha256(db_url.encode()).hexdigest()[:16]}")


def _wire(v: float) -> float | str:
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def _unwire(v: Any) -> float:
    return (
        {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
        if isinstance(v, str)
        else float(v)
    )


def spill(store: Store, run_id: str, points: Sequence[Point]) -> Spool:
    """Append ``points`` durably to the store's fallback spool (raises OSError if it cannot)."""
    spool = spool_for(store.location.db_url)
    _remember(spool, store)
    for i in range(0, len(points), MAX_BATCH_METRICS):
        chunk = points[i : i + MAX_BATCH_METRICS]
        spool.append(
            {
                "op": "log_batch",
                "run_id": run_id,
                "batch_id": uuid.uuid4().hex,
                "metrics": [[k, _wire(float(v)), s, t] for k, v, s, t in chunk],
            }
        )
    return spool


def spool_end(
    store: Store, run_id: str, status: str, end_time: int, tags: dict[str, str] | None
) -> Spool:
    """Append the run's end (after its points: replay keeps the order)."""
    spool = spool_for(store.location.db_url)
    _remember(spool, store)
    spool.append(
        {
            "op": "end_run",
            "run_id": run_id,
            "batch_id": uuid.uuid4().hex,
            "status": status,
            "end_time": end_time,
            "tags": dict(tags or {}),
        }
    )
    return spool


def _remember(spool: Spool, store: Store) -> None:
    f = spool.dir / STORE_FILE
    if not f.exists():
        spool.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        f.write_text(f"{store.location.db_url}\n{store.location.artifact_url or ''}\n")


def spooled_stores() -> list[tuple[Path, str, str | None]]:
    """Each local fallback spool: its directory, database URL and artifact root."""
    root = spool_root()
    if not root.is_dir():
        return []
    found = []
    for d in sorted(root.glob("local-*")):
        f = d / STORE_FILE
        if f.is_file():
            lines = f.read_text().splitlines() + ["", ""]
            found.append((d, lines[0].strip(), lines[1].strip() or None))
    return found


def replay(store: Store, spool: Spool, wait: bool = True) -> ReplayResult:
    """Write what waits in ``spool`` to ``store``, in order. Stops at the first retryable error
    (re-raised: the store is still full or unavailable); a record refused for good is set aside
    in the spool's ``rejected.jsonl``. Once all is written, removes :data:`UNWRITTEN_TAG` from
    the runs concerned."""
    runs: set[str] = set()

    def send(record: dict[str, Any], _blob: Path | None) -> None:
        runs.add(record["run_id"])
        if record["op"] == "log_batch":
            metrics = [(k, _unwire(v), int(s), int(t)) for k, v, s, t in record["metrics"]]
            store.log_batch(record["run_id"], metrics=metrics, batch_id=record["batch_id"])
        elif record["op"] == "end_run":
            store.end_run(
                record["run_id"],
                record["status"],
                end_time=record["end_time"],
                tags=record.get("tags") or None,
                batch_id=record["batch_id"],
            )
        else:
            raise InvalidInput(f"unknown fallback spool record {record['op']!r}")

    def drained() -> None:
        for run_id in runs:
            with contextlib.suppress(MMError):  # NotFound: it was never set
                store.delete_tag(run_id, UNWRITTEN_TAG)

    def rejected(record: dict[str, Any]) -> None:
        if record.get("metrics") and record.get("run_id"):
            add_refused(store, record["run_id"], len(record["metrics"]))

    return spool.replay(send, wait=wait, on_drained=drained, on_rejected=rejected)
