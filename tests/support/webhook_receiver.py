"""A real HTTP receiver for webhook tests: an ``http.server`` in a thread that verifies each
request as a receiver written for MLflow does (MLflow's own signing function, its headers, a
replay window), answers from a script of statuses, and lets tests wait on what arrived."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    delivery_id: str
    timestamp: str
    signature: str | None
    body: str
    verified: bool

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def mlflow_verifies(secret: str, delivery_id: str, timestamp: str, body: str, header: str) -> bool:
    """MLflow's documented receiver check, with MLflow's own signing function."""
    import hmac

    from mlflow.webhooks.delivery import _generate_hmac_signature

    if not header.startswith("v1,") or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = _generate_hmac_signature(secret, delivery_id, timestamp, body)
    return hmac.compare_digest(expected, header)


class Receiver:
    def __init__(self, secret: str | None, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self.url = ""

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8")
        delivery_id = handler.headers.get("X-MLflow-Delivery-Id", "")
        timestamp = handler.headers.get("X-MLflow-Timestamp", "")
        signature = handler.headers.get("X-MLflow-Signature")
        verified = bool(
            self.secret
            and signature
            and mlflow_verifies(self.secret, delivery_id, timestamp, body, signature)
        )
        with self._cond:
            status = self.statuses.pop(0) if self.statuses else 200
            self.received.append(Received(delivery_id, timestamp, signature, body, verified))
            self._cond.notify_all()
        reply = json.dumps({"status": status, "seen": len(self.received)}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The first ``count`` requests, once they arrived (an AssertionError after ``timeout``)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} of {count} requests within {timeout}s")
            return self.received[:count]


@contextmanager
def receiver(
    secret: str | None = "s3cr3t", statuses: list[int] | None = None
) -> Iterator[Receiver]:
    rec = Receiver(secret, statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            rec.answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
