"""Running the model server: ``jupyter mm serve`` and ``python -m jupyter_mm.serving``.

``--workers N`` binds the port once (``SO_REUSEPORT`` set, so a restarted server can bind while
old connections drain) and forks N processes that accept on it; the parent only supervises:
it restarts a worker that dies and forwards SIGTERM / SIGINT to all of them. Models load in
each worker after the fork (nothing threaded is forked). Each worker has its own ``/metrics``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInput, MMError
from .config import DEFAULT_ALIAS_POLL_SECONDS, DEFAULT_MAX_BODY_BYTES, ModelSpec, ServeConfig

log = logging.getLogger("jupyter_mm.serving")

#: Environment variables the prediction-log options default to, so a deploy bundle's container
#: is configured at deploy time (``docker run -e``, a Kubernetes ``env``) without a rebuild.
RATE_ENV = "MM_LOG_PREDICTIONS"
URI_ENV = "MM_PREDICTION_LOG_URI"  # read where the log is opened (app.py)
DROP_ENV = "MM_PREDICTION_LOG_DROP"
HASH_ENV = "MM_PREDICTION_LOG_HASH"
RETENTION_ENV = "MM_PREDICTION_LOG_RETENTION_DAYS"


def split_columns(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


def _from_env(value: Any, env: str, kind: Callable[[str], Any], what: str) -> Any:
    """``value`` (the option), else the environment variable ``env`` read as ``kind``."""
    if value is not None:
        return value
    text = os.environ.get(env, "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{env}={text!r} is not {what}") from None


def add_options(p: argparse.ArgumentParser) -> None:
    """The options both entry points share."""
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port)")
    p.add_argument("--workers", type=int, default=1, help="processes serving the port")
    p.add_argument("--threads", type=int, default=4, help="scoring threads per process")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--token", help="bearer token clients must send (default: MM_SERVE_TOKEN)")
    auth.add_argument("--users-file", help="the team server's users file (token digests)")
    auth.add_argument("--open", action="store_true",
                      help="no authentication; only on a loopback address")  # fmt: skip
    p.add_argument("--open-metrics", action="store_true",
                   help="serve /metrics without a token (for Prometheus' pod scraping)")  # fmt: skip
    p.add_argument("--trust", action="store_true",
                   help="allow models whose loading runs code from their files (pickle)")  # fmt: skip
    p.add_argument("--batch-window-ms", type=float, default=2.0,
                   help="requests arriving while a predict runs wait for it, at most this long, "
                   "then go in one predict (default 2; 0: off)")  # fmt: skip
    p.add_argument("--max-batch-rows", type=int, default=1024, help="rows per stacked predict")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20,
                   help="largest request body accepted (MiB)")  # fmt: skip
    p.add_argument("--alias-poll-seconds", type=float, default=DEFAULT_ALIAS_POLL_SECONDS,
                   help="how often an alias served is looked up in the registry")  # fmt: skip
    p.add_argument("--log-predictions", type=float, metavar="RATE",
                   help="record this fraction of scored rows in the prediction log "
                   f"(default: {RATE_ENV}, else 0: off)")  # fmt: skip
    p.add_argument("--prediction-log-uri",
                   help="where the prediction log is written (default: MM_PREDICTION_LOG_URI, "
                   "else <artifact root>/predictions/)")  # fmt: skip
    p.add_argument("--log-drop", metavar="COLUMNS",
                   help="comma-separated columns the prediction log leaves out (a feature's name "
                   f"or a logged column such as latency_ms; default: {DROP_ENV})")  # fmt: skip
    p.add_argument("--log-hash", metavar="COLUMNS",
                   help="comma-separated columns logged as salted SHA-256 (the salt: "
                   f"MM_PREDICTION_LOG_SALT; default: {HASH_ENV})")  # fmt: skip
    p.add_argument("--log-retention-days", type=int, metavar="DAYS",
                   help="remove prediction-log partitions older than this many days "
                   f"(default: {RETENTION_ENV}, else kept)")  # fmt: skip
    p.add_argument("--log-flush-seconds", type=float, default=10.0, metavar="SECONDS",
                   help="how often the prediction log is written out (default 10): at most "
                   "this much is lost if the server is killed")  # fmt: skip


def add_parser(sub: Any) -> None:
    """``jupyter mm serve MODEL_URI...``."""
    p = sub.add_parser(
        "serve",
        help="serve models over MLflow's scoring protocol and the Open Inference Protocol v2",
        description="Serve models (models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN/PATH or "
        "a model directory) on one port: /invocations and /v2/models/NAME/infer. An alias is "
        "followed as it moves. See docs/serving.md.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL_URI")
    add_options(p)
    p.set_defaults(fn=cmd_serve)


def config_from_args(args: argparse.Namespace, models: Sequence[ModelSpec]) -> ServeConfig:
    from .config import env_token

    return ServeConfig(
        models=list(models),
        store_uri=getattr(args, "store", None),
        trust=args.trust,
        token=args.token or (None if args.users_file or args.open else env_token()),
        users_file=args.users_file,
        open=args.open,
        open_metrics=args.open_metrics,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        batch_window_ms=args.batch_window_ms,
        max_batch_rows=args.max_batch_rows,
        max_body_bytes=int(args.max_body_mb * 2**20),
        alias_poll_seconds=args.alias_poll_seconds,
        log_predictions=_from_env(args.log_predictions, RATE_ENV, float, "a fraction") or 0.0,
        prediction_log_uri=args.prediction_log_uri,
        log_drop=split_columns(_from_env(args.log_drop, DROP_ENV, str, "")),
        log_hash=split_columns(_from_env(args.log_hash, HASH_ENV, str, "")),
        log_retention_days=_from_env(
            args.log_retention_days, RETENTION_ENV, int, "a whole number of days"
        ),
        log_flush_seconds=args.log_flush_seconds,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(config_from_args(args, [ModelSpec(uri) for uri in args.models]))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jupyter_mm.serving --model-dir DIR``: what a deploy bundle runs (no store)."""
    p = argparse.ArgumentParser(prog="python -m jupyter_mm.serving", description=main.__doc__)
    p.add_argument("--model-dir", required=True, help="the model's directory (with its MLmodel)")
    p.add_argument("--name", help="the model's name (default: the directory's name)")
    p.add_argument("--version", help="the model's version, as reported")
    p.add_argument("--digest", help="the model's content digest (default: computed)")
    add_options(p)
    args = p.parse_args(argv)
    spec = ModelSpec(os.path.abspath(args.model_dir), args.name, args.version, args.digest)
    try:
        return serve(config_from_args(args, [spec]))
    except MMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def serve(config: ServeConfig, on_ready: Callable[[int], None] | None = None) -> int:
    """Serve until SIGTERM / SIGINT; returns the exit status."""
    from tornado.netutil import bind_sockets

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config.check()
    sockets = bind_sockets(config.port, config.host, reuse_port=hasattr(socket, "SO_REUSEPORT"))
    port = sockets[0].getsockname()[1]
    if config.workers == 1:
        return _worker(config, sockets, port, on_ready)
    return _supervise(config, sockets, port)


def _announce(config: ServeConfig, port: int) -> None:
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"jupyter-mm model server on http://{host}:{port}/ (pid {os.getpid()})", flush=True)


def _worker(
    config: ServeConfig,
    sockets: list[socket.socket],
    port: int,
    on_ready: Callable[[int], None] | None = None,
    announce: bool = True,
) -> int:
    import asyncio

    from tornado.httpserver import HTTPServer

    from .app import close_app, make_app

    async def run() -> None:
        app = make_app(config)
        # the app refuses oversized bodies itself (prepare); this is only the hard ceiling
        server = HTTPServer(app, max_body_size=max(config.max_body_bytes * 4, 1 << 20),
                            xheaders=True)  # fmt: skip
        server.add_sockets(sockets)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if announce:
            _announce(config, port)
        if on_ready is not None:
            on_ready(port)
        await stop.wait()
        server.stop()
        await server.close_all_connections()
        close_app(app)

    asyncio.run(run())
    return 0


def _supervise(config: ServeConfig, sockets: list[socket.socket], port: int) -> int:
    """Fork ``config.workers`` workers on the shared sockets; restart any that dies."""
    children: dict[int, int] = {}
    stopping = False

    def spawn(i: int) -> None:
        pid = os.fork()
        if pid == 0:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            code = 1
            try:
                code = _worker(config, sockets, port, announce=False)
            except MMError as e:
                print(f"error: worker {i}: {e}", file=sys.stderr, flush=True)
                code = 2
            except BaseException:
                log.exception("worker %d failed", i)
            finally:
                os._exit(code)
        children[pid] = i

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for i in range(config.workers):
        spawn(i)
    _announce(config, port)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        i = children.pop(pid)
        exit_code = os.waitstatus_to_exitcode(code)
        if stopping:
            continue
        if exit_code == 2:  # a start-up error (a model cannot load): restarting cannot help
            status = 2
            stop(signal.SIGTERM, None)
            continue
        log.error("worker %d (pid %d) exited with %d; restarting it", i, pid, exit_code)
        spawn(i)
    for s in sockets:
        s.close()
    return status
