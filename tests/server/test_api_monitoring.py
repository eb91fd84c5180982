"""``GET registry/models/{name}/monitoring`` on a real Jupyter server over a real SQLite file and
a real PostgreSQL server: per version its status word, the monitors watching it, its latest
evaluation record and its history oldest first, as the spec says; evaluations made through a
remote store (the server's own REST API) keep their records too; an unknown model is 404 and a
refused identity 403."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_mm.client.remote.spool import Spool
from jupyter_mm.client.remote.store import RemoteStore
from jupyter_mm.core.store import Store
from jupyter_mm.monitoring import monitors as mon
from jupyter_mm.server.identity import TokenIdentityProvider, token_digest
from tests.monitoring.monitor_data import T0, log_predictions, scored_model

from .test_openapi import SPEC_PATH, Contract

ALICE = "alice-token-0123456789"
CAROL = "carol-token-0123456789"
TEMPLATE = "/registry/models/{name}/monitoring"
_MONITOR = mon.Monitor(model="credit", id="champion", window="1h", every="1h", min_rows=200)


class NoRegistryForCarol(Authorizer):
    """Carol may use the server but not read the registry."""

    def is_authorized(self, handler, user, action, resource):  # type: ignore[no-untyped-def]
        return not (user.username == "carol" and resource == "jupyter_mm:registry")


@pytest.fixture
def jp_server_config(mm_clean_env: None, server_store_uri: str, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
                "identity_provider_class": TokenIdentityProvider,
                "authorizer_class": NoRegistryForCarol,
            },
            "TokenIdentityProvider": {
                "token_digests": {token_digest(ALICE): "alice", token_digest(CAROL): "carol"}
            },
            "JupyterMM": {
                "tracking_uri": server_store_uri,
                "artifact_uri": str(tmp_path / "artifacts"),
                "monitors": False,  # the test evaluates; no scheduler beside it
            },
        }
    )


@pytest.fixture
def server_store(server_store_uri: str, tmp_path: Path) -> Any:
    st = Store.open(server_store_uri, artifact_uri=str(tmp_path / "artifacts"))
    yield st
    st.close()


async def test_monitoring_per_version_history_and_refusals(
    jp_fetch: Any, http_server_port: Any, jp_base_url: str, server_store: Store, tmp_path: Path
) -> None:
    contract = Contract(yaml.safe_load(SPEC_PATH.read_text()))

    async def get(name: str, token: str = ALICE, **params: str) -> tuple[int, Any]:
        try:
            r = await jp_fetch(
                "jupyter-mm", "api", "registry", "models", name, "monitoring",
                headers={"Authorization": f"token {token}"}, params=params,
            )  # fmt: skip
        except HTTPClientError as e:
            assert e.response is not None
            r = e.response
        contract.check("GET", TEMPLATE, r.code, r.headers, r.body)
        return r.code, json.loads(r.body)

    store = server_store
    scored_model(store)  # version 1 behind champion, with its reference
    train = store.create_run("0")
    store.create_model_version("credit", f"runs:/{train.id}/model", actor="ana")  # version 2
    code, before = await get("credit")
    assert code == 200 and before["monitors"] == []
    assert [(v["version"], v["status"], v["latest"]) for v in before["versions"]] == [
        (2, "no-data", None), (1, "no-data", None),
    ]  # fmt: skip

    m = mon.define(store, _MONITOR, actor="ana")
    log_predictions(store, T0 + 60, 1000)
    log_predictions(store, T0 + 3600 + 60, 1000, shift=1.0, seed=2)
    mon.evaluate(store, m, T0 + 3000)  # ok
    # the second evaluation through the server's REST API, as a remote kernel makes it
    port = http_server_port[-1] if isinstance(http_server_port, tuple) else http_server_port
    url = f"http://127.0.0.1:{port}{jp_base_url}"
    with RemoteStore(url, token=ALICE, spool=Spool(tmp_path / "spool")) as remote:
        drift = await asyncio.to_thread(mon.evaluate, remote, m, T0 + 3600 + 3000)
    assert drift.status == "drift"
    thin = mon.evaluate(store, m, T0 + 86400)  # an empty window

    code, found = await get("credit")
    assert code == 200
    assert [(x["id"], x["alias"], x["version"]) for x in found["monitors"]] == [
        ("champion", "champion", 1)
    ]
    v2, v1 = found["versions"]
    assert (v2["version"], v2["status"], v2["monitors"], v2["history"]) == (2, "no-data", [], [])
    assert (v1["version"], v1["status"], v1["monitors"], v1["evaluations"]) == (
        1, "not-enough-data", ["champion"], 3,
    )  # fmt: skip
    assert [(h["step"], h["status"], h["rows"]) for h in v1["history"]] == [
        (1, "ok", 1000), (2, "drift", 1000), (3, "not-enough-data", 0),
    ]  # fmt: skip
    assert [h["at"] for h in v1["history"]] == sorted(h["at"] for h in v1["history"])
    assert v1["latest"]["id"] == thin.id and v1["latest"]["status"] == "not-enough-data"
    # the record the remote evaluation kept is the server's artifact, read back whole
    record = json.loads(store.read_artifact(drift.run_id, mon.evaluation_path(2)))
    assert record["id"] == drift.id and record["status"] == "drift"
    assert [v["feature"] for v in record["verdicts"]] == ["income", "region"]

    log_predictions(store, T0 + 90000, 1000, shift=1.0, seed=3)
    mon.evaluate(store, m, T0 + 90000 + 600)  # drifted again
    code, again = await get("credit", history="2")
    v1 = again["versions"][1]
    assert (v1["status"], [h["step"] for h in v1["history"]]) == ("drift", [3, 4])
    assert v1["latest"]["verdicts"][0]["band"] == "drift"

    code, missing = await get("nobody")
    assert (code, missing["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, bad = await get("credit", history="many")
    assert (code, bad["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, refused = await get("credit", token=CAROL)
    assert (code, refused["error_code"]) == (403, "PERMISSION_DENIED")
    code, unknown = await get("credit", token="not-a-token")
    assert code in (401, 403) and "error_code" in unknown


REPORT = "/registry/models/{name}/versions/{version}/monitoring"


def _scores(rows: int, shift: float, seed: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).beta(2 + 3 * shift, 5, rows)


async def test_version_report_latest_evaluation_bins_and_series(
    jp_fetch: Any, server_store: Store
) -> None:
    """The version's latest evaluation as a report: the record's verdicts with the bins behind
    them (the score's too), each statistic at every evaluation kept, a continuous statistic's
    distributions drawn on the reference's deciles from the window; nothing evaluated: nulls;
    unknown version 404, a reader without the registry 403."""
    import numpy as np

    from jupyter_mm.monitoring.profile import build_profile
    from jupyter_mm.serving.prediction_log import PredictionLog
    from tests.monitoring.monitor_data import features

    contract = Contract(yaml.safe_load(SPEC_PATH.read_text()))

    async def get(version: str, token: str = ALICE, **params: str) -> tuple[int, Any]:
        try:
            r = await jp_fetch(
                "jupyter-mm", "api", "registry", "models", "credit", "versions", version,
                "monitoring", headers={"Authorization": f"token {token}"}, params=params,
            )  # fmt: skip
        except HTTPClientError as e:
            assert e.response is not None
            r = e.response
        contract.check("GET", REPORT, r.code, r.headers, r.body)
        return r.code, json.loads(r.body)

    store = server_store
    run = store.create_run("0", name="train")
    store.create_registered_model("credit", actor="ana")
    store.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")
    store.create_model_version("credit", f"runs:/{run.id}/model", actor="ana")
    store.set_registered_model_alias("credit", "champion", 1, actor="ana")
    profile = build_profile(features(2000), _scores(2000, 0.0, 5))
    store.set_reference_profile("credit", 1, profile.doc, actor="ana")

    def log(ts: float, shift: float, seed: int) -> None:
        with PredictionLog(store.predictions_url, 1.0) as plog:
            assert plog.record(
                request_id=f"req-{ts}", model_name="credit", model_version="1",
                model_digest="sha256:test", alias="champion", inputs=features(1000, shift, seed),
                outputs=_scores(1000, shift, seed), latency_ms=1.0, ts=ts,
            )  # fmt: skip

    code, before = await get("1")
    assert (code, before) == (
        200, {"name": "credit", "version": 1, "report": None, "evaluations": None, "series": None},
    )  # fmt: skip

    m = mon.define(store, _MONITOR, actor="ana")
    log(T0 + 60, 0.0, 2)
    log(T0 + 3600 + 60, 1.0, 3)
    first = mon.evaluate(store, m, T0 + 3000)
    second = mon.evaluate(store, m, T0 + 3600 + 3000)
    assert (first.status, second.status) == ("ok", "drift")

    code, found = await get("1")
    assert code == 200
    report = found["report"]
    assert (report["evaluation"], report["step"], report["status"], report["drifted"]) == (
        second.id, 2, "drift", True,
    )  # fmt: skip
    assert (report["monitor"], report["window"], report["rows"]) == ("champion", "1h", 1000)
    assert second.result is not None
    kept = {v.feature: v for v in second.result.verdicts}
    assert [v["feature"] for v in report["verdicts"]] == ["income", "region", "__score__"]
    for v in report["verdicts"]:
        verdict = kept[v["feature"]]
        assert v["statistic"] == pytest.approx(verdict.statistic)
        assert (v["band"], v["bins_source"]) == (verdict.band, "verdict")
        bins = v["bins"]
        assert verdict.bins is not None
        assert bins["current_counts"] == list(verdict.bins.current_counts)
        assert len(bins["reference"]) == len(bins["current"]) == len(bins["labels"])
        assert sum(bins["current_counts"]) == 1000
        assert sum(bins["reference"]) == pytest.approx(1.0)
    # income moved a standard deviation: its current mass sits in the upper deciles
    income = report["verdicts"][0]["bins"]
    assert sum(income["current"][-3:]) > 2 * sum(income["reference"][-3:])

    steps = [e["step"] for e in found["evaluations"]]
    assert steps == [1, 2]
    assert first.result is not None
    for feature, s in found["series"].items():
        was = {v.feature: v.statistic for v in first.result.verdicts}[feature]
        assert s["statistic"] == pytest.approx([was, kept[feature].statistic])
        assert s["metric"] == ("psi/score" if feature == "__score__" else f"psi/{feature}")
    code, short = await get("1", history="1")
    assert [e["step"] for e in short["evaluations"]] == [2]
    assert len(short["series"]["income"]["statistic"]) == 1

    # a continuous statistic (Wasserstein: over 1,000 reference rows) has no bins: the
    # reference's deciles
    evid = mon.define(store, replace(_MONITOR, id="evid", preset="evidently-compatible"),
                      actor="ana")  # fmt: skip
    third = mon.evaluate(store, evid, T0 + 3600 + 3300)
    code, cont = await get("1")
    report = cont["report"]
    assert (report["evaluation"], report["monitor"]) == (third.id, "evid")
    income = next(v for v in report["verdicts"] if v["feature"] == "income")
    assert (income["method"], income["bins_source"]) == ("wasserstein", "deciles")
    assert sum(income["bins"]["current_counts"]) == 1000
    assert income["bins"]["reference"] == pytest.approx(
        [p / sum(income["bins"]["reference_counts"]) for p in income["bins"]["reference_counts"]]
    )
    assert [e["monitor"] for e in cont["evaluations"]] == ["evid"]

    code, none = await get("2")
    assert (code, none["report"], none["series"]) == (200, None, None)
    code, missing = await get("9")
    assert (code, missing["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    code, bad = await get("1", history="0")
    assert (code, bad["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    code, refused = await get("1", token=CAROL)
    assert (code, refused["error_code"]) == (403, "PERMISSION_DENIED")
    assert np.isfinite(report["share"])


async def test_registration_through_rest_freezes_the_evaluation_dataset(
    jp_fetch: Any, server_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``POST .../versions`` profiles the run's logged evaluation dataset as ``mm.register_model``
    does, audited under the caller; a dataset that cannot be read back registers the version
    without a profile (logged, not refused); a run without one registers silently."""
    import pandas as pd

    from jupyter_mm.client.datasets import describe
    from jupyter_mm.core.registry.reference import REFERENCE_TAG
    from jupyter_mm.monitoring.profile import build_profile
    from tests.monitoring.monitor_data import features, undated

    store = server_store
    valid = features(1500, seed=4)
    csv = tmp_path / "valid.csv"
    valid.to_csv(csv, index=False)

    def model_run(dataset: Path | None) -> str:
        run = store.create_run("0", name="train")
        if dataset is not None:
            store.log_dataset(run.id, describe(str(dataset), "valid", context="validation"))
        store.log_artifact(run.id, "model/MLmodel", b"flavors:\n  python_function: {}\n")
        return run.id

    async def register(run_id: str) -> dict[str, Any]:
        r = await jp_fetch(
            "jupyter-mm", "api", "registry", "models", "credit", "versions", method="POST",
            headers={"Authorization": f"token {ALICE}"},
            body=json.dumps({"run_id": run_id, "path": "model"}),
        )  # fmt: skip
        assert r.code == 201
        return dict(json.loads(r.body))

    store.create_registered_model("credit", actor="ana")
    v1 = await register(model_run(csv))
    found = store.reference_profile("credit", 1)
    assert found is not None and v1["tags"][REFERENCE_TAG] == found["digest"]
    assert undated(found["profile"]) == undated(build_profile(pd.read_csv(csv)).doc)
    tagged = [e for e in store.audit_log("credit") if e.action == "version.tag_set"]
    assert [(e.actor, e.version, e.comment) for e in tagged] == [
        ("alice", 1, "reference profile: the logged evaluation dataset")
    ]

    changed = model_run(csv)
    csv.write_text("income,region\n1,N\n")  # no longer the logged content
    with caplog.at_level("WARNING"):
        v2 = await register(changed)
    assert v2["version"] == 2 and REFERENCE_TAG not in v2["tags"]
    assert store.reference_profile("credit", 2) is None
    assert any(
        "version 2 was registered without a reference profile" in r.getMessage()
        and "changed since it was logged" in r.getMessage()
        for r in caplog.records
    )

    caplog.clear()
    v3 = await register(model_run(None))
    assert v3["version"] == 3 and REFERENCE_TAG not in v3["tags"]
    assert not [r for r in caplog.records if "reference profile" in r.getMessage()]
