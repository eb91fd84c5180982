"""Files of the MLflow artifact proxy outside runs (``core/store/proxy_files.py``): named blobs,
listed as folders, replaced, deleted by name, checked by ``check_store``; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mm.core.integrity import check_store
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput, NotFound


def _listing(store: Store, prefix: str | None = None) -> list[tuple[str, bool, int]]:
    return [(i.path, i.is_dir, i.size) for i in store.list_proxy_files(prefix)]


def test_files_outside_runs_are_named_blobs(store: Store) -> None:
    a = store.put_proxy_file("a.txt", b"0", created_by="alice")
    b = store.put_proxy_file("./dir//b.txt", b"11")  # normalised like a run's paths
    store.put_proxy_file("dir/deep/c.bin", b"0")
    store.put_proxy_file("Dir_x/d.txt", b"dd")  # LIKE's '_' and SQLite's case-blind LIKE
    assert b.path == "dir/b.txt"
    assert store.read_proxy_file("dir/deep/c.bin") == b"0"
    assert store.proxy_file_info("dir/deep/c.bin").digest == a.digest  # one blob for both
    assert _listing(store) == [("Dir_x", True, 2), ("a.txt", False, 1), ("dir", True, 3)]
    assert _listing(store, "dir") == [("dir/b.txt", False, 2), ("dir/deep", True, 1)]
    assert _listing(store, "dir/") == _listing(store, "dir")
    assert _listing(store, "DIR") == [] and _listing(store, "Dir") == []
    assert _listing(store, "a.txt") == [] and _listing(store, "nothing") == []
    # replaced in place, as MLflow overwrites a file
    store.put_proxy_file("a.txt", b"new")
    assert store.read_proxy_file("a.txt") == b"new"
    # a file cannot also be a folder, nor sit inside a file
    for path in ("dir", "a.txt/x"):
        with pytest.raises(InvalidInput, match="clashes with the existing artifact"):
            store.put_proxy_file(path, b"x")
    for bad in ("../x", "/etc/passwd", "a/../../b", "a\\b", "a\x00b", "", "C:/x"):
        with pytest.raises(InvalidInput):
            store.put_proxy_file(bad, b"x")
    assert _listing(store) == [("Dir_x", True, 2), ("a.txt", False, 3), ("dir", True, 3)]
    with pytest.raises(NotFound):
        store.proxy_file_info("dir")  # a folder is not a file


def test_delete_removes_names_at_and_below_a_path(store: Store) -> None:
    for path in ("dir/a.txt", "dir/sub/b.txt", "dirx/c.txt", "Dir/d.txt", "e.txt"):
        store.put_proxy_file(path, path.encode())
    assert store.delete_proxy_files("dir") == 2
    assert [i.path for i in store.list_proxy_files()] == ["Dir", "dirx", "e.txt"]
    assert store.delete_proxy_files("e.txt") == 1
    assert store.delete_proxy_files("e.txt") == 0  # nothing there: not an error (MLflow's rule)
    with pytest.raises(NotFound):
        store.read_proxy_file("e.txt")
    assert store.read_proxy_file("dirx/c.txt") == b"dirx/c.txt"
    with pytest.raises(InvalidInput):
        store.delete_proxy_files("../dirx")


def test_check_store_verifies_proxy_files(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "st")) as st:
        info = st.put_proxy_file("dir/b.pkl", b"payload")
        assert check_store(st) == []
        Path(st.blobs._path(info.digest)).write_bytes(b"tampered")
        assert any(info.digest in p for p in check_store(st))
