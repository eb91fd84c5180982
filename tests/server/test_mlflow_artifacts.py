"""mlflow.log_artifact(s), list_artifacts and download_artifacts through the mlflow-artifacts proxy."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .test_mlflow_fixtures import in_thread, mlflow_uri_fixture, mm_store_fixture

__all__ = ["mlflow_uri_fixture", "mm_store_fixture"]  # fixtures used by name


async def test_log_list_download_artifacts(mlflow_uri: str, mm_store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "plots" / "deep").mkdir(parents=True)
    (src / "plots" / "a.txt").write_text("alpha")
    (src / "plots" / "deep" / "b.bin").write_bytes(bytes(range(256)) * 10)
    single = tmp_path / "config.json"
    single.write_text(json.dumps({"lr": 0.1}))

    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient

        client = MlflowClient()
        out: dict[str, Any] = {}
        with mlflow.start_run() as run:
            mlflow.log_artifact(str(single))
            mlflow.log_artifact(str(single), artifact_path="configs")
            mlflow.log_artifacts(str(src / "plots"), artifact_path="plots")
            mlflow.log_text("hello", "notes/readme.md")
            mlflow.log_dict({"k": [1, 2]}, "notes/d.json")
        run_id = run.info.run_id
        out["run_id"] = run_id
        out["root"] = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)]
        out["plots"] = [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "plots")]
        out["deep"] = [(f.path, f.file_size) for f in client.list_artifacts(run_id, "plots/deep")]
        out["file_listing"] = client.list_artifacts(run_id, "config.json")
        dst = tmp_path / "dst"
        dst.mkdir()
        got = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="plots", dst_path=str(dst)
        )
        out["downloaded_dir"] = sorted(
            str(p.relative_to(got)) for p in Path(got).rglob("*") if p.is_file()
        )
        one = client.download_artifacts(run_id, "notes/readme.md", str(dst))
        out["one"] = Path(one).read_text()
        out["loaded_dict"] = mlflow.artifacts.load_dict(f"runs:/{run_id}/notes/d.json")
        everything = mlflow.artifacts.download_artifacts(
            run_id=run_id, dst_path=str(tmp_path / "all")
        )
        out["everything"] = sorted(
            str(p.relative_to(everything)) for p in Path(everything).rglob("*") if p.is_file()
        )
        return out

    out = await in_thread(scenario)
    assert out["root"] == [
        ("config.json", False, len(single.read_bytes())),
        ("configs", True, None),
        ("notes", True, None),
        ("plots", True, None),
    ]
    assert out["plots"] == [("plots/a.txt", False), ("plots/deep", True)]
    assert out["deep"] == [("plots/deep/b.bin", 2560)]
    assert out["file_listing"] == []
    assert out["downloaded_dir"] == ["a.txt", "deep/b.bin"]
    assert out["one"] == "hello"
    assert out["loaded_dict"] == {"k": [1, 2]}
    assert out["everything"] == [
        "config.json",
        "configs/config.json",
        "notes/d.json",
        "notes/readme.md",
        "plots/a.txt",
        "plots/deep/b.bin",
    ]
    # stored in our content-addressed store under the run's logical paths
    run_id = out["run_id"]
    paths = [a.path for a in mm_store.list_artifacts(run_id, recursive=True)]
    assert paths == [
        "config.json",
        "configs/config.json",
        "notes/d.json",
        "notes/readme.md",
        "plots/a.txt",
        "plots/deep/b.bin",
    ]
    assert mm_store.read_artifact(run_id, "plots/deep/b.bin") == bytes(range(256)) * 10
    same = mm_store.artifact_info(run_id, "config.json").digest
    assert mm_store.artifact_info(run_id, "configs/config.json").digest == same


async def test_artifacts_of_our_own_runs_are_readable_through_mlflow(
    mlflow_uri: str, mm_store, tmp_path: Path
) -> None:
    run = mm_store.create_run(name="ours")
    mm_store.log_artifact(run.id, "model/weights.bin", b"\x00\x01")
    mm_store.log_batch(run.id, params={"p": "1"}, metrics=[("m", 2.0, 0, 1)])

    def scenario() -> tuple[Any, ...]:
        import mlflow
        from mlflow import MlflowClient

        client = MlflowClient()
        got = client.get_run(run.id)
        path = mlflow.artifacts.download_artifacts(
            run_id=run.id, artifact_path="model/weights.bin", dst_path=str(tmp_path)
        )
        return got.info.run_name, got.data.params, got.data.metrics, Path(path).read_bytes()

    name, params, metrics, data = await in_thread(scenario)
    assert name == "ours"
    assert params == {"p": "1"} and metrics == {"m": 2.0}
    assert data == b"\x00\x01"


@pytest.mark.parametrize(
    "path",
    [
        "0/{run}/artifacts/../../x",
        "0/{run}/artifacts/a/%2e%2e/%2e%2e/b",
        "0/{run}/artifacts/a/..%2f..%2fb",
        "0/{run}/artifacts/a%00b",
        "0/{run}/artifacts/%2fetc%2fpasswd",
    ],
)
async def test_path_traversal_is_refused(
    http_server_client, jp_auth_header, jp_base_url, mm_store, path: str
) -> None:
    """Raw URLs (no client-side normalisation): MLflow's own test cases answer 400."""
    run = mm_store.create_run()
    url = f"{jp_base_url}jupyter-mm/mlflow/api/2.0/mlflow-artifacts/artifacts/" + path.format(
        run=run.id
    )
    r = await http_server_client.fetch(
        url, method="PUT", body=b"x", headers=jp_auth_header, raise_error=False
    )
    assert r.code in (400, 404), (url, r.code)
    assert json.loads(r.body)["error_code"] in ("INVALID_PARAMETER_VALUE", "ENDPOINT_NOT_FOUND")
    assert mm_store.list_artifacts(run.id, recursive=True) == []


async def test_large_artifact_streams_both_ways(mlflow_uri: str, mm_store, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    payload = os.urandom(9 * 1024 * 1024 + 7)  # above the whole-read threshold: streamed
    big.write_bytes(payload)

    def scenario() -> tuple[str, bytes]:
        import mlflow

        with mlflow.start_run() as run:
            mlflow.log_artifact(str(big), "data")
        got = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="data/big.bin", dst_path=str(tmp_path / "out")
        )
        return run.info.run_id, Path(got).read_bytes()

    run_id, data = await in_thread(scenario)
    assert data == payload
    assert mm_store.artifact_info(run_id, "data/big.bin").size == len(payload)


@pytest.mark.parametrize(
    ("name", "served_as"),
    [
        ("b.pkl", "application/octet-stream"),
        ("c.png", "image/png"),
        ("d.pdf", "application/pdf"),
        ("MLmodel", "text/plain"),
        ("report.html", "text/plain"),  # a page never runs on the server's origin
        ('we "ird"; name=x.csv', "text/plain"),
        ("日本 語.json", "text/plain"),
    ],
)
async def test_downloads_carry_the_file_type_and_an_escaped_name(
    http_server_client, jp_auth_header, jp_base_url, mm_store, name: str, served_as: str
) -> None:
    """As MLflow's test_server_overrides_requested_mime_type: the type comes from the file name,
    not from what the uploader claimed or the client accepts; the name survives RFC 6266
    parsing exactly, quotes, semicolons and non-ASCII included."""
    from email.message import Message
    from urllib.parse import quote, unquote

    run = mm_store.create_run()
    url = (
        f"{jp_base_url}jupyter-mm/mlflow/api/2.0/mlflow-artifacts/artifacts/"
        f"0/{run.id}/artifacts/dir/{quote(name)}"
    )
    put = await http_server_client.fetch(
        url, method="PUT", body=b"<script>1</script>",
        headers={**jp_auth_header, "Content-Type": "text/html"},
    )  # fmt: skip
    assert put.code == 200
    r = await http_server_client.fetch(url, headers={**jp_auth_header, "Accept": "text/html"})
    assert r.body == b"<script>1</script>"
    assert r.headers["Content-Type"] == served_as
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    header = r.headers["Content-Disposition"]
    assert header.isascii()
    extended = header.partition("; filename*=UTF-8''")[2]
    if extended:  # RFC 6266 recipients prefer filename*; filename is an ASCII fallback
        assert unquote(extended, errors="strict") == name and not name.isascii()
        header = header.partition("; filename*=")[0]
    parsed = Message()
    parsed["Content-Disposition"] = header
    assert parsed.get_content_disposition() == "attachment"
    assert parsed.get_filename() == (name if name.isascii() else parsed.get_filename() or "?")


@pytest.mark.parametrize("path", ["../../..", "..", "a/../../b", "./.."])
async def test_listing_outside_the_run_is_refused(
    http_server_client, jp_auth_header, jp_base_url, mm_store, path: str
) -> None:
    """``artifacts/list`` (the RPC and the proxy's listing) answers 400 for a path leaving the
    run, never the run's root."""
    from urllib.parse import urlencode

    run = mm_store.create_run()
    mm_store.log_artifact(run.id, "secret.txt", b"x")
    base = f"{jp_base_url}jupyter-mm/mlflow/api/2.0/"
    for url in (
        f"{base}mlflow/artifacts/list?" + urlencode({"run_id": run.id, "path": path}),
        f"{base}mlflow-artifacts/artifacts?" + urlencode({"path": f"0/{run.id}/artifacts/{path}"}),
    ):
        r = await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)
        assert r.code == 400, (url, r.code, r.body)
        assert json.loads(r.body)["error_code"] == "INVALID_PARAMETER_VALUE"
