"""``PUT blobs/{sha256}`` streams its body to disk: refused before a byte is written when the
caller may not write, and nothing left behind by a refusal or by a client that goes away
mid-upload. (That it takes more than the server buffers is shown against a real server in
tests/client/test_remote.py.)

In its own module: it configures an Authorizer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from traitlets.config import Config

from jupyter_mm.server.handlers import artifacts as artifacts_module

from .test_api_common import open_store

DENIED_USER_AGENT = "no-writes"


class NoWritesForSome(Authorizer):
    """Refuses ``write`` to requests that say they are from a read-only client."""

    def is_authorized(self, handler, user, action, resource):  # type: ignore[no-untyped-def]
        denied = handler.request.headers.get("User-Agent") == DENIED_USER_AGENT
        return not (denied and action == "write")


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
                "authorizer_class": NoWritesForSome,
            },
            "JupyterMM": {"tracking_uri": str(mm_store_dir)},
        }
    )


def staged_files() -> list[str]:
    with open_store() as store:
        staging = Path(store.blobs.root) / "staging"
    return sorted(os.listdir(staging)) if staging.is_dir() else []


async def put_blob(jp_fetch: Any, digest: str, body: bytes, **kw: Any) -> Any:
    return await jp_fetch(
        "jupyter-mm", "api", "blobs", digest, method="PUT", body=body, raise_error=False, **kw
    )


async def test_a_streamed_blob_is_stored_and_named(jp_fetch, jp_serverapp) -> None:
    data = os.urandom(5 * 1024 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    with open_store() as store:
        rid = store.create_run().id
    r = await put_blob(jp_fetch, digest, data)
    assert r.code == 201, r.body
    assert json.loads(r.body) == {"digest": digest, "size": len(data)}
    with open_store() as store:
        assert store.blobs.get_bytes(digest) == data
        store.index_artifacts(rid, [("model/weights.bin", digest, None)])
        assert store.read_artifact(rid, "model/weights.bin") == data
    assert staged_files() == []


async def test_a_wrong_body_is_refused_and_not_kept(jp_fetch, jp_serverapp) -> None:
    data = os.urandom(300_000)
    digest = hashlib.sha256(b"something else").hexdigest()
    r = await put_blob(jp_fetch, digest, data)
    assert r.code == 400 and hashlib.sha256(data).hexdigest() in json.loads(r.body)["message"]
    with open_store() as store:
        assert not store.blobs.exists(digest)
        assert not store.blobs.exists(hashlib.sha256(data).hexdigest())
    assert staged_files() == []


async def test_refused_before_anything_is_written(jp_fetch, jp_serverapp, monkeypatch) -> None:
    data = os.urandom(200_000)
    digest = hashlib.sha256(data).hexdigest()
    r = await put_blob(jp_fetch, digest, data, headers={"User-Agent": DENIED_USER_AGENT})
    assert r.code == 403
    r = await put_blob(jp_fetch, "not-a-digest", data)
    assert r.code == 400 and "SHA-256" in json.loads(r.body)["message"]
    monkeypatch.setattr(artifacts_module, "MAX_BLOB_BYTES", 1000)
    r = await put_blob(jp_fetch, digest, data)
    assert r.code == 413 and "limit 1000" in json.loads(r.body)["message"]
    with open_store() as store:
        assert not store.blobs.exists(digest)
    assert staged_files() == []


async def test_an_upload_cut_short_leaves_nothing(
    jp_serverapp, http_server_client, jp_base_url
) -> None:
    data = os.urandom(64 * 1024)
    digest = hashlib.sha256(data * 16).hexdigest()
    token = jp_serverapp.identity_provider.token
    staged_seen: list[str] = []

    async def a_sixteenth_then_gone(write: Any) -> None:
        await write(data)
        for _ in range(300):  # until the server has started staging it
            staged_seen.extend(staged_files())
            if staged_seen:
                break
            await asyncio.sleep(0.01)
        raise ConnectionAbortedError("the client went away")

    with pytest.raises(ConnectionAbortedError):
        await http_server_client.fetch(
            f"{jp_base_url}jupyter-mm/api/blobs/{digest}",
            method="PUT",
            headers={"Authorization": f"token {token}", "Content-Length": str(len(data) * 16)},
            body_producer=a_sixteenth_then_gone,
        )
    assert len(staged_seen) == 1
    for _ in range(500):
        if not staged_files():
            break
        await asyncio.sleep(0.01)
    assert staged_files() == []
    with open_store() as store:
        assert not store.blobs.exists(digest)


async def test_a_bad_name_is_answered_not_reset(
    jp_serverapp, http_server, http_server_port, jp_base_url
) -> None:
    """A refused name is answered once the body is read: refusing with the body unread makes
    the server close the socket, and a client still sending sees a reset, not the 400."""
    token = jp_serverapp.identity_provider.token
    body = os.urandom(4 * 1024 * 1024)
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", http_server_port[-1])
        writer.write(
            f"PUT {jp_base_url}jupyter-mm/api/blobs/1e400 HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: token {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        for start in range(0, len(body), 256 * 1024):  # a client still sending
            writer.write(body[start : start + 256 * 1024])
            await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head, re.I)[1])  # type: ignore[index]
        answer = json.loads(await reader.readexactly(length))
        writer.close()
        assert head.startswith(b"HTTP/1.1 400") and "SHA-256" in answer["message"]
    assert staged_files() == []
