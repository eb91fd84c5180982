"""Drift of 1,000,000 current rows x 20 features against a frozen reference profile, bank preset
(bar: under 2 s on a 2-core machine, issue 12), side by side with the same statistics computed by
plain scipy/numpy on the raw reference data (what a monitor without profiles has to do).

- Data: 16 numeric features N(650, 80) and 4 categorical ones (8 levels, pandas ``category``);
  the current data is the reference's "mild shift" (0.125 sd, 2 points moved between the top two
  levels). Reference and current both 1,000,000 rows.
- jupyter-mm: ``drift(profile, current, preset="bank")`` (PSI/CSI on the frozen deciles), and
  ``preset="evidently-compatible"`` (normed Wasserstein / Jensen-Shannon from the profile). The
  profile is built once beforehand (its time and size are reported too; it is paid at
  registration, not per check). Median of 3 after one warm-up, so imports are not counted.
- Comparison column (the one headed "MLflow" in the shared table: MLflow has no drift code):
  on the raw reference, per numeric feature ``np.quantile`` deciles + ``np.histogram`` PSI, and
  ``scipy.stats.ks_2samp`` + ``wasserstein_distance``; per categorical feature ``value_counts``
  + ``chi2_contingency``. Median of 3.

- ``--others``: then ``bench/drift_others.py`` (Evidently's DataDriftPreset and NannyML, each in
  its own cached virtualenv, on the same data; verdicts per feature compared).

    python bench/drift.py [--rows 1000000] [--others]
"""

from __future__ import annotations

import argparse
import time

import _common as c

BENCH = "drift"
NUMERIC, CATEGORICAL = 16, 4
LEVELS = list("ABCDEFGH")
PROBS = [0.30, 0.20, 0.15, 0.10, 0.10, 0.06, 0.05, 0.04]


def frame(n: int, shift: float, move: float, seed: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    probs = list(PROBS)
    probs[0] -= move
    probs[1] += move
    cols = {f"num{i}": rng.normal(650 + shift * 80, 80 + shift * 40, n) for i in range(NUMERIC)}
    for i in range(CATEGORICAL):
        cols[f"cat{i}"] = pd.Categorical(rng.choice(LEVELS, n, p=probs), categories=LEVELS)
    return pd.DataFrame(cols)


def scipy_raw(ref, cur) -> None:  # type: ignore[no-untyped-def]
    """The same statistics from the raw reference, as a monitor without profiles computes them."""
    import numpy as np
    from scipy import stats

    for col in ref.columns:
        if col.startswith("num"):
            r, q = ref[col].to_numpy(), cur[col].to_numpy()
            edges = np.quantile(r, np.linspace(0, 1, 11))
            edges[0], edges[-1] = -np.inf, np.inf
            p = np.clip(np.histogram(r, edges)[0] / r.size, 1e-4, None)
            s = np.clip(np.histogram(q, edges)[0] / q.size, 1e-4, None)
            float(np.sum((s - p) * np.log(s / p)))
            stats.ks_2samp(r, q)
            stats.wasserstein_distance(r, q) / r.std()
        else:
            table = np.vstack([ref[col].value_counts(sort=False).to_numpy(),
                               cur[col].value_counts(sort=False).to_numpy()])  # fmt: skip
            stats.chi2_contingency(table)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json")
    ap.add_argument("--others", action="store_true", help="also run bench/drift_others.py")
    args = ap.parse_args()
    from jupyter_mm.monitoring import build_profile, drift

    n = args.rows
    ref = frame(n, 0.0, 0.0, seed=0)
    cur = frame(n, 0.125, 0.02, seed=1)
    t = time.perf_counter()
    profile = build_profile(ref)
    build_s = time.perf_counter() - t
    size_kb = len(profile.to_bytes()) / 1024
    bank, _ = c.median_time(lambda: drift(profile, cur, preset="bank"), repeat=3)
    evid, _ = c.median_time(lambda: drift(profile, cur, preset="evidently-compatible"), repeat=3)
    raw, _ = c.median_time(lambda: scipy_raw(ref, cur), repeat=3)
    shape = f"{n:,} rows x {NUMERIC + CATEGORICAL} features"
    c.record(BENCH, f"bank preset vs frozen profile, {shape}", "s", bank, raw,
             higher_is_better=False, bar="< 2 s", met=bank < 2.0,
             note="comparison: PSI + KS + Wasserstein + chi2 by scipy on raw reference")  # fmt: skip
    c.record(BENCH, f"evidently-compatible preset vs frozen profile, {shape}", "s", evid, raw,
             higher_is_better=False,
             note="comparison: the same scipy calls on raw reference")  # fmt: skip
    c.record(BENCH, f"build the reference profile, {shape}", "s", build_s, None,
             higher_is_better=False, note="once, at registration")  # fmt: skip
    c.record(BENCH, "reference profile size, 20 features", "KiB", size_kb, None,
             higher_is_better=False)  # fmt: skip
    c.emit()
    if args.others:
        import subprocess
        import sys
        from pathlib import Path

        others = [
            sys.executable,
            str(Path(__file__).with_name("drift_others.py")),
            "--rows",
            str(n),
        ]
        subprocess.run(others + (["--json", args.json] if args.json else []), check=False)


if __name__ == "__main__":
    main()
