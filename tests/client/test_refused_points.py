"""Points a local store refuses for good are dropped, never silently: each is counted in the run's
tag ``mm.refused_points``, whether the metric buffer met the refusal or a replay of the fallback
spool did (``jupyter mm sync``). The remote client's side is in test_remote.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.cli import main as cli_main
from jupyter_mm.client import fallback
from jupyter_mm.core.limits import MAX_STEP
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput


def steps(store: Store, run_id: str, key: str = "loss") -> list[int]:
    return list(store.get_metric_history(run_id, key)["step"].tolist())


def test_a_timestamp_past_int64_fails_at_the_call_and_spoils_no_batch(mm_store: Store) -> None:
    """It used to pass the call's checks, and the store then refused its whole batch, the good
    points with it."""
    run = mm.start_run(name="ts")
    mm.log_metric("loss", 1.0)
    with pytest.raises(InvalidInput, match="out of range"):
        mm.log_metric("loss", 2.0, timestamp=MAX_STEP + 1)
    mm.log_metric("loss", 3.0, timestamp=MAX_STEP)  # the largest the store takes
    mm.end_run()
    r = mm_store.get_run(run.id)
    assert fallback.REFUSED_TAG not in r.tags
    assert mm_store.get_metric_history(run.id, "loss")["value"].tolist() == [1.0, 3.0]


def test_points_refused_while_the_run_is_deleted_are_counted_when_it_ends(
    mm_store: Store,
) -> None:
    run = mm.start_run(name="deleted-meanwhile")
    for i in range(5):
        mm.log_metric("loss", float(i))
    run.flush()
    mm_store.delete_run(run.id)  # someone else, from the UI
    for i in range(5, 8):
        mm.log_metric("loss", float(i))
    with pytest.warns(RuntimeWarning, match="refused 3 metric points"):
        with pytest.raises(InvalidInput, match="deleted"):
            run.flush()
    assert len(run._buffer) == 0  # dropped (they would never be taken), and counted
    mm_store.restore_run(run.id)
    for i in range(8, 10):
        mm.log_metric("loss", float(i))
    mm.end_run()
    r = mm_store.get_run(run.id)
    assert r.status == "FINISHED"
    assert r.tags[fallback.REFUSED_TAG] == "3"  # the tag could not be written until now
    assert steps(mm_store, run.id) == [0, 1, 2, 3, 4, 8, 9]


def test_a_refusal_on_an_active_run_is_counted_at_once_and_added_up(mm_store: Store) -> None:
    """Points that got past the call's checks (as an older client let a 64-bit overflowing
    timestamp through) are refused by the store with their batch: counted in the run's tag right
    away, each refusal added to what the tag already holds."""
    run = mm.start_run(name="bad-batch")
    mm_store.set_tag(run.id, fallback.REFUSED_TAG, "2")  # counted earlier, by a replay say
    mm.log_metric("loss", 0.0)
    run._buffer.queue.append(("loss", 1.0, 1, MAX_STEP + 1))  # the buffer's hot path
    with pytest.warns(RuntimeWarning, match="refused 2 metric points"):
        with pytest.raises(InvalidInput, match="out of range"):
            run.flush()
    assert mm_store.get_run(run.id).tags[fallback.REFUSED_TAG] == "4"
    mm.log_metric("loss", 2.0, step=2)
    run._buffer.queue.append(("", 3.0, 3, 0))  # a key the store refuses
    mm.log_metric("loss", 4.0, step=4)
    with pytest.warns(RuntimeWarning, match="refused 3 metric points"):
        mm.end_run()  # the last batch is refused: the run still ends, with the count
    r = mm_store.get_run(run.id)
    assert r.status == "FINISHED" and r.tags[fallback.REFUSED_TAG] == "7"
    assert steps(mm_store, run.id) == []  # both batches were refused whole


def test_a_spooled_batch_refused_at_sync_is_counted_in_its_run(
    mm_store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    run = mm.start_run(name="spooled")
    mm.log_metric("loss", 0.0)
    mm.end_run()
    mm_store.set_tag(run.id, fallback.REFUSED_TAG, "1")
    now = int(time.time() * 1000)
    # what a run ended on a full disk leaves behind (an older client, for the bad timestamps)
    spool = fallback.spill(mm_store, run.id, [("loss", float(i), i, now) for i in range(1, 4)])
    fallback.spill(mm_store, run.id, [("loss", 9.0, 9, MAX_STEP + 1)] * 5)
    fallback.spill(mm_store, run.id, [("loss", 4.0, 4, now)])
    assert cli_main(["sync"]) == 0
    assert "2 write(s) sent, 1 refused" in capsys.readouterr().out
    rejected = (spool.dir / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 1 and "out of range" in rejected[0]
    assert not spool.pending()
    r = mm_store.get_run(run.id)
    assert r.tags[fallback.REFUSED_TAG] == "6"
    assert steps(mm_store, run.id) == [0, 1, 2, 3, 4]


def test_a_refused_spooled_batch_of_a_deleted_run_is_kept_and_said(
    mm_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    run = mm.start_run(name="gone")
    mm.end_run()
    spool = fallback.spill(mm_store, run.id, [("loss", 1.0, 0, 0)])
    mm_store.delete_run(run.id)
    with pytest.warns(RuntimeWarning, match="could not be counted in its run's record"):
        result = fallback.replay(mm_store, spool)
    assert (result.applied, result.rejected) == (0, 1)
    assert "deleted" in (spool.dir / "rejected.jsonl").read_text()
