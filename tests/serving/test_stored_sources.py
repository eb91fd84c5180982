"""A model server never follows a registered version's source that escapes its root: versions
written straight into the database (as an older release could have left them, before sources
were checked) are refused with an error naming the version, whether named at start, by
``jupyter mm serve``, or reached by an alias the server follows, which keeps serving what it had.
The bad local source points at a real, loadable model, so following it would have worked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import jupyter_mm as mm
from jupyter_mm.core.store import Store
from jupyter_mm.errors import InvalidInput
from tests.server.helpers import insert_old_versions

from .support import PROBE, Models, credit_store, serving

pytest.importorskip("sklearn")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    with credit_store(tmp_path_factory.mktemp("stored-sources")) as m:
        yield m


def escaping(models: Models) -> dict[str, str]:
    """One stored source of each refused form, for credit v1's run."""
    with Store.open(models.store_uri) as store:
        run = store.get_model_version("credit", 1).run_id
    return {
        "plain": f"runs:/{run}/credit/../../../etc",
        "encoded": f"runs:/{run}/credit/%2E%2E/%2E%2E/etc",
        "query": "s3://bucket/models?x=../../etc",
        "fragment": f"runs:/{run}/credit#/../../etc",
        "local": models.directory,  # a real model, outside the store's artifact root
        "file": f"file://{models.directory}",
    }


@pytest.fixture(scope="module")
def legacy(models: Models) -> dict[str, int]:
    """Registered model ``legacy`` with one old version per form: form -> version."""
    forms = escaping(models)
    with Store.open(models.store_uri) as store:
        store.create_registered_model("legacy", actor="old")
        db_url = store.location.db_url
    insert_old_versions(db_url, "legacy", list(forms.values()))
    return {form: i for i, form in enumerate(forms, 1)}


@pytest.mark.parametrize("form", ["plain", "encoded", "query", "fragment", "local", "file"])
def test_a_stored_source_that_escapes_is_not_served(
    form: str, models: Models, legacy: dict[str, int]
) -> None:
    version = legacy[form]
    with pytest.raises(InvalidInput) as e:
        with serving(models=[f"models:/legacy/{version}"], store_uri=models.store_uri):
            pass
    assert f"model version legacy {version} cannot be resolved" in e.value.message
    assert e.value.details == {"name": "legacy", "version": version}


def test_jupyter_mm_serve_refuses_it_with_a_clear_error(
    models: Models, legacy: dict[str, int]
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.pop("MM_SERVE_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "--store", models.store_uri, "serve",
         f"models:/legacy/{legacy['local']}", "--open", "--port", "0"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0
    assert f"model version legacy {legacy['local']} cannot be resolved" in out.stderr
    assert "Traceback" not in out.stderr
    assert "jupyter-mm model server on" not in out.stdout  # it never started serving


def test_an_alias_moved_onto_such_a_version_keeps_the_old_one_serving(models: Models) -> None:
    with Store.open(models.store_uri) as store:
        db_url = store.location.db_url
        newest = max(v.version for v in store.list_model_versions("credit"))
    bad = newest + 1
    insert_old_versions(db_url, "credit", [models.directory], first=bad)
    mm.set_tracking_uri(models.store_uri)
    try:
        champion = mm.resolve("credit", "champion")
        with serving(models=["models:/credit@champion"], store_uri=models.store_uri,
                     alias_poll_seconds=0.05) as server:  # fmt: skip
            ready = f"{server.url}/v2/models/credit/ready"
            assert requests.get(ready).status_code == 200
            mm.set_alias("credit", "champion", bad)
            deadline = time.monotonic() + 60
            while requests.get(ready).status_code != 503:
                assert time.monotonic() < deadline, "the server never reported the refusal"
                time.sleep(0.05)  # polling the server's state, with a deadline
            error = requests.get(ready).json()["error"]
            assert f"model version credit {bad} cannot be resolved" in error
            r = requests.post(f"{server.url}/invocations", json={"dataframe_records": [PROBE]})
            assert r.status_code == 200
            assert r.headers["X-MM-Model-Version"] == str(champion)
    finally:
        mm.set_alias("credit", "champion", int(champion))
        mm.set_tracking_uri(None)
