"""``jupyter-mm/api/runs/{id}/artifacts``: list, download (streamed, ranges) and upload artifacts;
``blobs/{sha256}``: content-addressed uploads that ``POST runs/{id}/artifacts`` then names, all
paths at once (how the remote client logs several artifacts all or none);
``runs/{id}/records/{kind}``: the records a ``%%track`` cell keeps as ``.mm/*.json`` artifacts;
``runs/{id}/artifact-rows/{path}``: the first rows of a Parquet artifact, for the preview."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import os
import re
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.iostream import StreamClosedError
from tornado.web import HTTPError

from ...core.artifacts import STAGING_SUFFIX, guess_media_type, write_failure
from ...errors import InvalidInput, MMError, NotFound
from .base import MMHandler
from .common import MAX_BATCH_JSON_BYTES, artifact_json, bool_arg, json_object, parse_run

if TYPE_CHECKING:
    from ...core.entities import ArtifactInfo
    from ...core.store import Store

#: Largest blob accepted by ``PUT blobs/{sha256}`` (streamed to disk, so only disk space bounds it).
MAX_BLOB_BYTES = 1 << 40
#: Largest artifact accepted by ``PUT`` (the whole body is buffered by the server first; raise
#: the server's ``max_body_size`` / ``max_buffer_size`` too to go beyond 512 MiB).
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: Media types a client sends by default that say nothing about the content.
_GENERIC_TYPES = {"", "application/x-www-form-urlencoded", "multipart/form-data"}

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")
#: Most paths one ``POST runs/{id}/artifacts`` may name.
MAX_INDEX_ITEMS = 10_000


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(start, end_exclusive)`` of a single ``bytes=a-b`` range; None to send everything
    (no header, or one we ignore as RFC 9110 allows: malformed or several ranges);
    ``"unsatisfiable"`` for a range outside the file."""
    if not header:
        return None
    m = _RANGE_RE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return (max(0, size - n), size)
    start = int(first)
    end = size - 1 if last == "" else int(last)
    if end < start:
        return None  # invalid: ignored
    if start >= size:
        return "unsatisfiable"
    return (start, min(end, size - 1) + 1)


class ArtifactsAPIHandler(MMHandler):
    """Base of the routes of artifact contents (runs' artifacts, blobs, Parquet previews)."""

    auth_resource = "jupyter_mm:artifacts"


class ArtifactListHandler(ArtifactsAPIHandler):
    """``GET runs/{id}/artifacts?path=<folder>&recursive=<bool>``; ``POST {"artifacts": [{path,
    digest, media_type}]}`` gives uploaded blobs (``PUT blobs/{sha256}``) their paths in one
    transaction: all or none appear."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        rid = parse_run(run_id)
        prefix = self.get_query_argument("path", None)
        recursive = bool_arg(self.get_query_argument("recursive", None), "recursive")
        items = await self.call_store(
            lambda store: store.list_artifacts(rid, prefix=prefix, recursive=recursive)
        )
        self.send_json({"run_id": rid, "artifacts": [artifact_json(a) for a in items]})

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        rid = parse_run(run_id)
        body = json_object(self, ["artifacts"], limit=MAX_BATCH_JSON_BYTES)
        entries = body.get("artifacts")
        if not isinstance(entries, list) or not entries:
            raise InvalidInput("'artifacts' must be a non-empty list of {path, digest, media_type}")
        if len(entries) > MAX_INDEX_ITEMS:
            raise InvalidInput(
                f"at most {MAX_INDEX_ITEMS} artifacts per request, got {len(entries)}"
            )
        items: list[tuple[str, str, str | None]] = []
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or set(e) - {"path", "digest", "media_type"}:
                raise InvalidInput(
                    f"artifacts[{i}] must be an object with path, digest and optional media_type"
                )
            path, digest, media_type = e.get("path"), e.get("digest"), e.get("media_type")
            if not isinstance(path, str) or not isinstance(digest, str):
                raise InvalidInput(f"artifacts[{i}]: path and digest must be strings")
            items.append((path, digest, check_media_type(media_type)))
        infos = await self.call_store(lambda store: store.index_artifacts(rid, items))
        self.send_json({"run_id": rid, "artifacts": [artifact_json(a) for a in infos]}, status=201)


def check_media_type(value: Any) -> str | None:
    """A ``type/subtype`` media type, or None; anything else is refused."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255 or not _MEDIA_TYPE_RE.match(value):
        raise InvalidInput(f"invalid media type {value!r}")
    return value


_MEDIA_TYPE_RE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def _check_digest(value: str) -> None:
    if not _DIGEST_RE.match(value):
        raise InvalidInput(f"not a SHA-256 digest (64 lowercase hex digits): {value[:80]!r}")


_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


class MissingBlobsHandler(ArtifactsAPIHandler):
    """``POST blobs/missing {"digests": [...]}`` answers ``{"missing": [...]}``: the contents the
    store lacks, in the order asked, so a client uploads only those (one request, however many
    files)."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self, ["digests"], limit=MAX_BATCH_JSON_BYTES)
        digests = body.get("digests")
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            raise InvalidInput("'digests' must be a list of SHA-256 hex strings")
        if len(digests) > MAX_INDEX_ITEMS:
            raise InvalidInput(f"at most {MAX_INDEX_ITEMS} digests per request, got {len(digests)}")
        for d in digests:
            _check_digest(d)
        missing = await self.call_store(
            lambda store: [d for d in dict.fromkeys(digests) if not store.blobs.exists(d)]
        )
        self.send_json({"missing": missing})


@tornado.web.stream_request_body
class BlobHandler(ArtifactsAPIHandler):
    """``PUT blobs/{sha256}`` stores the body under its SHA-256 (refused if it does not match);
    ``HEAD`` answers 200 when the blob is already stored, so a client can skip the upload.

    The body is streamed, never held in memory: it goes to a file in the blob store's staging
    directory while it is hashed, and is moved in once the hash matches, so a model of many
    gigabytes uploads like a small one (up to :data:`MAX_BLOB_BYTES`). Because the body arrives
    before the verb's method runs, :meth:`prepare` authenticates and authorises the request, and
    checks the name and the announced size, before the first byte is written anywhere.
    """

    _staged: Any = None
    _failed: MMError | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.request.method != "PUT":
            return
        user = self.current_user
        if not user:
            raise HTTPError(403)
        allowed = self.authorizer.is_authorized(self, user, "write", self.auth_resource)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            raise HTTPError(403, f"not authorized to write on resource: {self.auth_resource}")
        digest = self.path_kwargs["digest"]
        try:
            _check_digest(digest)
        except InvalidInput as e:
            # Answered in put(), once the (small) body is read and dropped: a refusal sent with
            # the body unread makes tornado close the socket, and the client may then see a
            # connection reset instead of this 400.
            self._failed = e
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > MAX_BLOB_BYTES:
            raise HTTPError(413, f"blob too large: {length} bytes (limit {MAX_BLOB_BYTES})")
        self.request.connection.set_max_body_size(MAX_BLOB_BYTES)  # type: ignore[union-attr]
        staging = await self.call_store(lambda store: store.blobs.staging_dir())
        try:
            self._staged = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in put/on_finish
                dir=staging, prefix=f".{digest[:16]}-", suffix=STAGING_SUFFIX, delete=False
            )
        except OSError as e:
            raise write_failure(e, staging or tempfile.gettempdir()) from e
        self._hash = hashlib.sha256()

    def data_received(self, chunk: bytes) -> None:
        # A full disk must be answered (507), not reset the connection: the failure is kept,
        # the partial file removed, and the rest of the body is read and dropped.
        if self._staged is not None:
            try:
                self._staged.write(chunk)
            except OSError as e:
                self._failed = write_failure(e, os.path.dirname(self._staged.name))
                self._discard()
                return
            self._hash.update(chunk)

    @tornado.web.authenticated
    @authorized
    async def head(self, digest: str) -> None:
        _check_digest(digest)
        exists = await self.call_store(lambda store: store.blobs.exists(digest))
        self.set_status(200 if exists else 404)
        self.finish()

    @tornado.web.authenticated
    @authorized
    async def put(self, digest: str) -> None:
        if self._failed is not None:
            raise self._failed
        staged, self._staged = self._staged, None
        try:
            staged.close()  # flushes the last buffered bytes: may meet the full disk too
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(staged.name)
            raise write_failure(e, os.path.dirname(staged.name)) from e
        actual = self._hash.hexdigest()
        if actual != digest:
            os.unlink(staged.name)
            raise InvalidInput(f"the body's SHA-256 is {actual}, not {digest}")
        size = await self.call_store(lambda store: store.blobs.put_hashed_file(staged.name, digest))
        self.send_json({"digest": digest, "size": size}, status=201)

    def on_finish(self) -> None:
        self._discard()

    def on_connection_close(self) -> None:
        self._discard()  # the client went away mid-upload

    def _discard(self) -> None:
        staged, self._staged = self._staged, None
        if staged is not None:
            with contextlib.suppress(OSError):
                staged.close()
            with contextlib.suppress(OSError):
                os.unlink(staged.name)


class ArtifactHandler(ArtifactsAPIHandler):
    """``GET runs/{id}/artifacts/{path}`` downloads, ``PUT`` uploads the request body.

    Downloads stream with the stored media type and ``Content-Length``; ``Range: bytes=a-b``
    answers 206 (416 outside the file). A whole download is verified against the artifact's
    SHA-256 while it streams: the last block is held back until the hash matches, and on a
    mismatch the connection is closed short of ``Content-Length``, so a client never takes a
    corrupt file for a complete one.
    """

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, path: str) -> None:
        rid = parse_run(run_id)
        info: ArtifactInfo = await self.call_store(lambda store: store.artifact_info(rid, path))
        rng = parse_range(self.request.headers.get("Range"), info.size)
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("ETag", f'"{info.digest}"')
        self.set_header("X-Content-SHA256", info.digest)
        name = info.path.rsplit("/", 1)[-1]
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{_quote(name)}")
        if rng == "unsatisfiable":
            self.set_status(416)
            self.set_header("Content-Range", f"bytes */{info.size}")
            self.finish(
                json.dumps(
                    {
                        "error_code": "INVALID_PARAMETER_VALUE",
                        "message": f"range outside the artifact ({info.size} bytes)",
                    }
                )
            )
            return
        if isinstance(rng, tuple):
            start, end = rng
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{info.size}")
        else:
            start, end = 0, info.size
        self.set_header("Content-Length", str(end - start))
        media_type = info.media_type or "application/octet-stream"
        self.set_header("Content-Type", media_type)
        whole = rng is None
        digest = info.digest

        def open_blocks(store: Store) -> Iterator[bytes]:
            return store.blobs.iter_verified(digest, start, None if whole else end)

        blocks = await self.call_store(open_blocks)
        pending: bytes | None = None
        sent = False
        try:
            while True:
                try:
                    block = await asyncio.to_thread(next, blocks, None)
                except Exception:
                    if not sent:
                        raise  # nothing sent yet: an ordinary JSON error
                    self.log.error(
                        "jupyter-mm: artifact %s of run %s failed its hash check while being "
                        "sent; closing the connection",
                        info.path,
                        rid,
                        exc_info=True,
                    )
                    self.request.connection.close()  # type: ignore[union-attr]
                    return
                if block is None:
                    break
                if pending is not None:
                    self.write(pending)
                    await self.flush()
                    sent = True
                pending = block
        except StreamClosedError:  # the client went away
            return
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()
        if pending is not None:
            self.write(pending)
        self.finish(set_content_type=media_type)

    @tornado.web.authenticated
    @authorized
    async def put(self, run_id: str, path: str) -> None:
        rid = parse_run(run_id)
        body = self.request.body or b""
        if len(body) > MAX_UPLOAD_BYTES:
            raise HTTPError(
                413, f"artifact too large: {len(body)} bytes (limit {MAX_UPLOAD_BYTES})"
            )
        media_type = self.get_query_argument("media_type", None)
        if media_type is None:
            header = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
            media_type = None if header in _GENERIC_TYPES else header
        media_type = check_media_type(media_type)
        if media_type is None:
            media_type = guess_media_type(path)
        info = await self.call_store(
            lambda store: store.log_artifact(rid, path, body, media_type=media_type)
        )
        self.send_json({"run_id": rid, **artifact_json(info)}, status=201)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


#: Largest Parquet file ``artifact-rows`` reads (it is read whole, in memory).
MAX_TABLE_FILE_BYTES = 64 * 1024 * 1024
#: Most rows ``artifact-rows`` returns (``max_rows`` defaults to 100).
MAX_TABLE_ROWS = 1000
#: Most columns, and characters of one cell, ``artifact-rows`` returns: the reply stays small
#: whatever the file holds.
MAX_TABLE_COLUMNS = 200
MAX_CELL_CHARS = 500


def _cell_text(value: Any) -> str | None:
    """A cell as display text (None for a missing value), cut at ``MAX_CELL_CHARS``."""
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def table_rows(store: Store, rid: str, path: str, max_rows: int) -> dict[str, Any]:
    """The first ``max_rows`` rows of the run's Parquet artifact ``path``, cells as text.

    Only the row groups those rows need are decoded; a file over ``MAX_TABLE_FILE_BYTES`` or
    one that is not Parquet is refused with a message saying so."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    info = store.artifact_info(rid, path)  # refuses paths that leave the run
    if info.size > MAX_TABLE_FILE_BYTES:
        raise InvalidInput(
            f"{info.path} is {info.size} bytes: too large to preview as a table "
            f"(limit {MAX_TABLE_FILE_BYTES}); download it instead"
        )
    data = store.read_artifact(rid, info.path)
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        names = pf.schema_arrow.names
        columns = names[:MAX_TABLE_COLUMNS]
        rows: list[dict[str, Any]] = []
        for batch in pf.iter_batches(batch_size=max_rows, columns=columns):
            rows.extend(batch.to_pylist()[: max_rows - len(rows)])
            if len(rows) >= max_rows:
                break
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidInput(f"{info.path} is not a readable Parquet file: {e}") from None
    total = pf.metadata.num_rows
    return {
        "run_id": rid,
        "path": info.path,
        "columns": columns,
        "rows": [[_cell_text(r[c]) for c in columns] for r in rows],
        "total_rows": total,
        "total_columns": len(names),
        "truncated": total > len(rows) or len(names) > len(columns),
    }


class ArtifactRowsHandler(ArtifactsAPIHandler):
    """``GET runs/{id}/artifact-rows/{path}?max_rows=N``: the first rows of a Parquet artifact
    as JSON (cells as text), for the run view's table preview."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, path: str) -> None:
        rid = parse_run(run_id)
        raw = self.get_query_argument("max_rows", "100")
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_TABLE_ROWS:
            raise InvalidInput(f"max_rows must be an integer from 1 to {MAX_TABLE_ROWS}")
        self.send_json(await self.call_store(table_rows, rid, path, int(raw)))


#: ``records/{kind}`` -> the artifact that holds it (see ``jupyter_mm/core/records.py``).
def record_paths() -> dict[str, str]:
    from ...core import records

    return {
        "environment": records.ENVIRONMENT,
        "git": records.GIT,
        "execution-log": records.EXECUTION_LOG,
        "cell": records.CELL,
    }


def load_record(store: Store, rid: str, kind: str) -> dict[str, Any]:
    path = record_paths()[kind]
    store.get_run(rid)  # NotFound names the run when it is the run that is missing
    try:
        raw = store.read_artifact(rid, path)
    except NotFound:
        raise NotFound(f"run {rid} has no {kind} record ({path})") from None
    try:
        content = json.loads(raw)
    except ValueError:
        content = None
    return {"run_id": rid, "kind": kind, "path": path, "record": content}


class RecordHandler(MMHandler):
    """``GET runs/{id}/records/{environment|git|execution-log|cell}``: 404 when absent."""

    auth_resource = "jupyter_mm:records"

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, kind: str) -> None:
        rid = parse_run(run_id)
        if kind not in record_paths():
            raise NotFound(f"no record kind {kind!r}; use one of {', '.join(record_paths())}")
        self.send_json(await self.call_store(load_record, rid, kind))
