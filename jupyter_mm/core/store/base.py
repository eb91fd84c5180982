"""Shared plumbing of the store: opening, transactions, checks and id helpers."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, select

from ...errors import InvalidInput, NotFound, PermissionDenied, StoreError
from .. import database, limits, locations, migrate, validation
from ..artifacts import BlobStore

if TYPE_CHECKING:
    import numpy as np

#: A metric point as the writers hand it over: (key, value, step, timestamp_ms).
MetricPoint = tuple[str, float, int, int]
#: One key's validated points: (steps, timestamps, values) arrays.
MetricColumns = tuple["np.ndarray", "np.ndarray", "np.ndarray"]

DEFAULT_EXPERIMENT_ID = "0"
#: Run tags that say who ran the run. The store writes them from the run's user when it creates
#: the run (a tag the creator sent is replaced by that user); no later write may set or delete
#: them, so nobody can pass a run off as another user's (on a team server the user is the
#: authenticated identity).
IDENTITY_TAGS = frozenset({"mlflow.user"})
T = TypeVar("T")
StoreT = TypeVar("StoreT", bound="StoreBase")


def is_unique_violation(err: BaseException) -> bool:
    """A unique-key clash from either database (another writer got there first)."""
    from sqlalchemy.exc import IntegrityError

    text = str(getattr(err, "orig", err)).lower()
    return isinstance(err, IntegrityError) and ("unique" in text or "duplicate key" in text)


def _checked_items(
    values: Mapping[str, Any] | None,
    kind: str,
    max_items: int,
    check_value: Callable[[str, Any], str],
) -> dict[str, str]:
    items = validation.mapping(values, f"{kind}s", max_items)
    out: dict[str, str] = {}
    for k, v in items.items():
        k = validation.key(k, f"{kind} name")
        out[k] = check_value(k, v)
    return out


def run_update_values(
    status: str | None = None,
    end_time: int | None = None,
    name: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Checked column values for a run update; a terminal status without an end time ends now."""
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = check_status(status)
        if values["status"] in ("FINISHED", "FAILED", "KILLED") and end_time is None:
            end_time = now_ms()
        if values["status"] == "RUNNING":
            values["end_time"] = None
    if end_time is not None:
        values["end_time"] = validation.millis(end_time, "end_time")
    if name is not None:
        values["name"] = validation.name(name, "run name")
    if notes is not None:
        values["notes"] = validation.text(notes, "notes", limits.MAX_NOTE_LENGTH)
    return values


def now_ms() -> int:
    return int(time.time() * 1000)


class StoreBase:
    """Engine, blob store and the checks every part of the store shares."""

    def __init__(self, location: locations.StoreLocation) -> None:
        self.location = location
        try:
            self.engine = database.create(location.db_url)
            migrate.ensure_schema(self.engine)
        except StoreError:
            raise
        except Exception as e:  # unreachable server, unwritable directory, bad credentials...
            raise StoreError(f"cannot open the store at {location.display_uri}: {e}") from e
        self._blobs: BlobStore | None = None

    @classmethod
    def open(cls: type[StoreT], uri: str | None = None, artifact_uri: str | None = None) -> StoreT:
        return cls(locations.resolve(uri, artifact_uri))

    @property
    def display_uri(self) -> str:
        return self.location.display_uri

    @property
    def kind(self) -> str:
        return self.location.kind

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            if not self.location.artifact_url:
                raise StoreError(
                    "this store has no artifact location: set MM_ARTIFACT_URI "
                    "(a directory or an fsspec URL such as s3://bucket/prefix)"
                )
            self._blobs = BlobStore(self.location.artifact_url)
        return self._blobs

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self: StoreT) -> StoreT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, fn: Callable[[Connection], T]) -> T:
        return database.run_write(self.engine, fn)

    def _upsert(self, conn: Connection, table: Any) -> Any:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        return dialect_insert(table)

    def _index_paths(
        self, conn: Connection, table: Any, owner: Mapping[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        """Write ``rows`` (each with a ``path``) into a file index of ``owner`` (its key columns
        and values: a run's, a model's, none for the proxy's files), replacing a file already at
        a path; a path that is a folder of other files, or lies inside a file, is refused."""
        p = table.c.path
        mine = [table.c[k] == v for k, v in owner.items()]
        for row in rows:
            logical = row["path"]
            clash = conn.execute(
                select(p).where(*mine, p.in_(parent_paths(logical))).limit(1)
            ).scalar()
            below = conn.execute(
                select(p).where(*mine, p.startswith(f"{logical}/", autoescape=True))
            )
            # LIKE only narrows: SQLite's ignores ASCII case
            clash = clash or next((b for b in below.scalars() if b.startswith(f"{logical}/")), None)
            if clash is not None:
                raise InvalidInput(
                    f"artifact path {logical!r} clashes with the existing artifact {clash!r}"
                )
        keys = [*owner, "path"]
        stmt = self._upsert(conn, table)
        replaced = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=replaced), rows)

    def _check_active(self, conn: Connection, run_uuid: str, lock: bool = False) -> None:
        """Raise unless the run exists and is not deleted. ``lock`` also takes the run's row lock
        (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so concurrent
        appends to one run's metric chunks queue up instead of racing for the same chunk."""
        from . import statements as st

        stage = conn.execute(
            st.RUN_STAGE_LOCKED if lock else st.RUN_STAGE, {"run": run_uuid}
        ).scalar()
        if stage is None:
            raise NotFound(f"no run with id {run_uuid!r}")
        if stage != "active":
            raise InvalidInput(f"run {run_uuid} is deleted; restore it before logging to it")

    def _checked_params(self, params: Mapping[str, Any] | None) -> dict[str, str]:
        return _checked_items(params, "param", limits.MAX_BATCH_PARAMS, validation.param_value)

    def _checked_tags(self, tags: Mapping[str, Any] | None) -> dict[str, str]:
        return _checked_items(tags, "tag", limits.MAX_BATCH_TAGS, validation.tag_value)

    def _checked_later_tags(self, tags: Mapping[str, Any] | None) -> dict[str, str]:
        """Tags written to an existing run: checked, and never an identity tag."""
        items = self._checked_tags(tags)
        refuse_identity_tags(items)
        return items

    def _require_run(self, conn: Connection, run_uuid: str) -> None:
        """Raise NotFound unless the run exists (to tell "no rows" from "no run")."""
        from . import statements as st

        if conn.execute(st.RUN_EXISTS, {"run": run_uuid}).first() is None:
            raise NotFound(f"no run with id {run_uuid!r}")


def refuse_identity_tags(keys: Iterable[str]) -> None:
    """PermissionDenied if ``keys`` name an :data:`IDENTITY_TAGS` tag (after run creation)."""
    named = sorted(IDENTITY_TAGS.intersection(keys))
    if named:
        raise PermissionDenied(
            f"tag {named[0]!r} records who created the run and is written only by the server "
            "from the run's user; it cannot be set, changed or deleted afterwards"
        )


def parse_experiment_id(experiment_id: str | int) -> int:
    try:
        value = int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"experiment id must be an integer, got {experiment_id!r}") from None
    if not limits.MIN_STEP <= value <= limits.MAX_STEP:  # the column is 64 bits
        raise InvalidInput(f"experiment id {experiment_id!r} is out of range")
    return value


#: The store's names for the run checks of :mod:`..validation` (the remote client uses them too).
check_run_id = validation.run_id
check_status = validation.run_status


def check_batch_id(batch_id: Any) -> str | None:
    """A client's idempotency key: 1-64 characters of letters, digits, ``-`` and ``_``."""
    if batch_id is None:
        return None
    if (
        not isinstance(batch_id, str)
        or not 0 < len(batch_id) <= 64
        or not all(c.isascii() and (c.isalnum() or c in "-_") for c in batch_id)
    ):
        raise InvalidInput(
            f"batch id must be 1-64 letters, digits, '-' or '_', got {str(batch_id)[:80]!r}"
        )
    return batch_id


def lifecycle_clause(column: Any, view: str) -> Any:
    view = view.lower()
    if view in ("active", "active_only"):
        return column == "active"
    if view in ("deleted", "deleted_only"):
        return column == "deleted"
    if view == "all":
        return column.in_(["active", "deleted"])
    raise InvalidInput(f"view must be 'active', 'deleted' or 'all', got {view!r}")


def parent_paths(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def batches(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def encode_token(phase: int, offset: int) -> str:
    return base64.urlsafe_b64encode(
        json.dumps({"phase": phase, "offset": offset}).encode()
    ).decode()


def decode_token(token: str | None) -> tuple[int, int]:
    """(phase, offset) of a page token; see RunsMixin.search_runs."""
    if not token:
        return 0, 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        phase, offset = data.get("phase", 0), data["offset"]
        if not isinstance(offset, int) or not 0 <= offset <= limits.MAX_STEP or phase not in (0, 1):
            raise ValueError
        return phase, offset
    except Exception:
        raise InvalidInput(f"invalid page token {token!r}") from None


_ADJ = "brave calm eager fancy gentle happy jolly keen lively merry noble proud quick sharp smart swift tidy vivid warm wise".split()
_NOUN = "otter falcon maple river comet cedar lynx heron tulip willow pebble ember quartz badger finch lotus raven sparrow tiger walrus".split()


def random_run_name() -> str:
    return f"{random.choice(_ADJ)}-{random.choice(_NOUN)}-{random.randint(100, 999)}"
