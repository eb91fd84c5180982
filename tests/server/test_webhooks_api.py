"""Webhooks through a real Jupyter server: a registry change made over REST becomes one
delivery signed as MLflow signs it, received by a real HTTP receiver that verifies it with
MLflow's own signing function; the delivery log over REST; bad input and private targets
refused with clear 4xx; and the official ``mlflow`` client's webhook calls."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_mm.server.handlers.base import WEBHOOKS_ALLOW_PRIVATE_SETTING
from tests.support.webhook_receiver import receiver

from .test_mlflow_fixtures import in_thread, mlflow_uri_fixture, mm_store_fixture
from .test_mlflow_wire import jp_fetch

__all__ = ["jp_fetch", "mlflow_uri_fixture", "mm_store_fixture"]  # fixtures used by name


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "JupyterMM": {
                "tracking_uri": str(mm_store_dir),
                # the test receiver listens on 127.0.0.1: an administrator's permission
                "webhooks_allow_private": True,
                "webhook_backoff": 0.05,
            },
        }
    )


async def api(jp_fetch: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if method in ("POST", "PATCH") and body is None:
        body = "{}"
    r = await jp_fetch(f"jupyter-mm/api/{path}", method=method, body=body, raise_error=False)
    return r.code, json.loads(r.body) if r.body else None


async def settled(jp_fetch: Any, webhook_id: str, count: int, timeout: float = 30.0) -> Any:
    """The delivery log once ``count`` deliveries are recorded as finished (the receiver has
    answered before the sender records the attempt)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        code, log = await api(jp_fetch, "GET", f"webhooks/{webhook_id}/deliveries")
        assert code == 200, log
        done = [d for d in log["deliveries"] if d["status"] != "pending"]
        if len(done) >= count:
            return log
        if loop.time() > deadline:
            raise AssertionError(f"deliveries not finished within {timeout}s: {log}")
        await asyncio.sleep(0.05)  # polling, with a deadline


async def test_a_registry_change_is_one_signed_delivery_with_mlflows_payload(
    jp_fetch: Any, jp_web_app: Any
) -> None:
    with receiver(secret="whsec-1") as rec:
        code, hook = await api(
            jp_fetch,
            "POST",
            "webhooks",
            {"name": "ci", "url": rec.url, "events": ["registered_model.created"],
             "secret": "whsec-1", "model": "credit"},
        )  # fmt: skip
        assert code == 201, hook
        assert hook["has_secret"] is True and "secret" not in hook
        code, _ = await api(jp_fetch, "POST", "registry/models", {"name": "credit"})
        assert code == 201
        code, _ = await api(jp_fetch, "POST", "registry/models", {"name": "other"})  # not ours
        assert code == 201
        [got] = await in_thread(rec.wait_for, 1)
    assert got.verified, "MLflow's signing function disagrees with the signature"
    body = got.payload
    assert (body["entity"], body["action"]) == ("registered_model", "created")
    assert body["data"] == {"name": "credit", "tags": {}, "description": None}
    log = await settled(jp_fetch, hook["webhook_id"], 1)
    [d] = log["deliveries"]
    assert (d["delivery_id"], d["status"], d["event"]) == (
        got.delivery_id,
        "succeeded",
        "registered_model.created",
    )
    assert [a["response_status"] for a in d["attempt_log"]] == [200]
    code, listed = await api(jp_fetch, "GET", "webhooks?model=credit")
    assert [h["webhook_id"] for h in listed["webhooks"]] == [hook["webhook_id"]]
    code, _ = await api(jp_fetch, "DELETE", f"webhooks/{hook['webhook_id']}")
    assert code == 200
    code, _ = await api(jp_fetch, "GET", f"webhooks/{hook['webhook_id']}")
    assert code == 404


async def test_a_failing_receiver_is_retried_through_the_server(jp_fetch: Any) -> None:
    with receiver(secret=None, statuses=[500, 200]) as rec:
        code, hook = await api(
            jp_fetch, "POST", "webhooks",
            {"name": "ci", "url": rec.url, "events": ["model_version_alias.created"]},
        )  # fmt: skip
        assert code == 201
        assert (await api(jp_fetch, "POST", "registry/models", {"name": "m"}))[0] == 201
        code, v = await api(
            jp_fetch, "POST", "registry/models/m/versions", {"source": "s3://bucket/model"}
        )
        assert code == 201, v
        assert (await api(jp_fetch, "PUT", "registry/models/m/aliases/champion",
                          json.dumps({"version": 1})))[0] == 200  # fmt: skip
        first, second = await in_thread(rec.wait_for, 2)
    assert first.delivery_id == second.delivery_id
    assert second.payload["data"] == {"name": "m", "alias": "champion", "version": "1"}
    log = await settled(jp_fetch, hook["webhook_id"], 1)
    [d] = log["deliveries"]
    assert [a["response_status"] for a in d["attempt_log"]] == [500, 200]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "webhooks", {"name": "h", "url": "http://x.example", "events": ["nope.x"]},
         400, "unknown webhook event"),
        ("POST", "webhooks", {"name": "h", "events": ["model_version.created"]},
         400, "'url' is required"),
        ("POST", "webhooks", {"name": "h", "url": "http://x", "events": "model_version.created"},
         400, "must be a list"),
        ("POST", "webhooks", {"name": "h", "url": "gopher://x", "events": ["approval.decided"]},
         400, "http(s) URL"),
        ("POST", "webhooks", {"name": "h", "url": "http://x", "events": ["approval.decided"],
                              "colour": "red"}, 400, "unknown field"),
        ("POST", "webhooks", "[1, 2", 400, ""),
        ("GET", "webhooks/no-such-hook", None, 404, "not found"),
        ("PATCH", "webhooks/no-such-hook", {"status": "ACTIVE"}, 404, "not found"),
        ("GET", "webhooks/no-such-hook/deliveries?limit=0", None, 400, "limit"),
        ("POST", "webhooks/no-such-hook/test", {}, 404, "not found"),
    ],
)  # fmt: skip
async def test_bad_input_is_a_clear_4xx(
    jp_fetch: Any, method: str, path: str, body: Any, status: int, message: str
) -> None:
    code, reply = await api(jp_fetch, method, path, body)
    assert code == status, reply
    assert reply["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    assert message in reply["message"]


async def test_a_private_target_is_refused_without_the_administrators_setting(
    jp_fetch: Any, jp_web_app: Any
) -> None:
    jp_web_app.settings[WEBHOOKS_ALLOW_PRIVATE_SETTING] = False
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://localhost/"):
        code, reply = await api(
            jp_fetch, "POST", "webhooks",
            {"name": "h", "url": url, "events": ["model_version.created"]},
        )  # fmt: skip
        assert code == 400 and "not a public address" in reply["message"], reply
    assert (await api(jp_fetch, "GET", "webhooks"))[1] == {"webhooks": []}


async def test_the_mlflow_clients_webhook_calls(mlflow_uri: str, mm_store: Any) -> None:
    with receiver(secret="mlflow-secret") as rec:

        def scenario() -> dict[str, Any]:
            from mlflow import MlflowClient
            from mlflow.entities.webhook import WebhookStatus
            from mlflow.exceptions import MlflowException

            client = MlflowClient()
            out: dict[str, Any] = {}
            hook = client.create_webhook(
                name="registry-ci",
                url=rec.url,
                events=["registered_model.created", "model_version_alias.created"],
                description="CI trigger",
                secret="mlflow-secret",
            )
            out["created"] = (hook.name, sorted(str(e) for e in hook.events), hook.status)
            out["listed"] = [h.webhook_id for h in client.list_webhooks()]
            out["got"] = client.get_webhook(hook.webhook_id).description
            updated = client.update_webhook(
                hook.webhook_id, description="CI", status=WebhookStatus.ACTIVE
            )
            out["updated"] = updated.description
            result = client.test_webhook(hook.webhook_id)
            out["test"] = (result.success, result.response_status)
            client.create_registered_model("scorer")  # a real event, delivered
            out["delivered"] = rec.wait_for(2)[1].payload
            with pytest.raises(MlflowException) as e:
                client.create_webhook(name="bad", url=rec.url, events=["prompt.created"])
            out["bad_event"] = e.value.error_code
            client.delete_webhook(hook.webhook_id)
            with pytest.raises(MlflowException) as e:
                client.get_webhook(hook.webhook_id)
            out["deleted"] = e.value.error_code
            out["hook_id"] = hook.webhook_id
            return out

        out = await in_thread(scenario)
        sample, real = rec.wait_for(2)
    assert out["created"] == (
        "registry-ci",
        ["model_version_alias.created", "registered_model.created"],
        "ACTIVE",
    )
    assert out["listed"] == [out["hook_id"]] and out["got"] == "CI trigger"
    assert out["updated"] == "CI" and out["test"] == (True, 200)
    assert sample.verified and sample.payload["data"]["name"] == "example_model"
    assert real.verified and real.payload["data"] == {
        "name": "scorer",
        "tags": {},
        "description": None,
    }
    assert out["delivered"] == real.payload
    assert out["bad_event"] == "INVALID_PARAMETER_VALUE"
    assert out["deleted"] == "RESOURCE_DOES_NOT_EXIST"
    actions = [e.action for e in mm_store.audit_log() if e.action.startswith("webhook.")]
    assert actions == ["webhook.created", "webhook.updated", "webhook.deleted"]


async def test_a_monitor_alarm_is_delivered_once(jp_fetch: Any, jp_serverapp: Any) -> None:
    """The server hands its monitor alarms (as MonitorScheduler emits them) to the dispatcher;
    the same evaluation emitted twice is one delivery."""
    from jupyter_mm.server.monitor_events import MONITOR_EVENT_SCHEMA_ID

    alarm = {
        "action": "monitor.drift_detected", "evaluation_id": "ev-1", "model": "credit",
        "monitor": "champion", "alias": "champion", "version": 3, "status": "drift",
        "previous": "ok", "rows": 1000, "share": 0.5, "features": ["income"],
        "evaluated_at": "2026-01-01T01:00:00+00:00",
    }  # fmt: skip
    with receiver(secret="s") as rec:
        code, hook = await api(
            jp_fetch, "POST", "webhooks",
            {"name": "drift", "url": rec.url, "events": ["monitor.drift_detected"],
             "model": "credit", "secret": "s"},
        )  # fmt: skip
        assert code == 201
        for _ in range(2):
            jp_serverapp.event_logger.emit(schema_id=MONITOR_EVENT_SCHEMA_ID, data=alarm)
        [got] = await in_thread(rec.wait_for, 1)
    assert got.verified
    assert (got.payload["entity"], got.payload["action"]) == ("monitor", "drift_detected")
    assert got.payload["data"] == alarm
    log = await settled(jp_fetch, hook["webhook_id"], 1)
    assert [d["event_key"] for d in log["deliveries"]] == ["event:monitor.drift_detected:ev-1"]
