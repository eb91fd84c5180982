"""Which store the server extension uses, and what it tells the kernels it starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mm.server.store_provider import (
    StoreProvider,
    absolutize,
    export_to_kernels,
    mask_password,
    resolve_tracking_uri,
)


@pytest.fixture(autouse=True)
def _clean(mm_clean_env: None) -> None:
    pass


def test_config_wins_over_the_environment(tmp_path: Path) -> None:
    os.environ["MM_TRACKING_URI"] = str(tmp_path / "from-env")
    r = resolve_tracking_uri(str(tmp_path / "from-config"), root_dir=tmp_path)
    assert (r.uri, r.source) == (str(tmp_path / "from-config"), "config")


def test_environment_wins_over_the_default(tmp_path: Path) -> None:
    os.environ["MM_TRACKING_URI"] = "postgresql://u:p@h/db"
    r = resolve_tracking_uri("", root_dir=tmp_path)
    assert (r.uri, r.source) == ("postgresql://u:p@h/db", "environment")


def test_default_is_mm_under_the_root_dir(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    r = resolve_tracking_uri("", root_dir=root)
    assert (r.uri, r.source) == (str(root.resolve() / ".mm"), "default")


def test_default_reuses_an_existing_store_above_the_root_dir(tmp_path: Path) -> None:
    (tmp_path / ".mm").mkdir()
    root = tmp_path / "project" / "notebooks"
    root.mkdir(parents=True)
    assert resolve_tracking_uri("", root_dir=root).uri == str(tmp_path.resolve() / ".mm")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("store", "{base}/store"),
        ("./a/../b", "{base}/b"),
        ("/abs/store", "/abs/store"),
        ("file://rel", "{base}/rel"),
        ("sqlite:///mm.db", "sqlite:///{base}/mm.db"),
        ("sqlite:////abs/mm.db", "sqlite:////abs/mm.db"),
        ("postgresql://u:p@h/db", "postgresql://u:p@h/db"),
    ],
)
def test_relative_locations_are_made_absolute(tmp_path: Path, uri: str, expected: str) -> None:
    base = tmp_path.resolve()
    assert absolutize(uri, base) == expected.format(base=base)


def test_config_paths_are_relative_to_the_root_dir(tmp_path: Path) -> None:
    assert resolve_tracking_uri("stores/main", root_dir=tmp_path).uri == str(
        tmp_path.resolve() / "stores" / "main"
    )


def test_export_sets_an_unset_variable() -> None:
    assert export_to_kernels("MM_TRACKING_URI", "/srv/.mm") is None
    assert os.environ["MM_TRACKING_URI"] == "/srv/.mm"


def test_export_keeps_a_different_value_and_reports_it() -> None:
    os.environ["MM_TRACKING_URI"] = "/elsewhere"
    assert export_to_kernels("MM_TRACKING_URI", "/srv/.mm") == "/elsewhere"
    assert os.environ["MM_TRACKING_URI"] == "/elsewhere"


def test_export_replaces_a_relative_value_by_its_absolute_form(tmp_path: Path) -> None:
    os.environ["MM_TRACKING_URI"] = ".mm"
    absolute = str(Path.cwd().resolve() / ".mm")
    assert export_to_kernels("MM_TRACKING_URI", absolute) is None
    assert os.environ["MM_TRACKING_URI"] == absolute


def test_export_ignores_empty_values() -> None:
    assert export_to_kernels("MM_ARTIFACT_URI", "") is None
    assert "MM_ARTIFACT_URI" not in os.environ


def test_mask_password() -> None:
    assert mask_password("postgresql://me:secret@host/db") == "postgresql://me:***@host/db"
    assert mask_password("postgresql://me@host/db") == "postgresql://me@host/db"
    assert mask_password("/home/me:x@y/.mm") == "/home/me:x@y/.mm"


def test_provider_opens_once_and_closes(tmp_path: Path) -> None:
    provider = StoreProvider(str(tmp_path / "s"))
    assert provider.kind == "sqlite"
    first = provider.get()
    assert provider.get() is first
    assert first.counts()["runs"] == 0
    provider.close()
    with pytest.raises(Exception, match="shutting down"):
        provider.get()


def test_provider_reports_an_unsupported_uri_as_unknown() -> None:
    assert StoreProvider("ftp://example/store").kind == "unknown"
