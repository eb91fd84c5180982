"""Alias switch under load: `jupyter mm serve models:/credit@champion` follows the alias by itself;
`mlflow models serve` resolves an alias once, at start, so moving it means restarting the server.

Both serve the same registry (a jupyter-mm store for ours; MLflow's own SQLite registry for
MLflow, with the same two scikit-learn models registered as versions 1 and 2 that predict
opposite classes, so every answer says which version gave it). Clients keep sending single-row
requests over keep-alive connections the whole time; the alias moves from version 1 to 2 mid-run:

- ours: `mm.set_alias(...)` on the store, the server untouched (it polls the registry every
  ``--alias-poll-seconds``, default 2 s, loads the new version, then switches);
- MLflow: `MlflowClient.set_registered_model_alias(...)`, then the server is stopped and started
  again on the same URI, which is what following an alias takes there.

Figures: requests that failed during the switch (bar: 0 for ours), and the time from the alias
move to the first answer from version 2 (ours is bounded by the poll interval plus the load).

    python bench/alias_switch.py [--clients 8] [--before 3] [--after 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import _common as c
import serving as sv

BENCH = "alias_switch"


def _models() -> tuple[Any, Any, Any]:
    """Two LogisticRegressions that predict opposite classes, and the frame they take."""
    from sklearn.linear_model import LogisticRegression

    X, y = sv.credit_table()
    return (
        LogisticRegression(max_iter=1000).fit(X, y),
        LogisticRegression(max_iter=1000).fit(X, 1 - y),
        X,
    )


class Clients:
    """``n`` threads sending the same row; each answer is kept as (time, ok, prediction)."""

    def __init__(self, port_of: Any, body: bytes, n: int) -> None:
        self.port_of, self.body = port_of, body
        self.answers: list[tuple[float, bool, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]

    def _run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            pred = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port_of(), timeout=30)
                conn.request("POST", "/invocations", body=self.body,
                             headers={"Content-Type": "application/json"})  # fmt: skip
                r = conn.getresponse()
                data = r.read()
                ok = r.status == 200
                if ok:
                    pred = json.loads(data)["predictions"][0]
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)  # a refused connection returns at once: do not spin
            with self._lock:
                self.answers.append((time.perf_counter(), ok, pred))

    def __enter__(self) -> Clients:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def measure(clients: Clients, moved_at: float, new_pred: Any) -> dict[str, float]:
    after = [a for a in clients.answers if a[0] >= moved_at]
    first_new = next((t for t, ok, p in after if ok and p == new_pred), None)
    return {
        "requests": len(clients.answers),
        "failed": sum(1 for _, ok, _ in clients.answers if not ok),
        "switch_s": (first_new - moved_at) if first_new is not None else float("nan"),
    }


def wait_for(clients: Clients, since: float, pred: Any, deadline_s: float = 180) -> None:
    end = time.perf_counter() + deadline_s
    while time.perf_counter() < end:
        if any(t >= since and ok and p == pred for t, ok, p in list(clients.answers)):
            return
        time.sleep(0.05)
    raise RuntimeError("the new version never answered")


def run_ours(tmp: Path, m1: Any, m2: Any, X: Any, body: bytes, args: Any) -> dict[str, float]:
    import jupyter_mm as mm

    store = tmp / "mm-store"
    mm.set_tracking_uri(str(store))
    with mm.start_run():
        v1 = mm.log_model(m1, "v1", input_example=X.head(5))
        v2 = mm.log_model(m2, "v2", input_example=X.head(5))
    mm.register_model(v1.model_uri, "credit")
    mm.register_model(v2.model_uri, "credit")
    mm.set_alias("credit", "champion", 1)
    port = sv.free_port()
    env = {**os.environ, "PYTHONPATH": str(c.REPO), "MM_TRACKING_URI": str(store)}
    cmd = [str(sv.BIN / "jupyter-mm"), "serve", "models:/credit@champion", "--open",
           "--port", str(port)]  # fmt: skip
    server = sv.Server("ours", cmd, tmp / "ours.log", env)
    try:
        server.wait_ready(f"http://127.0.0.1:{port}", body)
        old, new = (int(m.predict(X.head(1))[0]) for m in (m1, m2))
        with Clients(lambda: port, body, args.clients) as clients:
            time.sleep(args.before)
            moved_at = time.perf_counter()
            mm.set_alias("credit", "champion", 2)
            wait_for(clients, moved_at, new)
            time.sleep(args.after)
        assert old != new
        return measure(clients, moved_at, new)
    finally:
        server.stop()
        mm.set_tracking_uri(None)


def run_mlflow(tmp: Path, m1: Any, m2: Any, X: Any, body: bytes, args: Any) -> dict[str, float]:
    c.quiet_mlflow()
    import mlflow
    import mlflow.sklearn

    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with mlflow.start_run():
        for i, m in enumerate((m1, m2), 1):
            mlflow.sklearn.log_model(m, name=f"v{i}", registered_model_name="credit",
                                     input_example=X.head(5))  # fmt: skip
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("credit", "champion", "1")
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri}
    current = {"port": sv.free_port()}

    def start() -> sv.Server:
        cmd = [str(sv.BIN / "mlflow"), "models", "serve", "-m", "models:/credit@champion",
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(current["port"])]  # fmt: skip
        return sv.Server("mlflow", cmd, tmp / f"mlflow-{time.monotonic_ns()}.log", env)

    server = start()
    try:
        server.wait_ready(f"http://127.0.0.1:{current['port']}", body)
        new = int(m2.predict(X.head(1))[0])
        with Clients(lambda: current["port"], body, args.clients) as clients:
            time.sleep(args.before)
            moved_at = time.perf_counter()
            client.set_registered_model_alias("credit", "champion", "2")
            server.stop()  # the same port again: clients see refusals until it is back
            server = start()
            wait_for(clients, moved_at, new)
            time.sleep(args.after)
        return measure(clients, moved_at, new)
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--before", type=float, default=3.0, help="seconds of load before the move")
    ap.add_argument("--after", type=float, default=3.0, help="seconds after the first new answer")
    ap.add_argument("--json")
    args = ap.parse_args()
    m1, m2, X = _models()
    body = sv.request_body()
    with c.tempdir("mm-bench-alias-") as tmp:
        ours = run_ours(Path(tmp), m1, m2, X, body, args)
        theirs = run_mlflow(Path(tmp), m1, m2, X, body, args)
    c.record(BENCH, f"requests failed during an alias switch ({args.clients} clients)", "requests",
             ours["failed"], theirs["failed"], higher_is_better=False, bar="ours: 0",
             met=ours["failed"] == 0,
             note=f"{ours['requests']:.0f} vs {theirs['requests']:.0f} requests in all; "
                  "MLflow restarts its server to follow the alias")  # fmt: skip
    c.record(BENCH, "alias move to the first answer from the new version", "s",
             ours["switch_s"], theirs["switch_s"], higher_is_better=False,
             note="ours polls the registry every 2 s (--alias-poll-seconds)")  # fmt: skip
    c.emit()


if __name__ == "__main__":
    sys.exit(main())
