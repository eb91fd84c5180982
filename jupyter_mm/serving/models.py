"""The models a server serves: loading them (from a store or a directory), what each reports
(name, version, content digest), and following an alias as it moves.

A :class:`ModelSlot` is one served name. It holds the :class:`ServedModel` currently answering;
a request takes that reference once, so a switch (the alias moved, the new version loaded) never
changes the model under a request in flight, and no request is dropped. A version that fails to
load leaves the old one answering and the slot not ready, with the reason.

Model directories never open a store: a bundle serves with no SQLAlchemy installed.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.models.files import LocalFiles, ModelFiles
from ..core.models.format import LoadedModel, load_model
from ..errors import InvalidInput, MMError
from .config import ModelSpec, ServeConfig

if TYPE_CHECKING:
    from ..core.store import TrackingStore

log = logging.getLogger("jupyter_mm.serving")


def model_digest(files: ModelFiles, store: Any = None, run_id: str | None = None) -> str:
    """``sha256:`` of the model's ``SHA256SUMS`` listing (``<hex>  <path>`` per file, in path
    order, as ``sha256sum`` writes it): what a deploy bundle records too, so the same files give
    the same digest whether served from a run's artifacts, a directory or a bundle. A store's
    artifacts already carry their SHA-256, so nothing is re-read.
    """
    entries: list[tuple[str, str]] = []
    if store is not None and run_id is not None:
        prefix = getattr(files, "prefix", "")
        cut = len(prefix) + 1 if prefix else 0
        for a in store.list_artifacts(run_id, prefix or None, recursive=True):
            if not a.is_dir:
                entries.append((a.path[cut:], a.digest.split(":")[-1]))
    else:
        for rel in files.names():
            entries.append((rel, hashlib.sha256(files.read(rel)).hexdigest()))
    listing = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(entries))
    return "sha256:" + hashlib.sha256(listing.encode("utf-8")).hexdigest()


class ServedModel:
    """One loaded model version and what the server says about it."""

    def __init__(
        self,
        loaded: LoadedModel,
        name: str,
        version: str,
        digest: str,
        alias: str | None = None,
        source: str = "",
    ) -> None:
        self.loaded = loaded
        self.name, self.version, self.digest, self.alias = name, version, digest, alias
        self.source = source
        self.signature = loaded.signature
        try:
            params = inspect.signature(loaded._predict).parameters
            self._takes_params = "params" in params or any(
                p.kind is p.VAR_KEYWORD for p in params.values()
            )
        except (TypeError, ValueError):
            self._takes_params = False

    @property
    def column_based(self) -> bool:
        """Whether inputs are a table (a column signature, or none): such requests stack."""
        return self.signature is None or not self.signature.is_tensor

    def enforce(self, data: Any) -> Any:
        """``data`` checked against the signature: the messages of ``mm.load_model().predict``."""
        sig = self.signature
        return sig.enforce(data) if sig is not None else data

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Score data already enforced. ``params`` reach models whose predict takes them; others
        ignore them, as MLflow's scoring server does (with a warning in the log)."""
        if params and self._takes_params:
            return self.loaded._predict(data, params=params)
        if params:
            log.warning("model %s ignores params %s: its predict takes none", self.name, params)
        return self.loaded._predict(data)

    def __repr__(self) -> str:
        return f"<ServedModel {self.name} v{self.version} {self.digest[:19]}>"


@dataclass
class Target:
    """Where a spec points now: a directory, or a run's model path (with the registry version)."""

    name: str
    version: str
    alias: str | None
    run_id: str | None
    path: str


class ModelSource:
    """Resolves and loads the configured models; opens a store only when a URI needs one."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._store: TrackingStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> TrackingStore:
        if self.config.store is not None:
            return self.config.store
        with self._lock:
            if self._store is None:
                uri = self.config.store_uri
                if uri is None:
                    from ..client.backend import get_store

                    self._store = get_store()
                else:
                    from ..client.backend import is_remote

                    if is_remote(uri):
                        from ..client.remote.store import RemoteStore

                        self._store = RemoteStore(uri)
                    else:
                        from ..core.store import Store

                        self._store = Store.open(uri)
            return self._store

    @staticmethod
    def local_dir(uri: str) -> str | None:
        path = uri[len("file://") :] if uri.startswith("file://") else uri
        return path if os.path.isdir(path) else None

    def target(self, spec: ModelSpec) -> Target:
        """Where ``spec`` points now (for an alias: the version it names at this moment)."""
        directory = self.local_dir(spec.uri)
        if directory is not None:
            name = spec.name or os.path.basename(os.path.normpath(directory)) or "model"
            return Target(name, spec.version or "", None, None, directory)
        from ..core.models import uris

        if spec.uri.startswith("models:/") and not uris._LOGGED_ID.match(spec.uri[8:]):
            rest = spec.uri[len("models:/") :]
            store = self.store
            if "@" in rest and "/" not in rest:
                name, alias = rest.split("@", 1)
                if not name or not alias:
                    raise InvalidInput(f"{spec.uri!r}: use models:/NAME@ALIAS")
                found = _serves(store.get_model_version_by_alias(name, alias))
                where = uris.version_location(store, found)
                return Target(
                    spec.name or name, str(found.version), alias, where.run_id, where.path
                )
            name, _, number = rest.rpartition("/")
            if number.lower() == "latest":  # the newest version still in service
                live = [v for v in store.list_model_versions(name) if v.lifecycle != "archived"]
                if not live:
                    raise InvalidInput(f"{spec.uri!r}: every version of {name!r} is archived")
                number = str(max(v.version for v in live))
                where = uris.resolve(store, f"models:/{name}/{number}")
            else:
                where = uris.resolve(store, spec.uri)
                _serves(store.get_model_version(name, number))
            return Target(spec.name or name, spec.version or number, None, where.run_id, where.path)
        where = uris.resolve(self.store, spec.uri)
        name = spec.name or where.path.rstrip("/").rsplit("/", 1)[-1]
        version = spec.version or (where.run_id or "")
        return Target(name, version, None, where.run_id, where.path)

    def alias_version(self, spec: ModelSpec) -> str:
        """The version a ``models:/NAME@ALIAS`` spec's alias names now: one cheap registry read."""
        name, alias = spec.uri[len("models:/") :].split("@", 1)
        return str(self.store.get_model_version_by_alias(name, alias).version)

    def load(self, spec: ModelSpec, target: Target | None = None) -> ServedModel:
        target = target or self.target(spec)
        files: ModelFiles
        if target.run_id is None:
            files = LocalFiles(target.path)
            digest = spec.digest or model_digest(files)
        else:
            from ..core.models.files import RunFiles

            files = RunFiles(self.store, target.run_id, target.path)
            digest = model_digest(files, self.store, target.run_id)
        loaded = load_model(files, trust=self.config.trust)
        return ServedModel(loaded, target.name, target.version, digest, target.alias, files.where)

    def close(self) -> None:
        if self._store is not None and self.config.store_uri is not None:
            self._store.close()


def _serves(version: Any) -> Any:
    """``version``, unless it is archived: a retired version never serves (a deprecated one
    does, with a warning in the log)."""
    if version.lifecycle == "archived":
        raise InvalidInput(
            f"version {version.version} of {version.name!r} is archived and does not serve "
            "(mm.reactivate_version to serve it again)"
        )
    if version.lifecycle == "deprecated":
        log.warning(
            "model %s version %s is deprecated: %s", version.name, version.version,
            version.deprecation,
        )  # fmt: skip
    return version


def follows_alias(spec: ModelSpec) -> bool:
    rest = spec.uri[len("models:/") :] if spec.uri.startswith("models:/") else ""
    return "@" in rest and "/" not in rest


class ModelSlot:
    """A served name: the model answering now and, for an alias, the state of following it."""

    def __init__(self, spec: ModelSpec, model: ServedModel) -> None:
        self.spec = spec
        self.name = model.name
        self.current = model
        self.follow = follows_alias(spec)
        #: why the newest version could not be loaded (None: serving what the alias names)
        self.error: str | None = None
        self.failed_version: str | None = None
        self._busy = False
        self._last_warning: str | None = None

    @property
    def ready(self) -> bool:
        return self.error is None

    def check_alias(self, source: ModelSource, metrics: Any) -> None:
        """Load the version the alias names now, if it moved, and switch to it once loaded.

        Runs off the event loop. A version that fails to load is not retried until the alias
        moves again; meanwhile the old one answers and the slot reports not ready.
        """
        if not self.follow or self._busy:
            return
        self._busy = True
        try:
            try:
                version = source.alias_version(self.spec)
            except Exception as e:  # the registry is unreachable: keep serving what we have
                if str(e) != self._last_warning:  # once per new reason, not once per poll
                    self._last_warning = str(e)
                    log.warning("model %s: cannot read alias %s: %s; version %s keeps serving",
                                self.name, self.spec.uri, e, self.current.version)  # fmt: skip
                return
            self._last_warning = None
            if version == self.current.version:
                if self.error is not None:
                    self.error = self.failed_version = None  # moved back to what we serve
                return
            if version == self.failed_version:
                return
            try:
                new = source.load(self.spec)
            except Exception as e:
                message = e.message if isinstance(e, MMError) else f"{type(e).__name__}: {e}"
                self.error = f"version {version} failed to load: {message}"
                self.failed_version = version
                metrics.loads.labels(self.name, version, "error").inc()
                log.error(
                    "model %s: %s; version %s keeps serving",
                    self.name, self.error, self.current.version,
                )  # fmt: skip
                return
            old = self.current
            self.current = new  # one reference swap: requests in flight keep the old model
            self.error = self.failed_version = None
            metrics.loads.labels(self.name, new.version, "ok").inc()
            metrics.switches.labels(self.name, new.alias or "").inc()
            log.info(
                "model %s: alias %s moved, now serving version %s (was %s)",
                self.name, new.alias, new.version, old.version,
            )  # fmt: skip
        finally:
            self._busy = False
