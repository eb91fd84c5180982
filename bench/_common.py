"""Shared helpers for the side-by-side benchmarks (jupyter-mm vs MLflow on the same machine).

Every script prints a small table and one ``BENCH_JSON {...}`` line per figure on stdout;
``bench/run_all.py`` collects those lines. ``--json FILE`` also appends them to FILE.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a source checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

# MLflow: no URL banner, no INFO chatter, no telemetry thread (local-only comparison).
MLFLOW_ENV = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "1",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}
os.environ.update(MLFLOW_ENV)

_rows: list[dict[str, Any]] = []


def quiet_mlflow() -> None:
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def tempdir(prefix: str):
    d = tempfile.mkdtemp(prefix=f"mm-bench-{prefix}-")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def median_time(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs (after ``warmup`` runs)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def db_bytes(path: Path | str) -> int:
    """Size of an SQLite database file after folding its WAL back in (WAL truncated to 0)."""
    path = str(path)
    con = sqlite3.connect(path, timeout=60)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        con.close()
    size = os.path.getsize(path)
    for suffix in ("-wal", "-journal"):
        if os.path.exists(path + suffix):
            size += os.path.getsize(path + suffix)
    return size


def record(
    bench: str,
    name: str,
    unit: str,
    ours: float | None,
    mlflow: float | None,
    *,
    higher_is_better: bool,
    bar: str = "",
    met: bool | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One figure. ``ratio`` is always "how many times better ours is" (>1 = ours better)."""
    ratio = None
    if ours is not None and mlflow is not None and ours > 0 and mlflow > 0:
        ratio = ours / mlflow if higher_is_better else mlflow / ours
    row = {
        "bench": bench,
        "name": name,
        "unit": unit,
        "ours": ours,
        "mlflow": mlflow,
        "ratio": ratio,
        "higher_is_better": higher_is_better,
        "bar": bar,
        "met": met,
        "note": note,
    }
    _rows.append(row)
    return row


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    if unit in ("ms",) or x < 10:
        s = f"{x:,.3g}" if x < 100 else f"{x:,.0f}"
    else:
        s = f"{x:,.0f}"
    return s


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return f"{r:,.0f}x" if r >= 100 else f"{r:,.1f}x"


def emit() -> None:
    """Print the table and the JSON lines (and append them to ``--json FILE`` if given)."""
    header = ("figure", "unit", "jupyter-mm", "MLflow", "ratio", "bar", "met")
    lines = [
        (
            r["name"],
            r["unit"],
            fmt(r["ours"], r["unit"]),
            fmt(r["mlflow"], r["unit"]),
            fmt_ratio(r["ratio"]),
            r["bar"] or "",
            {True: "yes", False: "NO", None: ""}[r["met"]],
        )
        for r in _rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    for line in (header, tuple("-" * w for w in widths), *lines):
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    notes = [f"- {r['name']}: {r['note']}" for r in _rows if r["note"]]
    if notes:
        print("\n".join(notes))
    out = None
    if "--json" in sys.argv:
        out = sys.argv[sys.argv.index("--json") + 1]
    for r in _rows:
        line = json.dumps(r)
        print("BENCH_JSON " + line)
        if out:
            with open(out, "a") as f:
                f.write(line + "\n")
    sys.stdout.flush()


def noisy_loss(n: int, seed: int = 0) -> list[float]:
    """A realistic training curve: exponentially decaying loss plus Gaussian noise (Python floats)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    i = np.arange(n, dtype=np.float64)
    v = 2.5 * np.exp(-i / (n / 5)) + 0.1 + rng.normal(0.0, 0.02, n)
    return [float(x) for x in v]


# ----------------------------------------------------------------------------- UI benches


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline_s: float) -> None:
    """Wait until ``url`` answers (any HTTP status), at most ``deadline_s`` seconds."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > end:
                raise TimeoutError(f"JupyterLab did not answer {url} in {deadline_s} s") from None
            time.sleep(0.2)


@contextmanager
def jupyterlab(store_dir: Path, port: int | None = None) -> Iterator[str]:
    """JupyterLab on the store ``store_dir`` with the UI tests' server configuration (the working
    tree's package and its labextension as last built by ``jlpm build``, in a temporary root);
    yields its base URL, ``http://127.0.0.1:PORT`` (no trailing slash)."""
    port = port or free_port()
    with tempdir("ui-root") as root:
        env = {
            **os.environ,
            "MM_TRACKING_URI": str(store_dir),
            "JUPYTERLAB_GALATA_ROOT_DIR": str(root),
            "MM_UI_PORT": str(port),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--config", "jupyter_server_test_config.py"],
            cwd=REPO / "ui-tests",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/jupyter-mm/api/status", 120)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def browser(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``bench/<script>`` in node (cwd ``ui-tests``, whose Playwright drives Debian's
    Chromium) and return the JSON object of its last line of output."""
    out = subprocess.run(
        [shutil.which("node") or "node", str(REPO / "bench" / script), *args],
        cwd=REPO / "ui-tests",
        env={**os.environ, **(env or {})},
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])
