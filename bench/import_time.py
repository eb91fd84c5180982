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
import statistics
import subprocess
import sys
import time

import _common as c

BENCH = "import_time"


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(c.MLFLOW_ENV)
    e["PYTHONPATH"] = str(c.REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def wall(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env(), check=True, cwd=c.REPO,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def importtime(module: str) -> float:
    """Cumulative microseconds ``-X importtime`` reports for ``module`` itself, in ms."""
    p = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=env(),
                       check=True, cwd=c.REPO, capture_output=True, text=True)
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", line)
        if m and m.group(2) == module:
            return int(m.group(1)) / 1000
    raise RuntimeError(f"no importtime line for {module}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9, help="fresh processes per variant (>=5)")
    ap.add_argument("--json")
    args = ap.parse_args()
    n = max(5, args.repeat)

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
    spread = (statistics.quantiles(times["mm"], n=4)[2] - statistics.quantiles(times["mm"], n=4)[0]) * 1000
    ratio_ok = ours_ms > 0 and ml_ms / ours_ms >= 10
    c.record(
        BENCH, "import (wall, minus bare interpreter)", "ms", ours_ms, ml_ms,
        higher_is_better=False, bar=">=10x faster", met=ratio_ok or ours_ms == 0,
        note=(f"median of {n} interleaved fresh processes each; bare `python -c pass` = "
              f"{med['bare'] * 1000:.0f} ms subtracted; jupyter_mm IQR {spread:.1f} ms"),
    )

    reps = 3
    it_mm = statistics.median(importtime("jupyter_mm") for _ in range(reps))
    it_ml = statistics.median(importtime("mlflow") for _ in range(reps))
    c.record(BENCH, "import (-X importtime, cumulative)", "ms", it_mm, it_ml,
             higher_is_better=False, bar=">=10x faster", met=it_ml / it_mm >= 10,
             note=f"median of {reps} processes; cross-check of the wall-clock figure")

    # Cold start to the first tracked run, on stores that already exist (schema set up).
    with c.tempdir("import") as tmp:
        mm_store = tmp / "mm"
        ml_db = tmp / "mlflow.db"
        art = tmp / "mlartifacts"
        setup_mm = (f"import jupyter_mm as mm; mm.set_tracking_uri({str(mm_store)!r}); "
                    "mm.set_experiment('bench')")
        setup_ml = ("import mlflow; mlflow.set_tracking_uri(" + repr(f"sqlite:///{ml_db}") + "); "
                    f"mlflow.create_experiment('bench', artifact_location={str(art)!r})")
        subprocess.run([sys.executable, "-c", setup_mm], env=env(), check=True, cwd=tmp)
        subprocess.run([sys.executable, "-c", setup_ml], env=env(), check=True, cwd=tmp,
                       capture_output=True)
        run_mm = (f"import jupyter_mm as mm; mm.set_tracking_uri({str(mm_store)!r}); "
                  "mm.set_experiment('bench')\nwith mm.start_run(): mm.log_metric('x', 1.0)")
        run_ml = ("import mlflow; mlflow.set_tracking_uri(" + repr(f"sqlite:///{ml_db}") + "); "
                  "mlflow.set_experiment('bench')\nwith mlflow.start_run(): mlflow.log_metric('x', 1.0)")
        wall(run_mm), wall(run_ml)
        reps = 5
        fr_mm, fr_ml = [], []
        for _ in range(reps):
            fr_mm.append(wall(run_mm))
            fr_ml.append(wall(run_ml))
        bare = med["bare"]
        a = (statistics.median(fr_mm) - bare) * 1000
        b = (statistics.median(fr_ml) - bare) * 1000
        c.record(BENCH, "fresh process: import + first run (existing store)", "ms", a, b,
                 higher_is_better=False,
                 note=f"median of {reps}; set URI + experiment, start run, log 1 metric, end run; "
                      "bare interpreter subtracted")
    c.emit()


if __name__ == "__main__":
    main()
