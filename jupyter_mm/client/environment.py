"""The software and hardware a run executed on: interpreter, platform, CPU, memory, GPUs, installed
distributions (pip and conda) and the versions of the modules the notebook imported.

A kernel runs many cells, so :class:`EnvironmentCache` captures once and then re-reads only what can
have changed: the package list when a ``sys.path`` entry's mtime changes (installing or removing a
distribution rewrites its directory), the imported versions when the set of imported top-level modules
changes. Nothing here raises for environmental reasons: failures land in the record's ``errors``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import importlib.metadata as metadata
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

_log = logging.getLogger(__name__)

GPU_TIMEOUT = 5.0  # seconds for nvidia-smi, which can hang on a wedged driver
VOLATILE = frozenset({"fingerprint", "errors"})  # keys the fingerprint leaves out

_T = TypeVar("_T")
_NORMALIZE = re.compile(r"[-_.]+")
_CPUINFO = Path("/proc/cpuinfo")
_MEMINFO = Path("/proc/meminfo")
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _normalize(name: str) -> str:
    """PEP 503 normalised distribution name: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return _NORMALIZE.sub("-", name).lower()


def _safe(errors: list[str], what: str, fn: Callable[[], _T], default: Any) -> _T:
    """``fn()``, or ``default`` with the failure noted in ``errors``."""
    try:
        return fn()
    except Exception as exc:
        errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


# --- static parts: fixed for the life of a process -------------------------------------------------


def _python() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def _platform() -> dict[str, Any]:
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "platform": platform.platform(),
    }


def _cpu_model() -> str | None:
    cpuinfo = _CPUINFO
    if cpuinfo.exists():
        found: dict[str, str] = {}
        with cpuinfo.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and value.strip() and key in ("model name", "hardware", "cpu model", "cpu"):
                    found.setdefault(key, value.strip())
                    if key == "model name":
                        break
        for key in ("model name", "hardware", "cpu model", "cpu"):  # x86, ARM, MIPS, POWER
            if key in found:
                return found[key]
        return None
    if sys.platform == "darwin":
        out = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"],
            capture_output=True,
            text=True,
            timeout=2,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return out.stdout.strip() or None
    return platform.processor() or None  # Windows reads it from the environment; no subprocess


def _cpu(errors: list[str]) -> dict[str, Any]:
    available = None
    if hasattr(os, "sched_getaffinity"):
        available = _safe(errors, "cpu.available", lambda: len(os.sched_getaffinity(0)), None)
    return {
        "count": os.cpu_count(),
        "available": available,  # what this process may use (containers, taskset)
        "model": _safe(errors, "cpu.model", _cpu_model, None),
    }


def _memory_bytes() -> int | None:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and page_size > 0:
            return int(pages * page_size)
    except (AttributeError, ValueError, OSError):
        pass
    meminfo = _MEMINFO
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024  # reported in kB
    return None


def _parse_memory(text: str) -> int | None:
    number, _, unit = text.strip().partition(" ")
    try:
        return int(float(number) * _UNITS[unit.strip()])
    except (KeyError, ValueError):
        return None


def _gpus(errors: list[str]) -> list[dict[str, Any]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=GPU_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        errors.append(f"gpus: nvidia-smi timed out after {GPU_TIMEOUT:g} s")
        return []
    if out.returncode != 0:
        detail = (out.stdout + out.stderr).strip().splitlines()
        errors.append(f"gpus: nvidia-smi exit status {out.returncode}: {' '.join(detail[:2])}")
        return []
    gpus = []
    for row in csv.reader(out.stdout.splitlines(), skipinitialspace=True):
        if not row:
            continue
        if len(row) != 3:
            errors.append(f"gpus: unexpected nvidia-smi line {','.join(row)!r}")
            continue
        name, driver, memory = (field.strip() for field in row)
        gpus.append(
            {
                "name": name,
                "driver_version": driver,
                "memory_total": memory,
                "memory_bytes": _parse_memory(memory),
            }
        )
    return gpus


def _static(errors: list[str]) -> dict[str, Any]:
    return {
        "python": _safe(errors, "python", _python, {}),
        "platform": _safe(errors, "platform", _platform, {}),
        "hostname": _safe(errors, "hostname", socket.gethostname, None),
        "cpu": _safe(errors, "cpu", lambda: _cpu(errors), {}),
        "memory_bytes": _safe(errors, "memory_bytes", _memory_bytes, None),
        "gpus": _safe(errors, "gpus", lambda: _gpus(errors), []),
    }


# --- installed distributions ---------------------------------------------------------------------


def _name_version(dist: metadata.Distribution) -> tuple[str | None, str | None]:
    """Name and version from the head of METADATA: parsing the whole file as email (what
    ``dist.metadata`` does) costs several times more, and a kernel may hold hundreds of them."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    name = version = None
    if text:
        for line in text.splitlines():
            if not line.strip():
                break  # end of the headers
            if name is None and line.startswith("Name:"):
                name = line[5:].strip()
            elif version is None and line.startswith("Version:"):
                version = line[8:].strip()
            if name is not None and version is not None:
                return name, version
    try:
        return name or dist.metadata["Name"], version or dist.version
    except Exception:
        _log.debug("reading the metadata of %s failed", name, exc_info=True)
        return name, version


def _top_levels(dist: metadata.Distribution) -> Iterable[str]:
    """The top-level modules a distribution installs, as ``packages_distributions`` finds them
    (``top_level.txt``, else the first component of each RECORD path) but splitting RECORD lines
    directly: building a ``PackagePath`` per installed file made that function cost 170 ms."""
    listed = dist.read_text("top_level.txt")
    if listed is not None:
        return listed.split()
    tops: set[str] = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        path = line.split(",", 1)[0].strip('"')
        first, sep, _ = path.partition("/")
        if sep:
            if first not in ("..", "__pycache__") and not first.endswith(
                (".dist-info", ".egg-info", ".data", ".libs")
            ):
                tops.add(first)
        elif path.endswith(".py"):
            tops.add(path[:-3])
        elif path.endswith((".so", ".pyd")):
            tops.add(path.split(".", 1)[0])
    return tops


def _scan(errors: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Installed distributions, name -> version sorted by normalised name (the first on
    ``sys.path`` wins when one is installed twice, as it does for imports), and top-level module ->
    names of the distributions providing it (what ``metadata.packages_distributions`` returns)."""
    seen: dict[str, tuple[str, str]] = {}
    module_dists: dict[str, list[str]] = {}
    broken = 0
    for dist in metadata.distributions():
        try:
            name, version = _name_version(dist)
        except Exception:
            _log.debug("unreadable distribution metadata", exc_info=True)
            name = version = None
        if not name:
            broken += 1
            continue
        seen.setdefault(_normalize(name), (name, version or ""))
        try:
            for top in _top_levels(dist):
                module_dists.setdefault(top, []).append(name)
        except Exception as exc:
            errors.append(f"imported: {name}: {type(exc).__name__}: {exc}")
    if broken:
        errors.append(f"packages: {broken} distribution(s) without readable metadata skipped")
    packages = {name: version for _, (name, version) in sorted(seen.items())}
    return packages, module_dists


def _conda(errors: list[str]) -> list[dict[str, Any]] | None:
    """Packages of the conda environment this interpreter lives in, or None outside conda.

    conda names each record ``<name>-<version>-<build>.json`` (version and build hold no ``-``),
    so the listing alone says it all; a file named otherwise is read."""
    meta = Path(sys.prefix) / "conda-meta"
    if not meta.is_dir():
        return None
    packages = []
    for path in meta.glob("*.json"):
        parts = path.stem.rsplit("-", 2)
        if len(parts) == 3 and all(parts):
            name, version, build = parts
        else:
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                name, version, build = record["name"], record["version"], record.get("build")
            except Exception as exc:
                errors.append(f"conda: {path.name}: {type(exc).__name__}: {exc}")
                continue
        packages.append({"name": name, "version": version, "build": build})
    packages.sort(key=lambda p: (p["name"], p["version"]))
    return packages


def _packages_signature() -> tuple[Any, ...]:
    """Cheap stand-in for "the installed distributions are unchanged": the mtime of every
    ``sys.path`` entry (pip and conda add, rename and remove entries in these directories) and of
    ``conda-meta``. The working directory is left out: notebooks save files there all the time, and
    a distribution installed into it is very unusual."""
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was deleted
        cwd = None
    stamps: list[tuple[str, int | None]] = []
    for entry in [*sys.path, os.path.join(sys.prefix, "conda-meta")]:
        if not isinstance(entry, str) or entry in ("", ".") or entry == cwd:
            continue
        try:
            stamps.append((entry, os.stat(entry).st_mtime_ns))
        except OSError:
            stamps.append((entry, None))
    return tuple(stamps)


def _top_level(modules: Iterable[str]) -> frozenset[str]:
    return frozenset(str(name).partition(".")[0] for name in modules if name)


def _imported(
    tops: Iterable[str], module_dists: Mapping[str, list[str]], packages: Mapping[str, str]
) -> dict[str, str]:
    """Distribution -> version for the distributions that provide the given top-level modules.
    A module no distribution lists (editable installs register an import hook instead of files)
    is matched to the distribution of the same normalised name, unless it is a standard module."""
    by_normalized = {_normalize(name): (name, version) for name, version in packages.items()}
    found: dict[str, str] = {}
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    for top in tops:
        names = module_dists.get(top) or ([] if top in stdlib else [top])
        for dist in names:
            hit = by_normalized.get(_normalize(dist))
            if hit is not None:
                found[hit[0]] = hit[1]
    return dict(sorted(found.items(), key=lambda item: _normalize(item[0])))


def fingerprint(record: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``record`` without its volatile keys: equal environments
    give equal fingerprints, so a store can keep each environment once."""
    stable = {key: value for key, value in record.items() if key not in VOLATILE}
    canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class EnvironmentCache:
    """Captures the environment once per process and refreshes only the parts that changed.

    Thread-safe: a capture started in the background (say, when the extension loads) is reused by
    the first ``%%track`` instead of being computed twice.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget everything; the next capture starts from scratch."""
        self._static: dict[str, Any] | None = None
        self._static_errors: list[str] = []
        self._signature: tuple[Any, ...] | None = None
        self._packages: dict[str, str] = {}
        self._conda: list[dict[str, Any]] | None = None
        self._module_dists: dict[str, list[str]] = {}
        self._package_errors: list[str] = []
        self._tops: frozenset[str] | None = None
        self._imported: dict[str, str] = {}
        self._imported_errors: list[str] = []
        self._record: dict[str, Any] | None = None

    def capture(self, imported_modules: Iterable[str] | None = None) -> dict[str, Any]:
        """The environment record (a fresh copy the caller may change); see :func:`capture_environment`."""
        modules: list[str] | None = None
        try:
            modules = None if imported_modules is None else [str(m) for m in imported_modules]
            with self._lock:
                return copy.deepcopy(self._refresh(modules))
        except Exception as exc:  # a bug here must not stop a run: fall back to an uncached capture
            error = f"environment cache: {type(exc).__name__}: {exc}"
            try:
                record = _uncached(modules)
            except Exception as again:
                record = {"fingerprint": None, "errors": [f"{type(again).__name__}: {again}"]}
            record["errors"].append(error)
            return record

    def _refresh(self, imported_modules: Iterable[str] | None) -> dict[str, Any]:
        changed = False
        if self._static is None:
            self._static_errors = []
            self._static = _static(self._static_errors)
            changed = True

        signature = _packages_signature()
        if signature != self._signature:
            errors: list[str] = []
            self._packages, self._module_dists = _safe(
                errors, "packages", lambda: _scan(errors), ({}, {})
            )
            self._conda = _safe(errors, "conda", lambda: _conda(errors), None)
            self._package_errors = errors
            self._signature = signature
            self._tops = None  # versions may have moved under the same modules
            changed = True

        modules = list(sys.modules) if imported_modules is None else imported_modules
        tops = _top_level(modules)
        if tops != self._tops:
            self._imported_errors = []
            self._imported = _safe(
                self._imported_errors,
                "imported",
                lambda: _imported(tops, self._module_dists, self._packages),
                {},
            )
            self._tops = tops
            changed = True

        if changed or self._record is None:
            record: dict[str, Any] = {
                **self._static,
                "packages": self._packages,
                "conda": self._conda,
                "imported": self._imported,
            }
            record["fingerprint"] = fingerprint(record)
            record["errors"] = [*self._static_errors, *self._package_errors, *self._imported_errors]
            self._record = record
        return self._record


def _uncached(imported_modules: Iterable[str] | None) -> dict[str, Any]:
    errors: list[str] = []
    record: dict[str, Any] = _safe(errors, "static", lambda: _static(errors), {})
    record["packages"], module_dists = _safe(errors, "packages", lambda: _scan(errors), ({}, {}))
    record["conda"] = _safe(errors, "conda", lambda: _conda(errors), None)
    modules = list(sys.modules) if imported_modules is None else imported_modules
    record["imported"] = _safe(
        errors,
        "imported",
        lambda: _imported(_top_level(modules), module_dists, record["packages"]),
        {},
    )
    record["fingerprint"] = _safe(errors, "fingerprint", lambda: fingerprint(record), None)
    record["errors"] = errors
    return record


_cache = EnvironmentCache()


def capture_environment(imported_modules: Iterable[str] | None = None) -> dict[str, Any]:
    """The reproducibility record of this process's environment, JSON-serialisable.

    Keys: ``python`` {version, implementation, executable}; ``platform`` {system, release, machine,
    platform}; ``hostname``; ``cpu`` {count, available, model}; ``memory_bytes``; ``gpus`` [{name,
    driver_version, memory_total, memory_bytes}]; ``packages`` {distribution: version}; ``conda``
    ([{name, version, build}] or None outside conda); ``imported`` {distribution: version} for the
    top-level modules of ``imported_modules`` (default: ``sys.modules``); ``fingerprint`` (SHA-256 of
    all but ``fingerprint`` and ``errors``); ``errors`` [str]. Cached per process (module-level
    :class:`EnvironmentCache`): the first call costs a few hundred ms, later ones about a millisecond.
    """
    return _cache.capture(imported_modules)
