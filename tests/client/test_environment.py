"""capture_environment: the record's shape, the cache's change detection, and that nothing raises."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.client import environment
from jupyter_mm.client.environment import EnvironmentCache, capture_environment, fingerprint

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as nvidia-smi")


def make_dist(site: Path, name: str, version: str, top_level: str | None = None) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong description\nName: no\n"
    )
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level + "\n")
    else:
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")


def bump_mtime(path: Path) -> None:
    """Make a directory's change visible even on file systems with coarse timestamps."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_record_shape() -> None:
    record = EnvironmentCache().capture()
    json.dumps(record)
    assert set(record) == {
        "python", "platform", "hostname", "cpu", "memory_bytes", "gpus",
        "packages", "conda", "imported", "fingerprint", "errors",
    }  # fmt: skip
    assert record["python"] == {
        "version": ".".join(map(str, sys.version_info[:3])),
        "implementation": sys.implementation.name.replace("cpython", "CPython"),
        "executable": sys.executable,
    }
    assert set(record["platform"]) == {"system", "release", "machine", "platform"}
    assert set(record["cpu"]) == {"count", "available", "model"}
    assert record["cpu"]["count"] == os.cpu_count()
    assert record["memory_bytes"] is None or record["memory_bytes"] > 2**20
    assert isinstance(record["gpus"], list)
    assert record["packages"]["numpy"] == metadata.version("numpy")
    assert record["packages"]["pytest"] == metadata.version("pytest")
    names = [environment._normalize(name) for name in record["packages"]]
    assert names == sorted(names) and len(names) == len(set(names))
    assert len(record["fingerprint"]) == 64
    assert record["errors"] == []


def test_module_map_agrees_with_packages_distributions() -> None:
    _, module_dists = environment._scan([])
    reference = metadata.packages_distributions()
    for module, dists in reference.items():
        if module.isidentifier():  # the reference also lists data dirs such as numpy.libs
            assert sorted(set(module_dists[module])) == sorted(set(dists)), module


def test_imported_versions() -> None:
    record = EnvironmentCache().capture(["numpy.linalg", "os", "_pytest.fixtures", "jupyter_mm"])
    assert record["imported"] == {
        "jupyter-mm": metadata.version("jupyter-mm"),  # editable: matched by name
        "numpy": metadata.version("numpy"),
        "pytest": metadata.version("pytest"),  # _pytest is listed by the pytest distribution
    }


def test_imported_defaults_to_sys_modules() -> None:
    assert "pytest" in EnvironmentCache().capture()["imported"]


def test_fingerprint_is_stable_and_tracks_changes() -> None:
    first = EnvironmentCache().capture(["numpy"])
    second = EnvironmentCache().capture(["numpy"])
    assert first["fingerprint"] == second["fingerprint"]
    assert fingerprint(first) == first["fingerprint"]
    assert fingerprint({**first, "errors": ["transient"]}) == first["fingerprint"]
    other = EnvironmentCache().capture(["numpy", "pytest"])
    assert other["fingerprint"] != first["fingerprint"]


def test_returned_record_is_a_copy() -> None:
    cache = EnvironmentCache()
    record = cache.capture(["numpy"])
    record["packages"].clear()
    record["errors"].append("mine")
    again = cache.capture(["numpy"])
    assert again["packages"] and again["errors"] == []


class Counter:
    def __init__(self, fn: Any) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.fn(*args)


def test_cache_recomputes_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    make_dist(site, "fakepkg", "1.0", top_level="fakemod")
    monkeypatch.syspath_prepend(str(site))
    scan, static, imported = (
        Counter(environment._scan),
        Counter(environment._static),
        Counter(environment._imported),
    )
    monkeypatch.setattr(environment, "_scan", scan)
    monkeypatch.setattr(environment, "_static", static)
    monkeypatch.setattr(environment, "_imported", imported)
    cache = EnvironmentCache()

    first = cache.capture(["fakemod"])
    assert first["packages"]["fakepkg"] == "1.0" and first["imported"] == {"fakepkg": "1.0"}
    assert cache.capture(["fakemod.sub"]) == first  # same top-level modules: nothing recomputed
    assert (static.calls, scan.calls, imported.calls) == (1, 1, 1)

    with_numpy = cache.capture(["fakemod", "numpy"])  # a new import: only the imported versions
    assert with_numpy["imported"]["numpy"] == metadata.version("numpy")
    assert with_numpy["fingerprint"] != first["fingerprint"]
    assert (static.calls, scan.calls, imported.calls) == (1, 1, 2)

    make_dist(site, "newpkg", "2.5")  # an install: the directory changes
    bump_mtime(site)
    installed = cache.capture(["fakemod", "numpy", "newpkg"])
    assert installed["packages"]["newpkg"] == "2.5" and installed["imported"]["newpkg"] == "2.5"
    assert (static.calls, scan.calls, imported.calls) == (1, 2, 3)

    cache.clear()
    cache.capture(["fakemod"])
    assert (static.calls, scan.calls) == (2, 3)


def test_upgrade_under_the_same_imports_refreshes_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    make_dist(site, "fakepkg", "1.0", top_level="fakemod")
    monkeypatch.syspath_prepend(str(site))
    cache = EnvironmentCache()
    assert cache.capture(["fakemod"])["imported"] == {"fakepkg": "1.0"}
    (site / "fakepkg-1.0.dist-info").rename(site / "fakepkg-1.1.dist-info")
    metadata_file = site / "fakepkg-1.1.dist-info" / "METADATA"
    metadata_file.write_text(metadata_file.read_text().replace("1.0", "1.1"))
    bump_mtime(site)
    assert cache.capture(["fakemod"])["imported"] == {"fakepkg": "1.1"}


def test_first_distribution_on_the_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist(tmp_path / "late", "Dup_Pkg", "1.0")
    make_dist(tmp_path / "early", "dup-pkg", "2.0")
    monkeypatch.syspath_prepend(str(tmp_path / "late"))
    monkeypatch.syspath_prepend(str(tmp_path / "early"))
    packages = EnvironmentCache().capture([])["packages"]
    assert packages["dup-pkg"] == "2.0" and "Dup_Pkg" not in packages


def test_conda_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "numpy-1.26.4-py311h64a7726_0.json").write_text("{}")
    (meta / "python-dateutil-2.8.2-pyhd8ed1ab_0.json").write_text("{}")
    (meta / "odd.json").write_text(json.dumps({"name": "odd", "version": "3", "build": "b_1"}))
    (meta / "broken.json").write_text("not json")
    (meta / "history").write_text("")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    record = EnvironmentCache().capture([])
    assert record["conda"] == [
        {"name": "numpy", "version": "1.26.4", "build": "py311h64a7726_0"},
        {"name": "odd", "version": "3", "build": "b_1"},
        {"name": "python-dateutil", "version": "2.8.2", "build": "pyhd8ed1ab_0"},
    ]
    assert len(record["errors"]) == 1 and record["errors"][0].startswith("conda: broken.json")


def test_no_conda_outside_conda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert EnvironmentCache().capture([])["conda"] is None


def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@posix_only
def test_gpus_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(
        tmp_path,
        monkeypatch,
        'echo "NVIDIA A100-SXM4-40GB, 535.104.05, 40960 MiB"\n'
        'echo "Tesla T4, 535.104.05, 15360 MiB"\n',
    )
    record = EnvironmentCache().capture([])
    assert record["gpus"] == [
        {
            "name": "NVIDIA A100-SXM4-40GB",
            "driver_version": "535.104.05",
            "memory_total": "40960 MiB",
            "memory_bytes": 40960 * 2**20,
        },
        {
            "name": "Tesla T4",
            "driver_version": "535.104.05",
            "memory_total": "15360 MiB",
            "memory_bytes": 15360 * 2**20,
        },
    ]
    assert record["errors"] == []


@posix_only
def test_failing_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, 'echo "NVIDIA-SMI has failed"\nexit 9\n')
    record = EnvironmentCache().capture([])
    assert record["gpus"] == []
    assert record["errors"] == ["gpus: nvidia-smi exit status 9: NVIDIA-SMI has failed"]


@posix_only
def test_hanging_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, "exec sleep 30\n")
    monkeypatch.setattr(environment, "GPU_TIMEOUT", 0.3)
    record = EnvironmentCache().capture([])
    assert record["gpus"] == [] and record["errors"] == ["gpus: nvidia-smi timed out after 0.3 s"]


def test_cpu_model_of_other_architectures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    monkeypatch.setattr(environment, "_CPUINFO", cpuinfo)
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Intel(R) Xeon(R)\n\n" * 2)
    assert environment._cpu_model() == "Intel(R) Xeon(R)"
    cpuinfo.write_text("processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\n")
    assert environment._cpu_model() == "BCM2835"
    cpuinfo.write_text("processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\n")
    assert environment._cpu_model() == "POWER9 (raw), altivec supported"
    cpuinfo.write_text("processor\t: 0\n")
    assert environment._cpu_model() is None


def test_memory_from_meminfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sysconf(name: str) -> int:
        raise ValueError(name)

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16318480 kB\nMemFree:         1000 kB\n")
    monkeypatch.setattr(environment, "_MEMINFO", meminfo)
    monkeypatch.setattr(environment.os, "sysconf", no_sysconf)
    assert environment._memory_bytes() == 16318480 * 1024


def test_failures_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any) -> Any:
        raise OSError("permission denied")

    monkeypatch.setattr(environment, "_cpu_model", boom)
    monkeypatch.setattr(environment, "_scan", boom)
    record = EnvironmentCache().capture(["numpy"])
    assert record["cpu"]["model"] is None and record["cpu"]["count"] == os.cpu_count()
    assert record["packages"] == {} and record["imported"] == {}
    assert record["errors"] == [
        "cpu.model: OSError: permission denied",
        "packages: OSError: permission denied",
    ]
    json.dumps(record)


def test_a_cache_bug_falls_back_to_a_full_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: EnvironmentCache, modules: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(EnvironmentCache, "_refresh", boom)
    record = capture_environment(["numpy"])
    assert record["imported"] == {"numpy": metadata.version("numpy")}
    assert record["errors"] == ["environment cache: RuntimeError: bug"]
    assert record["fingerprint"] == EnvironmentCache().capture(["numpy"])["fingerprint"]


def test_concurrent_captures_agree() -> None:
    cache = EnvironmentCache()
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.capture(["numpy"]))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(r == results[0] for r in results)


def test_module_level_capture_is_cached() -> None:
    first = capture_environment(["numpy"])
    assert capture_environment(["numpy"]) == first


def test_imports_no_jupyter_and_no_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from jupyter_mm.client.environment import capture_environment\n"
        "from jupyter_mm.client.git_info import capture_git\n"
        "from jupyter_mm.client.seeding import seed_everything\n"
        "capture_environment(); capture_git('.')\n"
        "print(sorted(m for m in ('IPython', 'ipykernel', 'numpy', 'pandas', 'sqlalchemy')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"


def test_deleted_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    def gone() -> str:
        raise FileNotFoundError("cwd deleted")

    monkeypatch.setattr(environment.os, "getcwd", gone)
    record = EnvironmentCache().capture(["numpy"])
    assert record["imported"] == {"numpy": metadata.version("numpy")} and record["errors"] == []


def test_standard_modules_are_not_matched_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist(tmp_path / "site", "json", "9.9", top_level="not_json")  # a PyPI namesake
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert EnvironmentCache().capture(["json"])["imported"] == {}
