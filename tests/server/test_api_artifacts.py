"""Artifacts over REST: list, streamed download with Range, upload with a size limit, hash
verification; the %%track records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mm.core import records
from jupyter_mm.server.handlers import artifacts as artifacts_module

from .test_api_common import call, fail, open_store

DATA = bytes(range(256)) * 10_000  # 2.5 MB: several 1 MiB blocks


def run_with_artifacts() -> str:
    with open_store() as store:
        rid = store.create_run().id
        store.log_artifact(rid, "model/weights.bin", DATA)
        store.log_artifact(rid, "model/config.json", b'{"a": 1}')
        store.log_artifact(rid, "notes.txt", "héllo".encode())
        store.log_artifact(rid, "empty.csv", b"")
    return rid


async def test_list(jp_fetch, jp_serverapp) -> None:
    rid = run_with_artifacts()
    _, body = await call(jp_fetch, "GET", "runs", rid, "artifacts")
    listed = {a["path"]: a for a in body["artifacts"]}
    assert list(listed) == ["empty.csv", "model", "notes.txt"]
    assert listed["model"]["is_dir"] and listed["model"]["size"] == len(DATA) + 8
    assert listed["notes.txt"]["digest"] == hashlib.sha256("héllo".encode()).hexdigest()
    _, body = await call(jp_fetch, "GET", "runs", rid, "artifacts", params={"path": "model"})
    assert [a["path"] for a in body["artifacts"]] == ["model/config.json", "model/weights.bin"]
    _, body = await call(jp_fetch, "GET", "runs", rid, "artifacts", params={"recursive": "true"})
    assert len(body["artifacts"]) == 4 and not any(a["is_dir"] for a in body["artifacts"])
    assert (await fail(jp_fetch, "GET", "runs", rid, "artifacts", params={"recursive": "x"}))[
        0
    ] == 400
    assert (await fail(jp_fetch, "GET", "runs", rid, "artifacts", params={"path": "../x"}))[
        0
    ] == 400
    assert (await fail(jp_fetch, "GET", "runs", "0" * 32, "artifacts"))[0] == 404


async def test_download(jp_fetch, jp_serverapp) -> None:
    rid = run_with_artifacts()
    r = await jp_fetch("jupyter-mm", "api", "runs", rid, "artifacts", "model/weights.bin")
    assert r.code == 200 and r.body == DATA
    assert r.headers["Content-Length"] == str(len(DATA))
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["X-Content-SHA256"] == hashlib.sha256(DATA).hexdigest()
    r = await jp_fetch("jupyter-mm", "api", "runs", rid, "artifacts", "model/config.json")
    assert r.headers["Content-Type"] == "application/json" and r.body == b'{"a": 1}'
    r = await jp_fetch("jupyter-mm", "api", "runs", rid, "artifacts", "notes.txt")
    assert r.headers["Content-Type"].startswith("text/plain") and r.body.decode() == "héllo"
    r = await jp_fetch("jupyter-mm", "api", "runs", rid, "artifacts", "empty.csv")
    assert r.body == b"" and r.headers["Content-Length"] == "0"
    code, err = await fail(jp_fetch, "GET", "runs", rid, "artifacts", "nope.txt")
    assert code == 404 and err["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert (await fail(jp_fetch, "GET", "runs", rid, "artifacts", "model"))[0] == 404


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=1048570-1048585", 1048570, 1048586),  # across a block boundary
        ("bytes=2000000-", 2000000, len(DATA)),
        ("bytes=-10", len(DATA) - 10, len(DATA)),
    ],
)
async def test_range(jp_fetch, jp_serverapp, header: str, start: int, end: int) -> None:
    rid = run_with_artifacts()
    r = await jp_fetch(
        "jupyter-mm",
        "api",
        "runs",
        rid,
        "artifacts",
        "model/weights.bin",
        headers={"Range": header},
    )
    assert r.code == 206
    assert r.body == DATA[start:end]
    assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(DATA)}"
    assert r.headers["Content-Length"] == str(end - start)


async def test_unsatisfiable_range(jp_fetch, jp_serverapp) -> None:
    rid = run_with_artifacts()
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "jupyter-mm",
            "api",
            "runs",
            rid,
            "artifacts",
            "notes.txt",
            headers={"Range": "bytes=100-200"},
        )
    assert e.value.code == 416
    assert e.value.response.headers["Content-Range"] == "bytes */6"
    assert json.loads(e.value.response.body)["error_code"] == "INVALID_PARAMETER_VALUE"


async def test_corrupt_blob_is_never_served_as_complete(
    jp_fetch, jp_serverapp, mm_store_dir: Path
) -> None:
    rid = run_with_artifacts()
    with open_store() as store:
        digest = store.artifact_info(rid, "model/weights.bin").digest
        small = store.artifact_info(rid, "notes.txt").digest
    for d in (digest, small):
        blob = mm_store_dir / "artifacts" / "sha256" / d[:2] / d[2:]
        blob.chmod(0o644)
        raw = bytearray(blob.read_bytes())
        raw[-1] ^= 0xFF
        blob.write_bytes(bytes(raw))
    # one block: the error is found before anything is sent
    code, err = await fail(jp_fetch, "GET", "runs", rid, "artifacts", "notes.txt")
    assert code == 500 and err["error_code"] == "DATA_LOSS"
    # several blocks: the connection is closed before the last one
    with pytest.raises(Exception) as e:  # noqa: B017 - the client reports a short body its own way
        r = await jp_fetch("jupyter-mm", "api", "runs", rid, "artifacts", "model/weights.bin")
        assert len(r.body) < len(DATA)  # pragma: no cover - must not get here
    assert not isinstance(e.value, AssertionError)


async def test_upload(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run().id
    r = await jp_fetch(
        "jupyter-mm",
        "api",
        "runs",
        rid,
        "artifacts",
        "plots/loss.svg",
        method="PUT",
        body=b"<svg/>",
        headers={"Content-Type": "image/svg+xml"},
    )
    assert r.code == 201
    info = json.loads(r.body)
    assert info["path"] == "plots/loss.svg" and info["media_type"] == "image/svg+xml"
    assert info["digest"] == hashlib.sha256(b"<svg/>").hexdigest() and info["size"] == 6
    r = await jp_fetch(
        "jupyter-mm", "api", "runs", rid, "artifacts", "data.csv", method="PUT", body=b"a,b\n"
    )
    assert json.loads(r.body)["media_type"] == "text/csv"  # guessed from the name
    with open_store() as store:
        assert store.read_artifact(rid, "plots/loss.svg") == b"<svg/>"
    # bad paths and unknown runs
    assert (await fail(jp_fetch, "PUT", "runs", rid, "artifacts", "a/../../x", body=b"x"))[0] == 400
    assert (await fail(jp_fetch, "PUT", "runs", "0" * 32, "artifacts", "x", body=b"x"))[0] == 404
    code, err = await fail(
        jp_fetch, "PUT", "runs", rid, "artifacts", "x", body=b"x", params={"media_type": "bad"}
    )
    assert code == 400
    # a file where a folder is: refused
    assert (await fail(jp_fetch, "PUT", "runs", rid, "artifacts", "plots", body=b"x"))[0] == 400


async def test_blobs_then_paths_all_or_none(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        rid = store.create_run().id
        store.log_artifact(rid, "model", b"a file")
    weights, config = b"\x00weights" * 100, b'{"layers": 3}'
    wd, cd = (hashlib.sha256(b).hexdigest() for b in (weights, config))

    async def head(digest: str) -> int:
        r = await jp_fetch("jupyter-mm", "api", "blobs", digest, method="HEAD", raise_error=False)
        return int(r.code)

    assert await head(wd) == 404
    # the body must hash to the name it is stored under
    code, err = await fail(jp_fetch, "PUT", "blobs", wd, body=config)
    assert code == 400 and cd in err["message"] and await head(wd) == 404
    assert (await call(jp_fetch, "PUT", "blobs", wd, body=weights)) == (
        201,
        {"digest": wd, "size": len(weights)},
    )
    assert await head(wd) == 200
    # which of several are missing: one request, in the order asked, duplicates once
    assert (await call(jp_fetch, "POST", "blobs", "missing", body={"digests": [cd, wd, cd]})) == (
        200,
        {"missing": [cd]},
    )
    for bad in ({}, {"digests": "x"}, {"digests": [1]}, {"digests": ["ABC"]}, {"other": []}):
        assert (await fail(jp_fetch, "POST", "blobs", "missing", body=bad))[0] == 400, bad
    # an unknown blob or a clash refuses the whole request: no path appears
    code, err = await fail(
        jp_fetch, "POST", "runs", rid, "artifacts",
        body={"artifacts": [{"path": "w.bin", "digest": wd}, {"path": "c.json", "digest": cd}]},
    )  # fmt: skip
    assert code == 400 and "c.json" in err["message"] and "upload it first" in err["message"]
    await call(jp_fetch, "PUT", "blobs", cd, body=config)
    code, err = await fail(
        jp_fetch, "POST", "runs", rid, "artifacts",
        body={"artifacts": [{"path": "w.bin", "digest": wd}, {"path": "model/c", "digest": cd}]},
    )  # fmt: skip
    assert code == 400 and "clashes" in err["message"]
    with open_store() as store:
        assert [a.path for a in store.list_artifacts(rid)] == ["model"]
    code, body = await call(
        jp_fetch, "POST", "runs", rid, "artifacts",
        body={"artifacts": [
            {"path": "nn/w.bin", "digest": wd},
            {"path": "nn/config.json", "digest": cd, "media_type": "application/vnd.nn+json"},
        ]},
    )  # fmt: skip
    assert code == 201
    assert [(a["path"], a["size"], a["media_type"]) for a in body["artifacts"]] == [
        ("nn/w.bin", len(weights), "application/octet-stream"),
        ("nn/config.json", len(config), "application/vnd.nn+json"),
    ]
    with open_store() as store:
        assert store.read_artifact(rid, "nn/config.json") == config
    # malformed requests say what is wrong
    for bad in (
        {},
        {"artifacts": []},
        {"artifacts": [{"path": "x", "digest": wd, "extra": 1}]},
        {"artifacts": [{"path": "x", "digest": 7}]},
        {"artifacts": [{"path": "x", "digest": "not-hex"}]},
        {"artifacts": [{"path": "../x", "digest": wd}]},
        {"artifacts": [{"path": "x", "digest": wd, "media_type": "<b>"}]},
    ):
        assert (await fail(jp_fetch, "POST", "runs", rid, "artifacts", body=bad))[0] == 400, bad


async def test_upload_size_limit(jp_fetch, jp_serverapp, monkeypatch) -> None:
    monkeypatch.setattr(artifacts_module, "MAX_UPLOAD_BYTES", 1000)
    with open_store() as store:
        rid = store.create_run().id
    code, err = await fail(jp_fetch, "PUT", "runs", rid, "artifacts", "big.bin", body=b"x" * 1001)
    assert code == 413 and err["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "1000" in err["message"]
    with open_store() as store:
        assert store.list_artifacts(rid) == []


async def test_records(jp_fetch, jp_serverapp) -> None:
    env = {"python": "3.11", "packages": {"numpy": "2.0"}}
    with open_store() as store:
        rid = store.create_run().id
        store.log_artifact(rid, records.ENVIRONMENT, json.dumps(env).encode())
        store.log_artifact(rid, records.CELL, json.dumps({"source": "x = 1"}).encode())
    _, body = await call(jp_fetch, "GET", "runs", rid, "records", "environment")
    assert body == {
        "run_id": rid,
        "kind": "environment",
        "path": records.ENVIRONMENT,
        "record": env,
    }
    _, body = await call(jp_fetch, "GET", "runs", rid, "records", "cell")
    assert body["record"] == {"source": "x = 1"}
    code, err = await fail(jp_fetch, "GET", "runs", rid, "records", "git")
    assert code == 404 and "git" in err["message"]
    assert (await fail(jp_fetch, "GET", "runs", rid, "records", "execution-log"))[0] == 404
    assert (await fail(jp_fetch, "GET", "runs", rid, "records", "bogus"))[0] == 404
    assert (await fail(jp_fetch, "GET", "runs", "0" * 32, "records", "git"))[0] == 404
