"""Artifacts, figures and datasets through the ``mm.*`` API, read back through it too."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store

pytestmark = pytest.mark.usefixtures("store_dir")

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ files, bytes, text


def test_log_artifact_file_and_bytes(tmp_path: Path) -> None:
    src = tmp_path / "model.pkl"
    src.write_bytes(b"\x00weights\xff" * 1000)
    with mm.start_run() as run:
        assert mm.log_artifact(src) == "model.pkl"  # name defaults to the file name
        assert mm.log_artifact(src, name="models/v1.pkl") == "models/v1.pkl"
        assert mm.log_artifact(b"raw bytes", name="blob.bin") == "blob.bin"
        with pytest.raises(mm.InvalidInput, match="name"):
            mm.log_artifact(b"no name")
        with pytest.raises(mm.InvalidInput):
            mm.log_artifact(tmp_path / "missing.txt")
        with pytest.raises(mm.InvalidInput):
            mm.log_artifact(tmp_path)  # a directory: that is log_artifacts
    infos = {a.path: a for a in mm.list_artifacts(run)}
    assert set(infos) == {"model.pkl", "models/v1.pkl", "blob.bin"}
    assert infos["model.pkl"].size == 9_000
    assert infos["model.pkl"].digest == hashlib.sha256(src.read_bytes()).hexdigest()
    assert infos["model.pkl"].digest == infos["models/v1.pkl"].digest  # stored once, named twice
    assert mm.load_artifact(run, "model.pkl") == src.read_bytes()
    assert mm.load_artifact(run.id, "blob.bin") == b"raw bytes"


def test_log_artifacts_stores_all_files_or_none(tmp_path: Path) -> None:
    src = tmp_path / "out"
    (src / "report").mkdir(parents=True)
    (src / "a-metrics.json").write_text("{}")
    (src / "report" / "index.html").write_text("<p>")
    with mm.start_run() as run:
        mm.log_artifact(b"a file, not a folder", name="report")
        with pytest.raises(mm.InvalidInput, match="clashes with the existing artifact 'report'"):
            mm.log_artifacts(src)
        assert mm.log_artifacts(tmp_path / "out" / "report", prefix="html") == ["html/index.html"]
    assert [a.path for a in mm.list_artifacts(run, recursive=True)] == ["html/index.html", "report"]


def test_log_artifacts_keeps_relative_paths(tmp_path: Path) -> None:
    src = tmp_path / "out"
    (src / "plots" / "deep").mkdir(parents=True)
    (src / "metrics.json").write_text('{"auc": 0.8}')
    (src / "plots" / "roc.svg").write_text("<svg/>")
    (src / "plots" / "deep" / "ks.txt").write_text("ks=0.4")
    (src / "empty").mkdir()
    with mm.start_run() as run:
        stored = mm.log_artifacts(src)
        prefixed = mm.log_artifacts(src / "plots", prefix="copy")
    assert stored == ["metrics.json", "plots/deep/ks.txt", "plots/roc.svg"]
    assert prefixed == ["copy/deep/ks.txt", "copy/roc.svg"]
    top = mm.list_artifacts(run, recursive=False)
    assert [(a.path, a.is_dir) for a in top] == [
        ("copy", True),
        ("metrics.json", False),
        ("plots", True),
    ]
    assert [a.path for a in mm.list_artifacts(run, "plots")] == [
        "plots/deep/ks.txt",
        "plots/roc.svg",
    ]
    dest = tmp_path / "dl"
    mm.download_artifacts(run, dest=dest)
    assert _tree(dest) == {**_tree(src), "copy/deep/ks.txt": b"ks=0.4", "copy/roc.svg": b"<svg/>"}
    one = mm.download_artifacts(run, "plots/roc.svg", dest=tmp_path / "one")
    assert Path(one) == tmp_path / "one" / "plots" / "roc.svg"
    assert Path(one).read_text() == "<svg/>"
    folder = mm.download_artifacts(run, "plots", dest=tmp_path / "folder")
    assert _tree(Path(folder)) == _tree(src / "plots")


def test_log_text_is_utf8_text() -> None:
    with mm.start_run() as run:
        assert mm.log_text("über ✓\nline 2", "notes/readme.txt") == "notes/readme.txt"
    (info,) = mm.list_artifacts(run)
    assert info.media_type == "text/plain"
    assert mm.load_artifact(run, "notes/readme.txt").decode("utf-8") == "über ✓\nline 2"


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "C:/x", "a/\x00b"])
def test_path_traversal_names_are_rejected(tmp_path: Path, bad: str) -> None:
    with mm.start_run() as run:
        mm.log_text("inside", "ok.txt")
        with pytest.raises(mm.InvalidInput):
            mm.log_artifact(b"x", name=bad)
        with pytest.raises(mm.InvalidInput):
            mm.log_text("x", bad)
    with pytest.raises(mm.InvalidInput):
        mm.load_artifact(run, bad)
    with pytest.raises(mm.InvalidInput):
        mm.download_artifacts(run, bad, dest=tmp_path / "dl")
    assert [a.path for a in mm.list_artifacts(run)] == ["ok.txt"]
    assert not (tmp_path / "x").exists()


def test_missing_artifact_is_not_found(tmp_path: Path) -> None:
    with mm.start_run() as run:
        pass
    with pytest.raises(mm.NotFound):
        mm.load_artifact(run, "nope.txt")
    with pytest.raises(mm.NotFound):
        mm.download_artifacts(run, "nope.txt", dest=tmp_path)


def test_corrupted_blob_is_detected(mm_store: Store, tmp_path: Path) -> None:
    with mm.start_run() as run:
        mm.log_artifact(b"precious", name="p.bin")
    (info,) = mm.list_artifacts(run)
    blob = Path(mm_store.location.artifact_url or "") / "sha256" / info.digest[:2] / info.digest[2:]
    assert blob.read_bytes() == b"precious"
    blob.write_bytes(b"tampered")
    with pytest.raises(mm.IntegrityError):
        mm.load_artifact(run, "p.bin")
    with pytest.raises(mm.IntegrityError):
        mm.download_artifacts(run, "p.bin", dest=tmp_path / "dl")


# ------------------------------------------------------------------ figures


def test_log_figure_plotly_html_and_json() -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.9, 0.8, 0.75], name="auc"))
    with mm.start_run() as run:
        assert mm.log_figure(fig, "charts/auc.html") == "charts/auc.html"
        assert mm.log_figure(fig, "charts/auc.json") == "charts/auc.json"
        with pytest.raises(mm.InvalidInput):
            mm.log_figure(fig, "charts/auc.png")
        with pytest.raises(mm.InvalidInput):
            mm.log_figure({"not": "a figure"}, "x.html")
    infos = {a.path: a for a in mm.list_artifacts(run)}
    assert set(infos) == {"charts/auc.html", "charts/auc.json"}
    assert infos["charts/auc.html"].media_type == "text/html"
    assert infos["charts/auc.json"].media_type == "application/json"
    html = mm.load_artifact(run, "charts/auc.html").decode()
    assert "<html>" in html and html.rstrip().endswith("</html>")
    assert "plotly" in html.lower() and "0.75" in html
    spec = json.loads(mm.load_artifact(run, "charts/auc.json"))
    assert spec["data"][0]["y"] == [0.9, 0.8, 0.75]
    assert go.Figure(spec).data[0].name == "auc"


if HAVE_MATPLOTLIB:

    def test_log_figure_matplotlib() -> None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1], [1, 0])
        with mm.start_run() as run:
            mm.log_figure(fig, "plot.png")
            mm.log_figure(fig, "plot.svg")
            with pytest.raises(mm.InvalidInput):
                mm.log_figure(fig, "plot.html")
        infos = {a.path: a.media_type for a in mm.list_artifacts(run)}
        assert infos == {"plot.png": "image/png", "plot.svg": "image/svg+xml"}
        assert mm.load_artifact(run, "plot.png").startswith(b"\x89PNG\r\n\x1a\n")
        assert b"<svg" in mm.load_artifact(run, "plot.svg")


# ------------------------------------------------------------------ datasets


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [52_000.0, 61_500.5, 38_250.0],
            "grade": ["A", "B", "C"],
            "default": [0, 1, 0],
        }
    )


def test_log_dataset_dataframe_digest_and_schema() -> None:
    df = _frame()
    with mm.start_run() as run:
        digest = mm.log_dataset(df, "train", source="s3://bank/train.parquet")
        assert mm.log_dataset(df.copy(), "train") == digest  # identical content, same digest
        changed = df.copy()
        changed.loc[1, "income"] = 61_500.25
        other = mm.log_dataset(changed, "train-v2", context="validation")
        renamed = mm.log_dataset(df.rename(columns={"grade": "rating"}), "renamed")
        cast = mm.log_dataset(df.astype({"default": "float64"}), "cast")
        strings = df.copy()
        strings.loc[2, "grade"] = "D"
        mm.log_dataset(strings, "strings")
    assert len(digest) == 64
    assert len({digest, other, renamed, cast}) == 4  # one value, a name, a dtype: all change it
    got = {d.name: d for d in mm.get_run(run.id).datasets}
    assert set(got) == {"train", "train-v2", "renamed", "cast", "strings"}
    assert got["strings"].digest != digest
    train = got["train"]
    assert train.digest == digest
    assert train.row_count == 3
    assert train.source == "s3://bank/train.parquet"
    assert train.source_type == "pandas"
    assert train.context == "training"
    assert [c["name"] for c in train.schema["columns"]] == ["income", "grade", "default"]
    assert train.schema["columns"][2]["type"] == "int64"
    assert got["train-v2"].context == "validation"


def test_log_dataset_numpy_csv_and_directory(tmp_path: Path) -> None:
    arr = np.arange(12, dtype=np.float32).reshape(4, 3)
    csv = tmp_path / "scores.csv"
    pd.DataFrame({"id": range(250), "score": np.linspace(0, 1, 250)}).to_csv(csv, index=False)
    data_dir = tmp_path / "data"
    (data_dir / "part").mkdir(parents=True)
    (data_dir / "a.bin").write_bytes(b"a" * 10)
    (data_dir / "part" / "b.bin").write_bytes(b"b" * 5)
    with mm.start_run() as run:
        d_arr = mm.log_dataset(arr, "features")
        assert mm.log_dataset(arr.copy(), "features-copy") == d_arr
        assert mm.log_dataset(arr.reshape(3, 4), "reshaped") != d_arr
        d_csv = mm.log_dataset(csv, "scores")
        d_dir = mm.log_dataset(data_dir, "raw")
        with pytest.raises(mm.InvalidInput):
            mm.log_dataset(tmp_path / "missing.csv", "missing")
        with pytest.raises(mm.InvalidInput):
            mm.log_dataset({"a": 1}, "dict")
    got = {d.name: d for d in mm.get_run(run.id).datasets}
    assert got["features"].source_type == "numpy"
    assert got["features"].schema == {"dtype": "<f4", "shape": [4, 3]}
    assert got["features"].row_count == 4
    assert d_csv == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert got["scores"].row_count == 250
    assert got["scores"].source == str(csv.resolve())
    assert got["raw"].digest == d_dir
    assert got["raw"].source_type == "directory"
    assert got["raw"].schema == {"files": 2, "size": 15}
    # the directory digest follows content: change one byte of one file
    (data_dir / "part" / "b.bin").write_bytes(b"b" * 4 + b"c")
    with mm.start_run():
        assert mm.log_dataset(data_dir, "raw") != d_dir
