"""Following an alias: ``models:/credit@champion`` switches to the version the alias moves to
while clients keep sending, drops no request, and each answer names the version that gave it.
A version that fails to load (it needs ``--trust``) keeps the old one serving, not ready."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
import requests

import jupyter_mm as mm

from .support import PROBE, Models, ServerThread, credit_store, serving

pytest.importorskip("sklearn")
DEADLINE = 60.0


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("alias")) as m:
        yield m


@pytest.fixture(scope="module")
def server(models: Models) -> Iterator[ServerThread]:
    with serving(models=["models:/credit@champion"], store_uri=models.store_uri,
                 alias_poll_seconds=0.05, batch_window_ms=2) as s:  # fmt: skip
        yield s


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it returns something truthy; fail after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)  # pacing the poll, not synchronising: the condition decides
    pytest.fail(f"timed out waiting for {what}")


def probe(server: ServerThread, session: requests.Session) -> requests.Response:
    return session.post(f"{server.url}/invocations", json={"dataframe_records": [PROBE]})


def metric(server: ServerThread, line_start: str) -> float:
    for line in requests.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_alias_switch_under_load_drops_nothing(server: ServerThread, models: Models) -> None:
    answers = {
        v: mm.load_model(models.uris[v]).predict(pd.DataFrame([PROBE])).tolist() for v in (1, 2)
    }
    assert answers[1] != answers[2]  # the answer itself tells the versions apart
    stop = threading.Event()
    seen: list[tuple[int, str, Any]] = []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                r = probe(server, session)
                body = r.json()
                with lock:
                    seen.append((r.status_code, r.headers.get("X-MM-Model-Version", ""),
                                 body.get("predictions", body)))  # fmt: skip

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for("answers from version 1", lambda: any(v == "1" for _, v, _ in list(seen)))
        mm.set_alias("credit", "champion", 2)
        wait_for("an answer from version 2", lambda: any(v == "2" for _, v, _ in list(seen)))
        count = len(seen)
        wait_for("more answers after the switch", lambda: len(seen) > count + 20)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert all(status == 200 for status, _, _ in seen), [s for s in seen if s[0] != 200][:3]
    for _, version, predictions in seen:
        assert predictions == answers[int(version)]  # each answer names its version truly
    switched = [i for i, (_, v, _) in enumerate(seen) if v == "2"]
    assert switched and all(v == "2" for _, v, _ in seen[switched[0] + 8 :])
    assert metric(server, 'mm_serve_alias_switches_total{alias="champion",model="credit"}') == 1
    assert metric(server, 'mm_serve_model_loads_total{model="credit",result="ok",version="2"}') == 1


def test_a_version_that_fails_to_load_keeps_the_old_one_serving(
    server: ServerThread, models: Models, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("ERROR", logger="jupyter_mm.serving")
    mm.set_alias("credit", "champion", 2)
    with requests.Session() as session:
        wait_for("version 2", lambda: probe(server, session).headers["X-MM-Model-Version"] == "2")
        mm.set_alias("credit", "champion", 3)  # cloudpickled: needs --trust, which it lacks
        ready = f"{server.url}/v2/models/credit/ready"
        wait_for("not ready", lambda: requests.get(ready).status_code == 503)
        doc = requests.get(ready).json()
        assert doc["ready"] is False and "version 3 failed to load" in doc["error"]
        assert "trust" in doc["error"]
        (line,) = [  # once, not once per poll
            r for r in caplog.records if r.name == "jupyter_mm.serving" and r.levelname == "ERROR"
        ]
        assert line.getMessage().startswith("model credit: version 3 failed to load: ")
        assert "trust" in line.getMessage()
        assert line.getMessage().endswith("; version 2 keeps serving")
        r = probe(server, session)
        assert r.status_code == 200 and r.headers["X-MM-Model-Version"] == "2"
        assert requests.get(f"{server.url}/v2/health/ready").status_code == 200  # others fine
        assert requests.get(f"{server.url}/ping").status_code == 200
        assert metric(server, 'mm_serve_model_loads_total{model="credit",result="error",'
                              'version="3"}') == 1  # fmt: skip
        assert metric(server, 'mm_serve_model_ready{model="credit"}') == 0
        mm.set_alias("credit", "champion", 2)  # moved back to what is served: ready again
        wait_for("ready again", lambda: requests.get(ready).status_code == 200)
        assert metric(server, 'mm_serve_model_ready{model="credit"}') == 1


def test_a_deleted_alias_keeps_the_served_version(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="jupyter_mm.serving")
    with requests.Session() as session:
        served = probe(server, session).headers["X-MM-Model-Version"]
        mm.delete_alias("credit", "champion")
        try:
            wait_for("the warning", lambda: any(
                "cannot read alias" in r.getMessage() for r in caplog.records))  # fmt: skip
            r = probe(server, session)
            assert r.status_code == 200 and r.headers["X-MM-Model-Version"] == served
            assert requests.get(f"{server.url}/v2/models/credit/ready").status_code == 200
        finally:
            mm.set_alias("credit", "champion", int(served))


def test_an_archived_version_never_serves(models: Models) -> None:
    """Retired versions do not serve: naming one is a clear refusal, ``latest`` skips it, and
    the alias that serves cannot be moved onto it."""
    from jupyter_mm.errors import InvalidInput
    from jupyter_mm.serving.config import ModelSpec, ServeConfig
    from jupyter_mm.serving.models import ModelSource

    source = ModelSource(ServeConfig(models=[], store_uri=models.store_uri))
    mm.set_tracking_uri(models.store_uri)
    try:
        champion = str(mm.resolve("credit", "champion"))
        mm.archive_version("credit", 3, "replaced by v2")
        with pytest.raises(InvalidInput, match="version 3 of 'credit' is archived"):
            source.target(ModelSpec("models:/credit/3"))
        assert source.target(ModelSpec("models:/credit/latest")).version == "2"
        with pytest.raises(InvalidInput, match="it is archived"):
            mm.set_alias("credit", "champion", 3)
        assert source.target(ModelSpec("models:/credit@champion")).version == champion
    finally:
        mm.reactivate_version("credit", 3, "test over")
        mm.set_tracking_uri(None)
        source.close()
    assert source.target(ModelSpec("models:/credit/latest")).version == "3"
