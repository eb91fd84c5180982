"""A process killed with SIGKILL while logging loses at most about one flush interval of metrics,
never leaves a partial batch or a gap behind, and leaves a store that passes SQLite's integrity
checks and accepts writes again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from jupyter_mm.core.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
#: A point logged this long before the kill must be stored. The writer flushes at least once a
#: second (metric_buffer.FLUSH_SECONDS); a loop that outruns it writes the queue itself once the
#: writer is MAX_LAG_SECONDS behind. So: a second, plus that write committing on a busy 2-core
#: machine (the loop below is the worst case: nothing but log_metric).
DURABLE_AFTER_SECONDS = 2.5


def _spawn(code: str, store_dir: Path, *args: object) -> subprocess.Popen[str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["MM_TRACKING_URI"] = str(store_dir)
    env.pop("MM_EXPERIMENT_NAME", None)
    env.pop("MM_ARTIFACT_URI", None)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def _readline(p: subprocess.Popen[str]) -> str:
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        p.wait(timeout=TIMEOUT)
        assert p.stderr is not None
        pytest.fail(f"child exited {p.returncode} early:\n{p.stderr.read()}")
    return line.strip()


def _kill(p: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGKILL the child; return whatever it printed that the parent has not read yet."""
    os.kill(p.pid, signal.SIGKILL)
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == -signal.SIGKILL
    return out, err


def _check_sqlite_file(db: Path) -> None:
    # a plain sqlite3 connection, as a user or a recovery tool would open it after the crash
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


LOGGER = """
    import time
    import jupyter_mm as mm

    run = mm.start_run(name="doomed")
    print("run", run.id, flush=True)
    log = mm.log_metric
    step = 0
    while True:
        log("loss", step * 0.5)  # default buffer: flushed by its thread, at least every second
        if step % 1000 == 999:
            # steps 0..step have been handed to mm.log_metric by this moment (CLOCK_MONOTONIC is
            # system-wide on Linux, so the parent can compare it with its own clock)
            print(step, time.monotonic(), flush=True)
        step += 1
"""


def test_killed_logger_keeps_a_contiguous_prefix(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    p = _spawn(LOGGER, store_dir)
    try:
        head = _readline(p).split()
        assert head[0] == "run", head
        run_id = head[1]
        reports: list[tuple[float, int]] = []  # (when the child had logged it, step)
        while True:
            step, when = _readline(p).split()
            reports.append((float(when), int(step)))
            if (
                int(step) >= 30_000
                and time.monotonic() - reports[0][0] >= 2 * DURABLE_AFTER_SECONDS
            ):
                break
        killed_at = time.monotonic()
        rest, err = _kill(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "Traceback" not in err and "jupyter-mm:" not in err, err
    for line in rest.splitlines():  # printed before the kill, not read yet
        step, when = line.split()
        reports.append((float(when), int(step)))
    printed = [s for _, s in reports]
    # every point handed to log_metric DURABLE_AFTER_SECONDS before the kill must be stored
    must_have = max(s for t, s in reports if t <= killed_at - DURABLE_AFTER_SECONDS)
    # nothing that was never logged: the child got at most 999 steps past its last print
    at_most = max(printed) + 1000

    _check_sqlite_file(store_dir / "mm.db")
    with Store.open(str(store_dir)) as store:
        h = store.get_metric_history(run_id, "loss")
        n = len(h["step"])
        assert n > 0
        k = int(h["step"][-1])
        assert np.array_equal(h["step"], np.arange(n)), "gaps or duplicates in the history"
        assert np.array_equal(h["value"], np.arange(n) * 0.5)
        assert must_have <= k <= at_most, (
            f"stored up to step {k}; the child had logged step {must_have} "
            f"{DURABLE_AFTER_SECONDS} s before the kill and printed up to {max(printed)}"
        )
        run = store.get_run(run_id)
        assert run.status == "RUNNING"  # nobody ended it: the heartbeat tells it died
        assert run.end_time is None
        assert run.heartbeat_time is not None and run.heartbeat_time >= run.start_time
        assert run.latest_metrics["loss"].step == k  # latest value agrees with the history
        # the store is not left locked or half-written: it takes writes again at once
        store.log_batch(run_id, metrics=[("loss", 0.5 * n, n, 1)])
        store.update_run(run_id, status="KILLED")
        assert store.get_run(run_id).status == "KILLED"
        assert len(store.get_metric_history(run_id, "loss")["step"]) == n + 1
    _check_sqlite_file(store_dir / "mm.db")
    print(f"stored {n} points; logged {max(printed)}+; lower bound {must_have}")


BATCHER = """
    import os, sys, time
    from jupyter_mm.core.store import Store

    run_id, size = sys.argv[1], int(sys.argv[2])
    store = Store.open(os.environ["MM_TRACKING_URI"])
    done = len(store.get_metric_history(run_id, "x")["step"])  # resume where the last one died
    print("start", done, flush=True)
    while True:
        steps = range(done, done + size)
        ts = int(time.time() * 1000)
        store.log_batch(run_id, metrics=[("x", float(s), s, ts) for s in steps],
                        tags={"done": str(done + size)})
        done += size
        print("committed", done, flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.08])
def test_kill_during_a_large_batch_writes_all_or_nothing(tmp_path: Path, delay: float) -> None:
    """SIGKILL at various moments inside big ``log_batch`` transactions: each batch is stored whole
    or not at all, and the next process carries on from a clean state. Three kills per store."""
    store_dir = tmp_path / "store"
    size = 50_000
    with Store.open(str(store_dir)) as store:
        run_id = store.create_run(name="batches").id
    for _attempt in range(3):
        p = _spawn(BATCHER, store_dir, run_id, size)
        try:
            start = _readline(p).split()
            assert start[0] == "start"
            committed = int(start[1])
            for _ in range(2):
                committed = int(_readline(p).split()[1])
            if delay:
                time.sleep(delay)  # not synchronisation: it picks a moment inside the next batch
            rest, err = _kill(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert "Traceback" not in err, err
        after = [int(line.split()[1]) for line in rest.splitlines() if line.startswith("committed")]
        last_printed = max([committed, *after])

        _check_sqlite_file(store_dir / "mm.db")
        with Store.open(str(store_dir)) as store:
            h = store.get_metric_history(run_id, "x")
            n = len(h["step"])
            assert n % size == 0, f"a partial batch was stored: {n} points"
            # printed commits are durable; at most the one batch in flight may have made it too
            assert last_printed <= n <= last_printed + size
            assert np.array_equal(h["step"], np.arange(n))
            assert np.array_equal(h["value"], np.arange(n, dtype=float))
            assert store.get_run(run_id).tags["done"] == str(n)  # tags and metrics together
