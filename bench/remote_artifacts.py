"""Logging a folder of artifacts to a remote tracking server: ``mm.log_artifacts`` with
``MM_TRACKING_URI`` set to a Jupyter server running jupyter-mm, vs ``mlflow.log_artifacts`` with
``MLFLOW_TRACKING_URI`` set to ``mlflow server`` (proxied artifact uploads, ``--artifacts-destination``
on local disk; both servers started as in bench/mlflow_server.py, over loopback HTTP).

The folder: ``--files`` small files (``--file-kb`` each, distinct contents) and one large file
(``--big-mb``). Timed twice, each time into a new run: the first upload, and the same folder
again (a re-run of the cell that saves the model and its reports). Every file is read back
from each server and compared.

    python bench/remote_artifacts.py [--files 200] [--file-kb 20] [--big-mb 20]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

import _common as c
from mlflow_server import both_servers

BENCH = "remote_artifacts"


def make_folder(root: Path, files: int, file_kb: int, big_mb: int) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for i in range(files):
        contents[f"reports/part-{i:04d}.json"] = os.urandom(file_kb * 1024)
    contents["model/weights.bin"] = os.urandom(big_mb * 1024 * 1024)
    for rel, data in contents.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return contents


def ours_times(root_url: str, token: str, spool: str, folder: Path, want: dict) -> list[float]:
    os.environ.update(MM_TRACKING_TOKEN=token, MM_SPOOL_DIR=spool)
    import jupyter_mm as mm

    mm.set_tracking_uri(root_url)
    times = []
    for attempt in range(2):
        with mm.start_run(name=f"artifacts-{attempt}") as run:
            t0 = time.perf_counter()
            mm.log_artifacts(folder)
            times.append(time.perf_counter() - t0)
        for rel in ("model/weights.bin", "reports/part-0000.json"):
            assert mm.load_artifact(run, rel) == want[rel], "artifact changed on the server"
        assert len(mm.list_artifacts(run, recursive=True)) == len(want)
    mm.set_tracking_uri(None)
    return times


def mlflow_times(uri: str, folder: Path, want: dict, tmp: Path) -> list[float]:
    import mlflow

    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    mlflow.set_tracking_uri(uri)
    times = []
    for attempt in range(2):
        with mlflow.start_run(run_name=f"artifacts-{attempt}") as run:
            t0 = time.perf_counter()
            mlflow.log_artifacts(str(folder))
            times.append(time.perf_counter() - t0)
        out = Path(
            mlflow.artifacts.download_artifacts(
                run_id=run.info.run_id, artifact_path="model", dst_path=str(tmp / f"dl{attempt}")
            )
        )
        assert (out / "weights.bin").read_bytes() == want["model/weights.bin"]
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--file-kb", type=int, default=20)
    ap.add_argument("--big-mb", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()
    c.quiet_mlflow()
    token = secrets.token_hex(16)
    with (
        c.tempdir("art-mm") as tmp_mm,
        c.tempdir("art-mlflow") as tmp_ml,
        c.tempdir("art-src") as src,
    ):
        want = make_folder(src / "out", args.files, args.file_kb, args.big_mb)
        with both_servers(tmp_mm, tmp_ml, token) as pair:
            try:
                ours = ours_times(pair.ours_root, token, str(tmp_mm / "spool"), src / "out", want)
            except Exception:
                print(f"--- jupyter server log (tail):\n{pair.ours.tail()}", file=sys.stderr)
                raise
            ml = mlflow_times(pair.mlflow_uri, src / "out", want, tmp_ml)
    folder = f"{args.files} files of {args.file_kb} KB + one of {args.big_mb} MB"
    c.record(
        BENCH,
        "(extra) remote log_artifacts of a folder, first upload",
        "s",
        ours[0],
        ml[0],
        higher_is_better=False,
        note=f"{folder}; ours: each content once (PUT blobs/sha256), then every path in one "
        "request, all or none; MLflow: one PUT per file; loopback HTTP",
    )
    c.record(
        BENCH,
        "(extra) remote log_artifacts of the same folder again, into a new run",
        "s",
        ours[1],
        ml[1],
        higher_is_better=False,
        note=f"{folder}; ours: one POST blobs/missing finds every content on the server "
        "already, so only the paths are sent; MLflow uploads everything again",
    )
    c.emit()


if __name__ == "__main__":
    main()
