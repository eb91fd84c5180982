"""Content-addressed artifacts: dedup, verified reads, safe logical paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mm.core.artifacts import BlobStore, normalize_path
from jupyter_mm.core.store import Store
from jupyter_mm.errors import IntegrityError, InvalidInput, NotFound


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " ",
        "../x",
        "a/../../x",
        "/etc/passwd",
        "C:\\x",
        "a\\b",
        "a\x00b",
        "a/\nb",
        "../",
        "..",
        ".",
        "a/" * 40 + "x",
    ],
)
def test_traversal_and_junk_paths_rejected(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_path(bad)


def test_paths_normalised() -> None:
    assert normalize_path("./a//b/./c.txt") == "a/b/c.txt"
    assert normalize_path("cafe\u0301.txt") == "caf\u00e9.txt"  # NFC
    assert normalize_path("model/MLmodel") == "model/MLmodel"


def test_identical_content_stored_once(store: Store, tmp_path: Path) -> None:
    a, b = store.create_run("0"), store.create_run("0")
    ia = store.log_artifact(a.id, "x/one.bin", b"same bytes")
    ib = store.log_artifact(b.id, "other/name.bin", b"same bytes")
    assert ia.digest == ib.digest
    blobs = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].read_bytes() == b"same bytes"
    assert store.read_artifact(b.id, "other/name.bin") == b"same bytes"


def test_file_upload_listing_and_overwrite(store: Store, tmp_path: Path) -> None:
    run = store.create_run("0")
    f = tmp_path / "data.csv"
    f.write_text("a,b\n1,2\n")
    info = store.log_artifact(run.id, "data/data.csv", f)
    assert info.media_type == "text/csv" and info.size == 8
    store.log_artifact(run.id, "data/sub/deep.txt", b"deep")
    store.log_artifact(run.id, "top.txt", b"top")
    top = store.list_artifacts(run.id)
    assert [(a.path, a.is_dir) for a in top] == [("data", True), ("top.txt", False)]
    assert top[0].size == 8 + 4
    assert [a.path for a in store.list_artifacts(run.id, "data")] == ["data/data.csv", "data/sub"]
    assert [a.path for a in store.list_artifacts(run.id, recursive=True)] == [
        "data/data.csv",
        "data/sub/deep.txt",
        "top.txt",
    ]
    store.log_artifact(run.id, "top.txt", b"new")  # logical path re-pointed
    assert store.read_artifact(run.id, "top.txt") == b"new"
    assert b"".join(store.iter_artifact(run.id, "data/data.csv", 2, 5)) == b"b\n1"


def test_listing_a_folder_holds_only_what_is_below_it(store: Store) -> None:
    """A prefix is matched exactly: not as a LIKE pattern (``_``, ``%``), nor ignoring case
    (SQLite's LIKE does), for a run's files as for the artifact proxy's."""
    run = store.create_run("0")
    for path in ("a_b/x.txt", "axb/y.txt", "A_B/z.txt", "5%/p.txt", "5x/q.txt"):
        store.log_artifact(run.id, path, b"1")
        store.put_proxy_file(path, b"1")
    for prefix, expected in (("a_b", ["a_b/x.txt"]), ("5%", ["5%/p.txt"])):
        assert [a.path for a in store.list_artifacts(run.id, prefix)] == expected
        assert [a.path for a in store.list_artifacts(run.id, prefix, recursive=True)] == expected
        assert [a.path for a in store.list_proxy_files(prefix)] == expected


def test_file_and_folder_cannot_share_a_name(store: Store) -> None:
    run = store.create_run("0")
    store.log_artifact(run.id, "a/b.txt", b"1")
    with pytest.raises(InvalidInput, match="clashes"):
        store.log_artifact(run.id, "a", b"2")
    with pytest.raises(InvalidInput, match="clashes"):
        store.log_artifact(run.id, "a/b.txt/c", b"3")


def test_corruption_detected(store: Store, tmp_path: Path) -> None:
    run = store.create_run("0")
    info = store.log_artifact(run.id, "m.bin", b"original")
    blob = next(p for p in (tmp_path / "artifacts").rglob(info.digest[2:]))
    blob.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.read_artifact(run.id, "m.bin")
    with pytest.raises(IntegrityError):
        b"".join(store.iter_artifact(run.id, "m.bin"))
    blob.unlink()
    with pytest.raises(NotFound, match="missing"):
        store.read_artifact(run.id, "m.bin")


def test_missing_artifact_and_bad_source(store: Store, tmp_path: Path) -> None:
    run = store.create_run("0")
    with pytest.raises(NotFound, match="nope"):
        store.read_artifact(run.id, "nope")
    with pytest.raises(InvalidInput, match="not a file"):
        store.log_artifact(run.id, "x", tmp_path / "does-not-exist")
    with pytest.raises(InvalidInput):
        store.log_artifact(run.id, "../escape", b"x")
    assert not list((tmp_path / "artifacts").rglob("*")) or all(
        p.is_dir() for p in (tmp_path / "artifacts").rglob("*")
    )


def test_blobstore_rejects_non_digests(tmp_path: Path) -> None:
    blobs = BlobStore(str(tmp_path))
    with pytest.raises(InvalidInput):
        blobs.get_bytes("../../etc/passwd")


def test_any_fsspec_filesystem(tmp_path: Path) -> None:
    """Blobs go through fsspec, so a non-local filesystem works the same way."""
    blobs = BlobStore("memory://mm-test-artifacts")
    digest, size = blobs.put_bytes(b"in memory")
    assert size == 9 and blobs.exists(digest)
    assert blobs.get_bytes(digest) == b"in memory"
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 3_000_000)
    d2, n2 = blobs.put_file(f)
    assert n2 == 3_000_000 and b"".join(blobs.iter_verified(d2)) == f.read_bytes()
