"""Import time: ``import jupyter_mm`` vs ``import mlflow``, each in fresh interpreter processes.

Primary figure: median wall time of ``python -c "import X"`` minus the median of ``python -c pass``
(interleaved runs, same environment). Cross-check: the cumulative time ``python -X importtime``
reports for the top-level package. Extra (no bar): a fresh process importing the package, opening an
existing local store and starting + ending one run ("cold start to first tracked run").

    python bench/import_time.py [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import _common as c

BENCH = "import_time"


_PYCACHE = tempfile.mkdtemp(prefix="mm-bench-pycache-")


def env() -> dict[str, str]:
    """Same environment for every variant. Byte-code is cached under a temp prefix for both
    packages alike (this machine sets PYTHONDONTWRITEBYTECODE and the source tree has no .pyc)."""
    e = dict(os.environ)
    e.update(c.MLFLOW_ENV)
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e["PYTHONPYCACHEPREFIX"] = _PYCACHE
    e["PYTHONPATH"] = str(c.REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def wall(code: str) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], env=env(), check=True, cwd=c.REPO, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - t


def importtime(module: str) -> float:
    """Cumulative microseconds ``-X importtime`` reports for ``module`` itself, in ms."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env(),
        check=True,
        cwd=c.REPO,
        capture_output=True,
        text=True,
    )
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", line)
        if m and m.group(2) == module:
            return int(m.group(1)) / 1000
    raise RuntimeError(f"no importtime line for {module}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7, help="fresh processes per variant (>=5)")
    ap.add_argument("--json")
    args = ap.parse_args()
    n = max(5, args.repeat)

    importtime("jupyter_mm"), importtime("mlflow")  # warm-up: byte-code cache, OS file cache
    reps = n
    it_mm = statistics.median(importtime("jupyter_mm") for _ in range(reps))
    it_ml = statistics.median(importtime("mlflow") for _ in range(reps))
    c.record(
        BENCH,
        "import (-X importtime, cumulative)",
        "ms",
        it_mm,
        it_ml,
        higher_is_better=False,
        bar=">=10x faster",
        met=it_ml / it_mm >= 10,
        note=f"median of {reps} fresh processes each; the interpreter's own per-module "
        "timer, free of process-spawn noise",
    )

    variants = {"bare": "pass", "mm": "import jupyter_mm", "mlflow": "import mlflow"}
    for code in variants.values():  # warm the OS file cache and write .pyc files
        wall(code)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(n):  # interleaved so drifts in machine load hit all variants alike
        for k, code in variants.items():
            times[k].append(wall(code))
    med = {k: statistics.median(v) for k, v in times.items()}
    ours_ms = max(med["mm"] - med["bare"], 0.0) * 1000
    ml_ms = (med["mlflow"] - med["bare"]) * 1000

    def iqr(v: list[float]) -> float:
        q = statistics.quantiles(v, n=4)
        return (q[2] - q[0]) * 1000

    noisy = iqr(times["bare"]) > ours_ms
    c.record(
        BENCH,
        "import (wall clock, minus bare interpreter)",
        "ms",
        ours_ms,
        ml_ms,
        higher_is_better=False,
        bar="(cross-check)",
        met=None,
        note=(
            f"median of {n} interleaved fresh processes each; bare `python -c pass` = "
            f"{med['bare'] * 1000:.0f} ms subtracted; IQR of single samples: bare "
            f"{iqr(times['bare']):.0f} ms, jupyter_mm {iqr(times['mm']):.0f} ms, mlflow "
            f"{iqr(times['mlflow']):.0f} ms"
            + (
                "; jupyter_mm's difference is below the spawn noise, see -X importtime"
                if noisy
                else ""
            )
        ),
    )

    # Cold start to the first tracked run, on stores that already exist (schema set up).
    with c.tempdir("import") as tmp:
        mm_store = tmp / "mm"
        ml_db = tmp / "mlflow.db"
        art = tmp / "mlartifacts"
        setup_mm = (
            f"import jupyter_mm as mm; mm.set_tracking_uri({str(mm_store)!r}); "
            "mm.set_experiment('bench')"
        )
        setup_ml = (
            "import mlflow; mlflow.set_tracking_uri(" + repr(f"sqlite:///{ml_db}") + "); "
            f"mlflow.create_experiment('bench', artifact_location={str(art)!r})"
        )
        subprocess.run([sys.executable, "-c", setup_mm], env=env(), check=True, cwd=tmp)
        subprocess.run(
            [sys.executable, "-c", setup_ml], env=env(), check=True, cwd=tmp, capture_output=True
        )
        run_mm = (
            f"import jupyter_mm as mm; mm.set_tracking_uri({str(mm_store)!r}); "
            "mm.set_experiment('bench')\nwith mm.start_run(): mm.log_metric('x', 1.0)"
        )
        run_ml = (
            "import mlflow; mlflow.set_tracking_uri(" + repr(f"sqlite:///{ml_db}") + "); "
            "mlflow.set_experiment('bench')\nwith mlflow.start_run(): mlflow.log_metric('x', 1.0)"
        )
        wall(run_mm), wall(run_ml)
        reps = 3
        fr_mm, fr_ml = [], []
        for _ in range(reps):
            fr_mm.append(wall(run_mm))
            fr_ml.append(wall(run_ml))
        bare = med["bare"]
        a = (statistics.median(fr_mm) - bare) * 1000
        b = (statistics.median(fr_ml) - bare) * 1000
        c.record(
            BENCH,
            "fresh process: import + first run (existing store)",
            "ms",
            a,
            b,
            higher_is_better=False,
            note=f"median of {reps}; set URI + experiment, start run, log 1 metric, end run; "
            "bare interpreter subtracted",
        )
    shutil.rmtree(_PYCACHE, ignore_errors=True)
    c.emit()


if __name__ == "__main__":
    main()
