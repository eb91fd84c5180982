"""GET/POST experiments, GET/PATCH/DELETE experiments/{id}, POST experiments/{id}/restore."""

from __future__ import annotations

from .test_api_common import call, fail, open_store


async def test_list_create_rename_delete_restore(jp_fetch) -> None:
    code, body = await call(jp_fetch, "GET", "experiments")
    assert code == 200
    assert [e["name"] for e in body["experiments"]] == ["Default"]

    code, exp = await call(
        jp_fetch, "POST", "experiments", body={"name": "credit-risk", "tags": {"team": "risk"}}
    )
    assert code == 201
    assert exp["name"] == "credit-risk" and exp["lifecycle_stage"] == "active"
    assert exp["tags"] == {"team": "risk"}
    exp_id = exp["id"]

    code, got = await call(jp_fetch, "GET", "experiments", exp_id)
    assert got == exp

    code, renamed = await call(
        jp_fetch, "PATCH", "experiments", exp_id, body={"name": "credit", "tags": {"k": "v"}}
    )
    assert renamed["name"] == "credit" and renamed["tags"] == {"team": "risk", "k": "v"}

    code, deleted = await call(jp_fetch, "DELETE", "experiments", exp_id)
    assert deleted["lifecycle_stage"] == "deleted"
    names = lambda b: [e["name"] for e in b["experiments"]]  # noqa: E731
    assert names((await call(jp_fetch, "GET", "experiments"))[1]) == ["Default"]
    assert names((await call(jp_fetch, "GET", "experiments", params={"view": "deleted"}))[1]) == [
        "credit"
    ]
    assert (
        len((await call(jp_fetch, "GET", "experiments", params={"view": "all"}))[1]["experiments"])
        == 2
    )

    code, restored = await call(jp_fetch, "POST", "experiments", exp_id, "restore", body="")
    assert restored["lifecycle_stage"] == "active"


async def test_experiments_written_by_a_kernel_are_listed(jp_fetch, jp_serverapp) -> None:
    with open_store() as store:
        store.create_experiment("from-kernel")
    _, body = await call(jp_fetch, "GET", "experiments")
    assert "from-kernel" in [e["name"] for e in body["experiments"]]


async def test_errors(jp_fetch) -> None:
    code, err = await fail(jp_fetch, "POST", "experiments", body={"name": "x", "bogus": 1})
    assert code == 400 and err["error_code"] == "INVALID_PARAMETER_VALUE"
    assert (await fail(jp_fetch, "POST", "experiments", body={}))[0] == 400
    assert (await fail(jp_fetch, "POST", "experiments", body="not json"))[0] == 400
    assert (await fail(jp_fetch, "POST", "experiments", body=[1]))[0] == 400
    assert (await fail(jp_fetch, "POST", "experiments", body={"name": 5}))[0] == 400
    assert (await fail(jp_fetch, "POST", "experiments", body={"name": "   "}))[0] == 400
    await call(jp_fetch, "POST", "experiments", body={"name": "dup"})
    code, err = await fail(jp_fetch, "POST", "experiments", body={"name": "dup"})
    assert code == 400 and err["error_code"] == "RESOURCE_ALREADY_EXISTS"
    code, err = await fail(jp_fetch, "GET", "experiments", "12345")
    assert code == 404 and err["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert (await fail(jp_fetch, "PATCH", "experiments", "12345", body={"name": "n"}))[0] == 404
    assert (await fail(jp_fetch, "DELETE", "experiments", "12345"))[0] == 404
    assert (await fail(jp_fetch, "POST", "experiments", "12345", "restore", body=""))[0] == 404
    for bad in ("abc", "99999999999999999999999", "1.5"):
        assert (await fail(jp_fetch, "GET", "experiments", bad))[0] == 400
    assert (await fail(jp_fetch, "GET", "experiments", params={"view": "some"}))[0] == 400
    code, err = await fail(jp_fetch, "DELETE", "experiments", "0")
    assert code == 400 and "default" in err["message"]
    code, err = await fail(
        jp_fetch, "POST", "experiments", body={"name": "big", "tags": {"a": "x" * 2_000_000}}
    )
    assert code == 413 and err["error_code"] == "REQUEST_LIMIT_EXCEEDED"


async def test_a_refused_update_writes_nothing(jp_fetch) -> None:
    _, exp = await call(jp_fetch, "POST", "experiments", body={"name": "keep"})
    code, _ = await fail(
        jp_fetch, "PATCH", "experiments", exp["id"], body={"name": "new", "tags": {"bad!": "x"}}
    )
    assert code == 400
    _, got = await call(jp_fetch, "GET", "experiments", exp["id"])
    assert got["name"] == "keep" and got["tags"] == {}


async def test_get_or_create(jp_fetch) -> None:
    code, made = await call(jp_fetch, "POST", "experiments", "get-or-create", body={"name": "g"})
    assert code == 200 and made["name"] == "g" and made["lifecycle_stage"] == "active"
    _, again = await call(jp_fetch, "POST", "experiments", "get-or-create", body={"name": "g"})
    assert again == made  # a retry finds the same experiment
    _, default = await call(
        jp_fetch, "POST", "experiments", "get-or-create", body={"name": "Default"}
    )
    assert default["id"] == "0"
    await call(jp_fetch, "DELETE", "experiments", made["id"])
    code, err = await fail(jp_fetch, "POST", "experiments", "get-or-create", body={"name": "g"})
    assert code == 400 and "deleted" in err["message"]
    for bad in ({}, {"name": ""}, {"name": 1}, {"name": "x", "tags": {}}):
        assert (await fail(jp_fetch, "POST", "experiments", "get-or-create", body=bad))[0] == 400
    code, _ = await fail(jp_fetch, "GET", "experiments", "get-or-create")
    assert code == 405
    _, listed = await call(jp_fetch, "GET", "experiments", params={"view": "all"})
    assert sorted(e["name"] for e in listed["experiments"]) == ["Default", "g"]
