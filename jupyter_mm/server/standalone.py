"""``jupyter mm server``: the team server, jupyter-mm's routes without JupyterLab.

It is a jupyter_server :class:`ServerApp` that loads only the ``jupyter_mm`` server extension, so
the REST API (``{base_url}jupyter-mm/api/``) and the MLflow routes (``{base_url}jupyter-mm/mlflow/``)
are the very handlers of the extension, over the same :class:`StoreProvider`. What makes it safe
to hand a token to every member of a team:

* nothing else is served: no Jupyter service is registered (``default_services = ()``), no other
  extension is loaded (config files are not read), and after start-up every route outside
  ``{base_url}jupyter-mm/`` is removed from the router, so kernels, terminals, contents, lab and
  static files answer a JSON 404;
* :class:`~.identity.MMOnlyAuthorizer` refuses any resource that is not ``jupyter_mm:*`` anyway,
  and applies each user's role (reader, writer, admin: only admins change registry policies);
* :class:`~.identity.TokenIdentityProvider` authenticates per-user tokens (a 403 JSON error
  otherwise, never a login redirect), and the tornado setting ``RECORD_IDENTITY_SETTING`` makes
  every run record the authenticated user, whatever the client claims;
* the store is opened (and migrated) before the server accepts requests, and an unreachable
  database or artifact root stops it with a clear message.

Live store events start with the first subscriber of ``{base_url}jupyter-mm/events`` (until then
the database is not polled). ``--workers N`` runs N server processes on one port (see
:mod:`.workers`); several such servers may share one database behind a load balancer. See
``docs/team-server.md`` for running it with PostgreSQL and S3-compatible storage.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jupyter_server.serverapp import ServerApp
from tornado.routing import PathMatches, Router
from tornado.web import HTTPError
from traitlets import Bool, Dict, Integer, default
from traitlets.config import Config

from ..errors import InvalidInput, MMError, StoreError
from .handlers.base import RECORD_IDENTITY_SETTING, STORE_SETTING, MMHandler
from .identity import (
    ADMIN,
    MMOnlyAuthorizer,
    TokenIdentityProvider,
    check_username,
    load_users_file,
    token_digest,
)
from .store_provider import absolutize, mask_password

if TYPE_CHECKING:
    from ..core.store import Store

DEFAULT_PORT = 8890
DEFAULT_IP = "127.0.0.1"
#: Environment fallbacks of the options (``--token`` is better passed this way: argv is public).
ENV = {
    "store": "MM_TRACKING_URI",
    "artifacts": "MM_ARTIFACT_URI",
    "ip": "MM_SERVER_IP",
    "port": "MM_SERVER_PORT",
    "base_url": "MM_SERVER_BASE_URL",
    "users_file": "MM_SERVER_USERS_FILE",
    "token": "MM_SERVER_TOKEN",
    "token_user": "MM_SERVER_TOKEN_USER",
    "workers": "MM_SERVER_WORKERS",
}
MM_PREFIX = "jupyter-mm/"


@dataclass
class TeamServerOptions:
    """What ``jupyter mm server`` was asked for; :meth:`resolved` fills gaps from the environment."""

    store: str | None = None
    artifacts: str | None = None
    ip: str | None = None
    port: int | str | None = None
    base_url: str | None = None
    users_file: str | None = None
    token: str | None = None
    token_user: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    workers: int | str | None = None

    def resolved(self, environ: Mapping[str, str] = os.environ) -> TeamServerOptions:
        """Options, else ``MM_*`` variables, else what JupyterHub gives a managed service
        (``JUPYTERHUB_SERVICE_URL`` for ip and port, ``JUPYTERHUB_SERVICE_PREFIX`` for the
        base URL), else the defaults applied by :func:`build_app`."""
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        hub_url = urlsplit(environ.get("JUPYTERHUB_SERVICE_URL", ""))
        hub = {
            "ip": hub_url.hostname,
            "port": hub_url.port if hub_url.hostname else None,
            "base_url": environ.get("JUPYTERHUB_SERVICE_PREFIX"),
        }
        for name, var in ENV.items():
            if values[name] in (None, ""):
                values[name] = environ.get(var) or hub.get(name) or None
        return TeamServerOptions(**values)


class NotServedHandler(MMHandler):
    """Everything outside ``{base_url}jupyter-mm/``: a JSON 404 before any authentication."""

    auth_resource = "jupyter_mm:none"

    async def prepare(self) -> None:  # type: ignore[override]
        raise HTTPError(404, "not a jupyter-mm route: this team server serves only jupyter-mm/")


class TeamServerApp(ServerApp):
    """A ServerApp that serves the jupyter-mm extension and nothing else."""

    name = "jupyter-mm-server"
    description = "The jupyter-mm team server: REST and MLflow routes over one shared store."
    #: No Jupyter service at all: contents, kernels, sessions, files, nbconvert, login...
    default_services = ()  # type: ignore[assignment]

    #: Bind with SO_REUSEPORT, beside the other workers of ``--workers N`` (see :mod:`.workers`).
    reuse_port = Bool(False, config=True)
    #: A worker's pipe to its supervisor: the pid is written once the port is bound (-1: none).
    ready_fd = Integer(-1, config=True)
    #: A worker's end of a pipe the supervisor holds open: EOF means it died, so stop (-1: none).
    parent_fd = Integer(-1, config=True)

    open_browser = Bool(False)
    no_browser_open_file = Bool(True)
    allow_root = Bool(True)  # it runs no user code; see docs/team-server.md
    jpserver_extensions = Dict({"jupyter_mm": True})

    @default("allow_remote_access")
    def _default_allow_remote(self) -> bool:
        # Token-authenticated and meant to sit behind a proxy that sends its own Host header.
        return True

    @default("terminals_enabled")
    def _default_terminals_enabled(self) -> bool:
        return False

    def load_config_file(self, *args: Any, **kwargs: Any) -> None:
        """Read no Jupyter config files: a personal ~/.jupyter must not enable extensions, tokens
        or services here. The command line is the whole configuration."""

    def find_server_extensions(self) -> None:
        """Only ``jupyter_mm`` (whatever ``jupyter_server_config.d`` enables)."""

    def init_server_extensions(self) -> None:
        self.jpserver_extensions = {"jupyter_mm": True}
        super().init_server_extensions()

    def load_server_extensions(self) -> None:
        super().load_server_extensions()
        keep_only_mm_routes(self.web_app, self.base_url)

    def write_server_info_file(self) -> None:
        """No ``jpserver-*.json``: ``jupyter server list`` and JupyterLab must not pick it up."""

    def start_app(self) -> None:
        self.log.addFilter(_no_kernel_hint)
        super().start_app()
        if self.parent_fd >= 0:
            # an orphaned worker must not keep serving: stop when the supervisor's end closes
            self.io_loop.add_handler(
                self.parent_fd, lambda fd, events: self.stop(), self.io_loop.READ
            )

    def _find_http_port(self) -> None:
        """ServerApp probes the port with a plain bind first: beside the other workers that
        probe fails (their sockets hold the port), so a worker goes straight to binding."""
        if not self.reuse_port:
            super()._find_http_port()

    def _bind_http_server_tcp(self) -> bool:
        if self.reuse_port:
            from tornado.netutil import bind_sockets

            try:
                sockets = bind_sockets(self.port, self.ip, reuse_port=True)
            except OSError as e:  # the port is held by another program (without SO_REUSEPORT)
                self.log.critical("cannot listen on %s:%s: %s", self.ip, self.port, e)
                return False
            self.http_server.add_sockets(sockets)
            bound = True
        else:
            bound = super()._bind_http_server_tcp()
        if bound and self.ready_fd >= 0:
            os.write(self.ready_fd, f"{os.getpid()}\n".encode())
            os.close(self.ready_fd)
            self.ready_fd = -1
        return bound

    def init_signal(self) -> None:
        super().init_signal()
        # SIGINT stops at once and cleanly, like SIGTERM: no "shut down? (y/n)" prompt on a
        # terminal, and no bare KeyboardInterrupt (which skips the cleanup) without one.
        signal.signal(signal.SIGINT, self._signal_stop)

    def running_server_info(self, kernel_count: bool = True) -> str:
        provider = self.web_app.settings[STORE_SETTING]
        url = self.connection_url.rstrip("/") + "/"
        worker = f" (worker pid {os.getpid()})" if self.reuse_port else ""
        return (
            f"jupyter-mm team server at {url}{MM_PREFIX}{worker}\n"
            f"  REST API:   {url}{MM_PREFIX}api/\n"
            f"  MLflow:     MLFLOW_TRACKING_URI={url}{MM_PREFIX}mlflow\n"
            f"  store:      {provider.display_uri}\n"
            f"  artifacts:  {mask_password(provider.artifact_uri or '(beside the database)')}"
        )


def _no_kernel_hint(record: logging.LogRecord) -> bool:
    """Drop ServerApp's lines for people with a browser ("To access the server, copy and paste
    ...", "Control-C ... shut down all kernels"): there is no page to open and no kernel here."""
    message = record.getMessage()
    return "shut down all kernels" not in message and "To access the server" not in message


def keep_only_mm_routes(web_app: Any, base_url: str) -> None:
    """Drop every route outside ``{base_url}jupyter-mm/`` and answer the rest with a 404.

    Removing routes (rather than only refusing them) means a Jupyter service registered by a
    future jupyter_server release cannot slip through.
    """
    prefix = re.escape(posixpath.join(base_url, MM_PREFIX))

    def allowed(rule: Any) -> bool:
        target = rule.target
        if isinstance(target, Router):
            _prune(target)
            return True
        if isinstance(rule.matcher, PathMatches):
            return bool(re.match(f"^{prefix}", rule.matcher.regex.pattern.lstrip("^")))
        return False

    def _prune(router: Router) -> None:
        rules = getattr(router, "rules", None)
        if rules is not None:
            rules[:] = [r for r in rules if allowed(r)]

    _prune(web_app.default_router)
    web_app.wildcard_router.add_rules([(r".*", NotServedHandler)])


def check_artifact_root(store: Store) -> None:
    """Fail at start-up, not on the first upload, when the artifact root cannot be reached."""
    if not store.location.artifact_url:
        raise StoreError(
            f"the store {store.display_uri} has no artifact location: pass --artifacts "
            "(e.g. s3://bucket/prefix) or set MM_ARTIFACT_URI"
        )
    from fsspec.implementations.local import LocalFileSystem

    blobs = store.blobs
    url = mask_password(store.location.artifact_url)
    try:
        if isinstance(blobs.fs, LocalFileSystem):
            blobs.fs.makedirs(blobs.root, exist_ok=True)
            if not os.access(blobs.root, os.W_OK):
                raise StoreError(f"the artifact directory {blobs.root} is not writable")
            return
        bucket = blobs.root.split("/", 1)[0]
        if not blobs.fs.exists(bucket):
            raise StoreError(f"the artifact location {url}: bucket {bucket!r} does not exist")
    except MMError:
        raise
    except Exception as e:  # credentials, endpoint, network: whatever fsspec raises
        raise StoreError(f"cannot reach the artifact location {url}: {e}") from e


def parse_workers(value: int | str | None) -> int:
    """``--workers``: a whole number from 1 (the default) up."""
    if value in (None, ""):
        return 1
    try:
        workers = int(value)
    except ValueError:
        raise InvalidInput(f"--workers {value!r} is not a number") from None
    if workers < 1:
        raise InvalidInput(f"--workers {workers}: at least 1 process is needed")
    return workers


def build_config(opts: TeamServerOptions) -> Config:
    """The ServerApp configuration of resolved options; bad options raise :class:`InvalidInput`."""
    if opts.users_file:
        opts.users_file = os.path.abspath(opts.users_file)
        load_users_file(opts.users_file)  # a bad file stops the start with its reason
    shared: dict[str, str] = {}
    shared_roles: dict[str, str] = {}
    if opts.token:
        user = check_username(opts.token_user or "team", "--token-user")
        shared[token_digest(opts.token)] = user
        shared_roles[user] = ADMIN  # whoever holds the one shared token runs the server
    if not (opts.users_file or shared):
        raise InvalidInput(
            "the team server needs tokens: pass --users-file users.json (one token per user) "
            "and/or --token (MM_SERVER_TOKEN) for one shared token"
        )
    try:
        port = int(opts.port) if opts.port is not None else DEFAULT_PORT
    except ValueError:
        raise InvalidInput(f"port {opts.port!r} is not a number") from None
    if not 0 < port < 65536:
        raise InvalidInput(f"port {port} is out of range")
    if parse_workers(opts.workers) > 1 and not hasattr(socket, "SO_REUSEPORT"):
        raise InvalidInput(
            "--workers needs SO_REUSEPORT (Linux, macOS, BSD); on this system run one process "
            "per port behind a load balancer"
        )
    base_url = "/" + (opts.base_url or "").strip("/")
    base_url = base_url.rstrip("/") + "/"
    store_uri = absolutize(opts.store, os.getcwd()) if opts.store else ""
    if not store_uri:
        raise InvalidInput(
            "the team server needs a store: --store postgresql://user@host/db "
            "(or a directory / sqlite:///file.db for a trial), or MM_TRACKING_URI"
        )
    if store_uri.lower().startswith(("http://", "https://")):
        raise InvalidInput(
            f"--store {store_uri!r} is a server URL; give the database it should use"
        )

    config = Config()
    config.ServerApp.ip = opts.ip or DEFAULT_IP
    config.ServerApp.port = port
    config.ServerApp.port_retries = 0  # the port asked for, or an error
    config.ServerApp.base_url = base_url
    config.ServerApp.allow_unauthenticated_access = False
    config.ServerApp.identity_provider_class = TokenIdentityProvider
    config.ServerApp.authorizer_class = MMOnlyAuthorizer
    config.ServerApp.tornado_settings = {RECORD_IDENTITY_SETTING: True}
    if opts.certfile:
        config.ServerApp.certfile = opts.certfile
    if opts.keyfile:
        config.ServerApp.keyfile = opts.keyfile
    config.TokenIdentityProvider.users_file = opts.users_file or ""
    config.TokenIdentityProvider.token_digests = shared
    config.TokenIdentityProvider.token_roles = shared_roles
    config.JupyterMM.tracking_uri = store_uri
    config.JupyterMM.artifact_uri = opts.artifacts or ""
    config.JupyterMM.events_on_demand = True
    # served models live in one process and run users' model code: not on a shared server
    config.JupyterMM.serve_models = False
    return config


def check_port(ip: str, port: int) -> None:
    """Fail at once, not after starting every worker, when another program holds the port."""
    from tornado.netutil import bind_sockets

    try:
        sockets = bind_sockets(port, ip, reuse_port=True)
    except OSError as e:
        raise StoreError(f"cannot listen on {ip}:{port}: {e.strerror or e}") from None
    for sock in sockets:
        sock.close()


def open_and_check_store(config: Config) -> None:
    """Open (and migrate) the configured store and check its artifact root, then close it: what
    the supervisor of ``--workers N`` does once, before any worker starts."""
    from .store_provider import StoreProvider

    provider = StoreProvider(config.JupyterMM.tracking_uri, config.JupyterMM.artifact_uri or None)
    try:
        check_artifact_root(provider.get())
    finally:
        provider.close()


def build_app(
    options: TeamServerOptions, *, reuse_port: bool = False, ready_fd: int = -1, parent_fd: int = -1
) -> TeamServerApp:
    """A configured, initialized (store open and checked) team server; it binds its port when
    started. ``reuse_port`` and the pipes are for a worker of ``--workers N``."""
    config = build_config(options.resolved())
    config.TeamServerApp.reuse_port = reuse_port
    config.TeamServerApp.ready_fd = ready_fd
    config.TeamServerApp.parent_fd = parent_fd
    app = TeamServerApp(config=config)
    app.initialize(argv=[], find_extensions=False)
    try:
        store = app.web_app.settings[STORE_SETTING].get()  # opens and migrates
        check_artifact_root(store)
    except Exception:
        app.http_server.stop()
        app.web_app.settings[STORE_SETTING].close()
        raise
    return app


def serve(options: TeamServerOptions) -> int:
    """Run the team server until SIGTERM/SIGINT. Bad options raise an :class:`MMError`.

    With ``--workers N`` (N > 1) this process only supervises N worker processes
    (:func:`.workers.supervise`)."""
    opts = options.resolved()
    workers = parse_workers(opts.workers)
    if workers > 1:
        from .workers import supervise

        config = build_config(opts)
        check_port(config.ServerApp.ip, config.ServerApp.port)
        open_and_check_store(config)  # migrate once, before the workers race to
        return supervise(opts, workers)
    app = build_app(opts)
    app.start()
    print("jupyter-mm team server stopped", file=sys.stderr)
    return 0


__all__ = [
    "MMOnlyAuthorizer",
    "TeamServerApp",
    "TeamServerOptions",
    "TokenIdentityProvider",
    "build_app",
    "serve",
]
