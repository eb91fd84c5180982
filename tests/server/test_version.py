"""Version handshake between the frontend (package.json) and the server extension."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version

import jupyter_mm
from jupyter_mm.server.handlers.status import versions_match

ROOT = Path(__file__).resolve().parents[2]


def package_json_version() -> str:
    return str(json.loads((ROOT / "package.json").read_text())["version"])


def test_python_version_comes_from_package_json() -> None:
    assert Version(jupyter_mm.__version__) == Version(package_json_version())


def test_built_labextension_has_the_same_version() -> None:
    built = Path(jupyter_mm.__file__).parent / "labextension" / "package.json"
    assert built.exists(), "the labextension is not built: `pip install -e .` builds it"
    assert json.loads(built.read_text())["version"] == package_json_version()


@pytest.mark.parametrize(
    ("server", "frontend", "match"),
    [
        ("0.1.0", "0.1.0", True),
        ("0.1.0a1", "0.1.0-alpha.1", True),
        ("0.1.0rc2", "0.1.0-rc.2", True),
        ("0.1.0", "0.1.1", False),
        ("0.1.0", "not a version", False),
    ],
)
def test_versions_match(server: str, frontend: str, match: bool) -> None:
    assert versions_match(server, frontend) is match


async def test_handshake_with_the_matching_frontend(jp_fetch) -> None:
    frontend = package_json_version()
    r = await jp_fetch("jupyter-mm", "api", "status", params={"version": frontend})
    body = json.loads(r.body)
    assert body["version"] == jupyter_mm.__version__
    assert body["frontend_version"] == frontend
    assert body["version_match"] is True


async def test_handshake_with_another_frontend(jp_fetch) -> None:
    r = await jp_fetch("jupyter-mm", "api", "status", params={"version": "99.0.0"})
    body = json.loads(r.body)
    assert r.code == 200  # the frontend shows the mismatch; the API still answers
    assert body["frontend_version"] == "99.0.0"
    assert body["version_match"] is False


def test_entry_points() -> None:
    assert jupyter_mm._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "jupyter-mm"}
    ]
    (point,) = jupyter_mm._jupyter_server_extension_points()
    assert point["module"] == "jupyter_mm.server.extension"
    assert point["app"].name == "jupyter_mm"
