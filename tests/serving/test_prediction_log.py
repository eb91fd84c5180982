"""The prediction log: rows and columns, sampling, dropped and hashed columns, retention,
reading back with filters, S3 (moto's server), a SIGKILLed writer, and ``mm.predictions`` on a
local store and through a real Jupyter server (``GET predictions``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput
from jupyter_mm.serving.prediction_log import PredictionLog, read_predictions, sampled
from tests.client.test_remote_support import REPO, TOKEN, Server, jupyter_server, wait_for
from tests.support.s3 import s3_env, s3_server

NOW = time.time()
DAY = 86400.0


def features(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": np.arange(start, start + n, dtype=np.float64) * 1000.0,
            "age": np.arange(start, start + n, dtype=np.int64) + 20,
            "email": [f"user{i}@example.com" for i in range(start, start + n)],
        }
    )


def record(
    plog: PredictionLog,
    rid: str,
    n: int = 1,
    *,
    version: str = "1",
    ts: float = NOW,
    outputs: object = None,
    alias: str | None = "champion",
    name: str = "credit",
) -> bool:
    inputs = features(n)
    return plog.record(
        request_id=rid,
        model_name=name,
        model_version=version,
        model_digest="sha256:" + "ab" * 32,
        alias=alias,
        inputs=inputs,
        outputs=np.linspace(0.1, 0.9, n) if outputs is None else outputs,
        latency_ms=2.5,
        ts=ts,
    )


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


# ------------------------------------------------------------ rows and columns


def test_rows_columns_and_layout(tmp_path: Path) -> None:
    root = tmp_path / "log"
    with PredictionLog(str(root), 1.0) as plog:
        assert record(plog, "req-a", 3)
        assert record(plog, "req-b", 1, version="2", alias=None, ts=NOW + 1)
        assert plog.record(  # DataFrame outputs: one column per output
            request_id="req-c",
            model_name="credit",
            model_version="2",
            model_digest="d",
            alias=None,
            inputs=features(2),
            outputs=pd.DataFrame({"label": ["good", "bad"], "score": [0.2, 0.8]}),
            latency_ms=1.0,
            ts=NOW + 2,
        )
    day = dt.datetime.fromtimestamp(NOW, dt.timezone.utc).date().isoformat()
    files = parts(root)
    assert {f.relative_to(root).parent.as_posix() for f in files} == {
        f"model=credit/version=1/date={day}",
        f"model=credit/version=2/date={day}",
    }
    assert all(f.name.startswith("part-") for f in files)

    df = read_predictions(str(root), "credit")
    assert list(df.columns[:9]) == [
        "request_id",
        "row",
        "ts",
        "model_name",
        "model_version",
        "model_digest",
        "alias",
        "latency_ms",
        "sampling_rate",
    ]
    assert {
        "input.income",
        "input.age",
        "input.email",
        "output",
        "output.label",
        "output.score",
    } <= set(df.columns)
    assert list(df.request_id) == ["req-a"] * 3 + ["req-b", "req-c", "req-c"]
    assert list(df.row) == [0, 1, 2, 0, 0, 1]
    assert str(df.ts.dtype) == "datetime64[ms, UTC]"
    assert df.ts.iloc[0] == pd.Timestamp(int(NOW * 1000), unit="ms", tz="UTC")
    assert list(df.model_version) == ["1"] * 3 + ["2"] * 3
    assert df.alias.iloc[0] == "champion" and df.alias.isna().iloc[3:].all()
    assert list(df["input.income"][:3]) == [0.0, 1000.0, 2000.0]
    assert list(df["input.age"][:3]) == [20, 21, 22]
    assert list(df["output"][:3]) == [0.1, 0.5, 0.9]
    assert list(df["output.label"][4:]) == ["good", "bad"]
    assert (df.latency_ms[:3] == 2.5).all() and (df.sampling_rate == 1.0).all()


def test_multi_column_array_outputs_and_store_layout(tmp_path: Path) -> None:
    root = tmp_path / "log"
    with PredictionLog(str(root), 1.0) as plog:
        record(plog, "r", 2, outputs=np.array([[0.3, 0.7], [0.6, 0.4]]), name="a b/c")
    df = read_predictions(str(root), "a b/c")
    assert list(df["output.0"]) == [0.3, 0.6] and list(df["output.1"]) == [0.7, 0.4]
    assert (root / "model=a%20b%2Fc").is_dir()  # a name never makes extra folders


def test_bad_configuration_and_records(tmp_path: Path) -> None:
    for rate in (-0.1, 1.5, True, "1"):
        with pytest.raises(InvalidInput, match="sampling rate"):
            PredictionLog(str(tmp_path), rate)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="retention_days"):
        PredictionLog(str(tmp_path), 1.0, retention_days=0)
    with pytest.raises(InvalidInput, match="both dropped and hashed"):
        PredictionLog(str(tmp_path), 1.0, drop=["email"], hash=["email"], salt="s")
    with PredictionLog(str(tmp_path / "log"), 1.0) as plog:
        with pytest.raises(InvalidInput, match="one output per input row"):
            record(plog, "r", 3, outputs=[0.1])
    # after close, recording is ignored (never raised into a request)
    assert not record(plog, "late")


# ------------------------------------------------------------ sampling


def test_sampling_is_per_request_and_deterministic(tmp_path: Path) -> None:
    root = tmp_path / "log"
    ids = [f"req-{i}" for i in range(2000)]
    with PredictionLog(str(root), 0.25) as plog:
        kept = [rid for rid in ids if record(plog, rid, 2)]
    assert kept == [rid for rid in ids if sampled(rid, 0.25)]  # recomputable anywhere
    assert 0.2 < len(kept) / len(ids) < 0.3
    df = read_predictions(str(root), "credit")
    assert sorted(set(df.request_id)) == sorted(kept)
    assert (df.groupby("request_id").size() == 2).all()  # a request's rows all, or none
    assert (df.sampling_rate == 0.25).all()
    with PredictionLog(str(tmp_path / "none"), 0.0) as off:
        assert not any(record(off, rid) for rid in ids[:50])
    assert parts(tmp_path / "none") == []


# ------------------------------------------------------------ personal data


def test_dropped_and_hashed_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    salt = "pepper-7f3a"
    monkeypatch.setenv("MM_PREDICTION_LOG_SALT", salt)
    root = tmp_path / "log"
    with PredictionLog(str(root), 1.0, drop=["age", "latency_ms"], hash=["email"]) as plog:
        record(plog, "r1", 2)
        record(plog, "r2", 1)
    df = read_predictions(str(root), "credit")
    assert "input.age" not in df.columns and "latency_ms" not in df.columns
    assert "input.income" in df.columns
    expected = hashlib.sha256(f"{salt}\0user0@example.com".encode()).hexdigest()
    assert list(df["input.email"]) == [
        expected,
        hashlib.sha256(f"{salt}\0user1@example.com".encode()).hexdigest(),
        expected,  # the same value hashes alike: still joinable and countable
    ]
    for f in parts(root):
        data = f.read_bytes()
        assert b"example.com" not in data and salt.encode() not in data

    monkeypatch.delenv("MM_PREDICTION_LOG_SALT")
    with pytest.raises(InvalidInput, match="MM_PREDICTION_LOG_SALT"):
        PredictionLog(str(root), 1.0, hash=["email"])


def test_a_column_hashed_later_still_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feature logged as numbers, then hashed (text) once ``--log-hash`` is turned on: the log
    stays readable, that column as text."""
    monkeypatch.setenv("MM_PREDICTION_LOG_SALT", "s")
    root = tmp_path / "log"
    with PredictionLog(str(root), 1.0) as plog:
        record(plog, "before", ts=NOW - DAY)
    with PredictionLog(str(root), 1.0, hash=["income"]) as plog:
        record(plog, "after")
    df = read_predictions(str(root), "credit")
    assert list(df.request_id) == ["before", "after"]
    assert df["input.income"][0] == "0" and len(df["input.income"][1]) == 64
    assert list(df["input.age"]) == [20, 20]  # the other columns keep their types


# ------------------------------------------------------------ retention


def test_retention_removes_old_partitions(tmp_path: Path) -> None:
    root = tmp_path / "log"
    with PredictionLog(str(root), 1.0) as plog:  # plant: 40 and 10 days old, and today
        record(plog, "old", ts=NOW - 40 * DAY)
        record(plog, "old-v2", version="2", ts=NOW - 31 * DAY)
        record(plog, "recent", ts=NOW - 10 * DAY)
        record(plog, "today")
    assert len(parts(root)) == 4
    stale = parts(root)[-1].parent / ".part-deadbeef.parquet.tmp"
    stale.write_bytes(b"PAR1 truncated")  # what a writer killed mid-write leaves
    os.utime(stale, (NOW - 2 * 3600, NOW - 2 * 3600))
    PredictionLog(str(root), 1.0, retention_days=30).close()  # sweeps as its thread starts
    assert sorted(read_predictions(str(root), "credit").request_id) == ["recent", "today"]
    assert not list((root / "model=credit" / "version=2").glob("date=*"))
    assert len(parts(root)) == 2 and not stale.exists()


# ------------------------------------------------------------ reading back


def test_read_filters_and_schema_changes(tmp_path: Path) -> None:
    root = tmp_path / "log"
    t0 = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc).timestamp()
    with PredictionLog(str(root), 1.0) as plog:
        for d in range(3):
            record(plog, f"v1-d{d}", ts=t0 + d * DAY)
        plog.record(  # version 2 has another feature set
            request_id="v2",
            model_name="credit",
            model_version="2",
            model_digest="d2",
            alias=None,
            inputs=pd.DataFrame({"income": [5.0], "region": ["north"]}),
            outputs=[1],
            latency_ms=1.0,
            ts=t0 + DAY,
        )
        record(plog, "other-model", name="fraud", ts=t0)

    def ids(**kw: object) -> list[str]:
        return list(read_predictions(str(root), "credit", **kw).request_id)  # type: ignore[arg-type]

    assert ids() == ["v1-d0", "v1-d1", "v2", "v1-d2"]
    assert ids(version=2) == ["v2"] and ids(version="1") == ["v1-d0", "v1-d1", "v1-d2"]
    assert ids(start="2024-05-02") == ["v1-d1", "v2", "v1-d2"]
    assert ids(end="2024-05-02") == ["v1-d0", "v1-d1", "v2"]  # a date: the whole day
    assert ids(start=dt.date(2024, 5, 2), end=dt.date(2024, 5, 2)) == ["v1-d1", "v2"]
    assert ids(start=dt.datetime(2024, 5, 2, 12, 0, 1)) == ["v1-d2"]  # naive = UTC
    assert ids(end="2024-05-02T12:00:00Z") == ["v1-d0", "v1-d1", "v2"]
    assert ids(start=t0 + 2 * DAY) == ["v1-d2"]  # epoch seconds
    df = read_predictions(str(root), "credit")
    assert df.set_index("request_id").loc["v2", "input.region"] == "north"
    assert df.set_index("request_id")["input.region"].drop("v2").isna().all()
    assert read_predictions(str(root), "fraud").request_id.tolist() == ["other-model"]
    empty = read_predictions(str(root), "nobody")
    assert empty.empty and "request_id" in empty.columns
    assert read_predictions(str(tmp_path / "nothing-here"), "credit").empty
    with pytest.raises(InvalidInput, match="is not a time"):
        read_predictions(str(root), "credit", start="yesterday")
    with pytest.raises(InvalidInput, match="is after end"):
        read_predictions(str(root), "credit", start="2024-05-03", end="2024-05-01")


# ------------------------------------------------------------ flushing


def test_flush_by_size_and_by_time(tmp_path: Path) -> None:
    by_size = PredictionLog(str(tmp_path / "size"), 1.0, flush_rows=10, flush_seconds=3600)
    try:
        record(by_size, "a", 4)
        assert parts(tmp_path / "size") == []  # below flush_rows, nothing is written yet
        record(by_size, "b", 6)
        wait_for(lambda: parts(tmp_path / "size"), what="a flush by size")
        assert len(read_predictions(str(tmp_path / "size"), "credit")) == 10
    finally:
        by_size.close()
    by_time = PredictionLog(str(tmp_path / "time"), 1.0, flush_rows=10_000, flush_seconds=0.2)
    try:
        record(by_time, "a", 1)
        wait_for(lambda: parts(tmp_path / "time"), what="a flush by time")
    finally:
        by_time.close()


def test_full_buffer_drops_new_rows_and_counts_them(tmp_path: Path) -> None:
    plog = PredictionLog(
        str(tmp_path / "log"), 1.0, flush_rows=5, flush_seconds=3600, max_buffered_rows=5
    )
    plog._closing = True  # the writer stops taking rows: the queue only fills
    plog._wake.set()
    plog._thread.join()
    plog._closing = False
    assert record(plog, "a", 5)
    assert not record(plog, "b", 1)
    assert plog.dropped_rows == 1 and plog.recorded_rows == 5


# ------------------------------------------------------------ a full disk at close


def test_rows_unwritten_at_close_on_a_full_disk_are_spooled_until_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing on a filled tmpfs keeps the rows in the spool (another disk), whole and with the
    log's columns (the dropped one stays dropped); ``jupyter mm sync`` or the next writer moves
    them into the log once there is room, each row exactly once."""
    from jupyter_mm.cli import main as cli_main
    from jupyter_mm.serving.prediction_spool import pending, spool_dir
    from tests.support.tmpfs import small_disk

    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    with small_disk(tmp_path / "disk", megabytes=6) as disk:
        root = str(disk.path / "predictions")
        plog = PredictionLog(root, 1.0, drop=["email"])
        assert record(plog, "r1", 300)
        disk.fill()
        plog.close()
        assert (plog.written_rows, plog.spooled_rows) == (0, 300)
        assert disk.files("*.parquet") == [] and disk.files(".part-*") == []
        [spooled] = pending(root)
        assert "email" not in str(pd.read_parquet(spooled).columns)
        assert spooled.is_relative_to(spool_dir(root))
        with PredictionLog(root, 1.0) as later:  # still full: it stays spooled
            pass
        assert later.unspooled_rows == 0 and pending(root) == [spooled]
        assert cli_main(["sync"]) == 1  # still full: kept, and said so
        disk.free()
        assert cli_main(["sync"]) == 0
        assert pending(root) == [] and cli_main(["sync"]) == 0  # nothing left: harmless
        first = read_predictions(root, "credit")
        assert len(first) == 300 and set(first["request_id"]) == {"r1"}
        assert "input.email" not in first.columns and "input.income" in first.columns

        # the next writer of the root picks spooled rows up by itself
        plog = PredictionLog(root, 1.0)
        assert record(plog, "r2", 200)
        disk.fill()
        plog.close()
        assert plog.spooled_rows == 200
        disk.free()
        with PredictionLog(root, 1.0) as again:
            assert record(again, "r3", 5)
        assert again.unspooled_rows == 200 and pending(root) == []
        rows = read_predictions(root, "credit")["request_id"].value_counts().to_dict()
        assert rows == {"r1": 300, "r2": 200, "r3": 5}


# ------------------------------------------------------------ a killed writer

KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from jupyter_mm.serving.prediction_log import PredictionLog

    plog = PredictionLog(sys.argv[1], 1.0, flush_rows=10**6, flush_seconds=3600)
    def rec(i):
        plog.record(request_id=f"r{i}", model_name="m", model_version="1", model_digest="d",
                    alias=None, inputs=pd.DataFrame({"x": [float(i)]}), outputs=[i],
                    latency_ms=1.0, ts=time.time())
    for i in range(100):
        rec(i)
    assert plog.flush(60)
    for i in range(100, 150):
        rec(i)
    print("flushed", flush=True)
    sys.stdin.read()
    """
)


def test_killed_process_loses_only_the_unflushed_buffer(tmp_path: Path) -> None:
    root = tmp_path / "log"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"flushed"
    finally:
        proc.kill()  # SIGKILL: no atexit, no close()
        proc.wait(timeout=30)
    # a part being written when the process died: hidden name, never read
    folder = parts(root)[0].parent
    (folder / ".part-0123.parquet.tmp").write_bytes(b"PAR1\x00\x00 cut off")
    df = read_predictions(str(root), "m")
    assert sorted(df.request_id) == sorted(f"r{i}" for i in range(100))
    assert sorted(df["input.x"]) == [float(i) for i in range(100)]


# ------------------------------------------------------------ S3


@pytest.fixture(scope="module")
def s3_root() -> Iterator[str]:
    with s3_server() as endpoint:
        env = s3_env(endpoint)
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        import fsspec
        import s3fs

        fsspec.config.set_conf_env(fsspec.config.conf)  # pick up FSSPEC_S3_ENDPOINT_URL
        s3fs.S3FileSystem.clear_instance_cache()
        fsspec.filesystem("s3").mkdir("mm-predictions")
        try:
            yield "s3://mm-predictions/team/predictions"
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            fsspec.config.conf.pop("s3", None)
            s3fs.S3FileSystem.clear_instance_cache()


def test_s3_write_read_and_retention(s3_root: str) -> None:
    import fsspec

    with PredictionLog(s3_root, 1.0) as plog:
        record(plog, "old", ts=NOW - 40 * DAY)
        record(plog, "s3-a", 2)
        record(plog, "s3-b", 1, version="2")
    fs = fsspec.filesystem("s3")
    keys = fs.find(s3_root)
    assert len(keys) == 3 and all("/part-" in k and k.endswith(".parquet") for k in keys)
    assert list(read_predictions(s3_root, "credit", start=NOW - DAY).request_id) == [
        "s3-a",
        "s3-a",
        "s3-b",
    ]
    assert list(read_predictions(s3_root, "credit", version=2).request_id) == ["s3-b"]
    PredictionLog(s3_root, 1.0, retention_days=30).close()
    fs.invalidate_cache()
    assert "old" not in set(read_predictions(s3_root, "credit").request_id)
    assert len(fs.find(s3_root)) == 2


# ------------------------------------------------------------ mm.predictions


def test_mm_predictions_reads_the_local_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("MM_TRACKING_URI", "MM_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    store_dir = tmp_path / "store"
    with Store.open(str(store_dir)) as st:
        root = st.predictions_url
    assert root == str(store_dir / "artifacts" / "predictions")
    with PredictionLog(root, 1.0) as plog:
        record(plog, "local-1", 2)
        record(plog, "local-2", 1, version="2")
    mm.set_tracking_uri(str(store_dir))
    try:
        df = mm.predictions("credit")
        assert list(df.request_id) == ["local-1", "local-1", "local-2"]
        assert list(mm.predictions("credit", version=2).request_id) == ["local-2"]
        assert mm.predictions("credit", end=NOW - DAY).empty
    finally:
        mm.set_tracking_uri(None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("plog-server")
    with jupyter_server(root / "server", str(root / "store")) as srv:
        yield srv


def test_remote_read_through_the_server(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.open(server.store_uri) as st:
        root = st.predictions_url
    with PredictionLog(root, 1.0) as plog:
        record(plog, "remote-1", 2, ts=NOW - 2 * DAY)
        record(plog, "remote-2", 1, version="2")
    local = read_predictions(root, "credit")
    for var in ("MM_TRACKING_URI", "MM_ARTIFACT_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MM_TRACKING_TOKEN", TOKEN)
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    mm.set_tracking_uri(server.url)
    try:
        df = mm.predictions("credit")
        pd.testing.assert_frame_equal(df, local)
        assert list(mm.predictions("credit", version=2).request_id) == ["remote-2"]
        day = dt.datetime.fromtimestamp(NOW - 2 * DAY, dt.timezone.utc).date()
        assert list(mm.predictions("credit", start=day, end=day).request_id) == ["remote-1"] * 2
        assert mm.predictions("nobody").empty
        with pytest.raises(InvalidInput, match="is not a time"):
            mm.predictions("credit", start="soon")
    finally:
        mm.set_tracking_uri(None)


def _get(url: str, token: str | None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.headers["Content-Type"] == "application/vnd.apache.parquet"
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_rest_route_errors_and_auth(server: Server) -> None:
    base = f"{server.url}jupyter-mm/api/predictions"
    status, body = _get(f"{base}?name=credit&start=not-a-date", TOKEN)
    assert status == 400 and b"INVALID_PARAMETER_VALUE" in body and b"not a time" in body
    status, body = _get(f"{base}?version=1", TOKEN)
    assert status == 400 and b"'name'" in body
    status, _ = _get(f"{base}?name=credit", None)
    assert status in (401, 403)
    status, body = _get(f"{base}?name=credit", TOKEN)
    assert status == 200 and body[:4] == b"PAR1"


@pytest.mark.parametrize("bound", [int("9" * 400), float("nan"), float("inf"), 1e300])
def test_a_time_bound_no_clock_holds_is_a_clear_error(tmp_path: Path, bound: float) -> None:
    from jupyter_mm.core.predictions import read_predictions

    with pytest.raises(InvalidInput, match="epoch seconds"):
        read_predictions(str(tmp_path), "credit", start=bound)
