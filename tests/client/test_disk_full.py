"""A local store whose disk fills up while a run logs, on a real (small) tmpfs: no accepted point
is lost or written twice, the user is told when writing stops and when it resumes, a run with
unwritten points never ends looking complete, and the other writes fail with StoreFull."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.cli import main as cli_main
from jupyter_mm.client import backend, fallback, tracking
from jupyter_mm.core.store import Store
from jupyter_mm.errors import StoreFull
from tests.support.tmpfs import SmallDisk, small_disk


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "disk", megabytes=6) as d:
        yield d


@pytest.fixture
def on_disk(disk: SmallDisk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``mm`` tracking to a store on the small disk; the fallback spool elsewhere."""
    for var in ("MM_TRACKING_URI", "MM_EXPERIMENT_NAME", "MM_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setattr(tracking, "_experiment", None)
    monkeypatch.setattr(tracking, "_last", None)
    store_dir = disk.path / "store"
    mm.set_tracking_uri(str(store_dir))
    try:
        yield store_dir
    finally:
        try:
            while mm.active_run() is not None:
                mm.end_run()
        finally:
            backend.get_store().close()
            mm.set_tracking_uri(None)


def notices(caught: list[warnings.WarningMessage], word: str) -> list[str]:
    return [str(w.message) for w in caught if word in str(w.message)]


def test_disk_full_while_logging_keeps_every_point_and_says_so(
    disk: SmallDisk, on_disk: Path
) -> None:
    run = mm.start_run(name="full")
    for i in range(1000):
        mm.log_metric("loss", float(i))
    run.flush()
    disk.fill()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # random values: incompressible, so the points cannot fit in pages SQLite still has
        for i in range(1000, 60_000):
            mm.log_metric("loss", float(i) + os.urandom(1)[0] / 256)
        with pytest.raises(StoreFull) as e:
            run.flush()  # fails, keeps the points
        assert e.value.http_status == 507 and e.value.code == "INSUFFICIENT_STORAGE"
        assert e.value.details["location"] == "database" and e.value.retryable
        written = len(backend.get_store().get_metric_history(run.id, "loss")["step"])
        assert written < 60_000 and len(run._buffer) == 60_000 - written  # kept, all of them
        assert mm.get_run(run.id).status == "RUNNING"
        disk.free()
        run.flush()
    stopped, resumed = notices(caught, "stopped"), notices(caught, "resumed")
    assert len(stopped) == 1 and "full" in stopped[0] and "points are waiting" in stopped[0]
    assert len(resumed) == 1 and "points waiting are being written" in resumed[0]
    mm.end_run()
    with Store.open(str(on_disk)) as st:
        h = st.get_metric_history(run.id, "loss")
        assert h["step"].tolist() == list(range(60_000))  # every point, exactly once
        r = st.get_run(run.id)
        assert r.status == "FINISHED" and fallback.UNWRITTEN_TAG not in r.tags


def test_a_run_ending_on_a_full_disk_is_marked_until_sync_writes_its_points(
    disk: SmallDisk, on_disk: Path, tmp_path: Path
) -> None:
    run = mm.start_run(name="ends-full")
    mm.log_metric("loss", 0.0)
    run.flush()
    disk.fill()
    for i in range(1, 40_000):
        mm.log_metric("loss", float(i) + os.urandom(1)[0] / 256)
    with pytest.warns(RuntimeWarning, match="jupyter mm sync"):
        mm.end_run()  # ends; no exception: nothing is lost
    assert mm.active_run() is None
    with Store.open(str(on_disk)) as st:
        r = st.get_run(run.id)
        written = len(st.get_metric_history(run.id, "loss")["step"])
        assert written < 40_000
        # never FINISHED looking complete: either ended and tagged with what waits, or, when
        # even the end could not be written, still RUNNING with the end waiting in the spool
        if r.status == "FINISHED":
            assert int(r.tags[fallback.UNWRITTEN_TAG]) == 40_000 - written
        else:
            assert r.status == "RUNNING"
    assert cli_main(["sync", "--uri", str(on_disk)]) == 1  # still full: kept, and said so
    disk.free()
    assert cli_main(["sync", "--uri", str(on_disk)]) == 0
    assert cli_main(["sync", "--uri", str(on_disk)]) == 0  # nothing left: harmless
    with Store.open(str(on_disk)) as st:
        h = st.get_metric_history(run.id, "loss")
        assert h["step"].tolist() == list(range(40_000))  # every point, exactly once
        r = st.get_run(run.id)
        assert r.status == "FINISHED" and fallback.UNWRITTEN_TAG not in r.tags


def test_params_tags_artifacts_and_end_on_a_full_disk_raise_store_full(
    disk: SmallDisk, on_disk: Path
) -> None:
    run = mm.start_run(name="other-writes")
    disk.fill()
    for write in (
        lambda: mm.log_param("p", "x" * 6000),
        lambda: mm.set_tag("t", "y" * 5000),
    ):
        with pytest.raises(StoreFull) as e:
            write()
        assert e.value.details["location"] == "database"
    with pytest.raises(StoreFull) as e:
        mm.log_artifact(os.urandom(200_000), name="model.bin")
    assert e.value.details["location"] == "artifacts"
    assert e.value.details["path"] == str(on_disk / "artifacts")
    assert disk.files("*.tmp-*") == []  # the partial blob was removed
    st = backend.get_store()
    with pytest.raises(StoreFull):  # the store itself, with the run's last points
        st.end_run(
            run.id, "FINISHED", metrics=[("m", os.urandom(1)[0] / 3, i, 1) for i in range(50_000)]
        )
    disk.free()
    mm.log_param("p", "x" * 6000)  # nothing half-written: the same writes now succeed
    mm.log_artifact(b"fits now", name="model.bin")
    mm.end_run()
    assert mm.get_run(run.id).status == "FINISHED"


def test_check_reports_leftover_temporary_files_and_repair_removes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = str(tmp_path / "store")
    with Store.open(uri) as st:
        st.blobs.put_bytes(b"content")
        root = Path(st.blobs.root)
    blob = next((root / "sha256").rglob("*"))
    while blob.is_dir():
        blob = next(blob.iterdir())
    old = time.time() - 3600
    leftovers = [blob.with_name(blob.name + ".tmp-0123abcd"), root / "staging" / ".ab-x.part"]
    leftovers[1].parent.mkdir(exist_ok=True)
    for p in leftovers:
        p.write_bytes(b"half")
        os.utime(p, (old, old))
    fresh = blob.with_name(blob.name + ".tmp-inprogress")
    fresh.write_bytes(b"being written")  # a write in progress is not a leftover

    assert cli_main(["--store", uri, "check"]) == 1
    out = capsys.readouterr().out
    assert all(f"leftover temporary file {p}" in out for p in leftovers)
    assert str(fresh) not in out and "2 problem(s)" in out
    assert cli_main(["--store", uri, "check", "--repair"]) == 0
    out = capsys.readouterr().out
    assert out.count("repaired: removed leftover temporary file") == 2 and out.endswith("ok\n")
    assert not any(p.exists() for p in leftovers) and fresh.exists() and blob.exists()
