"""Several processes writing into one store at once lose nothing and never see "database is locked".

Every writer, reader and opener here is a real child process (``sys.executable``) talking to a real
store; the parent only starts them, releases them together and checks what ended up stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from jupyter_mm.core import migrate
from jupyter_mm.core.store import Store

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 120  # seconds; a hang is a failure, not a stuck suite


def _env(tracking_uri: str) -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["MM_TRACKING_URI"] = tracking_uri
    env.pop("MM_EXPERIMENT_NAME", None)
    env.pop("MM_ARTIFACT_URI", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _spawn(code: str, tracking_uri: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        env=_env(tracking_uri),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def _wait_ready(procs: list[subprocess.Popen[str]]) -> None:
    """Each child prints "ready" once it is set up; read that line (a blocking pipe read is the event)."""
    for p in procs:
        assert p.stdout is not None
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.kill()
            out, err = p.communicate(timeout=CHILD_TIMEOUT)
            pytest.fail(f"child did not get ready: {line!r}{out}\nstderr:\n{err}")


def _release(procs: list[subprocess.Popen[str]]) -> None:
    """Tell every child to go at (nearly) the same moment."""
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[str, str]]:
    outputs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=CHILD_TIMEOUT)
            outputs.append((out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, f"child exited {p.returncode}\nstdout:\n{out}\nstderr:\n{err}"
        assert "database is locked" not in err.lower(), err
        assert "Traceback" not in err, err
        assert "jupyter-mm:" not in err, err  # the buffer's "could not write metrics yet" warnings
    return outputs


# ------------------------------------------------------------------ many runs, one SQLite file

N_WRITERS = 4
N_POINTS = 25_000

WRITER = """
    import sys
    import jupyter_mm as mm

    i, n = int(sys.argv[1]), int(sys.argv[2])
    with mm.start_run(name=f"writer-{i}", params={"writer": i}) as run:
        print("ready", flush=True)
        assert sys.stdin.readline().strip() == "go"
        for step in range(n):
            mm.log_metric("loss", i + step / 1024)  # exact in float64
            if step % 10 == 0:
                mm.log_metric("every10", -step, step=step)
            if step % 250 == 249:
                run.flush()  # many small write transactions (plus the buffer's own): collisions
        print(run.id, flush=True)
"""

READER = """
    import os, sys
    import numpy as np
    from jupyter_mm.core.store import Store

    stop_file, n_writers = sys.argv[1], int(sys.argv[2])
    store = Store.open(os.environ["MM_TRACKING_URI"])
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    rounds = seen_points = unordered = 0
    last_len = {}
    while True:
        stopping = os.path.exists(stop_file)  # one more full round after the writers are done
        runs, _ = store.search_runs(
            filter="params.writer IN ('0', '1', '2', '3') AND metrics.loss >= 0",
            order_by=["metrics.loss DESC", "attributes.start_time ASC"],
            max_results=100,
        )
        losses = [r.metrics["loss"] for r in runs]
        if losses != sorted(losses, reverse=True):
            unordered += 1  # judged by test_search_page_is_one_snapshot, not here
        for r in runs:
            i = int(r.params["writer"])
            h = store.get_metric_history(r.id, "loss")
            n = len(h["step"])
            # a reader only ever sees whole committed batches, in order: a contiguous prefix
            assert np.array_equal(h["step"], np.arange(n)), (r.id, h["step"][:20])
            assert np.array_equal(h["value"], i + np.arange(n) / 1024), r.id
            assert n >= last_len.get(r.id, 0), "history shrank"
            last_len[r.id] = n
            seen_points += n
        rounds += 1
        if stopping:
            break
    print(f"rounds={rounds} unordered={unordered} runs={len(runs)} points={seen_points}", flush=True)
"""


def test_four_writers_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    Store.open(uri).close()  # schema in place; the racing first open has its own test below
    stop_file = tmp_path / "writers-done"

    writers = [_spawn(WRITER, uri, i, N_POINTS) for i in range(N_WRITERS)]
    reader = _spawn(READER, uri, stop_file, N_WRITERS)
    _wait_ready([*writers, reader])
    started = time.monotonic()
    _release([reader, *writers])
    outputs = _finish(writers)
    writing_seconds = time.monotonic() - started
    stop_file.touch()
    ((reader_out, _),) = _finish([reader])

    rounds = int(reader_out.split("rounds=")[1].split()[0])
    assert rounds >= 2, reader_out  # it really searched while the writers were writing

    run_ids = [out.split()[-1] for out, _ in outputs]
    with Store.open(uri) as store:
        for i, run_id in enumerate(run_ids):
            run = store.get_run(run_id)
            assert run.status == "FINISHED"
            assert run.params["writer"] == str(i)
            h = store.get_metric_history(run_id, "loss")
            assert len(h["step"]) == N_POINTS
            assert np.array_equal(h["step"], np.arange(N_POINTS))
            assert np.array_equal(h["value"], i + np.arange(N_POINTS) / 1024)
            h10 = store.get_metric_history(run_id, "every10")
            assert np.array_equal(h10["step"], np.arange(0, N_POINTS, 10))
            assert np.array_equal(h10["value"], -np.arange(0, N_POINTS, 10, dtype=float))
            assert run.latest_metrics["loss"].step == N_POINTS - 1
            assert run.metrics["loss"] == i + (N_POINTS - 1) / 1024
        found, _ = store.search_runs(
            filter="metrics.loss > 25", order_by=["metrics.loss ASC"], max_results=10
        )
        assert [r.id for r in found] == run_ids[1:]  # final losses: i + 24.41
    print(f"{N_WRITERS}x{N_POINTS} points in {writing_seconds:.1f} s; reader: {reader_out.strip()}")


# ------------------------------------------------------------------ search during writes

TICKER = """
    import os, sys, time
    from jupyter_mm.core.store import Store

    run_id, i, n_writers, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    store = Store.open(os.environ["MM_TRACKING_URI"])
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    end, b = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        b += 1
        ts = int(time.time() * 1000)
        # the runs overtake each other on every batch, and flip parity every batch
        store.log_batch(run_id, metrics=[("progress", float(b * n_writers + i), b, ts),
                                         ("parity", float(b % 2), b, ts)])
    store.close()
"""


def test_search_page_is_one_snapshot(sqlite_store: Store, tmp_path: Path) -> None:
    """A page of ``search_runs`` agrees with its own filter and order while runs are being written.

    The runs' latest metrics change many times a second; every page must still be sorted by the
    values it returns and contain only runs whose returned values match the filter.
    """
    uri = str(tmp_path / "store")
    n_writers, seconds = 3, 2.5
    run_ids = [sqlite_store.create_run(name=f"ticker-{i}").id for i in range(n_writers)]
    procs = [_spawn(TICKER, uri, run_ids[i], i, n_writers, seconds) for i in range(n_writers)]
    _wait_ready(procs)
    _release(procs)
    pages = bad = 0
    examples = []
    try:
        while any(p.poll() is None for p in procs) or pages == 0:
            runs, _ = sqlite_store.search_runs(
                filter="metrics.parity = 0", order_by=["metrics.progress DESC"], max_results=10
            )
            progress = [r.metrics["progress"] for r in runs]
            parity = [r.metrics["parity"] for r in runs]
            pages += 1
            if progress != sorted(progress, reverse=True) or any(p != 0 for p in parity):
                bad += 1
                if len(examples) < 3:
                    examples.append((progress, parity))
    finally:
        _finish(procs)
    assert pages >= 20
    assert bad == 0, (
        f"{bad} of {pages} pages were not consistent with their own filter/order, e.g. "
        f"(progress, parity) = {examples}"
    )


# ------------------------------------------------------------------ many writers, one run

BATCH_WRITER = """
    import os, sys, time
    from jupyter_mm.core.store import Store

    run_id, i, n_batches, size, n_writers = sys.argv[1], *map(int, sys.argv[2:6])
    store = Store.open(os.environ["MM_TRACKING_URI"])
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    for b in range(n_batches):
        ts = int(time.time() * 1000)
        points = []
        for j in range(b * size, (b + 1) * size):
            points.append((f"own{i}", float(j) + i / 8, j, ts))
            # the shared key interleaves the writers' steps: writer i owns steps = i (mod n)
            points.append(("shared", float(j * n_writers + i), j * n_writers + i, ts))
        store.log_batch(run_id, metrics=points, tags={f"writer{i}.batch": str(b)})
    store.close()
"""


def test_writers_sharing_one_run_lose_nothing(store: Store, store_uri: str) -> None:
    """Same run, same moment, distinct keys plus one shared key: every point lands exactly once.

    Runs on SQLite and on PostgreSQL (the ``store`` fixture's backends)."""
    n_writers, n_batches, size = 4, 40, 250
    run = store.create_run(name="shared")
    procs = [
        _spawn(BATCH_WRITER, store_uri, run.id, i, n_batches, size, n_writers)
        for i in range(n_writers)
    ]
    _wait_ready(procs)
    _release(procs)
    _finish(procs)

    per_writer = n_batches * size
    for i in range(n_writers):
        h = store.get_metric_history(run.id, f"own{i}")
        assert np.array_equal(h["step"], np.arange(per_writer))
        assert np.array_equal(h["value"], np.arange(per_writer) + i / 8)
    shared = store.get_metric_history(run.id, "shared")
    total = n_writers * per_writer
    assert len(shared["step"]) == total  # no point lost, none written twice
    assert np.array_equal(shared["step"], np.arange(total))  # sorted by step on read
    assert np.array_equal(shared["value"], np.arange(total, dtype=float))
    got = store.get_run(run.id)
    assert got.latest_metrics["shared"].step == total - 1
    assert {k: v for k, v in got.tags.items() if k.startswith("writer")} == {
        f"writer{i}.batch": str(n_batches - 1) for i in range(n_writers)
    }


# ------------------------------------------------------------------ racing first open

OPENER = """
    import os, sys
    from jupyter_mm.core.store import Store

    i = int(sys.argv[1])
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    store = Store.open(os.environ["MM_TRACKING_URI"])  # the first open of a brand-new store
    run = store.create_run(name=f"opener-{i}", params={"i": i})
    store.log_metric(run.id, "x", float(i), step=0)
    store.update_run(run.id, status="FINISHED")
    print(run.id, flush=True)
"""


def test_concurrent_first_open_of_a_new_store(tmp_path: Path) -> None:
    """Several processes open a store directory that does not exist yet: one migrates, all succeed."""
    uri = str(tmp_path / "brand-new" / "store")
    assert not (tmp_path / "brand-new").exists()
    _check_racing_first_open(uri, 5)


@pytest.mark.postgres
def test_concurrent_first_open_of_a_new_postgres_database(postgres_url: str) -> None:
    """The same race on an empty PostgreSQL database (a team's kernels starting together)."""
    _check_racing_first_open(postgres_url, 5)


def _check_racing_first_open(uri: str, n_openers: int) -> None:
    procs = [_spawn(OPENER, uri, i) for i in range(n_openers)]
    _wait_ready(procs)
    _release(procs)
    outputs = _finish(procs)
    run_ids = {out.split()[-1] for out, _ in outputs}
    assert len(run_ids) == n_openers

    with Store.open(uri) as store:
        assert migrate.current_revision(store.engine) == migrate.HEAD
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        runs, _ = store.search_runs(max_results=100)
        assert {r.id for r in runs} == run_ids
        assert sorted(r.metrics["x"] for r in runs) == [float(i) for i in range(n_openers)]
        assert all(r.status == "FINISHED" for r in runs)


# ------------------------------------------------------------------ racing experiment creation

EXPERIMENTS = """
    import json, os, sys
    from jupyter_mm.core.store import Store

    n_names = int(sys.argv[1])
    store = Store.open(os.environ["MM_TRACKING_URI"])
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    ids = {f"exp-{j}": store.get_or_create_experiment(f"exp-{j}") for j in range(n_names)}
    print(json.dumps(ids), flush=True)
"""


def test_racing_get_or_create_experiment_agrees_on_one_id(store: Store, store_uri: str) -> None:
    """Kernels starting together with ``mm.set_experiment("same name")``: every process gets the
    same experiment, none fails, and the name exists once. On SQLite and PostgreSQL."""
    n_procs, n_names = 5, 200
    procs = [_spawn(EXPERIMENTS, store_uri, n_names) for _ in range(n_procs)]
    _wait_ready(procs)
    _release(procs)
    outputs = _finish(procs)
    answers = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert all(a == answers[0] for a in answers), answers
    stored = {e.name: e.id for e in store.list_experiments() if e.name.startswith("exp-")}
    assert stored == answers[0]
    assert len(set(stored.values())) == n_names
