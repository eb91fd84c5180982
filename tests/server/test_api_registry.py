"""The registry over REST, as the bank's credit-scoring team uses it: alice registers the best
run's model and asks for approval, bob (the validator) approves it, champion moves to it, and an
auditor later asks which version was champion on a date, who approved it, and which data and
notebook produced it. Two real identities (bearer tokens); a real SQLite file and a real
PostgreSQL server behind a real Jupyter server."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_mm.core.store import Store
from jupyter_mm.server.identity import TokenIdentityProvider, token_digest

ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789"
CAROL = "carol-token-0123456789"
AUTH = {
    "alice": {"Authorization": f"token {ALICE}"},
    "bob": {"Authorization": f"token {BOB}"},
    "carol": {"Authorization": f"token {CAROL}"},
}


@pytest.fixture
def jp_server_config(mm_clean_env: None, server_store_uri: str, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
                "identity_provider_class": TokenIdentityProvider,
            },
            "TokenIdentityProvider": {
                "token_digests": {
                    token_digest(ALICE): "alice",
                    token_digest(BOB): "bob",
                    token_digest(CAROL): "carol",
                }
            },
            "JupyterMM": {
                "tracking_uri": server_store_uri,
                "artifact_uri": str(tmp_path / "artifacts"),
            },
        }
    )


@pytest.fixture
def server_store(server_store_uri: str, tmp_path: Path) -> Any:
    st = Store.open(server_store_uri, artifact_uri=str(tmp_path / "artifacts"))
    yield st
    st.close()


def _fetcher(jp_fetch: Any) -> Any:
    async def req(user: str, method: str, *path: str, body: Any = None, **kw: Any) -> Any:
        """``(status, reply)``; the reply is JSON, or text for other content types."""
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        try:
            r = await jp_fetch(
                "jupyter-mm", "api", "registry", *path,
                method=method, body=body, headers=dict(AUTH[user]), **kw,
            )  # fmt: skip
        except HTTPClientError as e:
            assert e.response is not None
            reply = json.loads(e.response.body)
            # an MMError's details (a filter error's position) may come along
            assert set(reply) - {"details"} == {"error_code", "message"}, reply
            return e.code, reply
        if r.headers["Content-Type"].startswith("application/json"):
            return r.code, json.loads(r.body)
        return r.code, r.body.decode()

    return req


def _trained_run(store: Store) -> str:
    """The run the team picked: params, final metrics, its dataset and the model's files."""
    from jupyter_mm.core.entities import DatasetInput

    run = store.create_run(name="logit-v2", params={"C": "0.5"}, user="alice")
    store.log_batch(run.id, metrics=[("auc", 0.81, 0, 1), ("ks", 0.42, 0, 1)])
    store.log_dataset(
        run.id,
        DatasetInput(name="applications", digest="ab" * 32, context="training", row_count=10),
    )
    store.log_artifact(run.id, "models/pd/MLmodel", b"flavors:\n  python_function: {}\n")
    store.log_artifact(
        run.id, ".mm/git.json", json.dumps({"commit": "c0ffee", "dirty": False}).encode()
    )
    store.end_run(run.id, "FINISHED")
    return run.id


async def test_the_bank_story_through_rest(jp_fetch: Any, server_store: Store) -> None:
    req = _fetcher(jp_fetch)
    run_id = _trained_run(server_store)

    code, model = await req(
        "alice", "POST", "models",
        body={"name": "credit-risk", "description": "PD model", "tags": {"team": "risk"}},
    )  # fmt: skip
    assert code == 201 and model["owner"] == "alice" and model["tags"] == {"team": "risk"}
    code, v = await req(
        "alice", "POST", "models", "credit-risk", "versions",
        body={"source": f"runs:/{run_id}/models/pd", "comment": "best AUC"},
    )  # fmt: skip
    assert code == 201 and v["version"] == 1 and v["run_id"] == run_id
    assert v["model_path"] == "models/pd" and v["user_id"] == "alice" and v["approval"] is None
    # a run path without a model is refused, and nothing is registered
    code, err = await req(
        "alice", "POST", "models", "credit-risk", "versions",
        body={"run_id": run_id, "path": "nothing-here"},
    )  # fmt: skip
    assert code == 404 and err["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert [
        x["version"]
        for x in (await req("bob", "GET", "models", "credit-risk", "versions"))[1]["versions"]
    ] == [1]

    # alice asks for approval; under four eyes she cannot approve her own request
    code, v = await req(
        "alice", "POST", "models", "credit-risk", "versions", "1", "approval", "request",
        body={"comment": "ready for validation", "evidence": ["https://wiki/val/42"]},
    )  # fmt: skip
    assert code == 200 and v["approval"]["status"] == "PendingManualApproval"
    code, err = await req(
        "alice", "POST", "models", "credit-risk", "versions", "1", "approval", "approve",
        body={"comment": "looks fine to me"},
    )  # fmt: skip
    assert (
        code == 403 and err["error_code"] == "PERMISSION_DENIED" and "four_eyes" in err["message"]
    )
    assert err["details"] == {"policy": "four_eyes"}
    code, err = await req(
        "bob", "POST", "models", "credit-risk", "versions", "1", "approval", "approve", body={}
    )
    assert code == 400 and "comment" in err["message"]  # a decision says why
    code, v = await req(
        "bob", "POST", "models", "credit-risk", "versions", "1", "approval", "approve",
        body={"comment": "validated: stable AUC"},
    )  # fmt: skip
    assert code == 200 and v["approval"]["status"] == "Approved"
    assert v["approval"]["decided_by"] == "bob" and v["approval"]["requested_by"] == "alice"

    before_champion = int(time.time() * 1000) - 1
    code, v = await req(
        "bob", "PUT", "models", "credit-risk", "aliases", "champion",
        body={"version": 1, "comment": "go live"},
    )  # fmt: skip
    assert code == 200 and v["aliases"] == ["champion"]
    # a second version becomes champion later: history and resolve-at-a-date tell them apart
    code, v2 = await req(
        "alice", "POST", "models", "credit-risk", "versions",
        body={"run_id": run_id, "path": "models/pd", "description": "recalibrated"},
    )  # fmt: skip
    assert code == 201 and v2["version"] == 2
    code, _ = await req(
        "bob", "PUT", "models", "credit-risk", "aliases", "champion",
        body={"version": 2, "comment": "recalibration"},
    )  # fmt: skip
    code, history = await req(
        "bob", "GET", "models", "credit-risk", "aliases", "champion", "history"
    )
    moves = [(e["action"], e["from"], e["to"], e["actor"]) for e in history["entries"]]
    assert moves == [
        ("alias.set", None, {"version": 1}, "bob"),
        ("alias.moved", {"version": 1}, {"version": 2}, "bob"),
    ]
    first_move = history["entries"][0]["time"]
    second_move = history["entries"][1]["time"]
    for at, expected in ((before_champion, None), (first_move, 1), (second_move, 2)):
        code, r = await req(
            "bob", "GET", "models", "credit-risk", "aliases", "champion", params={"at": str(at)}
        )
        assert code == 200 and r["version"] == expected, (at, r)
    iso = history["entries"][0]["time_utc"]
    code, r = await req(
        "bob", "GET", "models", "credit-risk", "aliases", "champion", params={"at": iso}
    )
    assert r["version"] in (1, 2)  # the same millisecond, ISO spelling
    # a date means the end of that day (UTC): today champion ended on version 2; long ago, none
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    for day, expected in ((today, 2), ("2020-01-01", None)):
        code, r = await req(
            "bob", "GET", "models", "credit-risk", "aliases", "champion", params={"at": day}
        )
        assert r["version"] == expected, (day, r)
    code, r = await req("bob", "GET", "models", "credit-risk", "aliases", "champion")
    assert r == {"name": "credit-risk", "alias": "champion", "at": None, "version": 2}
    code, err = await req(
        "bob", "GET", "models", "credit-risk", "aliases", "champion", params={"at": "last tuesday"}
    )
    assert code == 400

    # the auditor: who approved version 1, in order, with hashes; the chain verifies
    code, audit = await req("bob", "GET", "audit", params={"model": "credit-risk"})
    actions = [(e["action"], e["actor"], e["version"]) for e in audit["entries"]]
    assert ("approval.requested", "alice", 1) in actions
    assert ("approval.approved", "bob", 1) in actions
    assert actions[0] == ("model.created", "alice", None)
    code, report = await req("bob", "GET", "audit", "verify")
    assert report["ok"] is True and report["entries"] == len(audit["entries"])
    code, text = await req("bob", "GET", "audit", "export")
    lines = [json.loads(x) for x in text.splitlines()]
    assert [x["hash"] for x in lines] == [e["hash"] for e in audit["entries"]]
    code, report = await req("bob", "GET", "audit", "verify", params={"expected_head": "f" * 64})
    assert report["ok"] is False and report["problems"][0]["kind"] == "head_mismatch"

    # which data and which notebook produced it
    code, lin = await req("bob", "GET", "models", "credit-risk", "versions", "1", "lineage")
    assert lin["run"]["id"] == run_id and lin["run"]["metrics"] == {"auc": 0.81, "ks": 0.42}
    assert lin["datasets"][0]["digest"] == "ab" * 32
    assert lin["git"]["commit"] == "c0ffee"
    assert "notebook_snapshot" in [m["part"] for m in lin["missing"]]

    # the model card: user fields written by alice (audited), facts from the record
    code, fields = await req(
        "alice", "PATCH", "models", "credit-risk", "versions", "1", "card",
        body={"intended_use": "Retail <b>loans</b>", "comment": "card"},
    )  # fmt: skip
    assert code == 200 and fields["fields"] == {"intended_use": "Retail <b>loans</b>"}
    code, card = await req(
        "bob", "GET", "models", "credit-risk", "versions", "1", "card", params={"format": "html"}
    )
    assert "Retail &lt;b&gt;loans&lt;/b&gt;" in card["card"] and "<b>" not in card["card"]
    assert "bob approved: validated: stable AUC" in card["card"]
    code, card = await req(
        "bob", "GET", "models", "credit-risk", "versions", "1", "card", params={"format": "json"}
    )
    assert card["card"]["considerations"]["use_cases"] == [{"description": "Retail <b>loans</b>"}]
    code, card = await req("bob", "GET", "models", "credit-risk", "versions", "1", "card")
    assert card["format"] == "markdown" and card["card"].startswith("# Model card: credit-risk")
    assert server_store.audit_log("credit-risk")[-1].actor == "alice"

    # search with the filter grammar
    code, page = await req("bob", "GET", "models", params={"filter": "tags.team = 'risk'"})
    assert [m["name"] for m in page["models"]] == ["credit-risk"]
    code, err = await req("bob", "GET", "models", params={"filter": "name = "})
    assert code == 400 and err["error_code"] == "INVALID_PARAMETER_VALUE"
    assert server_store.verify_audit().ok


async def test_updates_deletes_and_refusals(jp_fetch: Any, server_store: Store) -> None:
    req = _fetcher(jp_fetch)
    run_id = _trained_run(server_store)
    await req("alice", "POST", "models", body={"name": "m"})
    code, err = await req("bob", "POST", "models", body={"name": "m"})
    assert code == 400 and err["error_code"] == "RESOURCE_ALREADY_EXISTS"
    await req(
        "alice", "POST", "models", "m", "versions", body={"source": f"runs:/{run_id}/models/pd"}
    )

    code, model = await req(
        "bob", "PATCH", "models", "m",
        body={"description": "scorecard", "tags": {"tier": 1}, "comment": "inventory"},
    )  # fmt: skip
    assert model["description"] == "scorecard" and model["tags"] == {"tier": "1"}
    code, model = await req("bob", "PATCH", "models", "m", body={"delete_tags": ["tier"]})
    assert model["tags"] == {}
    # one bad tag in the batch: nothing is written
    n = len(server_store.audit_log())
    code, err = await req(
        "bob", "PATCH", "models", "m", body={"description": "changed", "tags": {"bad key!": "x"}}
    )
    assert code == 400 and len(server_store.audit_log()) == n
    assert server_store.get_registered_model("m").description == "scorecard"

    code, v = await req(
        "bob",
        "PATCH",
        "models",
        "m",
        "versions",
        "1",
        body={"description": "d", "tags": {"k": "v"}},
    )
    assert v["description"] == "d" and v["tags"] == {"k": "v"}
    code, v = await req("bob", "GET", "models", "m", "versions", "1")
    assert v["tags"] == {"k": "v"}
    assert (await req("bob", "GET", "models", "m", "versions", "7"))[0] == 404
    assert (await req("bob", "GET", "models", "m", "versions", "x"))[0] == 400
    assert (await req("bob", "GET", "models", "nope"))[0] == 404
    assert (await req("bob", "POST", "models", "m", "versions", "1", "approval", "bless"))[0] == 404
    code, err = await req(
        "bob", "PATCH", "models", "m", "versions", "1", "card", body={"mood": "x"}
    )
    assert code == 400 and "unknown" in err["message"]
    code, err = await req(
        "bob", "GET", "models", "m", "versions", "1", "card", params={"format": "pdf"}
    )
    assert code == 400

    await req("bob", "PUT", "models", "m", "aliases", "challenger", body={"version": 1})
    code, r = await req(
        "alice", "DELETE", "models", "m", "aliases", "challenger", params={"comment": "retired"}
    )
    assert r == {"deleted": "challenger"}
    assert server_store.audit_log()[-1].comment == "retired"
    assert (await req("alice", "DELETE", "models", "m", "aliases", "challenger"))[0] == 400
    code, err = await req("alice", "PUT", "models", "m", "aliases", "latest", body={"version": 1})
    assert code == 400 and "reserved" in err["message"]

    code, r = await req("alice", "DELETE", "models", "m", params={"comment": "decommissioned"})
    assert r == {"deleted": "m"}
    assert (await req("alice", "GET", "models", "m"))[0] == 404
    code, audit = await req("bob", "GET", "audit", params={"model": "m", "limit": "1000"})
    assert audit["entries"][-1]["action"] == "model.deleted"
    assert audit["entries"][-1]["comment"] == "decommissioned"
    code, report = await req("bob", "GET", "audit", "verify")
    assert report["ok"] is True


async def test_rename_a_model_and_delete_a_version(jp_fetch: Any, server_store: Store) -> None:
    req = _fetcher(jp_fetch)
    run_id = _trained_run(server_store)
    src = {"source": f"runs:/{run_id}/models/pd"}
    await req("alice", "POST", "models", body={"name": "pd-sme"})
    await req("alice", "POST", "models", body={"name": "taken"})
    for _ in range(2):
        assert (await req("alice", "POST", "models", "pd-sme", "versions", body=src))[0] == 201

    # a rename that cannot happen writes nothing, not even the description sent with it
    n = len(server_store.audit_log())
    code, err = await req(
        "bob", "PATCH", "models", "pd-sme", body={"name": "taken", "description": "SME book"}
    )
    assert code == 400 and err["error_code"] == "RESOURCE_ALREADY_EXISTS"
    code, err = await req(
        "bob", "PATCH", "models", "pd-sme", body={"name": "pd/sme", "description": "SME book"}
    )
    assert (
        code == 400 and err["error_code"] == "INVALID_PARAMETER_VALUE" and "'/'" in err["message"]
    )
    code, err = await req("bob", "PATCH", "models", "pd-sme", body={"name": 7})
    assert code == 400 and "'name' must be a string" in err["message"]
    code, err = await req(
        "bob", "PATCH", "models", "pd-sme", body={"name": "pd-sme-2026", "tags": {"bad key!": "x"}}
    )
    assert code == 400
    assert (await req("bob", "PATCH", "models", "nope", body={"name": "fresh"}))[0] == 404
    assert len(server_store.audit_log()) == n
    assert server_store.get_registered_model("pd-sme").description == ""
    assert (await req("bob", "GET", "models", "fresh"))[0] == 404

    # bob renames it (and describes it, in the same request); alice still owns it
    code, model = await req(
        "bob", "PATCH", "models", "pd-sme",
        body={"name": "pd-sme-2026", "description": "SME book", "comment": "naming scheme"},
    )  # fmt: skip
    assert code == 200 and model["name"] == "pd-sme-2026" and model["description"] == "SME book"
    assert model["owner"] == "alice" and model["last_version"] == 2
    assert (await req("bob", "GET", "models", "pd-sme"))[0] == 404
    code, v = await req("bob", "GET", "models", "pd-sme-2026", "versions", "1")
    assert code == 200 and v["name"] == "pd-sme-2026" and v["run_id"] == run_id
    code, audit = await req("bob", "GET", "audit", params={"model": "pd-sme-2026"})
    changes = [
        (e["action"], e["from"], e["to"], e["actor"], e["comment"]) for e in audit["entries"]
    ]
    assert changes[-2:] == [
        ("model.renamed", {"name": "pd-sme"}, {"name": "pd-sme-2026"}, "bob", "naming scheme"),
        ("model.description", {"description": ""}, {"description": "SME book"}, "bob",
         "naming scheme"),
    ]  # fmt: skip
    assert changes[0][0] == "model.created"  # the trail follows the model across its names
    n = len(server_store.audit_log())
    code, model = await req("bob", "PATCH", "models", "pd-sme-2026", body={"name": "pd-sme-2026"})
    assert code == 200 and len(server_store.audit_log()) == n  # the same name: nothing to record

    # deleting version 2 deletes the alias on it (audited), not the one on version 1
    for alias, number in (("champion", 2), ("challenger", 1)):
        await req("bob", "PUT", "models", "pd-sme-2026", "aliases", alias, body={"version": number})
    code, r = await req(
        "alice", "DELETE", "models", "pd-sme-2026", "versions", "2",
        params={"comment": "trained on leaked hold-out"},
    )  # fmt: skip
    assert code == 200 and r == {"deleted": "2"}
    assert (await req("bob", "GET", "models", "pd-sme-2026", "versions", "2"))[0] == 404
    code, model = await req("bob", "GET", "models", "pd-sme-2026")
    assert model["aliases"] == {"challenger": 1}
    code, r = await req("bob", "GET", "models", "pd-sme-2026", "aliases", "champion")
    assert code == 200 and r["version"] is None
    code, versions = await req("bob", "GET", "models", "pd-sme-2026", "versions")
    assert [x["version"] for x in versions["versions"]] == [1]
    tail = [
        (e.action, e.actor, e.version, e.alias, e.comment)
        for e in server_store.audit_log("pd-sme-2026")[-2:]
    ]
    assert tail == [
        ("alias.deleted", "alice", 2, "champion", "model version deleted"),
        ("version.deleted", "alice", 2, None, "trained on leaked hold-out"),
    ]
    assert (await req("alice", "DELETE", "models", "pd-sme-2026", "versions", "2"))[0] == 404
    assert (await req("alice", "DELETE", "models", "pd-sme", "versions", "1"))[0] == 404
    assert (await req("alice", "DELETE", "models", "pd-sme-2026", "versions", "x"))[0] == 400
    # a deleted version's number is not given again
    code, v = await req("alice", "POST", "models", "pd-sme-2026", "versions", body=src)
    assert code == 201 and v["version"] == 3
    code, report = await req("bob", "GET", "audit", "verify")
    assert report["ok"] is True and report["problems"] == []


async def test_the_actor_is_the_authenticated_identity(jp_fetch: Any, server_store: Store) -> None:
    """A request cannot name another actor, and an unknown token gets nothing done."""
    req = _fetcher(jp_fetch)
    code, err = await req("bob", "POST", "models", body={"name": "x", "owner": "alice"})
    assert code == 400 and "owner" in err["message"]
    await req("bob", "POST", "models", body={"name": "x"})
    assert server_store.get_registered_model("x").owner == "bob"
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "jupyter-mm", "api", "registry", "models",
            method="POST", body=json.dumps({"name": "y"}),
            headers={"Authorization": "token not-a-user"},
        )  # fmt: skip
    assert e.value.code in (401, 403)
    assert [m.name for m in server_store.list_registered_models()] == ["x"]


async def test_only_the_named_approvers_decide(jp_fetch: Any, server_store: Store) -> None:
    """The bank names its validator (carol): bob, a colleague, may no longer approve; a model
    may name its own approvers. Every change is audited and the chain verifies."""
    req = _fetcher(jp_fetch)
    code, policy = await req("alice", "GET", "policy")
    assert code == 200 and policy == {
        "model": None, "four_eyes": True, "approved_aliases_only": False, "approvers": [],
        "require_reproduced": False, "acting_as": "alice",
    }  # fmt: skip
    code, policy = await req(
        "alice", "PUT", "policy", body={"approvers": ["carol"], "comment": "MRM validators"}
    )
    assert code == 200 and policy["approvers"] == ["carol"] and policy["four_eyes"] is True
    code, _ = await req("alice", "POST", "models", body={"name": "pd"})
    for _ in range(2):
        code, _ = await req(
            "alice", "POST", "models", "pd", "versions", body={"source": "s3://b/m"}
        )
        assert code == 201
    for v in ("1", "2"):
        code, _ = await req("alice", "POST", "models", "pd", "versions", v, "approval", "request")
        assert code == 200
    code, err = await req(
        "bob", "POST", "models", "pd", "versions", "1", "approval", "approve",
        body={"comment": "looks fine"},
    )  # fmt: skip
    assert (code, err["error_code"]) == (403, "PERMISSION_DENIED")
    assert err["message"] == (
        "bob may not approve version 1 of 'pd' (policy approvers: only carol may approve or reject)"
    )
    code, v = await req(
        "carol", "POST", "models", "pd", "versions", "1", "approval", "approve",
        body={"comment": "validated"},
    )  # fmt: skip
    assert code == 200 and v["approval"]["decided_by"] == "carol"

    # the model's own list wins over the store-wide one
    code, policy = await req(
        "alice", "PUT", "models", "pd", "policy", body={"approvers": ["bob"], "comment": "pd team"}
    )
    assert code == 200 and policy == {
        "model": "pd", "four_eyes": True, "approved_aliases_only": False, "approvers": ["bob"],
        "require_reproduced": False, "acting_as": "alice",
    }  # fmt: skip
    code, policy = await req("bob", "GET", "policy")
    assert policy["approvers"] == ["carol"]
    code, err = await req(
        "carol", "POST", "models", "pd", "versions", "2", "approval", "reject",
        body={"comment": "no"},
    )  # fmt: skip
    assert code == 403 and "only bob may approve or reject" in err["message"]
    code, v = await req(
        "bob", "POST", "models", "pd", "versions", "2", "approval", "approve",
        body={"comment": "validated"},
    )  # fmt: skip
    assert code == 200 and v["approval"]["status"] == "Approved"

    # bad input is a 400 that says what is wrong, and changes nothing
    for body, message in (
        ({"approvers": "carol"}, "'approvers' must be a list of user names or null"),
        ({"approvers": [7]}, "each entry must be a non-empty user name, got 7"),
        ({"approvers": [""]}, "each entry must be a non-empty user name"),
        ({"approvers": ["carol"], "colour": 1}, "unknown field(s) 'colour'"),
    ):
        code, err = await req("alice", "PUT", "policy", body=body)
        assert (code, err["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), body
        assert message in err["message"], (body, err)
    code, policy = await req("alice", "GET", "models", "pd", "policy")
    assert policy["approvers"] == ["bob"]

    code, audit = await req("alice", "GET", "audit")
    changes = [
        (e["actor"], e["model"], e["from"]["approvers"], e["to"]["approvers"], e["comment"])
        for e in audit["entries"]
        if e["action"] == "policy.set"
    ]
    assert changes == [
        ("alice", None, [], ["carol"], "MRM validators"),
        ("alice", "pd", ["carol"], ["bob"], "pd team"),
    ]
    code, report = await req("alice", "GET", "audit", "verify")
    assert report["ok"] is True


async def test_lifecycle_over_rest(jp_fetch: Any, server_store: Store) -> None:
    """``PUT .../lifecycle``: deprecate, archive, reactivate as the authenticated identity;
    client mistakes are 400s that say what was wrong, and nothing is written."""
    req = _fetcher(jp_fetch)
    run_id = _trained_run(server_store)
    await req("alice", "POST", "models", body={"name": "m"})
    for _ in range(2):
        await req(
            "alice", "POST", "models", "m", "versions",
            body={"source": f"runs:/{run_id}/models/pd"},
        )  # fmt: skip
    await req("alice", "PUT", "models", "m", "aliases", "champion", body={"version": 2})
    path = ("models", "m", "versions")
    code, v = await req(
        "bob", "PUT", *path, "1", "lifecycle", body={"lifecycle": "deprecated", "reason": "old"}
    )
    assert code == 200 and (v["lifecycle"], v["deprecation"]) == ("deprecated", "old")
    n = len(server_store.audit_log())
    for body, message in [
        ({"lifecycle": "archived", "reason": "x"}, "alias 'champion' points at it"),
        ({"lifecycle": "gone", "reason": "x"}, "lifecycle must be one of"),
        ({"lifecycle": "archived"}, "comment saying why"),
        ({"reason": "x"}, "'lifecycle' is required"),
        ({"lifecycle": "archived", "reason": "x", "why": 1}, "unknown field"),
    ]:
        code, err = await req("bob", "PUT", *path, "2", "lifecycle", body=body)
        assert code == 400 and message in err["message"], (body, err)
    assert len(server_store.audit_log()) == n
    code, v = await req(
        "bob", "PUT", *path, "1", "lifecycle", body={"lifecycle": "archived", "reason": "gone"}
    )
    assert (v["lifecycle"], v["stage"]) == ("archived", "Archived")
    code, err = await req("alice", "PUT", "models", "m", "aliases", "champion", body={"version": 1})
    assert code == 400 and "archived" in err["message"]
    assert (await req("bob", "PUT", *path, "9", "lifecycle", body={"lifecycle": "active"}))[
        0
    ] == 404
    code, card = await req("bob", "GET", *path, "1", "card", params={"format": "markdown"})
    assert "- Lifecycle: archived" in card["card"]
    entry = server_store.audit_log("m")[-1]
    assert (entry.action, entry.actor, entry.comment) == ("version.archived", "bob", "gone")


async def test_reproducibility_evidence_over_rest(jp_fetch: Any, server_store: Store) -> None:
    """``GET .../reproducibility``: nulls before any check; then the audited summary and the
    details blob it names (what the version view shows); the digest is checked as it is read."""
    from jupyter_mm.core.registry.reproducibility import record_reproducibility

    req = _fetcher(jp_fetch)
    run_id = _trained_run(server_store)
    await req("alice", "POST", "models", body={"name": "m"})
    await req(
        "alice", "POST", "models", "m", "versions", body={"source": f"runs:/{run_id}/models/pd"}
    )
    path = ("models", "m", "versions", "1", "reproducibility")
    assert await req("bob", "GET", *path) == (200, {"summary": None, "details": None})
    env = [{"key": "packages.numpy", "a": "2.0.0", "b": "2.1.0"}]
    record_reproducibility(
        server_store, "m", 1,
        {"passed": False, "tolerance": 1e-9, "job_id": "j1", "problems": ["metric auc: 1 → 2"]},
        {"metrics": [{"key": "auc", "original": 1, "rerun": 2, "within_tolerance": False}],
         "environment": env},
        actor="alice",
    )  # fmt: skip
    code, found = await req("bob", "GET", *path)
    assert code == 200
    assert found["summary"]["passed"] is False and found["summary"]["job_id"] == "j1"
    assert len(found["summary"]["details"]) == 64
    assert found["details"]["environment"] == env
    assert found["details"]["metrics"][0]["key"] == "auc"
    code, err = await req("bob", "GET", "models", "m", "versions", "7", "reproducibility")
    assert code == 404 and "7" in err["message"]
    code, err = await req("bob", "GET", "models", "m", "versions", "x", "reproducibility")
    assert code == 400
    # The blob named by the tag is gone: a DATA_LOSS error naming it, not a 200 without details.
    digest = found["summary"]["details"]
    server_store.blobs.fs.rm(server_store.blobs._path(digest))
    code, err = await req("bob", "GET", *path)
    assert code == 500 and err["error_code"] == "DATA_LOSS" and digest in err["message"]
