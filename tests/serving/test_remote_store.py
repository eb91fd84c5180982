"""Serving through a team server (``MM_TRACKING_URI=http://…``): the model's files and the alias
are read over the REST API, and the alias is still followed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

import jupyter_mm as mm
from tests.client.test_remote_registry import Team, team_server

from .support import PROBE, Models, credit_store, serving
from .test_alias import wait_for

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("remote-serving")) as m:
        yield m


@pytest.fixture(scope="module")
def team(models: Models, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    with team_server(tmp_path_factory.mktemp("team"), models.store_uri, None) as t:
        yield t


def test_an_alias_served_from_a_team_server_follows_it(
    models: Models, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MM_TRACKING_TOKEN", team.tokens["alice"])
    with serving(models=["models:/credit@champion"], store_uri=team.url,
                 alias_poll_seconds=0.05) as s:  # fmt: skip
        with requests.Session() as session:
            url = f"{s.url}/invocations"
            first = session.post(url, json={"dataframe_records": [PROBE]})
            assert first.status_code == 200 and first.headers["X-MM-Model-Version"] == "1"
            mm.set_alias("credit", "champion", 2)  # on the store the team server serves
            wait_for("version 2 from the team server", lambda: session.post(
                url, json={"dataframe_records": [PROBE]}).headers["X-MM-Model-Version"] == "2")  # fmt: skip
            second = session.post(url, json={"dataframe_records": [PROBE]})
            assert second.json() != first.json()  # v2 learnt the opposite labels
    mm.set_alias("credit", "champion", 1)
