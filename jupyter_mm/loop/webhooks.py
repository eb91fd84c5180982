"""The webhook dispatcher: registry audit entries and published events become signed POSTs,
retried with backoff, every attempt kept.

Every server process over a store (the Jupyter server extension, each team-server worker)
runs one :class:`WebhookDispatcher` thread. Each loop it

1. turns new audit entries into deliveries (``Store.enqueue_webhook_events``: one cursor under
   the registry lock, so each entry is queued once whichever process sees it first);
2. claims due deliveries (a lease, so no two processes send one) and POSTs each with MLflow's
   headers and signature (:mod:`jupyter_mm.core.webhooks.signing`);
3. records the attempt (status, the first bytes of the answer, duration, error). A 2xx ends
   it; 408, 429 or 5xx, or no answer at all, is retried after ``backoff * 2**(n-1)`` seconds
   (at most ``max_backoff``, ``Retry-After`` honoured up to that cap, with jitter) until
   ``max_attempts``; any other status fails it at once.

A connection is refused unless the peer the socket actually reached is a public address (or
private targets are allowed), so a name that resolved to a public address when the webhook
was created and to 127.0.0.1 now gets nothing. Monitor alarms come in through
:meth:`WebhookDispatcher.publish` (the server hands them over from its event bus).

A webhook with an Airflow target is delivered as a DAG run instead (:mod:`jupyter_mm.loop.airflow`):
same queue, same attempts and retries, Airflow's answer kept as the receiver's.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..core.webhooks import addresses, signing, targets
from ..core.webhooks.entities import DISABLED, FAILED, PENDING, SUCCEEDED, TestResult
from ..core.webhooks.store import DueDelivery
from ..errors import MMError
from . import airflow

if TYPE_CHECKING:
    from ..core.store import Store

log = logging.getLogger(__name__)

#: Statuses worth another attempt (MLflow retries 429 and 500/502/503/504; 408 too here).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
KEPT_BODY_BYTES = 4096


class PrivateAddress(Exception):
    """The connection reached a non-public address: never retried."""


def _check_peer(sock: socket.socket, allow_private: bool) -> None:
    if allow_private:
        return
    try:
        peer = str(sock.getpeername()[0])
        public = addresses.is_public(peer)
    except (OSError, ValueError) as e:
        sock.close()
        raise PrivateAddress(f"cannot tell the webhook connection's peer address: {e}") from e
    if not public:
        sock.close()
        raise PrivateAddress(
            f"refused: the webhook target is at {peer}, not a public address (an administrator "
            f"can allow private targets with {addresses.ALLOW_PRIVATE_ENV}=1)"
        )


def _pool_manager(allow_private: bool) -> urllib3.PoolManager:
    """A pool whose every new connection is checked for its peer before anything is sent."""

    class Http(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, allow_private)
            return sock

    class Https(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, allow_private)
            return sock

    class HttpPool(HTTPConnectionPool):
        ConnectionCls = Http

    class HttpsPool(HTTPSConnectionPool):
        ConnectionCls = Https

    manager = urllib3.PoolManager(num_pools=16, maxsize=4)
    manager.pool_classes_by_scheme = {"http": HttpPool, "https": HttpsPool}
    return manager


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: str
    duration_ms: int
    error: str | None
    retry_after: float | None = None
    delivered: bool = False  # the receiver has it (a 2xx; Airflow: or its run exists)


class Sender:
    """One POST per attempt, no transport retries (the dispatcher decides, and logs each); an
    Airflow target's delivery is a DAG run (:mod:`jupyter_mm.loop.airflow`)."""

    def __init__(self, allow_private: bool | None = None, timeout: float = 30.0) -> None:
        self.allow_private = (
            addresses.allow_private_default() if allow_private is None else allow_private
        )
        self.timeout = timeout
        self._http = _pool_manager(self.allow_private)
        self._airflow_tokens = airflow.AirflowTokens()

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> airflow.Response:
        r = self._http.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=self.timeout),
            retries=False,
            redirect=False,
            preload_content=False,
        )
        try:
            raw = r.read(KEPT_BODY_BYTES, decode_content=True) or b""
        finally:
            r.release_conn()
        return airflow.Response(
            r.status, raw.decode("utf-8", "replace"), None, _retry_after(r.headers)
        )

    def post(self, d: DueDelivery) -> Answer:
        start = time.monotonic()
        try:
            addresses.check_url(d.url)
            if d.target is not None and d.target.get("kind") == targets.AIRFLOW:
                r = airflow.trigger(
                    self._post,
                    self._airflow_tokens,
                    url=d.url,
                    target=d.target,
                    delivery_id=d.delivery_id,
                    webhook_id=d.webhook_id,
                    payload=d.payload,
                )
                ok = airflow.delivered(r.status)
            else:
                headers = signing.headers(d.secret, d.delivery_id, int(time.time()), d.payload)
                r = self._post(d.url, d.payload.encode("utf-8"), headers)
                ok = 200 <= r.status < 300
            took = int((time.monotonic() - start) * 1000)
            return Answer(r.status, r.body, took, r.error, r.retry_after, ok)
        except (
            Exception
        ) as e:  # refused, unreachable, timed out, bad URL: an attempt without answer
            took = int((time.monotonic() - start) * 1000)
            cause = e
            while cause.__context__ is not None and not isinstance(cause, PrivateAddress):
                cause = cause.__context__  # type: ignore[assignment]
            message = (
                str(cause) if isinstance(cause, PrivateAddress) else f"{type(e).__name__}: {e}"
            )
            return Answer(None, "", took, message)

    def close(self) -> None:
        self._http.clear()


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class WebhookDispatcher:
    """Queues and sends webhook deliveries of one store, in a daemon thread (see module doc).

    ``backoff`` is the first retry's delay in seconds (then doubled, capped at ``max_backoff``);
    ``interval`` how often to look for new audit entries when nothing else wakes it.
    """

    def __init__(
        self,
        store: Store | Callable[[], Store],
        *,
        allow_private: bool | None = None,
        max_attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        interval: float = 1.0,
        timeout: float = 30.0,
        log: logging.Logger | None = None,
    ) -> None:
        self._store = store
        self.sender = Sender(allow_private, timeout)
        self.max_attempts = max(1, int(max_attempts))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.interval = interval
        self.log = log or globals()["log"]
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def store(self) -> Store:
        """The store (a server passes its provider: the store may open late or reopen)."""
        return self._store() if callable(self._store) else self._store

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mm-webhooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.sender.close()

    def wake(self) -> None:
        """Look now (a registry change or an event is known to be waiting)."""
        self._wake.set()

    # ------------------------------------------------------------ events

    def publish(self, event: str, data: dict[str, Any], *, key: str, model: str | None) -> int:
        """Queue ``event`` for its subscribers (see ``Store.publish_webhook_event``)."""
        queued = self.store.publish_webhook_event(event, data, key=key, model=model)
        if queued:
            self.wake()
        return queued

    # ------------------------------------------------------------ work

    def run_once(self) -> int:
        """Queue what the audit trail added, send what is due; returns attempts made."""
        self.store.enqueue_webhook_events()
        sent = 0
        while not self._stop.is_set():
            batch = self.store.claim_webhook_deliveries()
            if not batch:
                break
            for d in batch:
                self.attempt(d)
                sent += 1
        return sent

    def attempt(self, d: DueDelivery) -> Answer:
        """Send one claimed delivery once and record the attempt and what follows from it."""
        if d.webhook_status == DISABLED:
            answer = Answer(None, "", 0, "the webhook was disabled before this delivery was sent")
            outcome, next_time = FAILED, None
        else:
            answer = self.sender.post(d)
            outcome, next_time = self._outcome(d, answer)
        _record_attempt(self.store, d.delivery_id, answer, outcome, next_time)
        return answer

    def _outcome(self, d: DueDelivery, answer: Answer) -> tuple[str, int | None]:
        if answer.delivered:
            return SUCCEEDED, None
        retryable = (answer.status is None and not _refused(answer)) or (
            answer.status in RETRY_STATUSES
        )
        attempt = d.attempts + 1
        if not retryable or attempt >= self.max_attempts:
            return FAILED, None
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        if answer.retry_after is not None:
            delay = min(self.max_backoff, max(delay, answer.retry_after))
        delay *= 1 + random.random() * 0.1
        return PENDING, int((time.time() + delay) * 1000)

    def _next_wait(self) -> float:
        due = self.store.next_webhook_attempt_time()
        if due is None:
            return self.interval
        return max(0.0, min(self.interval, due / 1000 - time.time()))

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_once()
                wait = self._next_wait()
                failing = False
            except MMError as e:  # the store is unreachable: try again later
                if not failing:
                    self.log.warning("jupyter-mm webhooks: cannot deliver now: %s", e)
                failing = True
                wait = self.interval
            except Exception:  # a bug: say so once, keep going
                if not failing:
                    self.log.exception("jupyter-mm webhooks: delivering failed")
                failing = True
                wait = self.interval
            self._wake.wait(wait)


def _record_attempt(
    store: Store, delivery_id: str, answer: Answer, outcome: str, next_time: int | None = None
) -> None:
    """Keep an attempt (now) and the receiver's answer in the delivery log."""
    store.record_webhook_attempt(
        delivery_id,
        time=int(time.time() * 1000),
        duration_ms=answer.duration_ms,
        response_status=answer.status,
        response_body=answer.body,
        error=answer.error,
        outcome=outcome,
        next_attempt_time=next_time,
    )


def _refused(answer: Answer) -> bool:
    return bool(answer.error and answer.error.startswith("refused:"))


def test_webhook(store: Store, webhook_id: str, event: str | None = None, *,
                 allow_private: bool | None = None) -> TestResult:  # fmt: skip
    """Send a sample of ``event`` (default: the webhook's first) now, once, and say how the
    receiver answered (MLflow's ``test_webhook``); the attempt is kept in the delivery log."""
    d = store.queue_test_delivery(webhook_id, event)
    sender = Sender(allow_private)
    try:
        answer = sender.post(d)
    finally:
        sender.close()
    ok = answer.delivered or (answer.status is not None and answer.status < 400)
    _record_attempt(store, d.delivery_id, answer, SUCCEEDED if ok else FAILED)
    return TestResult(
        success=ok,
        response_status=answer.status,
        response_body=answer.body if answer.status is not None else None,
        error_message=None if answer.error is None else f"Failed to test webhook: {answer.error}",
        delivery_id=d.delivery_id,
    )
