"""The artifact proxy's files outside runs (``PUT mlflow-artifacts/artifacts/dir/b.pkl``), as
MLflow's proxy stores them: through the official client's ``mlflow-artifacts:`` repository and
raw HTTP, on SQLite and PostgreSQL. Stored as content-addressed blobs named by a normalised path;
downloads typed from the name; traversal refused; runs' files keep their own index and are never
deleted."""

from __future__ import annotations

import json
import os
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from jupyter_mm.core import schema as s
from jupyter_mm.core.store import Store

from .live import LiveServer
from .mlflow_live import client, error, server
from .test_mlflow_fixtures import (
    both_stores_config_fixture,
    both_stores_fixture,
    in_thread,
    mlflow_uri_fixture,
)
from .test_mlflow_wire import jp_fetch

__all__ = [  # fixtures used by name
    "both_stores_config_fixture",
    "both_stores_fixture",
    "client",
    "jp_fetch",
    "mlflow_uri_fixture",
    "server",
]

PROXY = "jupyter-mm/mlflow/api/2.0/mlflow-artifacts/artifacts"


async def _put(jp_fetch: Any, path: str, body: bytes, **headers: str) -> Any:
    return await jp_fetch(
        f"{PROXY}/{path}", method="PUT", body=body, headers=headers, raise_error=False
    )


async def _list(jp_fetch: Any, path: str | None = None) -> Any:
    query = "" if path is None else "?" + urlencode({"path": path})
    r = await jp_fetch(f"{PROXY}{query}", raise_error=False)
    return r.code, json.loads(r.body)


def _blobs(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "artifacts" / "sha256").rglob("*") if p.is_file())


async def test_upload_download_list_as_mlflows_proxy(jp_fetch: Any, store: Store) -> None:
    assert (await _put(jp_fetch, "a.txt", b"0")).code == 200
    assert (await _put(jp_fetch, "dir/b.txt", b"1")).code == 200
    assert (await _put(jp_fetch, "dir/deep/c.bin", b"22")).code == 200
    for path, body in (("a.txt", b"0"), ("dir/b.txt", b"1")):
        r = await jp_fetch(f"{PROXY}/{path}")
        assert r.body == body
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Type"] == "text/plain"
        assert r.headers["Content-Disposition"] == f"attachment; filename={path.split('/')[-1]}"
    assert await _list(jp_fetch) == (
        200,
        {"files": [{"path": "a.txt", "is_dir": False, "file_size": 1}, {"path": "dir", "is_dir": True}]},
    )  # fmt: skip
    assert await _list(jp_fetch, "dir") == (
        200,
        {
            "files": [
                {"path": "b.txt", "is_dir": False, "file_size": 1},
                {"path": "deep", "is_dir": True},
            ]
        },
    )
    assert await _list(jp_fetch, "dir/deep/") == (
        200,
        {"files": [{"path": "c.bin", "is_dir": False, "file_size": 2}]},
    )
    assert await _list(jp_fetch, "a.txt") == (200, {"files": []})  # a file lists nothing
    assert await _list(jp_fetch, "nowhere") == (200, {"files": []})
    # a second upload replaces the file, as in MLflow; the uploader is recorded
    assert (await _put(jp_fetch, "a.txt", b"again")).code == 200
    assert store.read_proxy_file("a.txt") == b"again"
    with store.engine.connect() as conn:
        by = conn.execute(select(s.proxy_artifacts.c.created_by)).scalars().all()
    assert len(by) == 3 and all(by), by
    r = await jp_fetch(f"{PROXY}/missing.txt", raise_error=False)
    assert (r.code, json.loads(r.body)["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    # a path that is a folder of other files cannot become a file
    r = await _put(jp_fetch, "dir", b"x")
    assert (r.code, json.loads(r.body)["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "clashes" in json.loads(r.body)["message"]


async def test_same_content_twice_is_stored_once(
    jp_fetch: Any, store: Store, tmp_path: Path
) -> None:
    before = _blobs(tmp_path)
    payload = b"\x00identical bytes\xff" * 100
    assert (await _put(jp_fetch, "one/x.bin", payload)).code == 200
    assert (await _put(jp_fetch, "two/y.bin", payload)).code == 200
    assert store.proxy_file_info("one/x.bin").digest == store.proxy_file_info("two/y.bin").digest
    assert len(_blobs(tmp_path)) == len(before) + 1
    assert (await jp_fetch(f"{PROXY}/two/y.bin")).body == payload


async def test_a_large_file_streams_back_verified(jp_fetch: Any, store: Store) -> None:
    payload = os.urandom(9 * 1024 * 1024 + 3)  # above the whole-read threshold: streamed
    assert (await _put(jp_fetch, "big/data.bin", payload)).code == 200
    r = await jp_fetch(f"{PROXY}/big/data.bin")
    assert r.body == payload
    assert r.headers["Content-Length"] == str(len(payload))
    assert r.headers["ETag"] == f'"{store.proxy_file_info("big/data.bin").digest}"'


@pytest.mark.parametrize(
    ("name", "served_as"),
    [
        ("a.txt", "text/plain"),
        ("b.pkl", "application/octet-stream"),
        ("c.png", "image/png"),
        ("d.pdf", "application/pdf"),
        ("MLmodel", "text/plain"),
        ("mlproject", "text/plain"),
        ("page.html", "text/plain"),  # a page never runs on the server's origin
        ("pic.svg", "text/plain"),
    ],
)
async def test_the_server_decides_the_download_type(
    jp_fetch: Any, name: str, served_as: str
) -> None:
    """Neither the type the uploader claimed nor the one the client accepts: the file name's."""
    put = await _put(
        jp_fetch, f"dir/{name}", b"<script>1</script>", **{"Content-Type": "text/html"}
    )
    assert put.code == 200
    r = await jp_fetch(f"{PROXY}/dir/{name}", headers={"Accept": "text/html"})
    assert r.body == b"<script>1</script>"
    assert r.headers["Content-Type"] == served_as
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    parsed = Message()
    parsed["Content-Disposition"] = r.headers["Content-Disposition"]
    assert parsed.get_content_disposition() == "attachment"
    assert parsed.get_filename() == name


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "a/../../x",
        "%2e%2e/x",
        "a/%2e%2e/%2e%2e/x",
        "a%2f..%2f..%2fx",
        "%252e%252e/x",  # decoded once more, it leaves the root (MLflow decodes until stable)
        "/etc/passwd",  # absolute: the URL reads artifacts//etc/passwd
        "%2fetc%2fpasswd",
        "a%00b",
        "a%5cb",
        "C:/x",
    ],
)
async def test_paths_that_could_escape_are_refused(jp_fetch: Any, store: Store, path: str) -> None:
    r = await _put(jp_fetch, path, b"x")
    assert r.code == 400, (path, r.code, r.body)
    assert json.loads(r.body) == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Invalid path",
    }
    for verb in ("GET", "DELETE"):
        r = await jp_fetch(f"{PROXY}/{path}", method=verb, raise_error=False)
        assert r.code == 400, (verb, path, r.code)
    assert store.list_proxy_files() == []


@pytest.mark.parametrize("path", ["..", "../x", "a/../..", "/etc", "%2e%2e"])
async def test_listing_outside_the_root_is_refused(jp_fetch: Any, path: str) -> None:
    from urllib.parse import unquote

    code, reply = await _list(jp_fetch, unquote(path))
    assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), (path, reply)


async def test_delete_files_outside_runs_but_never_a_runs(
    jp_fetch: Any, store: Store, tmp_path: Path
) -> None:
    for path in ("dir/a.txt", "dir/sub/b.txt", "dirx/c.txt", "keep.txt"):
        assert (await _put(jp_fetch, path, path.encode())).code == 200
    run = store.create_run("0")
    store.log_artifact(run.id, "model/w.bin", b"w")

    async def delete(path: str) -> tuple[int, Any]:
        r = await jp_fetch(f"{PROXY}/{path}", method="DELETE", raise_error=False)
        return r.code, json.loads(r.body)

    assert await delete("dir") == (200, {})  # a folder and everything below it
    assert [f["path"] for f in (await _list(jp_fetch))[1]["files"]] == ["dirx", "keep.txt"]
    assert await delete("keep.txt") == (200, {})
    assert await delete("keep.txt") == (200, {})  # nothing there: MLflow answers 200 too
    assert store.read_proxy_file("dirx/c.txt") == b"dirx/c.txt"
    # the files of runs and logged models stay: accepted data is never erased
    for path in (
        f"0/{run.id}/artifacts/model/w.bin",
        f"0/{run.id}/artifacts",
        "0/models/m-1/artifacts/x",
    ):
        code, reply = await delete(path)
        assert (code, reply["error_code"]) == (403, "PERMISSION_DENIED"), (path, reply)
        assert "never erases" in reply["message"]
    assert store.read_artifact(run.id, "model/w.bin") == b"w"
    r = await jp_fetch(PROXY, method="DELETE", raise_error=False)
    assert (r.code, json.loads(r.body)["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


async def test_run_locations_keep_the_run_index(jp_fetch: Any, store: Store) -> None:
    """``<exp>/<run>/artifacts/...`` is a run's file even when the run is unknown (a 404, never
    a file outside runs); a sibling path of the same experiment is an ordinary proxy file."""
    run = store.create_run("0")
    assert (await _put(jp_fetch, f"0/{run.id}/artifacts/x.txt", b"run")).code == 200
    assert store.read_artifact(run.id, "x.txt") == b"run"
    unknown = "0/" + "f" * 32 + "/artifacts/x.txt"
    r = await _put(jp_fetch, unknown, b"lost")
    assert (r.code, json.loads(r.body)["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert (await _put(jp_fetch, "0/notes.txt", b"loose")).code == 200
    assert [i.path for i in store.list_proxy_files("0")] == ["0/notes.txt"]
    assert store.list_artifacts(run.id) == [store.artifact_info(run.id, "x.txt")]
    assert await _list(jp_fetch, f"0/{run.id}/artifacts") == (
        200,
        {"files": [{"path": "x.txt", "is_dir": False, "file_size": 3}]},
    )


def _source_tree(tmp_path: Path) -> Path:
    """``src/a.txt`` and ``src/sub/b.pkl`` to upload, and empty ``out`` and ``one`` to download to."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.pkl").write_bytes(b"\x80\x04K\x01.")
    (tmp_path / "out").mkdir()
    (tmp_path / "one").mkdir()
    return src


async def test_through_the_mlflow_clients_artifact_repository(
    mlflow_uri: str, store: Store, tmp_path: Path
) -> None:
    src = _source_tree(tmp_path)

    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

        repo = MlflowArtifactsRepository("mlflow-artifacts:/shared")
        repo.log_artifacts(str(src), "data")
        repo.log_artifact(str(src / "a.txt"))
        out: dict[str, Any] = {
            "root": [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()],
            "data": [(f.path, f.is_dir) for f in repo.list_artifacts("data")],
            "sub": [(f.path, f.file_size) for f in repo.list_artifacts("data/sub")],
        }
        got = repo.download_artifacts("data", str(tmp_path / "out"))
        out["downloaded"] = sorted(
            str(p.relative_to(got)) for p in Path(got).rglob("*") if p.is_file()
        )
        out["one"] = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri="mlflow-artifacts:/shared/data/sub/b.pkl",
                dst_path=str(tmp_path / "one"),
            )
        ).read_bytes()
        repo.delete_artifacts("data/sub")
        out["after_delete"] = [f.path for f in repo.list_artifacts("data")]
        return out

    out = await in_thread(scenario)
    assert out["root"] == [("a.txt", False, 5), ("data", True, None)]
    assert out["data"] == [("data/a.txt", False), ("data/sub", True)]
    assert out["sub"] == [("data/sub/b.pkl", 5)]
    assert out["downloaded"] == ["a.txt", "sub/b.pkl"]
    assert out["one"] == b"\x80\x04K\x01."
    assert out["after_delete"] == ["data/a.txt"]
    # kept in our store by path, as blobs shared with identical content
    assert store.read_proxy_file("shared/data/a.txt") == b"alpha"
    same = store.proxy_file_info("shared/a.txt").digest
    assert store.proxy_file_info("shared/data/a.txt").digest == same


async def test_an_empty_file_sent_chunked(mlflow_uri: str, store: Store, tmp_path: Path) -> None:
    """``requests.put(url, data=<empty file>)`` (what MLflow's tests send) has no length, so it
    goes with ``Transfer-Encoding: chunked`` and no chunk: stored as an empty file."""
    empty = tmp_path / "mlproject"
    empty.touch()

    def scenario() -> tuple[int, str, bytes, str]:
        import requests

        url = f"{mlflow_uri}/api/2.0/mlflow-artifacts/artifacts/dir/mlproject"
        auth = {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
        with empty.open("rb") as f:
            put = requests.put(url, data=f, headers=auth, timeout=60)
        got = requests.get(url, headers={**auth, "Accept": "text/html"}, timeout=60)
        return (
            put.status_code,
            put.request.headers.get("Transfer-Encoding", ""),
            got.content,
            (got.headers["Content-Type"]),
        )

    status, encoding, body, media_type = await in_thread(scenario)
    assert (status, encoding) == (200, "chunked")
    assert (body, media_type) == (b"", "text/plain")
    assert store.proxy_file_info("dir/mlproject").size == 0


# -- on both servers and both stores -----------------------------------------------------------


def test_proxy_files_on_every_server(server: LiveServer, client: Any, tmp_path: Path) -> None:
    """The group's key behaviours on the Jupyter-embedded and the team server, each on SQLite and
    PostgreSQL: the official client's ``mlflow-artifacts:`` repository round trip, raw-HTTP
    upload, typed download and listing, traversal refused, a run's location kept in its index,
    deletion outside runs but never of a run's files."""
    import mlflow
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    proxy = f"{server.mlflow}api/2.0/mlflow-artifacts/artifacts"
    src = _source_tree(tmp_path)
    repo = MlflowArtifactsRepository("mlflow-artifacts:/live")
    repo.log_artifacts(str(src), "data")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts("data")] == [
        ("data/a.txt", False),
        ("data/sub", True),
    ]
    got = repo.download_artifacts("data", str(tmp_path / "out"))
    assert sorted(str(p.relative_to(got)) for p in Path(got).rglob("*") if p.is_file()) == [
        "a.txt",
        "sub/b.pkl",
    ]
    one = mlflow.artifacts.download_artifacts(
        artifact_uri="mlflow-artifacts:/live/data/sub/b.pkl", dst_path=str(tmp_path / "one")
    )
    assert Path(one).read_bytes() == b"\x80\x04K\x01."
    repo.delete_artifacts("data/sub")
    assert [f.path for f in repo.list_artifacts("data")] == ["data/a.txt"]
    # raw HTTP: upload, typed download, listing, refusals
    assert server.request("PUT", f"{proxy}/live/raw/c.txt", raw=b"0").status_code == 200
    r = server.request("GET", f"{proxy}/live/raw/c.txt")
    assert (r.content, r.headers["Content-Type"]) == (b"0", "text/plain")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = server.request("GET", f"{proxy}?path=live/raw")
    assert r.json() == {"files": [{"path": "c.txt", "is_dir": False, "file_size": 1}]}
    for bad in ("..", "a/../.."):
        r = server.request("GET", f"{proxy}?{urlencode({'path': bad})}")
        assert error(r)[:2] == (400, "INVALID_PARAMETER_VALUE"), bad
    assert error(server.request("PUT", f"{proxy}/live", raw=b"x"))[:2] == (
        400,
        "INVALID_PARAMETER_VALUE",
    )  # a folder of other files cannot become a file
    # a run's location is the run's file, listed by the run; never deleted through the proxy
    exp = client.create_experiment("proxy-live")
    run = client.create_run(exp).info.run_id
    assert server.request("PUT", f"{proxy}/{exp}/{run}/artifacts/x.txt", raw=b"run").ok
    assert [f.path for f in client.list_artifacts(run)] == ["x.txt"]
    unknown = f"{proxy}/{exp}/{'f' * 32}/artifacts/x.txt"
    assert error(server.request("PUT", unknown, raw=b"lost"))[:2] == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    code, kind, message = error(server.request("DELETE", f"{proxy}/{exp}/{run}/artifacts/x.txt"))
    assert (code, kind) == (403, "PERMISSION_DENIED") and "never erases" in message
    assert server.request("DELETE", f"{proxy}/live/raw").json() == {}
    assert server.request("GET", f"{proxy}?path=live").json() == {
        "files": [{"path": "data", "is_dir": True}]
    }
