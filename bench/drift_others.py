"""Evidently's DataDriftPreset and NannyML's univariate drift calculator on the data of
``bench/drift.py`` (1,000,000 reference and current rows x 20 features, the "mild shift"), side by
side with jupyter-mm's presets, with the verdicts per feature compared (issue 12).

Neither tool is a dependency of jupyter-mm: each is installed from PyPI into its own virtualenv,
created once and cached under ``~/.cache/jupyter-mm-bench/<tool>/`` (``MM_BENCH_CACHE`` moves
it). Current versions are tried first, then pins known to work with Python 3.11 and numpy 2
(``pandas<3``: both import pandas internals that pandas 3 removed; NannyML 0.13 imports
statsmodels without declaring it). A tool that will not install or import is reported with
pip's (or Python's) last error line, not a figure.

The data are written once to Parquet (same seeds and shift as ``drift.py``); each tool runs in its
venv's Python: the Parquet read and imports are not timed, one timed run (the tools take tens of
seconds; a median of 3 would triple that), peak RSS from ``getrusage`` (it includes the data).

- Evidently: ``Report([DataDriftPreset()]).run(reference, current)``; per column its default test
  (at this size: normed Wasserstein for numeric, Jensen-Shannon for categorical, threshold 0.1),
  drifted when the distance is >= the threshold (a p-value: < the threshold).
- NannyML: ``UnivariateDriftCalculator`` with its default methods (Jensen-Shannon for both kinds)
  and chunks of 100,000 rows (its thresholds are the reference chunks' mean +/- 3 sd: one chunk
  would give a zero threshold and alert on everything); a feature is drifted when any of the 10
  current chunks alerts.
- Compared with ours: ``evidently-compatible`` against Evidently (the same tests: they should
  agree), ``bank`` (PSI/CSI on frozen deciles, bands 0.1/0.25) against both.

    python bench/drift_others.py [--rows 1000000]     # or: python bench/drift.py --others
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c

BENCH = "drift"
HERE = Path(__file__).resolve().parent

#: For each tool: the import that proves it works, then the pip requirement sets to try in order.
TOOLS: dict[str, dict[str, Any]] = {
    "evidently": {
        "check": "from evidently import Report; from evidently.presets import DataDriftPreset",
        "attempts": [
            ["evidently", "pyarrow"],
            ["evidently", "pyarrow", "pandas<3"],
            ["evidently<0.7", "pyarrow", "pandas<3", "numpy<2.3"],
        ],  # fmt: skip
    },
    "nannyml": {
        "check": "import nannyml; nannyml.UnivariateDriftCalculator",
        "attempts": [
            ["nannyml", "pyarrow"],
            ["nannyml", "pyarrow", "pandas<3", "statsmodels"],
            ["nannyml", "pyarrow", "pandas<2.3", "numpy<2", "statsmodels"],
        ],  # fmt: skip
    },
}


def cache() -> Path:
    return Path(os.environ.get("MM_BENCH_CACHE", Path.home() / ".cache" / "jupyter-mm-bench"))


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines()
             if ln.strip() and not ln.startswith("WARNING: Location")]  # fmt: skip
    return lines[-1].strip() if lines else "?"


def ensure_venv(tool: str) -> dict[str, Any]:
    """``{"python", "versions", "pins"}`` of a working venv for ``tool``, or ``{"error"}``."""
    spec = TOOLS[tool]
    venv = cache() / tool
    marker = venv / ".mm-bench-ready.json"
    if marker.is_file():
        return dict(json.loads(marker.read_text()))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    errors = []
    for reqs in spec["attempts"]:
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", *reqs],
                             capture_output=True, text=True)  # fmt: skip
        if pip.returncode != 0:
            errors.append(f"pip install {' '.join(reqs)}: {_last_line(pip.stderr)}")
            continue
        probe = subprocess.run([str(python), "-c", spec["check"]], capture_output=True, text=True)
        if probe.returncode != 0:
            errors.append(f"import after pip install {' '.join(reqs)}: "
                          f"{_last_line(probe.stderr)}")  # fmt: skip
            continue
        versions = {}
        for pkg in (tool, "numpy", "pandas", "scipy", "pyarrow"):
            out = subprocess.run(
                [str(python), "-c", f"import importlib.metadata as m; print(m.version({pkg!r}))"],
                capture_output=True, text=True,
            )  # fmt: skip
            versions[pkg] = out.stdout.strip() or "?"
        info = {"python": str(python), "versions": versions, "pins": reqs, "earlier": errors}
        marker.write_text(json.dumps(info, indent=1))
        return info
    return {"error": "; ".join(errors)}


RUNNER = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
tool, ref_path, cur_path = sys.argv[1:4]
ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
loaded_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {"verdicts": {}}
if tool == "evidently":
    from evidently import Report
    from evidently.presets import DataDriftPreset
    t = time.perf_counter()
    snap = Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur)
    out["seconds"] = time.perf_counter() - t
    for m in snap.dict()["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("ValueDrift"):
            method, thr, value = cfg["method"], cfg["threshold"], float(m["value"])
            drifted = value < thr if "p_value" in method else value >= thr
            out["verdicts"][cfg["column"]] = {"method": method, "statistic": value,
                                              "threshold": thr, "drifted": bool(drifted)}
        elif cfg["type"].endswith("DriftedColumnsCount"):
            out["dataset_drift"] = m["value"]["share"] >= cfg["drift_share"]
            out["drift_share"] = m["value"]["share"]
else:
    import nannyml as nml
    cols = list(ref.columns)
    t = time.perf_counter()
    calc = nml.UnivariateDriftCalculator(column_names=cols, chunk_size=100_000)
    calc.fit(ref)
    res = calc.calculate(cur).filter(period="analysis").to_df()
    out["seconds"] = time.perf_counter() - t
    for col in cols:
        sub = res[col]
        method = sub.columns.get_level_values(0)[0]
        alerts = sub[(method, "alert")].astype(bool)
        out["verdicts"][col] = {"method": method,
                                "statistic": float(sub[(method, "value")].mean()),
                                "threshold": float(sub[(method, "upper_threshold")].iloc[0]),
                                "drifted": bool(alerts.any()),
                                "chunks_alerting": f"{int(alerts.sum())}/{len(alerts)}"}
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["data_rss_mib"] = loaded_kib / 1024
print("RESULT " + json.dumps(out))
"""


def data_files(n: int) -> tuple[Path, Path]:
    """The reference and current frames of ``drift.py`` as Parquet (written once per size)."""
    from drift import frame

    folder = cache() / "data"
    folder.mkdir(parents=True, exist_ok=True)
    ref, cur = folder / f"drift-ref-{n}.parquet", folder / f"drift-cur-{n}.parquet"
    if not (ref.is_file() and cur.is_file()):
        frame(n, 0.0, 0.0, seed=0).to_parquet(ref)
        frame(n, 0.125, 0.02, seed=1).to_parquet(cur)
    return ref, cur


def run_tool(tool: str, info: dict[str, Any], ref: Path, cur: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(RUNNER)
    try:
        proc = subprocess.run([info["python"], f.name, tool, str(ref), str(cur)],
                              capture_output=True, text=True)  # fmt: skip
    finally:
        os.unlink(f.name)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    return {"error": f"{tool} failed: {_last_line(proc.stderr)}"}


def ours(n: int, ref_path: Path, cur_path: Path) -> dict[str, Any]:
    import pandas as pd

    from jupyter_mm.monitoring import build_profile, drift

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    profile = build_profile(ref)
    out: dict[str, Any] = {}
    for preset in ("bank", "evidently-compatible"):
        drift(profile, cur, preset=preset)  # warm-up: imports are not counted
        t = time.perf_counter()
        frame = drift(profile, cur, preset=preset).to_frame()
        out[preset] = {"seconds": time.perf_counter() - t,
                       "verdicts": {r.feature: {"method": r.method, "statistic": r.statistic,
                                                "drifted": bool(r.drifted), "band": r.band}
                                    for r in frame.itertuples()}}  # fmt: skip
    return out


def agreement(a: dict[str, Any], b: dict[str, Any]) -> tuple[int, int, list[str]]:
    common = [f for f in a if f in b]
    differ = [f for f in common if a[f]["drifted"] != b[f]["drifted"]]
    return len(common) - len(differ), len(common), differ


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    n = args.rows
    ref, cur = data_files(n)
    mine = ours(n, ref, cur)
    shape = f"{n:,} rows x 20 features"
    results: dict[str, dict[str, Any]] = {}
    for tool in TOOLS:
        info = ensure_venv(tool)
        if "error" in info:
            results[tool] = info
            print(f"{tool}: not installed: {info['error']}")
            c.record(BENCH, f"{tool}: did not install", "s", None, None,
                     higher_is_better=False, note=info["error"][:300])  # fmt: skip
            continue
        res = run_tool(tool, info, ref, cur)
        res["versions"] = info["versions"]
        res["pins"] = info["pins"]
        results[tool] = res
        if "error" in res:
            print(res["error"])
            continue
        ver = info["versions"][tool]
        c.record(BENCH, f"bank preset vs {tool} {ver}, {shape}", "s", mine["bank"]["seconds"],
                 res["seconds"], higher_is_better=False,
                 note=f"{tool} peak RSS {res['peak_rss_mib']:.0f} MiB "
                      f"(data alone {res['data_rss_mib']:.0f} MiB)")  # fmt: skip
        c.record(BENCH, f"evidently-compatible preset vs {tool} {ver}, {shape}", "s",
                 mine["evidently-compatible"]["seconds"], res["seconds"],
                 higher_is_better=False)  # fmt: skip
    print("\nverdicts per feature (drifted = True):")
    header = ["feature", "ours bank", "ours evidently-compatible", "evidently", "nannyml"]
    print(" | ".join(header))
    features = list(mine["bank"]["verdicts"])
    for f in features:
        cells = [f, mine["bank"]["verdicts"][f]["band"],
                 f"{mine['evidently-compatible']['verdicts'][f]['statistic']:.4f} "
                 f"{mine['evidently-compatible']['verdicts'][f]['drifted']}"]  # fmt: skip
        for tool in TOOLS:
            v = results[tool].get("verdicts", {}).get(f)
            cells.append("—" if v is None else f"{v['statistic']:.4f} {v['drifted']}")
        print(" | ".join(cells))
    pairs = [("bank", "evidently"), ("evidently-compatible", "evidently"), ("bank", "nannyml"),
             ("evidently-compatible", "nannyml")]  # fmt: skip
    print("\nagreement:")
    for ours_preset, tool in pairs:
        theirs = results[tool].get("verdicts")
        if theirs:
            agree, total, differ = agreement(mine[ours_preset]["verdicts"], theirs)
            print(f"  {ours_preset} vs {tool}: {agree}/{total} agree"
                  f"{'; differ on ' + ', '.join(differ) if differ else ''}")  # fmt: skip
    summary = {"ours": mine, "others": results}
    print("\nSUMMARY " + json.dumps(summary, default=str))
    c.emit()


if __name__ == "__main__":
    main()
