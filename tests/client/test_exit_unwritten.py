"""A process that exits while its store cannot take writes: it exits normally, its points wait in
the local fallback spool, its run does not end FINISHED before they are written, and ``jupyter mm
sync`` writes them all later. The store is a real PostgreSQL database reached through a TCP proxy
that plays a database gone away (the remote client's case is in test_remote.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mm.cli import main as cli_main
from jupyter_mm.client import fallback
from jupyter_mm.client.remote.spool import Spool
from jupyter_mm.core.store import Store
from tests.support.postgres import create_database

from .support import REPO
from .test_remote_support import Proxy

pytestmark = pytest.mark.postgres

CHILD = """
    import sys
    import jupyter_mm as mm

    run = mm.start_run(name="exits-unwritten")
    for i in range(100):
        mm.log_metric("loss", float(i))
    run.flush()
    print(run.id, flush=True)
    sys.stdin.readline()  # the database goes away here
    for i in range(100, 1000):
        mm.log_metric("loss", float(i))
    # no end_run: the run is ended at exit
"""


@pytest.fixture
def database(postgres_admin_url: str, tmp_path: Path) -> Iterator[tuple[str, Proxy]]:
    """A fresh store database, and a proxy in front of its server."""
    url = create_database(postgres_admin_url, f"mm_exit_{os.getpid()}_{tmp_path.name[-12:]}")
    Store.open(url, artifact_uri=str(tmp_path / "artifacts")).close()
    port = int(url.rsplit("@", 1)[1].split("/")[0].rsplit(":", 1)[1])
    proxy = Proxy(port)
    yield url, proxy
    proxy.close()


def test_a_process_exiting_while_its_database_is_gone_leaves_its_points_for_sync(
    database: tuple[str, Proxy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, proxy = database
    host_port = url.rsplit("@", 1)[1].split("/")[0]
    through_proxy = url.replace(host_port, f"127.0.0.1:{proxy.port}")
    artifacts = str(tmp_path / "artifacts")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        MM_TRACKING_URI=through_proxy,
        MM_ARTIFACT_URI=artifacts,
        MM_SPOOL_DIR=str(tmp_path / "spool"),
    )
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    child = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert run_id, child.stderr.read() if child.stderr else ""
        proxy.down()
        out, err = child.communicate("go\n", timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "could not be written" in err and "jupyter mm sync" in err

    with Store.open(url, artifact_uri=artifacts) as st:  # directly, not through the proxy
        r = st.get_run(run_id)
        assert r.status == "RUNNING" and r.end_time is None  # not FINISHED with holes
        assert st.get_metric_history(run_id, "loss")["step"].tolist() == list(range(100))
    monkeypatch.setenv("MM_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.delenv("MM_TRACKING_URI", raising=False)
    [(spool_dir, db_url, artifact_url)] = fallback.spooled_stores()
    assert f"127.0.0.1:{proxy.port}/" in db_url and artifact_url == artifacts
    assert Spool(spool_dir).pending_records() > 0
    assert cli_main(["sync"]) == 1  # the database is still away: nothing lost, said so
    assert "still spooled" in capsys.readouterr().out
    proxy.up()
    assert cli_main(["sync"]) == 0
    assert "write(s) sent" in capsys.readouterr().out
    assert not Spool(spool_dir).pending()
    with Store.open(url, artifact_uri=artifacts) as st:
        r = st.get_run(run_id)
        h = st.get_metric_history(run_id, "loss")
        assert r.status == "FINISHED" and r.end_time is not None
        assert fallback.UNWRITTEN_TAG not in r.tags
        assert h["step"].tolist() == list(range(1000))  # every point, exactly once
        assert h["value"].tolist() == [float(i) for i in range(1000)]
