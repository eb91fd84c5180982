"""Artifacts on S3-compatible object storage (moto's server as the endpoint)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mm.core.store import Store
from jupyter_mm.errors import IntegrityError
from tests.support.s3 import s3_env, s3_server


@pytest.fixture(scope="module")
def s3_bucket() -> Iterator[str]:
    with s3_server() as endpoint:
        env = s3_env(endpoint)
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        import fsspec
        import s3fs

        fsspec.config.set_conf_env(fsspec.config.conf)  # pick up FSSPEC_S3_ENDPOINT_URL
        s3fs.S3FileSystem.clear_instance_cache()
        fs = fsspec.filesystem("s3")
        fs.mkdir("mm-artifacts")
        try:
            yield "s3://mm-artifacts/team"
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def test_store_with_s3_artifacts(s3_bucket: str, tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "st"), artifact_uri=s3_bucket) as st:
        a, b = st.create_run("0"), st.create_run("0")
        big = tmp_path / "weights.bin"
        big.write_bytes(os.urandom(3 << 20))
        info = st.log_artifact(a.id, "model/weights.bin", big)
        st.log_artifact(b.id, "copy.bin", big)  # same content: one object
        assert st.read_artifact(b.id, "copy.bin") == big.read_bytes()
        import fsspec

        fs = fsspec.filesystem("s3")
        objects = [p for p in fs.find("mm-artifacts/team")]
        assert objects == [f"mm-artifacts/team/sha256/{info.digest[:2]}/{info.digest[2:]}"]
        fs.pipe(objects[0], b"tampered")
        with pytest.raises(IntegrityError):
            st.read_artifact(a.id, "model/weights.bin")
