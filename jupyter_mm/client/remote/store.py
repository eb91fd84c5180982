"""``RemoteStore``: the part of :class:`~jupyter_mm.core.store.Store` the client and the notebook
layer use, answered by a tracking server's REST API (``{base_url}jupyter-mm/api/``).

Writes are idempotent on the server (the client picks run ids and batch ids), so a request whose
answer was lost is simply sent again. When the server stays unreachable after the transport's
retries, the write goes to the spool instead and the user's code keeps running (one warning);
from then on every write of this process is spooled, to keep their order, until a background
thread has replayed the spool, which it tries with growing pauses. Reads need the server: while
it is down they raise :class:`~jupyter_mm.errors.Unavailable`.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import math
import os
import random
import re
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core import limits, validation
from ...core.entities import (
    TERMINAL_STATUSES,
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Metric,
    Run,
)
from ...core.store import DEFAULT_EXPERIMENT_ID
from ...core.store.interface import BatchShortcuts
from ...core.wire import from_json_number, json_number
from ...errors import AlreadyExists, IntegrityError, InvalidInput, MMError, NotFound, Unavailable
from .http import Response, Transport, iter_body, quote_path
from .jobs import RemoteJobsMixin
from .registry import RemoteRegistryMixin
from .retraining import RemoteRetrainingMixin
from .spool import ReplayResult, Spool
from .webhooks import RemoteWebhooksMixin

_log = logging.getLogger(__name__)

#: Media type of the prediction log as the server sends it.
PARQUET_TYPE = "application/vnd.apache.parquet"

#: Largest Parquet body one ``POST predictions`` / ``POST labels`` carries (the server's
#: ``MAX_PARQUET_BYTES``); a larger batch is sent in parts of fewer rows, each its own batch.
MAX_PARQUET_BYTES = 64 * 1024 * 1024

#: Most paths one ``POST runs/{id}/artifacts`` names (the server's ``MAX_INDEX_ITEMS``).
MAX_INDEX_ITEMS = 10_000

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from ...core.store.interface import ArtifactItem, TrackingStore

#: ``get_or_create_experiment`` while the server is down answers this prefix plus the name; a
#: run created with it names its experiment, which the server creates when the run is replayed.
DEFERRED_EXPERIMENT = "name:"


def now_ms() -> int:
    return int(time.time() * 1000)


def new_batch_id() -> str:
    return uuid.uuid4().hex


def _points(metrics: Sequence[Any]) -> list[dict[str, Any]]:
    validation.metric_batch(len(metrics))
    out = []
    for m in metrics:
        key, value, step, ts = (m.key, m.value, m.step, m.timestamp) if isinstance(m, Metric) else m
        out.append({"key": key, "value": json_number(float(value)), "step": step, "timestamp": ts})
    return out


def _checked(values: Mapping[str, Any] | None, kind: str, max_items: int) -> dict[str, str]:
    """Params or tags checked as the store checks them, so a bad one fails at the call even when
    the write is spooled."""
    items = validation.mapping(values, f"{kind}s", max_items)
    check = validation.param_value if kind == "param" else validation.tag_value
    return {validation.key(k, f"{kind} name"): check(k, v) for k, v in items.items()}


def run_from_json(d: Mapping[str, Any]) -> Run:
    latest = {
        k: Metric(k, from_json_number(m["value"]), int(m["step"]), int(m["timestamp"]))
        for k, m in (d.get("latest_metrics") or {}).items()
    }
    return Run(
        id=d["id"],
        name=d["name"],
        experiment_id=d["experiment_id"],
        status=d["status"],
        start_time=d["start_time"],
        end_time=d.get("end_time"),
        user=d.get("user") or "",
        lifecycle_stage=d["lifecycle_stage"],
        parent_run_id=d.get("parent_run_id"),
        heartbeat_time=d.get("heartbeat_time"),
        notes=d.get("notes") or "",
        params=dict(d.get("params") or {}),
        metrics={k: from_json_number(v) for k, v in (d.get("metrics") or {}).items()},
        tags=dict(d.get("tags") or {}),
        latest_metrics=latest,
        datasets=[DatasetInput(**ds) for ds in d.get("datasets") or []],
        experiment=d.get("experiment"),
    )


def experiment_from_json(d: Mapping[str, Any]) -> Experiment:
    return Experiment(
        id=d["id"],
        name=d["name"],
        lifecycle_stage=d["lifecycle_stage"],
        artifact_location=d.get("artifact_location"),
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
        tags=dict(d.get("tags") or {}),
    )


def artifact_from_json(d: Mapping[str, Any]) -> ArtifactInfo:
    return ArtifactInfo(
        path=d["path"],
        size=d["size"],
        digest=d.get("digest") or "",
        media_type=d["media_type"],
        created_time=d.get("created_time") or 0,
        is_dir=bool(d.get("is_dir")),
    )


def _run_path(run_id: str, route: str = "") -> str:
    """The resource of a run (``runs/{id}``, or ``runs/{id}/{route}``), its id checked first."""
    path = f"runs/{validation.run_id(run_id)}"
    return f"{path}/{route}" if route else path


def _model_name(name: Any) -> str:
    """A model name as the prediction log checks it, before anything is sent or spooled."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("the model name must be a non-empty string")
    return name


class RemoteLocation:
    """What the client reads of a store's location (``db_url`` keys its caches)."""

    kind = "remote"

    def __init__(self, url: str) -> None:
        self.db_url = url
        self.uri = url
        self.artifact_url = url


class RemoteStore(
    RemoteRegistryMixin,
    RemoteWebhooksMixin,
    RemoteJobsMixin,
    RemoteRetrainingMixin,
    BatchShortcuts,
):
    """A tracking server as a store. ``url`` is the server's base URL (``http(s)://host:port/base/``);
    the token defaults to ``MM_TRACKING_TOKEN``. The model registry's calls come from
    :class:`~.registry.RemoteRegistryMixin` (never spooled; the server decides who acts); the
    one-item writes (``log_param``, ``set_tag``, ``log_artifact``) from
    :class:`~jupyter_mm.core.store.interface.BatchShortcuts`."""

    kind = "remote"

    def __init__(self, url: str, token: str | None = None, spool: Spool | None = None) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.location = RemoteLocation(self.url)
        self.http = Transport(
            self.url, token if token is not None else os.environ.get("MM_TRACKING_TOKEN")
        )
        self.spool = spool if spool is not None else Spool.for_server(self.url)
        self._state = threading.Lock()  # held while deciding "send or spool", and to go online
        self._offline = False
        self._replayed = [0, 0]
        self._closed = False
        self._wake = threading.Event()
        self._replayer: threading.Thread | None = None
        atexit.register(self._at_exit)
        if self.spool.pending():  # left by an earlier process: send it in the background
            self._ensure_replayer()

    def __repr__(self) -> str:
        return f"<RemoteStore {self.url}{' (offline)' if self._offline else ''}>"

    @property
    def display_uri(self) -> str:
        return self.url

    @property
    def offline(self) -> bool:
        """True while writes go to the spool (the server was unreachable)."""
        return self._offline

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        atexit.unregister(self._at_exit)

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sending and spooling

    def _apply(
        self,
        record: Mapping[str, Any],
        blob: bytes | os.PathLike[str] | None,
        retries: int | None = None,
    ) -> Any:
        """Send one write. A create that finds its run already there was applied before."""
        try:
            if blob is not None:
                r = self.http.request(
                    record["method"],
                    record["path"],
                    body=blob,
                    params=record.get("params"),
                    headers={"Content-Type": record.get("type") or "application/octet-stream"},
                    retries=retries,
                )
            else:
                r = self.http.request(
                    record["method"], record["path"], json_body=record.get("body"), retries=retries
                )
        except AlreadyExists:
            if record.get("op") == "create_run":
                return None
            raise
        return r.json()

    def _write(
        self,
        record: dict[str, Any],
        blob: bytes | os.PathLike[str] | None = None,
        before_spool: Callable[[dict[str, Any]], None] | None = None,
    ) -> Any:
        """Send ``record`` now, or spool it; returns the server's answer, None when spooled."""
        with self._state:
            spooled = self._offline
            if spooled:
                self._spool_locked(record, blob, before_spool)
        if spooled:
            self._ensure_replayer()
            return None
        try:
            reply = self._apply(record, blob)
        except MMError as e:
            if not e.retryable:  # refused for good (a 4xx naming the bad input)
                raise
            with self._state:
                self._spool_locked(record, blob, before_spool)  # may raise: then stay online
                self._offline = True
            self._warn_unreachable(e)
            self._ensure_replayer()
            return None
        self._contacted()
        return reply

    def _write_json(
        self,
        op: str,
        method: str,
        path: str,
        body: dict[str, Any],
        before_spool: Callable[[dict[str, Any]], None] | None = None,
    ) -> Any:
        """:meth:`_write` of a JSON request: its spool record names the operation (``op``, for
        the replay), the request and its body."""
        record = {"op": op, "method": method, "path": path, "body": body}
        return self._write(record, before_spool=before_spool)

    def _spool_locked(
        self,
        record: dict[str, Any],
        blob: bytes | os.PathLike[str] | None,
        before_spool: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        """Append to the spool (the caller holds ``_state``)."""
        if before_spool is not None:
            before_spool(record)
        try:
            if not self._remembered:
                from .sync import remember_server

                remember_server(self.spool, self.url)
                self._remembered = True
            self.spool.append(record, blob)
        except OSError as e:  # a StoreError: the metric buffer keeps its points and retries
            raise Unavailable(
                f"the tracking server {self.url} is unreachable and the spool "
                f"{self.spool.dir} cannot be written: {e}"
            ) from None

    _remembered = False
    _warned_at = -math.inf
    _spooled_since = 0.0
    #: Spooled writes and metric points sent since the server was last unreachable.
    _replayed: list[int] = [0, 0]  # noqa: RUF012 - replaced per instance before any change

    def _warn_unreachable(self, e: MMError) -> None:
        """One warning for the user (not one per write, and not again for a minute)."""
        now = time.monotonic()
        if now - self._warned_at > 60:
            self._warned_at = now
            self._spooled_since = now
            warnings.warn(
                f"jupyter-mm: {e}. Writes are kept in {self.spool.dir} and will be sent when "
                "the server is back (or run `jupyter mm sync`).",
                RuntimeWarning,
                stacklevel=5,
            )

    def _request(self, method: str, path: str, **kw: Any) -> Response:
        """A request that needs the server (no spooling); fails fast while offline."""
        if self._offline:
            kw.setdefault("retries", 0)
        resp = self.http.request(method, path, **kw)
        self._contacted()
        return resp

    def _read(self, method: str, path: str, **kw: Any) -> Any:
        """:meth:`_request`'s JSON answer."""
        return self._request(method, path, **kw).json()

    def _read_parquet(self, path: str, params: Mapping[str, Any]) -> pa.Table:
        """:meth:`_request`'s answer as Parquet (the prediction log and the labels)."""
        import io

        import pyarrow.parquet as pq

        resp = self._request("GET", path, params=params, headers={"Accept": PARQUET_TYPE})
        return pq.read_table(io.BytesIO(resp.data))

    def _contacted(self) -> None:
        """The server answered: if writes wait in the spool, send them (in the background)."""
        if self._offline or self.spool.pending():
            self._ensure_replayer()

    # ------------------------------------------------------------ replay

    def replay(self, wait: bool = False, retries: int = 1) -> ReplayResult:
        """Send the spool now (this process's writes and any other's for this server)."""

        def send(record: dict[str, Any], blob: bytes | os.PathLike[str] | None) -> None:
            self._apply(record, blob, retries=retries)
            self._replayed[0] += 1
            self._replayed[1] += len((record.get("body") or {}).get("metrics") or ())

        def online() -> None:
            if self._offline:  # the one "resumed" notice of this outage
                writes, points = self._replayed
                warnings.warn(
                    f"jupyter-mm: the tracking server {self.url} takes writes again; the "
                    f"{writes} spooled write(s) ({points} metric points) that were waiting "
                    "are sent",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._replayed = [0, 0]
            self._offline = False

        def rejected(record: dict[str, Any]) -> None:
            """Count the refused points in their run's record (the tag written directly: while
            replaying, this process's writes would go to the spool)."""
            from ..fallback import REFUSED_TAG

            points = len((record.get("body") or {}).get("metrics") or ())
            match = re.fullmatch(r"runs/([^/]+)/(?:log-batch|end)", record.get("path", ""))
            if not points or match is None:
                return
            run_id = match.group(1)
            tags = run_from_json(self.http.request("GET", f"runs/{run_id}").json()).tags
            current = tags.get(REFUSED_TAG, "")
            total = (int(current) if current.isdigit() else 0) + points
            tag = {"batch_id": new_batch_id(), "tags": {REFUSED_TAG: str(total)}}
            self.http.request("POST", f"runs/{run_id}/log-batch", json_body=tag, retries=retries)

        return self.spool.replay(
            send,
            wait=wait,
            guard=lambda: self._state,
            on_drained=online,
            on_rejected=rejected,
        )

    def _ensure_replayer(self) -> None:
        with self._state:
            thread = self._replayer
            if (thread is None or not thread.is_alive()) and not self._closed:
                self._replayer = threading.Thread(
                    target=self._replay_loop, name="jupyter-mm-replay", daemon=True
                )
                self._replayer.start()
        self._wake.set()

    def _replay_loop(self) -> None:
        """Replay until the spool is empty, pausing longer after each failure (to 30 s)."""
        pause = 0.0
        while not self._closed:
            if pause:
                self._wake.wait(pause)
                self._wake.clear()
            try:
                result = self.replay()
            except MMError as e:
                if e.retryable:  # still down, or its store still full: later
                    pause = min(30.0, max(0.5, pause * 2)) * random.uniform(0.75, 1.25)
                    continue
                warnings.warn(
                    f"jupyter-mm: replaying the spool failed: {e}", RuntimeWarning, stacklevel=1
                )
                pause = 30.0
                continue
            except Exception as e:  # never let the thread die with writes left behind
                warnings.warn(
                    f"jupyter-mm: replaying the spool failed: {e}", RuntimeWarning, stacklevel=1
                )
                pause = 30.0
                continue
            with self._state:
                if result.drained and not self._offline:
                    self._replayer = None
                    return
            pause = 1.0  # another process is replaying, or more came in: look again soon

    def _at_exit(self) -> None:
        """At exit: end the runs still open (their last writes), then one last replay."""
        tracking = sys.modules.get("jupyter_mm.client.tracking")
        if tracking is not None:  # its own exit hook runs after this one; ending twice is a no-op
            tracking._end_all_at_exit()
        self._closed = True
        self._wake.set()
        replayer = self._replayer
        if replayer is not None:  # let a replay in progress finish (it stops after this pass)
            replayer.join(timeout=30)
        if not self.spool.pending():
            return
        try:
            self.replay(retries=0)
        except Exception:
            _log.debug("replaying the spool at exit failed", exc_info=True)
        left = self.spool.pending_records()
        if left:
            print(
                f"jupyter-mm: {left} write(s) for {self.url} are kept in {self.spool.dir}; the "
                "next process that reaches the server sends them, or run `jupyter mm sync`",
                file=sys.stderr,
            )

    # ------------------------------------------------------------ experiments

    def get_or_create_experiment(self, name: str) -> str:
        name = validation.name(name, "experiment name")
        try:
            return str(
                self._read("POST", "experiments/get-or-create", json_body={"name": name})["id"]
            )
        except Unavailable as e:  # created with the first run, when that is replayed
            self._warn_unreachable(e)
            return DEFERRED_EXPERIMENT + name

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        return experiment_from_json(self._read("GET", f"experiments/{experiment_id}"))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        for e in self.list_experiments("all"):
            if e.name == name:
                return e
        return None

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        reply = self._read("GET", "experiments", params={"view": view})
        return [experiment_from_json(e) for e in reply["experiments"]]

    # ------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str | int = DEFAULT_EXPERIMENT_ID,
        name: str | None = None,
        user: str = "",
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        status: str = "RUNNING",
        heartbeat: bool = True,
    ) -> Run:
        """Create a run; its id is chosen here, so the request can be retried or replayed."""
        if validation.run_status(status) != "RUNNING":
            raise InvalidInput("a remote run is created RUNNING")
        rid = validation.run_id(run_id) if run_id else uuid.uuid4().hex
        body: dict[str, Any] = {
            "run_id": rid,
            "start_time": start_time if start_time is not None else now_ms(),
            "user": validation.text(user or "", "user", limits.MAX_NAME_LENGTH),
            "tags": _checked(tags, "tag", limits.MAX_BATCH_TAGS),
            "params": _checked(params, "param", limits.MAX_BATCH_PARAMS),
        }
        if name:
            body["name"] = validation.name(name, "run name")
        if parent_run_id:
            body["parent_run_id"] = validation.run_id(parent_run_id)
        exp = str(experiment_id)
        if exp.startswith(DEFERRED_EXPERIMENT):
            body["experiment_name"] = exp[len(DEFERRED_EXPERIMENT) :]
        else:
            body["experiment_id"] = exp

        def name_it(record: dict[str, Any]) -> None:
            if "name" not in record["body"]:  # offline: no server to pick one
                from ...core.store.base import random_run_name

                record["body"]["name"] = random_run_name()

        reply = self._write_json("create_run", "POST", "runs", body, before_spool=name_it)
        if reply is None and not self._offline:  # the id exists: a retry of our own create?
            reply = self._read("GET", f"runs/{rid}")
            if reply["start_time"] != body["start_time"] or reply["name"] != body.get(
                "name", reply["name"]
            ):
                raise AlreadyExists(f"run {rid} already exists")
        if reply is not None:
            return run_from_json(reply)
        return Run(
            id=rid,
            name=body["name"],
            experiment_id=exp,
            status="RUNNING",
            start_time=body["start_time"],
            end_time=None,
            user=body["user"],
            lifecycle_stage="active",
            parent_run_id=body.get("parent_run_id"),
            heartbeat_time=body["start_time"],
            notes="",
            params=dict(body["params"]),
            tags=dict(body["tags"]),
            experiment=body.get("experiment_name"),
        )

    def get_run(self, run_id: str) -> Run:
        return run_from_json(self._read("GET", _run_path(run_id)))

    def search_runs(
        self,
        experiment_ids: Iterable[str | int] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: str = "active",
    ) -> tuple[list[Run], str | None]:
        body: dict[str, Any] = {
            "filter": filter or "",
            "order_by": list(order_by or []),
            "max_results": max_results,
            "page_token": page_token,
            "view": view,
        }
        if experiment_ids is not None:
            body["experiment_ids"] = [str(e) for e in experiment_ids]
        reply = self._read("POST", "runs/search", json_body=body)
        return [run_from_json(r) for r in reply["runs"]], reply.get("next_page_token")

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
        notes: str | None = None,
    ) -> None:
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = validation.run_status(status)
            if body["status"] in TERMINAL_STATUSES and end_time is None:
                end_time = now_ms()  # when it ended, not when a spooled update arrives
        if end_time is not None:
            body["end_time"] = int(end_time)
        if name is not None:
            body["name"] = validation.name(name, "run name")
        if notes is not None:
            body["notes"] = validation.text(notes, "notes", limits.MAX_NOTE_LENGTH)
        if body:
            self._write_json("update_run", "PATCH", _run_path(run_id), body)

    def heartbeat(self, run_id: str) -> None:
        """Beat the run's heartbeat; skipped while offline (the spool replays the run's end)."""
        if self._offline:
            return
        try:
            self.http.request("POST", _run_path(run_id, "heartbeat"), retries=0)
        except Unavailable:
            pass

    # ------------------------------------------------------------ run data

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Any] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """One request per batch, with a batch id so a retry or a replay is applied once.
        Returns False when the server had applied this batch id before."""
        body: dict[str, Any] = {"batch_id": batch_id or new_batch_id()}
        points = _points(metrics)
        param_items = _checked(params, "param", limits.MAX_BATCH_PARAMS)
        tag_items = _checked(tags, "tag", limits.MAX_BATCH_TAGS)
        if not (points or param_items or tag_items or batch_id):
            return True
        parts = {"metrics": points, "params": param_items, "tags": tag_items}
        return self._send_batch("log_batch", run_id, "log-batch", body, **parts)

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        ts = timestamp if timestamp is not None else now_ms()
        self.log_batch(run_id, metrics=[(key, validation.metric_value(key, value), step, ts)])

    def end_run(
        self,
        run_id: str,
        status: str = "FINISHED",
        end_time: int | None = None,
        metrics: Sequence[Any] = (),
        tags: Mapping[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """The last points, tags and final status in one request (one transaction there)."""
        body: dict[str, Any] = {
            "status": validation.run_status(status),
            "end_time": end_time if end_time is not None else now_ms(),
            "batch_id": batch_id or new_batch_id(),
        }
        points = _points(metrics)
        tag_items = _checked(tags, "tag", limits.MAX_BATCH_TAGS)
        return self._send_batch("end_run", run_id, "end", body, metrics=points, tags=tag_items)

    def _send_batch(
        self, op: str, run_id: str, route: str, body: dict[str, Any], **parts: Any
    ) -> bool:
        """Send a batch with its non-empty ``parts`` to ``runs/{id}/{route}``, or spool it. False
        when the server had applied its batch id before (a spooled batch counts as applied)."""
        body.update({k: v for k, v in parts.items() if v})
        reply = self._write_json(op, "POST", _run_path(run_id, route), body)
        return True if reply is None else bool(reply.get("applied", True))

    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None:
        body = {
            "name": validation.key(dataset.name, "dataset name"),
            "digest": dataset.digest,
            "context": dataset.context or "training",
            "source": dataset.source or "",
            "source_type": dataset.source_type or "",
            "schema": dataset.schema,
            "row_count": dataset.row_count,
            "profile": dataset.profile,
        }
        self._write_json("log_dataset", "POST", _run_path(run_id, "datasets"), body)

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        step_range: tuple[int | None, int | None] | None = None,
        time_range: tuple[int | None, int | None] | None = None,
    ) -> dict[str, np.ndarray]:
        from ...core.store.metrics import metric_history

        body: dict[str, Any] = {"run_ids": [validation.run_id(run_id)], "keys": [key]}
        if max_points:
            body["max_points"] = max_points
        if step_range is not None:
            body["step_range"] = list(step_range)
        if time_range is not None:
            body["time_range"] = list(time_range)
        series = self._read("POST", "metrics/history", json_body=body)["series"]
        if not series:
            return metric_history()
        s = series[0]
        return metric_history(s["step"], s["timestamp"], [from_json_number(v) for v in s["value"]])

    def metric_keys(self, run_id: str) -> list[str]:
        return sorted(self.get_run(run_id).metrics)

    # ------------------------------------------------------------ artifacts

    def log_artifacts(self, run_id: str, items: Sequence[ArtifactItem]) -> list[ArtifactInfo]:
        """Upload each file's content once (``PUT blobs/{sha256}``, streamed from disk), except
        what the server holds already (one ``POST blobs/missing`` asks), then name every path in
        one request: as with a local store, all or none of the paths appear."""
        from ...core.artifacts import check_file, guess_media_type, normalize_paths

        run_path = _run_path(run_id, "artifacts")
        logicals = normalize_paths(path for path, _, _ in items)
        entries: list[dict[str, Any]] = []
        sizes: dict[str, int] = {}
        contents: dict[str, bytes | os.PathLike[str]] = {}
        for logical, (_, data, media_type) in zip(logicals, items, strict=True):
            payload: bytes | os.PathLike[str]
            if isinstance(data, (bytes, bytearray, memoryview)):
                payload = bytes(data)
                digest, size = hashlib.sha256(payload).hexdigest(), len(payload)
            else:  # a file: hashed, then streamed from disk, never read whole into memory
                check_file(data)
                payload = Path(data)
                with open(payload, "rb") as f:
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
                    size = os.fstat(f.fileno()).st_size
            contents.setdefault(digest, payload)
            sizes[digest] = size
            mt = media_type or guess_media_type(logical)
            entries.append({"path": logical, "digest": digest, "media_type": mt})
        missing = self._missing_blobs(list(contents))
        for digest, payload in contents.items():
            if digest in missing:
                self._write(
                    {"op": "put_blob", "method": "PUT", "path": f"blobs/{digest}", "blob": digest},
                    payload,
                )
        out: list[ArtifactInfo] = []
        # all or none up to the server's limit per request (10,000 paths)
        for i in range(0, len(entries), MAX_INDEX_ITEMS):
            chunk = entries[i : i + MAX_INDEX_ITEMS]
            reply = self._write_json("log_artifacts", "POST", run_path, {"artifacts": chunk})
            if reply is not None:
                out.extend(artifact_from_json(a) for a in reply["artifacts"])
            else:
                t = now_ms()
                out.extend(
                    ArtifactInfo(e["path"], sizes[e["digest"]], e["digest"], e["media_type"], t)
                    for e in chunk
                )
        return out

    def _missing_blobs(self, digests: list[str]) -> set[str]:
        """Which of these contents the server lacks (all of them when offline or unsure)."""
        if self._offline:
            return set(digests)
        missing: set[str] = set()
        try:
            for i in range(0, len(digests), MAX_INDEX_ITEMS):
                reply = self.http.request(
                    "POST",
                    "blobs/missing",
                    json_body={"digests": digests[i : i + MAX_INDEX_ITEMS]},
                    retries=0,
                ).json()
                missing.update(reply["missing"])
        except MMError:
            return set(digests)
        return missing

    def list_artifacts(
        self, run_id: str, prefix: str | None = None, recursive: bool = False
    ) -> list[ArtifactInfo]:
        params: dict[str, Any] = {"recursive": "true" if recursive else "false"}
        if prefix:
            params["path"] = prefix
        reply = self._read("GET", _run_path(run_id, "artifacts"), params=params)
        return [artifact_from_json(a) for a in reply["artifacts"]]

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo:
        from ...core.artifacts import normalize_path

        logical = normalize_path(path)
        folder = logical.rsplit("/", 1)[0] if "/" in logical else None
        for a in self.list_artifacts(run_id, folder):
            if a.path == logical and not a.is_dir:
                return a
        raise NotFound(f"run {run_id} has no artifact {logical!r}")

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The artifact's bytes, checked against their SHA-256."""
        return b"".join(self.iter_artifact(run_id, path))

    def iter_artifact(
        self, run_id: str, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """The artifact in blocks (``end`` exclusive). A whole download is checked against the
        digest the server sends; a mismatch raises IntegrityError at the end."""
        from ...core.artifacts import normalize_path

        logical = normalize_path(path)
        whole = not start and end is None
        headers = {} if whole else {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        url = _run_path(run_id, f"artifacts/{quote_path(logical)}")
        resp = self.http.stream(url, headers=headers, retries=0 if self._offline else None)
        expected = resp.headers.get("X-Content-SHA256", "")
        return self._verified(iter_body(resp), expected if whole else "", logical)

    @staticmethod
    def _verified(blocks: Iterator[bytes], expected: str, path: str) -> Iterator[bytes]:
        h = hashlib.sha256()
        for block in blocks:
            h.update(block)
            yield block
        if expected and h.hexdigest() != expected:
            raise IntegrityError(
                f"artifact {path!r} arrived with SHA-256 {h.hexdigest()}, not {expected}"
            )

    # ------------------------------------------------------------ the prediction log

    def predictions(
        self, name: str, version: int | str | None = None, start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        """The server's prediction log of model ``name``, sent as Parquet (``GET predictions``)."""
        from ...core.predictions import table_to_frame, wire_bound

        _model_name(name)
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, (int, str))
        ):
            raise InvalidInput(f"version must be a number or a string, not {version!r}")
        params = {
            "name": name,
            "version": None if version is None else str(version),
            "start": wire_bound(start, "start"),
            "end": wire_bound(end, "end"),
        }
        return table_to_frame(self._read_parquet("predictions", params))

    def log_prediction_table(
        self, name: str, version: int | str, table: pa.Table, *, batch: str | None = None
    ) -> int | None:
        """Send a batch of logged rows (``POST predictions``, Parquet), or spool it while the
        server is unreachable or failing (one warning; sent when it is back, or by ``jupyter mm
        sync``). Returns the rows the server wrote, None when spooled."""
        params = {"name": _model_name(name), "version": str(version)}
        return self._send_parquet("log_predictions", "predictions", params, table, batch)

    def log_label_table(
        self, name: str, table: pa.Table, *, batch: str | None = None
    ) -> int | None:
        """Send one ``mm.log_labels`` call (``POST labels``, Parquet), or spool it like
        :meth:`log_prediction_table`."""
        return self._send_parquet("log_labels", "labels", {"name": _model_name(name)}, table, batch)

    def _send_parquet(
        self, op: str, path: str, params: dict[str, str], table: pa.Table, batch: str | None
    ) -> int | None:
        """One write per part of at most :data:`MAX_PARQUET_BYTES`, each with its own batch id
        (``<batch>-<i>`` when split): the server writes a batch sent twice once."""
        batch = batch or uuid.uuid4().hex
        parts = _parquet_parts(table, MAX_PARQUET_BYTES)
        written: int | None = 0
        for i, data in enumerate(parts):
            record = {
                "op": op,
                "method": "POST",
                "path": path,
                "params": {**params, "batch": batch if len(parts) == 1 else f"{batch}-{i}"},
                "blob": hashlib.sha256(data).hexdigest(),
                "type": PARQUET_TYPE,
            }
            reply = self._write(record, data)
            written = None if reply is None or written is None else written + int(reply["rows"])
        return written

    def labels(self, name: str) -> pd.DataFrame:
        """The model's labels as the server resolves them (``GET labels``, Parquet)."""
        return self._read_parquet("labels", {"name": _model_name(name)}).to_pandas()


def _parquet_parts(table: pa.Table, limit: int) -> list[bytes]:
    """``table`` as Parquet files of at most ``limit`` bytes (split by rows, halving)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data = bytes(sink.getvalue().to_pybytes())
    if len(data) <= limit:
        return [data]
    if table.num_rows < 2:
        raise InvalidInput(f"one row is {len(data)} bytes as Parquet, more than the server takes "
                           f"in one request ({limit})")  # fmt: skip
    half = table.num_rows // 2
    return _parquet_parts(table.slice(0, half), limit) + _parquet_parts(table.slice(half), limit)


def _implements_interface(store: RemoteStore) -> TrackingStore:
    return (
        store  # mypy checks that RemoteStore has every method of TrackingStore, with its signature
    )
