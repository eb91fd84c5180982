"""The official mlflow client's model registry against jupyter-mm's MLflow routes: register_model,
registered models and versions (+ tags, search, stages), aliases, loading ``models:/NAME@ALIAS``
and ``models:/NAME/VERSION``, MLflow's error codes, and the audit trail recording the
authenticated Jupyter identity."""

from __future__ import annotations

import getpass
import json
from typing import Any

import pytest

from jupyter_mm.core.registry import PolicyChange
from jupyter_mm.core.store import Store

from .test_mlflow_fixtures import in_thread, mlflow_uri_fixture, mm_store_fixture
from .test_mlflow_wire import call, jp_fetch

__all__ = ["jp_fetch", "mlflow_uri_fixture", "mm_store_fixture"]  # fixtures used by name

pytest.importorskip("sklearn")


async def _identity(jp_fetch: Any) -> dict[str, str]:
    """Who Jupyter authenticates the test token as."""
    r = await jp_fetch("api/me")
    return dict(json.loads(r.body)["identity"])


def _train_and_register(out: dict[str, Any]) -> Any:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression

    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    mlflow.set_experiment("credit")
    models = []
    for slope in (2.0, 3.0):
        model = LinearRegression().fit(X, X @ np.array([slope, -1.0]) + 0.5)
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
        mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", "credit-scorer")
        out.setdefault("registered", []).append((mv.version, mv.run_id, mv.status))
        out.setdefault("run_ids", []).append(run.info.run_id)
        models.append(model)
    out["expected"] = [m.predict(X).round(6).tolist() for m in models]
    return X


async def test_register_alias_and_load(mlflow_uri: str, mm_store: Store, jp_fetch: Any) -> None:
    def scenario() -> dict[str, Any]:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        out: dict[str, Any] = {}
        X = _train_and_register(out)
        rm = client.get_registered_model("credit-scorer")
        out["model"] = (rm.name, [v.version for v in rm.latest_versions], rm.aliases)
        v1 = client.get_model_version("credit-scorer", "1")
        out["v1"] = (v1.source, v1.run_id, v1.status, v1.current_stage)
        client.set_registered_model_alias("credit-scorer", "champion", "1")
        client.set_registered_model_alias("credit-scorer", "challenger", "2")
        out["by_alias"] = client.get_model_version_by_alias("credit-scorer", "champion").version
        out["aliases"] = client.get_registered_model("credit-scorer").aliases
        champion = mlflow.pyfunc.load_model("models:/credit-scorer@champion")
        out["champion"] = champion.predict(X).round(6).tolist()
        out["v2"] = mlflow.pyfunc.load_model("models:/credit-scorer/2").predict(X).round(6).tolist()
        out["latest"] = mlflow.pyfunc.load_model("models:/credit-scorer/latest").predict(X)
        out["latest"] = out["latest"].round(6).tolist()
        client.set_registered_model_alias("credit-scorer", "champion", "2")  # promote
        moved = mlflow.pyfunc.load_model("models:/credit-scorer@champion")
        out["champion_after_move"] = moved.predict(X).round(6).tolist()
        client.delete_registered_model_alias("credit-scorer", "challenger")
        with pytest.raises(MlflowException) as e:
            client.get_model_version_by_alias("credit-scorer", "challenger")
        out["unknown_alias"] = (e.value.error_code, e.value.get_http_status_code())
        with pytest.raises(MlflowException) as e:
            client.set_registered_model_alias("credit-scorer", "latest", "1")
        out["reserved"] = (e.value.error_code, e.value.message)
        with pytest.raises(MlflowException) as e:
            client.get_registered_model("no-such-model")
        out["unknown_model"] = e.value.error_code
        with pytest.raises(MlflowException) as e:
            client.get_model_version("credit-scorer", "99")
        out["unknown_version"] = e.value.error_code
        with pytest.raises(MlflowException) as e:
            client.create_registered_model("credit-scorer")
        out["duplicate"] = e.value.error_code
        out["download_uri"] = client.get_model_version_download_uri("credit-scorer", "1")
        return out

    out = await in_thread(scenario)
    run1, run2 = out["run_ids"]
    assert out["registered"] == [("1", run1, "READY"), ("2", run2, "READY")]
    assert out["model"] == ("credit-scorer", ["2"], {})
    source, run_id, status, stage = out["v1"]
    assert source.startswith("models:/m-")  # register_model resolved the run's logged model
    model_id = source.removeprefix("models:/")
    assert (run_id, status, stage) == (run1, "READY", "None")
    assert out["by_alias"] == "1"
    assert out["aliases"] == {"champion": "1", "challenger": "2"}
    assert out["champion"] == out["expected"][0]
    assert out["v2"] == out["latest"] == out["champion_after_move"] == out["expected"][1]
    assert out["unknown_alias"] == ("INVALID_PARAMETER_VALUE", 400)
    assert out["reserved"][0] == "INVALID_PARAMETER_VALUE" and "reserved" in out["reserved"][1]
    assert out["unknown_model"] == out["unknown_version"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert out["download_uri"].endswith(f"/{run1}/artifacts/models/{model_id}")

    # the registry is jupyter-mm's own: the same versions, and an audit trail of who did what
    versions = mm_store.list_model_versions("credit-scorer")
    assert [(v.version, v.run_id, v.model_path) for v in versions] == [
        (2, run2, f"models/{versions[0].logged_model_id}"),
        (1, run1, f"models/{model_id}"),
    ]
    # a personal server's shared token authenticates an anonymous user, so the OS user who
    # owns the server is recorded (test_team_server_records_the_identity covers the other case)
    assert (await _identity(jp_fetch))["name"].startswith("Anonymous ")
    log = mm_store.audit_log("credit-scorer")
    assert {e.actor for e in log} == {getpass.getuser()}
    assert [(e.action, e.alias, e.version) for e in log] == [
        ("model.created", None, None),
        ("version.created", None, 1),
        ("version.created", None, 2),
        ("alias.set", "champion", 1),
        ("alias.set", "challenger", 2),
        ("alias.moved", "champion", 2),
        ("alias.deleted", "challenger", 2),
    ]
    assert mm_store.resolve("credit-scorer", "champion", at=log[4].time) == 1
    assert mm_store.verify_audit().ok


@pytest.mark.filterwarnings("ignore:.*deprecated since 2.9.0:FutureWarning")
async def test_models_versions_tags_search_and_stages(mlflow_uri: str, mm_store: Store) -> None:
    def scenario() -> dict[str, Any]:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        out: dict[str, Any] = {}
        client.create_registered_model("pd-retail", tags={"team": "risk"}, description="PD")
        client.create_registered_model("pd-sme", tags={"team": "risk"})
        client.create_registered_model("fraud")
        with client_run() as run_id:
            for name in ("pd-retail", "pd-retail", "pd-sme"):
                client.create_model_version(
                    name, f"runs:/{run_id}/model", run_id=run_id, tags={"auc": "0.8"}
                )
        out["search_like"] = [
            m.name for m in client.search_registered_models(filter_string="name LIKE 'pd-%'")
        ]
        out["search_tag"] = [
            m.name for m in client.search_registered_models(filter_string="tags.team = 'risk'")
        ]
        out["ordered"] = [m.name for m in client.search_registered_models(order_by=["name DESC"])]
        page = client.search_registered_models(max_results=2, order_by=["name ASC"])
        rest = client.search_registered_models(
            max_results=2, order_by=["name ASC"], page_token=page.token
        )
        out["pages"] = [m.name for m in page] + [m.name for m in rest]
        out["versions"] = sorted(
            (v.name, v.version) for v in client.search_model_versions("name = 'pd-retail'")
        )
        client.update_registered_model("pd-retail", description="PD, retail book")
        client.set_registered_model_tag("pd-retail", "tier", "1")
        client.delete_registered_model_tag("pd-retail", "team")
        rm = client.get_registered_model("pd-retail")
        out["model"] = (rm.description, rm.tags)
        client.update_model_version("pd-retail", "1", description="first")
        client.set_model_version_tag("pd-retail", "1", "validated", "yes")
        client.delete_model_version_tag("pd-retail", "1", "auc")
        v = client.get_model_version("pd-retail", "1")
        out["version"] = (v.description, v.tags)
        client.transition_model_version_stage("pd-retail", "1", "Production")
        client.transition_model_version_stage(
            "pd-retail", "2", "Production", archive_existing_versions=True
        )
        out["stages"] = {
            x.version: x.current_stage for x in client.search_model_versions("name='pd-retail'")
        }
        out["latest_production"] = [
            x.version for x in client.get_latest_versions("pd-retail", stages=["Production"])
        ]
        client.rename_registered_model("pd-sme", "pd-sme-2025")
        out["renamed"] = client.get_model_version("pd-sme-2025", "1").name
        client.delete_model_version("pd-retail", "1")
        out["after_delete"] = [x.version for x in client.search_model_versions("name='pd-retail'")]
        client.delete_registered_model("fraud")
        with pytest.raises(MlflowException) as e:
            client.get_registered_model("fraud")
        out["deleted"] = e.value.error_code
        with pytest.raises(MlflowException) as e:
            client.search_registered_models(filter_string="name = ")
        out["bad_filter"] = e.value.error_code
        return out

    out = await in_thread(scenario)
    assert out["search_like"] == ["pd-retail", "pd-sme"]
    assert out["search_tag"] == ["pd-retail", "pd-sme"]
    assert out["ordered"] == ["pd-sme", "pd-retail", "fraud"]
    assert out["pages"] == ["fraud", "pd-retail", "pd-sme"]
    assert out["versions"] == [("pd-retail", "1"), ("pd-retail", "2")]
    assert out["model"] == ("PD, retail book", {"tier": "1"})
    assert out["version"] == ("first", {"validated": "yes"})
    assert out["stages"] == {"1": "Archived", "2": "Production"}
    assert out["latest_production"] == ["2"]
    assert out["renamed"] == "pd-sme-2025"
    assert out["after_delete"] == ["2"]
    assert out["deleted"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["bad_filter"] == "INVALID_PARAMETER_VALUE"
    actions = [e.action for e in mm_store.audit_log()]
    assert actions.count("version.stage") == 3  # 1 → Production, 2 → Production, 1 → Archived
    assert "model.renamed" in actions and actions[-1] == "model.deleted"
    assert mm_store.verify_audit().ok


async def test_policy_refusal_reaches_the_client(mlflow_uri: str, mm_store: Store) -> None:
    """Under approved_aliases_only, the MLflow client's alias call is refused with 403
    PERMISSION_DENIED (not retried), and works once a validator has approved the version."""
    mm_store.create_registered_model("gated", actor="dev")
    mm_store.create_model_version("gated", "s3://bucket/model", actor="dev")
    mm_store.set_registry_policy(PolicyChange(approved_aliases_only=True), actor="admin")

    def set_alias() -> tuple[str, int, str] | None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            MlflowClient().set_registered_model_alias("gated", "champion", "1")
        except MlflowException as e:
            return e.error_code, e.get_http_status_code(), e.message
        return None

    refused = await in_thread(set_alias)
    assert refused is not None
    assert refused[:2] == ("PERMISSION_DENIED", 403) and "Approved" in refused[2]
    mm_store.request_approval("gated", 1, actor="dev", comment="please")
    mm_store.approve("gated", 1, actor="validator", comment="ok")
    assert await in_thread(set_alias) is None
    assert mm_store.get_registered_model("gated").aliases == {"champion": 1}


@pytest.mark.filterwarnings("ignore:.*deprecated since 2.9.0:FutureWarning")
async def test_stage_transition_obeys_the_policy(mlflow_uri: str, mm_store: Store) -> None:
    """Under approved_aliases_only, the MLflow client's transition to Production of a version
    still PendingManualApproval is 403 PERMISSION_DENIED, ``models:/NAME/Production`` does not
    resolve to it, and once approved both work."""
    mm_store.create_registered_model("staged", actor="dev")
    mm_store.create_model_version("staged", "s3://bucket/model", actor="dev")
    mm_store.set_registry_policy(PolicyChange(approved_aliases_only=True), actor="admin")
    mm_store.request_approval("staged", 1, actor="dev", comment="please")

    def transition() -> tuple[str, int, str] | None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            MlflowClient().transition_model_version_stage("staged", "1", "Production")
        except MlflowException as e:
            return e.error_code, e.get_http_status_code(), e.message
        return None

    def production() -> list[str]:
        from mlflow import MlflowClient

        return [v.version for v in MlflowClient().get_latest_versions("staged", ["Production"])]

    refused = await in_thread(transition)
    assert refused is not None
    assert refused[:2] == ("PERMISSION_DENIED", 403) and "PendingManualApproval" in refused[2]
    assert mm_store.get_model_version("staged", 1).stage == "None"
    assert await in_thread(production) == []
    mm_store.approve("staged", 1, actor="validator", comment="ok")
    assert await in_thread(transition) is None
    assert await in_thread(production) == ["1"]


async def test_team_server_records_the_identity(
    mlflow_uri: str, mm_store: Store, jp_serverapp: Any
) -> None:
    """On a team server every request's authenticated identity is the actor, whatever it is."""
    from jupyter_mm.server.handlers.base import RECORD_IDENTITY_SETTING

    jp_serverapp.web_app.settings[RECORD_IDENTITY_SETTING] = True

    def scenario() -> None:
        from mlflow import MlflowClient

        client = MlflowClient()
        client.create_registered_model("team-model")
        client.set_registered_model_tag("team-model", "k", "v")

    await in_thread(scenario)
    actors = {e.actor for e in mm_store.audit_log("team-model")}
    assert len(actors) == 1 and getpass.getuser() not in actors
    (actor,) = actors
    assert len(actor) == 32  # jupyter_server's token user: a uuid, not a name we made up


async def test_wire_rules(jp_fetch: Any, mm_store: Store) -> None:
    """Raw HTTP: DELETE bodies, GET query strings, MLflow's error codes, no 5xx for bad input."""
    code, reply = await call(jp_fetch, "POST", "registered-models/create", {"name": "w"})
    assert code == 200 and reply["registered_model"]["name"] == "w"
    code, reply = await call(
        jp_fetch, "POST", "model-versions/create", {"name": "w", "source": "s3://b/model"}
    )
    assert code == 200 and reply["model_version"]["version"] == "1"
    assert "run_id" not in reply["model_version"]
    code, reply = await call(
        jp_fetch, "POST", "registered-models/alias", {"name": "w", "alias": "prod", "version": 1}
    )
    assert code == 200 and reply == {}
    code, reply = await call(
        jp_fetch, "GET", "registered-models/alias", query={"name": "w", "alias": "prod"}
    )
    assert code == 200 and reply["model_version"]["aliases"] == ["prod"]
    code, reply = await call(
        jp_fetch, "GET", "model-versions/get-download-uri", query={"name": "w", "version": "1"}
    )
    assert reply == {"artifact_uri": "s3://b/model"}  # not a run's: handed back as is
    code, reply = await call(
        jp_fetch, "DELETE", "registered-models/alias", {"name": "w", "alias": "prod"},
        allow_nonstandard_methods=True,
    )  # fmt: skip
    assert code == 200
    for description in ("PD model", ""):  # "" clears it
        code, reply = await call(
            jp_fetch, "PATCH", "registered-models/update", {"name": "w", "description": description}
        )
        assert code == 200 and reply["registered_model"]["description"] == description
    code, reply = await call(
        jp_fetch, "GET", "registered-models/search",
        query={"filter": "name = 'w'", "order_by": ["name DESC", "timestamp ASC"]},
    )  # fmt: skip
    assert code == 200 and [m["name"] for m in reply["registered_models"]] == ["w"]
    bad = [
        ("POST", "registered-models/create", {}, 400, "INVALID_PARAMETER_VALUE", "'name'"),
        ("POST", "model-versions/create", {"name": "w"}, 400, "INVALID_PARAMETER_VALUE", "source"),
        ("GET", "model-versions/get", {"name": "w", "version": "x"}, 400, "INVALID_PARAMETER_VALUE", "integer"),
        ("GET", "model-versions/get", {"name": "w", "version": "7"}, 404, "RESOURCE_DOES_NOT_EXIST", "version=7"),
        ("POST", "registered-models/alias", {"name": "w", "alias": "v3", "version": "1"}, 400, "INVALID_PARAMETER_VALUE", "reserved"),
        ("POST", "registered-models/create", {"name": "a/b"}, 400, "INVALID_PARAMETER_VALUE", "'/'"),
        ("GET", "registered-models/search", {"max_results": "5000"}, 400, "INVALID_PARAMETER_VALUE", "max_results"),
        ("GET", "registered-models/search", {"filter": "run_id = 'x'"}, 400, "INVALID_PARAMETER_VALUE", "run_id"),
        ("POST", "model-versions/transition-stage", {"name": "w", "version": "1", "stage": "Live"}, 400, "INVALID_PARAMETER_VALUE", "stage"),
    ]  # fmt: skip
    for method, rpc, fields, status, error_code, text in bad:
        if method == "GET":
            code, reply = await call(jp_fetch, method, rpc, query=fields)
        else:
            code, reply = await call(jp_fetch, method, rpc, fields)
        assert (code, reply.get("error_code")) == (status, error_code), (rpc, fields, reply)
        assert text in reply["message"], reply
    code, _ = await call(jp_fetch, "PUT", "registered-models/create", "{}")
    assert code == 405
    assert [e.action for e in mm_store.audit_log("w")] == [
        "model.created", "version.created", "alias.set", "alias.deleted",
        "model.description", "model.description",
    ]  # fmt: skip


class client_run:  # noqa: N801 - used like mlflow.start_run
    """A finished MLflow run to register versions from; yields its id."""

    def __enter__(self) -> str:
        import mlflow

        self.run = mlflow.start_run()
        return str(self.run.info.run_id)

    def __exit__(self, *exc: object) -> None:
        import mlflow

        mlflow.end_run()


async def test_sources_that_escape_their_root_are_refused(
    mlflow_uri: str, mm_store: Store, jp_fetch: Any, tmp_path: Any
) -> None:
    """Each source form MLflow refuses is refused with 400 INVALID_PARAMETER_VALUE through the
    mlflow client, the MLflow route by raw HTTP and the REST API; the forms it accepts are
    accepted; a version already in the database with such a source (an older database) is
    refused when resolved, by get-download-uri, ``models:/`` loading and ``mm.load_model``."""
    import jupyter_mm as mm
    from jupyter_mm.core.models.uris import resolve
    from jupyter_mm.errors import InvalidInput

    from .helpers import accepted_sources, insert_old_versions, refused_sources

    def scenario() -> dict[str, Any]:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        exp_id = client.create_experiment("sources")
        run_id = client.create_run(exp_id).info.run_id
        other = client.create_run(exp_id).info.run_id
        client.create_registered_model("src")
        refused: dict[str, tuple[str, int, str]] = {}
        for form in [f for forms in refused_sources(exp_id, run_id, other).values() for f in forms]:
            try:
                client.create_model_version("src", form, run_id=run_id)
                refused[form] = ("accepted", 200, "")
            except MlflowException as e:
                refused[form] = (e.error_code, e.get_http_status_code(), e.message)
        accepted = {
            form: client.create_model_version("src", form, run_id=run_id).source
            for form in accepted_sources(exp_id, run_id)
        }
        return {"exp": exp_id, "run": run_id, "other": other, "refused": refused,
                "accepted": accepted}  # fmt: skip

    out = await in_thread(scenario)
    exp_id, run_id, other = out["exp"], out["run"], out["other"]
    forms = refused_sources(exp_id, run_id, other)
    for form, (code, status, message) in out["refused"].items():
        assert (code, status) == ("INVALID_PARAMETER_VALUE", 400), (form, code, message)
        assert "Invalid model version source" in message, (form, message)
    assert out["accepted"] == {f: f for f in accepted_sources(exp_id, run_id)}
    accepted = mm_store.list_model_versions("src")
    assert len(accepted) == len(out["accepted"])
    proxied = {v.source: (v.run_id, v.model_path) for v in accepted}
    assert proxied[f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts/model"] == (run_id, "model")

    mm_store.create_registered_model("rest", actor="dev")
    for kind, kind_forms in forms.items():
        for form in kind_forms:
            # the REST API takes no run_id beside a source: another run's root is that run's
            for how in ("mlflow",) if other in form else ("mlflow", "rest"):
                if how == "mlflow":
                    body = {"name": "src", "source": form, "run_id": run_id}
                    code, reply = await call(jp_fetch, "POST", "model-versions/create", body)
                else:
                    r = await jp_fetch(
                        "jupyter-mm/api/registry/models/rest/versions",
                        method="POST", body=json.dumps({"source": form}), raise_error=False,
                    )  # fmt: skip
                    code, reply = r.code, json.loads(r.body)
                assert code == 400, (kind, form, how, reply)
                assert reply["error_code"] == "INVALID_PARAMETER_VALUE", (form, how, reply)
                assert "source" in reply["message"], (form, how, reply)
    assert len(mm_store.list_model_versions("src")) == len(out["accepted"])  # nothing half-written
    assert mm_store.list_model_versions("rest") == []

    # an older database's versions with such sources: refused when resolved, never followed
    local_model = tmp_path / "model"
    local_model.mkdir()
    (local_model / "MLmodel").write_text("flavors: {}\n")
    old = [
        f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts/../../../etc",
        "http://host:9000/models/%2E%2E/%2E%2E/",
        "s3://bucket/models?x=../../etc",
        str(local_model),  # a local directory: outside any run's artifact root
    ]
    mm_store.create_registered_model("old", actor="dev")
    insert_old_versions(mm_store.location.db_url, "old", old)
    for number, source in enumerate(old, 1):
        code, reply = await call(
            jp_fetch, "GET", "model-versions/get-download-uri",
            query={"name": "old", "version": str(number)},
        )  # fmt: skip
        assert (code, reply["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), (source, reply)
        assert f"model version old {number} cannot be resolved" in reply["message"]
        assert "artifact_uri" not in reply
        with pytest.raises(InvalidInput, match=f"model version old {number} cannot be resolved"):
            resolve(mm_store, f"models:/old/{number}")
        with pytest.raises(InvalidInput, match="cannot be resolved"):
            mm.load_model(f"models:/old/{number}")

    def load_old() -> tuple[str, int]:
        import mlflow
        from mlflow.exceptions import MlflowException

        with pytest.raises(MlflowException) as e:
            mlflow.pyfunc.load_model("models:/old/4")
        return e.value.error_code, e.value.get_http_status_code()

    assert await in_thread(load_old) == ("INVALID_PARAMETER_VALUE", 400)
