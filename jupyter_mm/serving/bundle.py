"""Deploy bundles: a registered model as a self-contained container build context.

``jupyter mm bundle MODEL_URI --out DIR`` / ``mm.bundle(...)`` write, into a new directory:

* ``model/``: the model's files, each checked against the SHA-256 the store recorded (a blob that
  no longer matches stops the bundle: nothing is written), and ``SHA256SUMS`` for ``sha256sum -c``;
* ``requirements.txt``: the model's requirements and the server's, every one pinned ``==``;
* ``server/``: the Jupyter-free modules the model server runs from (vendored from this install, so
  the image needs neither jupyter-mm from PyPI nor JupyterLab);
* ``Dockerfile`` (slim base of the model's Python, non-root, HEALTHCHECK, OCI labels),
  ``k8s/`` (Deployment, Service, HorizontalPodAutoscaler), ``kserve/inferenceservice.yaml``;
* ``deploy_manifest.json`` (what is deployed, from which run, approved by whom),
  ``MODEL_CARD.md`` for a registered version, and ``README.md`` with the commands.

The bundle is built by the user's pipeline (banks build images in controlled pipelines), so
nothing here runs Docker. The server it starts is ``python -m jupyter_mm.serving --model-dir``.
"""

from __future__ import annotations

import ast
import datetime as _dt
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInput, MissingDependency, NotFound, UntrustedModel

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..core.models.mlmodel import MLModel
    from ..core.store import TrackingStore

PORT = 8080
#: numeric UID/GID of the image's user: Kubernetes' runAsNonRoot can only verify a numeric one
UID = 10001
#: prefix of our image labels and Kubernetes annotations (reverse-DNS for OCI labels)
LABEL_PREFIX = "io.jupyter-mm"
ANNOTATION_PREFIX = "jupyter-mm.io"
#: what the server imports when started with ``--model-dir`` (docs/serving-contract): these and
#: the model's own flavor libraries are all the image installs
SERVER_REQUIREMENTS = (
    "tornado",
    "numpy",
    "pandas",
    "pyyaml",
    "prometheus-client",
    "pyarrow",
    "fsspec",
)
#: the vendored part of jupyter_mm (paths under the package); ``core/models`` imports
#: ``core/artifacts`` (and it ``core/limits``), the rest is found by following imports
VENDORED = (
    "__init__.py",
    "_version.py",
    "errors.py",
    "core/__init__.py",
    "core/artifacts.py",
    "core/limits.py",
    "core/models",
    "serving",
)
#: distributions a model lists only for MLflow's own loader; dropped when ours loads it natively
MLFLOW_DISTS = ("mlflow", "mlflow-skinny")
DEPLOYMENT_MODES = ("Standard", "Knative")
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Bundle:
    """What :func:`write_bundle` wrote: where, for which model, and the image it expects."""

    path: Path
    name: str
    version: str | None
    digest: str
    image: str
    files: dict[str, str] = field(default_factory=dict)  # model file -> sha256 hex

    def __str__(self) -> str:
        return str(self.path)


@dataclass
class _Source:
    """The model to bundle and what the record says about it."""

    uri: str
    name: str
    version: str | None
    run_id: str | None
    files: dict[str, bytes]
    digests: dict[str, str]
    approval: dict[str, Any] | None = None
    aliases: tuple[str, ...] = ()
    git: dict[str, Any] | None = None
    card: str | None = None


@dataclass(frozen=True)
class PredictionLogSettings:
    """The prediction log of a bundle's server (see ``jupyter mm serve --log-predictions``):
    written into the image as the environment variables the server's options default to."""

    rate: float = 0.0
    uri: str | None = None
    drop: tuple[str, ...] = ()
    hash: tuple[str, ...] = ()
    retention_days: int | None = None

    def env(self) -> dict[str, str]:
        from .config import ModelSpec, ServeConfig
        from .runner import DROP_ENV, HASH_ENV, RATE_ENV, RETENTION_ENV, URI_ENV

        for name in (*self.drop, *self.hash):
            if not name or "," in name:
                raise InvalidInput(f"a prediction-log column name cannot be {name!r}")
        # the server's own checks, now rather than when the container starts
        ServeConfig(models=[ModelSpec("model")], open=True, log_predictions=self.rate,
                    log_drop=self.drop, log_hash=self.hash,
                    log_retention_days=self.retention_days).check()  # fmt: skip
        if not self.rate:
            return {}
        env = {RATE_ENV: repr(float(self.rate))}
        if self.uri:
            env[URI_ENV] = self.uri
        if self.drop:
            env[DROP_ENV] = ",".join(self.drop)
        if self.hash:
            env[HASH_ENV] = ",".join(self.hash)
        if self.retention_days is not None:
            env[RETENTION_ENV] = str(self.retention_days)
        return env


# ---------------------------------------------------------------- public API


def bundle(
    model_uri: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    image: str | None = None,
    trust: bool = False,
    deployment_mode: str = "Standard",
    namespace: str | None = None,
    prediction_log: PredictionLogSettings | None = None,
) -> Bundle:
    """``mm.bundle``: write a deploy bundle for ``model_uri`` (``models:/NAME@ALIAS``,
    ``models:/NAME/VERSION``, ``runs:/RUN/PATH`` or a model directory) into the new directory
    ``out``. ``image`` is the reference the manifests deploy (default ``NAME:VERSION``; use the
    pushed image by digest). A model that needs trust to load is bundled only with
    ``trust=True``, which the image's server is then started with. ``prediction_log`` turns on
    the image's prediction log (its settings become the image's ``ENV``, which a deployment can
    override)."""
    text = os.fspath(model_uri)
    store = None
    if not os.path.isdir(text):
        from ..client.backend import get_store

        store = get_store()
    return write_bundle(
        store,
        text,
        Path(out),
        image=image,
        trust=trust,
        deployment_mode=deployment_mode,
        namespace=namespace,
        prediction_log=prediction_log,
    )


def write_bundle(
    store: TrackingStore | None,
    model_uri: str,
    out: Path,
    *,
    image: str | None = None,
    trust: bool = False,
    deployment_mode: str = "Standard",
    namespace: str | None = None,
    created: _dt.datetime | None = None,
    prediction_log: PredictionLogSettings | None = None,
) -> Bundle:
    """Write the bundle for ``model_uri`` into ``out`` (which must not exist or be empty).

    Everything is written to a temporary sibling first and renamed into place at the end, so a
    failure (a tampered blob, a requirement that cannot be pinned) leaves no half-written bundle.
    """
    if deployment_mode not in DEPLOYMENT_MODES:
        raise InvalidInput(
            f"deployment mode must be one of {DEPLOYMENT_MODES}, not {deployment_mode!r}"
        )
    log_env = (prediction_log or PredictionLogSettings()).env()
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{str(out)!r} already exists and is not an empty directory")
    src = _source(store, model_uri)
    from ..core.models.mlmodel import MLModel

    if "MLmodel" not in src.files:
        raise NotFound(f"{model_uri!r} has no MLmodel file: it is not a saved model")
    mlmodel = MLModel.from_yaml(src.files["MLmodel"], where=f"{model_uri}/MLmodel")
    needs_trust = bool((mlmodel.metadata or {}).get("mm.requires_trust")) or not _native(
        mlmodel, src.files
    )
    if needs_trust and not trust:
        raise UntrustedModel(
            f"the model at {model_uri} runs code from its files when it is loaded (pickle, "
            "cloudpickle or MLflow's loader): bundle it with trust=True (--trust) if you trust "
            "where it came from; the image's server is then started with --trust"
        )
    python = _python_minor(mlmodel, src.files)
    requirements = lock_requirements(
        _model_requirements(src.files), drop=MLFLOW_DISTS if _native(mlmodel, src.files) else ()
    )
    digest = model_digest(src.digests)
    k8s_name = dns_name(src.name)
    image = image or f"{k8s_name}:{src.version or (src.run_id or 'latest')[:12]}"
    when = (created or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0)
    facts = {
        "name": src.name,
        "version": src.version,
        "uri": model_uri,
        "digest": digest,
        "run_id": src.run_id,
        "git": src.git or {},
        "image": image,
        "python": python,
        "trust": needs_trust,
        "k8s_name": k8s_name,
        "namespace": namespace,
        "deployment_mode": deployment_mode,
        "created": when.isoformat().replace("+00:00", "Z"),
        "log_env": log_env,
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model_dir = tmp / "model"
        for rel, data in src.files.items():
            target = model_dir.joinpath(*rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (tmp / "SHA256SUMS").write_text(
            "".join(f"{src.digests[rel]}  model/{rel}\n" for rel in sorted(src.digests))
        )
        (tmp / "requirements.txt").write_text(requirements)
        vendor_server(tmp / "server")
        (tmp / "Dockerfile").write_text(dockerfile(facts))
        (tmp / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n.venv\n")
        k8s = tmp / "k8s"
        k8s.mkdir()
        for fname, doc in kubernetes_manifests(facts).items():
            _write_yaml(k8s / fname, doc)
        (tmp / "kserve").mkdir()
        _write_yaml(tmp / "kserve" / "inferenceservice.yaml", inference_service(facts))
        manifest = {
            "model": {
                "name": src.name,
                "version": src.version,
                "uri": model_uri,
                "digest": digest,
                "files": dict(sorted(src.digests.items())),
                "flavors": sorted(mlmodel.flavors),
                "requires_trust": needs_trust,
            },
            "run": {"id": src.run_id, "git": src.git},
            "approval": src.approval,
            "aliases": list(src.aliases),
            "image": image,
            "python": python,
            "deployment_mode": deployment_mode,
            "created": facts["created"],
            "jupyter_mm_version": _version(),
        }
        (tmp / "deploy_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if src.card is not None:
            (tmp / "MODEL_CARD.md").write_text(src.card)
        (tmp / "README.md").write_text(readme(facts, has_card=src.card is not None))
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Bundle(out, src.name, src.version, digest, image, dict(src.digests))


# ---------------------------------------------------------------- the model and its record


def model_digest(digests: dict[str, str]) -> str:
    """The model's content digest: ``sha256:`` of its ``SHA256SUMS`` listing (``<hex>  <path>``
    per file, paths relative to the model directory, sorted), so anyone can recompute it with
    ``sha256sum`` from the files alone."""
    listing = "".join(f"{digests[rel]}  {rel}\n" for rel in sorted(digests))
    return "sha256:" + hashlib.sha256(listing.encode("utf-8")).hexdigest()


#: What a bundle records of the version's approval (who decided, on what evidence).
_APPROVAL_FIELDS = ("status", "requested_by", "decided_by", "decided_time", "evidence")


def _source(store: TrackingStore | None, uri: str) -> _Source:
    from ..core.models.uris import ModelLocation, resolve, version_location
    from ..core.registry.lineage import approval_json

    text = uri[len("file://") :] if uri.startswith("file://") else uri
    if os.path.isdir(text):
        return _local_source(uri, Path(text))
    if store is None:
        raise InvalidInput(
            f"{uri!r} is not a model directory, and no store was given to resolve it"
        )
    version = _registered_version(store, uri)
    where: ModelLocation = (
        version_location(store, version) if version is not None else resolve(store, uri)
    )
    if where.run_id is None:
        src = _local_source(uri, Path(where.path))
    else:
        files, digests = _read_run_files(store, where.run_id, where.path, uri)
        name = where.path.rstrip("/").rsplit("/", 1)[-1]
        src = _Source(uri, name, None, where.run_id, files, digests, git=_git(store, where.run_id))
    if version is not None:
        src.name, src.version = version.name, str(version.version)
        src.run_id = version.run_id or src.run_id
        src.aliases = tuple(version.aliases)
        if version.approval is not None:
            full = approval_json(version.approval)
            src.approval = {k: full[k] for k in _APPROVAL_FIELDS}
        src.card = store.model_card(version.name, version.version, "markdown")
    return src


def _registered_version(store: TrackingStore, uri: str) -> Any:
    """The registry's version for ``models:/NAME/VERSION|latest`` and ``models:/NAME@ALIAS``
    (None for other URIs)."""
    if not uri.startswith("models:/") or re.match(r"^models:/m-[0-9a-f]{32}$", uri):
        return None
    from ..core.models.uris import registered_version

    return registered_version(store, uri[len("models:/") :], uri)


def _read_run_files(
    store: TrackingStore, run_id: str, prefix: str, uri: str
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every file of the model, each checked against the digest the store recorded for it."""
    prefix = prefix.strip("/")
    files: dict[str, bytes] = {}
    digests: dict[str, str] = {}
    for info in store.list_artifacts(run_id, prefix, recursive=True):
        if info.is_dir:
            continue
        rel = info.path[len(prefix) + 1 :]
        try:
            data = store.read_artifact(run_id, info.path)
        except IntegrityError as e:
            raise IntegrityError(
                f"{uri}: the model file {rel!r} does not match its recorded SHA-256 ({e}); no "
                "bundle was written. Run `jupyter mm check` on the store"
            ) from None
        actual = hashlib.sha256(data).hexdigest()
        recorded = info.digest.split(":", 1)[-1]
        if actual != recorded:  # a store that does not verify on read (or lied)
            raise IntegrityError(
                f"{uri}: the model file {rel!r} has SHA-256 {actual}, but the store recorded "
                f"{recorded}; no bundle was written. Run `jupyter mm check` on the store"
            )
        files[rel], digests[rel] = data, actual
    if not files:
        raise NotFound(f"{uri}: run {run_id} has no files under {prefix!r}")
    return files, digests


def _local_source(uri: str, root: Path) -> _Source:
    files: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    run_id = None
    try:
        import yaml

        run_id = (yaml.safe_load(files.get("MLmodel", b"")) or {}).get("run_id")
    except Exception:  # the MLmodel is parsed properly (with a clear error) later
        _log.debug("reading the MLmodel of %s for its run id failed", uri, exc_info=True)
    return _Source(uri, root.resolve().name, None, run_id, files, digests)


def _git(store: TrackingStore, run_id: str) -> dict[str, Any] | None:
    """The source run's git commit and remote: jupyter-mm's record, else MLflow's tags."""
    from ..core.records import GIT

    try:
        record = json.loads(store.read_artifact(run_id, GIT))
        if isinstance(record, dict) and record.get("commit"):
            return {
                "commit": record.get("commit"),
                "remote": record.get("remote_url"),
                "branch": record.get("branch"),
                "dirty": record.get("dirty"),
            }
    except (NotFound, ValueError):
        pass
    tags = store.get_run(run_id).tags
    commit = tags.get("mlflow.source.git.commit")
    if commit:
        return {"commit": commit, "remote": tags.get("mlflow.source.git.repoURL")}
    return None


def _native(mlmodel: MLModel, files: dict[str, bytes]) -> bool:
    """Whether jupyter-mm loads the model itself (no MLflow), as ``core.models.format.load_model``
    decides: sklearn, our python flavor, torch with its ``model.pth``."""
    for kind in ("sklearn", "python", "pytorch"):
        conf = mlmodel.flavors.get(kind)
        if conf is None:
            continue
        if kind == "pytorch":
            return f"{conf.get('model_data') or 'data'}/model.pth" in files
        return True
    return False


def _python_minor(mlmodel: MLModel, files: dict[str, bytes]) -> str:
    """``3.11`` from the Python the model was saved with (its MLmodel, else python_env.yaml),
    else this interpreter's."""
    version = str((mlmodel.pyfunc or {}).get("python_version") or "")
    if not version and "python_env.yaml" in files:
        import yaml

        try:
            version = str((yaml.safe_load(files["python_env.yaml"]) or {}).get("python") or "")
        except yaml.YAMLError:
            version = ""
    m = re.match(r"^(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{m.group(2)}" if m else f"{sys.version_info[0]}.{sys.version_info[1]}"


# ---------------------------------------------------------------- requirements


def _model_requirements(files: dict[str, bytes]) -> list[str]:
    if "requirements.txt" in files:
        text = files["requirements.txt"].decode("utf-8", "replace")
        return [line for line in text.splitlines()]
    # no requirements.txt: MLflow's conda.yaml keeps the pip list under dependencies[].pip
    if "conda.yaml" in files:
        import yaml

        data = yaml.safe_load(files["conda.yaml"]) or {}
        for dep in data.get("dependencies") or []:
            if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                return [str(x) for x in dep["pip"]]
    return []


def lock_requirements(model_lines: Iterable[str], drop: Iterable[str] = ()) -> str:
    """``requirements.txt`` for the image: the model's requirements, then the server's, each
    pinned to one exact version. A model line already pinned ``==`` is kept; a bare name or a
    range is pinned to the version installed here when that satisfies it. A requirement that
    cannot be pinned (a URL, an option, a range nothing installed here satisfies) is refused:
    an image built from it would not be the one that was tested."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from ..core.models.environment import installed_version

    dropped = {canonicalize_name(d) for d in drop}
    pins: dict[str, str] = {}
    origin: dict[str, str] = {}

    def add(line: str, source: str) -> None:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            raise InvalidInput(
                f"cannot lock the requirement {line!r} ({source}): only name==version lines (or "
                "names installed here) can be pinned for an image"
            ) from None
        key = canonicalize_name(req.name)
        if key in dropped or key in pins:
            return
        if req.url:
            raise InvalidInput(f"cannot lock {line!r} ({source}): a URL requirement has no version")
        exact = [s.version for s in req.specifier if s.operator in ("==", "===")]
        if exact and "*" not in exact[0]:
            version = exact[0]
        else:
            version = installed_version(req.name) or ""
            if not version or not req.specifier.contains(version, prereleases=True):
                raise InvalidInput(
                    f"cannot lock {line!r} ({source}): it is not pinned with == and "
                    + (
                        f"the installed {version} does not satisfy it"
                        if version
                        else "not installed here"
                    )
                )
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        pins[key] = f"{req.name}{extras}=={version}{marker}"
        origin[key] = source

    for raw in model_lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise InvalidInput(
                f"cannot lock the model's requirement line {line!r}: options and nested files "
                "are not supported in a bundle"
            )
        add(line, "the model's requirements.txt")
    for dist in SERVER_REQUIREMENTS:
        if canonicalize_name(dist) not in pins and installed_version(dist) is None:
            raise MissingDependency(
                f"the model server needs {dist}, which is not installed here, so its version "
                f"cannot be pinned: pip install {dist}"
            )
        add(dist, "the model server")
    model = [pins[k] for k in pins if origin[k] != "the model server"]
    server = [pins[k] for k in pins if origin[k] == "the model server"]
    return (
        "# Generated by `jupyter mm bundle`: every requirement pinned to one version.\n"
        "# No --hash lines: the model records versions, not the wheel files (their hashes depend\n"
        "# on the platform the image is built for), and hashes cannot be produced offline.\n"
        "# Use `pip-compile --generate-hashes` in your build pipeline to add them.\n"
        "# The model's requirements:\n"
        + "".join(f"{r}\n" for r in model)
        + "# The model server's (jupyter_mm.serving, vendored under server/):\n"
        + "".join(f"{r}\n" for r in server)
    )


# ---------------------------------------------------------------- vendored server code


def _package_root() -> Path:
    return Path(__file__).resolve().parent.parent


def vendored_files() -> list[str]:
    """Paths (under the ``jupyter_mm`` package) the bundle copies: :data:`VENDORED` plus every
    module of the package they import at module level (outside ``TYPE_CHECKING``)."""
    root = _package_root()
    wanted: set[str] = set()
    for entry in VENDORED:
        path = root / entry
        if path.is_dir():
            wanted.update(
                p.relative_to(root).as_posix()
                for p in path.rglob("*.py")
                if "__pycache__" not in p.parts
            )
        elif path.is_file():
            wanted.add(entry)
    todo = sorted(wanted)
    while todo:
        rel = todo.pop()
        for dep in _module_imports(root, rel):
            if dep not in wanted:
                wanted.add(dep)
                todo.append(dep)
    return sorted(wanted)


def _module_imports(root: Path, rel: str) -> Iterator[str]:
    """Files of the package that ``rel`` imports at module level, and their packages'
    ``__init__.py``."""
    tree = ast.parse((root / rel).read_text(encoding="utf-8"))
    package = rel.split("/")[:-1]
    for node in _top_level(tree.body):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("jupyter_mm"):
                    continue
                parts = (node.module or "").split(".")[1:]
            else:
                base = package[: len(package) - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
            candidates = [parts] + [parts + [a.name] for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [
                a.name.split(".")[1:] for a in node.names if a.name.startswith("jupyter_mm")
            ]
        else:
            continue
        for parts in candidates:
            for i in range(len(parts) + 1):
                for rel_path in (
                    "/".join(parts[:i] + ["__init__.py"]),
                    "/".join(parts[:i]) + ".py",
                ):
                    if rel_path != ".py" and (root / rel_path).is_file():
                        yield rel_path


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, descending into try/if blocks but not ``if TYPE_CHECKING``."""
    for node in body:
        if isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" in test:
                yield from _top_level(node.orelse)
                continue
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                yield from _top_level(block)
        else:
            yield node


def vendor_server(dest: Path) -> list[str]:
    """Copy :func:`vendored_files` into ``dest/jupyter_mm/`` (run with ``PYTHONPATH=dest``)."""
    root = _package_root()
    files = vendored_files()
    for rel in files:
        target = dest / "jupyter_mm" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)
    return files


# ---------------------------------------------------------------- Dockerfile and manifests


def dns_name(name: str) -> str:
    """A Kubernetes resource name (an RFC 1123 label, at most 63 characters) for ``name``."""
    text = _DNS_LABEL.sub("-", name.lower()).strip("-")[:63].rstrip("-")
    if not text or not text[0].isalpha():
        text = ("model-" + text)[:63].rstrip("-")
    return text


def _labels(facts: dict[str, Any]) -> dict[str, str]:
    """The image's labels: OCI's annotations, then the model's under :data:`LABEL_PREFIX`."""
    git = facts["git"] or {}
    labels = {
        "org.opencontainers.image.title": facts["name"],
        "org.opencontainers.image.version": facts["version"] or (facts["run_id"] or ""),
        "org.opencontainers.image.created": facts["created"],
        "org.opencontainers.image.description": f"{facts['name']} served by jupyter-mm",
    }
    if git.get("remote"):
        labels["org.opencontainers.image.source"] = str(git["remote"])
    if git.get("commit"):
        labels["org.opencontainers.image.revision"] = str(git["commit"])
    labels[f"{LABEL_PREFIX}.model.name"] = facts["name"]
    if facts["version"]:
        labels[f"{LABEL_PREFIX}.model.version"] = facts["version"]
    labels[f"{LABEL_PREFIX}.model.digest"] = facts["digest"]
    if facts["run_id"]:
        labels[f"{LABEL_PREFIX}.model.run-id"] = facts["run_id"]
    labels[f"{LABEL_PREFIX}.model.uri"] = facts["uri"]
    return labels


def server_command(facts: dict[str, Any]) -> list[str]:
    cmd = ["python", "-m", "jupyter_mm.serving", "--model-dir", "/opt/model"]
    cmd += ["--host", "0.0.0.0", "--port", str(PORT), "--name", facts["name"]]
    if facts["version"]:
        cmd += ["--version", facts["version"]]
    cmd += ["--digest", facts["digest"]]
    if facts["trust"]:
        cmd.append("--trust")
    return cmd


def dockerfile(facts: dict[str, Any]) -> str:
    labels = _labels(facts)
    label_lines = " \\\n      ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    log_env = "".join(f" \\\n    {k}={json.dumps(v)}" for k, v in facts["log_env"].items())
    probe = (
        "import sys, urllib.request; "
        f"sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{PORT}/v2/health/ready', "
        "timeout=2).status == 200 else 1)"
    )
    return f"""\
# Generated by `jupyter mm bundle` for {facts["name"]} {facts["version"] or ""} ({facts["digest"]}).
# Build: docker build -t {facts["image"]} .   (see README.md)
FROM python:{facts["python"]}-slim

LABEL {label_lines}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PYTHONPATH=/opt/server \\
    HOME=/tmp{log_env}

# a numeric, unprivileged user: Kubernetes' runAsNonRoot can check a numeric UID
RUN groupadd --system --gid {UID} mm \\
 && useradd --system --uid {UID} --gid {UID} --no-create-home --shell /usr/sbin/nologin mm

# only the model's requirements and the server's, all pinned (no JupyterLab, no jupyter-mm)
COPY requirements.txt /opt/server/requirements.txt
RUN pip install --no-cache-dir -r /opt/server/requirements.txt

COPY server/ /opt/server/
COPY model/ /opt/model/

USER {UID}:{UID}
EXPOSE {PORT}
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \\
  CMD {json.dumps(["python", "-c", probe])}
CMD {json.dumps(server_command(facts))}
"""


def _probes() -> dict[str, Any]:
    def get(path: str) -> dict[str, Any]:
        return {"path": path, "port": PORT, "scheme": "HTTP"}

    return {
        "startupProbe": {
            "httpGet": get("/v2/health/live"),
            "periodSeconds": 2,
            "failureThreshold": 60,
        },
        "readinessProbe": {
            "httpGet": get("/v2/health/ready"),
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": get("/v2/health/live"),
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
    }


def _container_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources() -> dict[str, Any]:
    return {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


def _token_env(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's bearer token, from a Secret the README says how to create; and the salt of
    hashed prediction-log columns, from another, when columns are hashed."""
    env: list[dict[str, Any]] = [
        {
            "name": "MM_SERVE_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": f"{facts['k8s_name']}-token", "key": "token"}},
        }
    ]
    from .prediction_log import SALT_ENV
    from .runner import HASH_ENV

    if HASH_ENV in facts["log_env"]:
        secret = {"name": f"{facts['k8s_name']}-prediction-log-salt", "key": "salt"}
        env.append({"name": SALT_ENV, "valueFrom": {"secretKeyRef": secret}})
    return env


def _metadata(facts: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": facts["k8s_name"]}
    if facts["namespace"]:
        meta["namespace"] = facts["namespace"]
    meta["labels"] = _k8s_labels(facts)
    meta["annotations"] = {**_model_annotations(facts), **(annotations or {})}
    return meta


def _k8s_labels(facts: dict[str, Any]) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": facts["k8s_name"],
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/managed-by": "jupyter-mm",
    }
    version = facts["version"]
    if version and re.match(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$", version):
        labels["app.kubernetes.io/version"] = version
    return labels


def _model_annotations(facts: dict[str, Any]) -> dict[str, str]:
    out = {
        f"{ANNOTATION_PREFIX}/model-name": facts["name"],
        f"{ANNOTATION_PREFIX}/model-digest": facts["digest"],
        f"{ANNOTATION_PREFIX}/model-uri": facts["uri"],
    }
    if facts["version"]:
        out[f"{ANNOTATION_PREFIX}/model-version"] = facts["version"]
    if facts["run_id"]:
        out[f"{ANNOTATION_PREFIX}/run-id"] = facts["run_id"]
    return out


def kubernetes_manifests(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``deployment.yaml``, ``service.yaml`` and ``hpa.yaml`` (autoscaling/v2)."""
    name = facts["k8s_name"]
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model-server"}
    scrape = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(PORT),
        "prometheus.io/path": "/metrics",
    }
    container = {
        "name": "model-server",
        "image": facts["image"],
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": _token_env(facts),
        "resources": _resources(),
        **_probes(),
        "securityContext": _container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(facts),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": _k8s_labels(facts),
                    "annotations": {**scrape, **_model_annotations(facts)},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(facts),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {
                    "name": "http",
                    "port": PORT,
                    "targetPort": "http",
                    "protocol": "TCP",
                    "appProtocol": "http",
                }
            ],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(facts),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }
    return {"deployment.yaml": deployment, "service.yaml": service, "hpa.yaml": hpa}


def inference_service(facts: dict[str, Any]) -> dict[str, Any]:
    """A KServe ``InferenceService`` running the image as a custom predictor container. The
    deployment mode is always set: KServe's code defaults to Standard but its shipped
    ConfigMap says Serverless (Knative)."""
    container = {
        "name": "kserve-container",
        "image": facts["image"],
        "ports": [{"containerPort": PORT, "protocol": "TCP"}],
        "env": _token_env(facts),
        "resources": _resources(),
        "readinessProbe": _probes()["readinessProbe"],
        "livenessProbe": _probes()["livenessProbe"],
        "securityContext": _container_security(),
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _metadata(
            facts,
            {
                "serving.kserve.io/deploymentMode": facts["deployment_mode"],
                "serving.kserve.io/enable-prometheus-scraping": "true",
            },
        ),
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 4, "containers": [container]}},
    }


def _write_yaml(path: Path, doc: dict[str, Any]) -> None:
    import yaml

    path.write_text("# Generated by `jupyter mm bundle`.\n" + yaml.safe_dump(doc, sort_keys=False))


def _version() -> str:
    from .. import __version__

    return __version__


def _log_readme(facts: dict[str, Any], ns: str) -> str:
    from .runner import HASH_ENV

    env = facts["log_env"]
    if not env:
        return ""
    lines = "\n".join(f"- `{k}={v}`" for k, v in env.items())
    salt = (
        f"""
Hashed columns need a salt: create its Secret before deploying (the manifests read it), and
pass it as `MM_PREDICTION_LOG_SALT` to `docker run`:

```sh
kubectl{ns} create secret generic {facts["k8s_name"]}-prediction-log-salt \\
    --from-literal=salt=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
```
"""
        if HASH_ENV in env
        else ""
    )
    return f"""## Prediction log

The image's server logs predictions; its settings are the image's environment (override them
with `docker run -e` or the manifests' `env`):

{lines}
{salt}
"""


def readme(facts: dict[str, Any], *, has_card: bool) -> str:
    name, image, k8s = facts["name"], facts["image"], facts["k8s_name"]
    version = f" version {facts['version']}" if facts["version"] else ""
    trust = " --trust" if facts["trust"] else ""
    card = "\n- `MODEL_CARD.md`: the registered version's model card." if has_card else ""
    ns = f" -n {facts['namespace']}" if facts["namespace"] else ""
    return f"""\
# Deploy bundle: {name}{version}

Model digest `{facts["digest"]}` (SHA-256 of `SHA256SUMS` with the `model/` prefixes removed),
from `{facts["uri"]}`{f", run `{facts['run_id']}`" if facts["run_id"] else ""}. Generated by
`jupyter mm bundle` on {facts["created"]}. **No image has been built**: this directory is a build
context for your pipeline (jupyter-mm never runs Docker).

## What is here

- `model/`: the model's files, checked against the store's SHA-256s when written;
  `sha256sum -c SHA256SUMS` checks them again.
- `requirements.txt`: the model's requirements and the server's, each pinned to one version.
- `server/`: the Jupyter-free model server (`jupyter_mm.serving` and the modules it imports),
  vendored so the image installs neither jupyter-mm nor JupyterLab.
- `Dockerfile`: `python:{facts["python"]}-slim`, user {UID} (non-root), `HEALTHCHECK` on
  `/v2/health/ready`, OCI labels with the model's name, version, digest and run.
- `k8s/`: Deployment, Service and HorizontalPodAutoscaler.
- `kserve/inferenceservice.yaml`: the same image as a KServe custom predictor
  (`serving.kserve.io/deploymentMode: {facts["deployment_mode"]}`).
- `deploy_manifest.json`: model, version, digest, run, approval status.{card}

## Run without a container

```sh
python{facts["python"]} -m venv .venv
.venv/bin/pip install -r requirements.txt
MM_SERVE_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))') \\
PYTHONPATH=server .venv/bin/python -m jupyter_mm.serving --model-dir model \\
    --host 127.0.0.1 --port {PORT} --name {name}{trust}
```

## Build and run the image

```sh
docker build -t {image} .
docker run --rm -p {PORT}:{PORT} -e MM_SERVE_TOKEN=change-me --read-only --tmpfs /tmp {image}
curl -s localhost:{PORT}/v2/health/ready
curl -s -H "Authorization: Bearer change-me" -H "Content-Type: application/json" \\
    -d @model/serving_input_example.json localhost:{PORT}/invocations
curl -s -H "Authorization: Bearer change-me" localhost:{PORT}/v2/models/{name}
```

Push it, then deploy it **by digest** (`registry.example/{k8s}@sha256:...`): replace the image
`{image}` in `k8s/deployment.yaml` and `kserve/inferenceservice.yaml` (or write the bundle
again with `--image`).

## Deploy to Kubernetes

```sh
kubectl{ns} create secret generic {k8s}-token \\
    --from-literal=token=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
kubectl{ns} apply -f k8s/
```

Prometheus finds the pods by their `prometheus.io/*` annotations; `/metrics` needs the
token like every route but the health routes, so give the scrape job the same bearer token.

{_log_readme(facts, ns)}## Deploy with KServe

```sh
kubectl{ns} apply -f kserve/inferenceservice.yaml
```
"""
