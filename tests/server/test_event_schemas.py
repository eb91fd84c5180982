"""Our jupyter_events schemas are YAML files under ``jupyter_mm/server/event_schemas``, laid out
and registered as jupyter_server's own: each file is the schema its module registers, and the
events the server emits are valid against it."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from jsonschema import ValidationError
from jupyter_events import EventLogger
from jupyter_events.schema import EventSchema

from jupyter_mm.core.store.jobs import Job
from jupyter_mm.monitoring.monitors import Evaluation, Monitor
from jupyter_mm.server import event_schemas, events, jobs, monitor_events, registry_events

#: (schema id, the schema its module registers), one per file.
SCHEMAS = [
    (events.EVENT_SCHEMA_ID, events.EVENT_SCHEMA),
    (registry_events.REGISTRY_EVENT_SCHEMA_ID, registry_events.REGISTRY_EVENT_SCHEMA),
    (monitor_events.MONITOR_EVENT_SCHEMA_ID, monitor_events.MONITOR_EVENT_SCHEMA),
    (jobs.JOB_EVENT_SCHEMA_ID, jobs.JOB_EVENT_SCHEMA),
]


def test_every_schema_file_is_registered_and_says_its_own_id() -> None:
    files = sorted(event_schemas.EVENT_SCHEMAS_PATH.glob("**/*.yaml"))
    assert files == sorted(event_schemas.schema_path(schema_id) for schema_id, _ in SCHEMAS)
    for schema_id, schema in SCHEMAS:
        assert schema["$id"] == schema_id and schema["version"] == "1"


@pytest.mark.parametrize(
    ("schema_id", "schema"), SCHEMAS, ids=[s.rsplit("/", 2)[1] for s, _ in SCHEMAS]
)
def test_a_schema_file_registers_as_jupyter_server_registers_its_own(
    schema_id: str, schema: dict[str, Any]
) -> None:
    logger = EventLogger()
    logger.register_event_schema(event_schemas.schema_path(schema_id))  # a path, as the server
    assert logger.schemas.get(schema_id).properties == schema["properties"]


def _validate(schema_id: str, data: dict[str, Any]) -> None:
    EventSchema(event_schemas.schema_path(schema_id)).validate(data)  # raises if invalid


def test_store_and_registry_events_are_valid() -> None:
    state = ("0", "train", "RUNNING", None, "active")
    _validate(events.EVENT_SCHEMA_ID, events._run_event("run-created", "r1", state))
    appended = {**events._run_event("metrics-appended", "r1", state), "keys": ["loss"]}
    _validate(events.EVENT_SCHEMA_ID, {**appended, "stream": "abc", "seq": 1})
    row = SimpleNamespace(
        seq=42, action="model.renamed", actor="alice", model_name="credit-pd", version=3,
        alias="champion", from_value='{"name": "credit-risk"}',
    )  # fmt: skip
    event = registry_events._event(row)
    assert event["previous_name"] == "credit-risk"
    _validate(registry_events.REGISTRY_EVENT_SCHEMA_ID, event)
    policy = SimpleNamespace(
        seq=43, action="policy.set", actor="carol", model_name=None, version=None, alias=None,
        from_value=None,
    )  # fmt: skip
    _validate(registry_events.REGISTRY_EVENT_SCHEMA_ID, registry_events._event(policy))


def test_monitor_alarms_are_valid() -> None:
    verdicts = [SimpleNamespace(feature="income", drifted=True)]
    evaluation = Evaluation(
        id="e1", monitor=Monitor(model="credit", id="champion"), version=3,
        at=dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone.utc), status="drift", rows=10412,
        run_id="r1", step=0, previous="ok", crossed=True,
        result=SimpleNamespace(share=0.25, verdicts=verdicts),  # type: ignore[arg-type]
        performance={"metric": "auc", "value": 0.64, "estimated": True, "threshold": None},
        performance_crossed=True,
    )  # fmt: skip
    alarms = monitor_events.alarms(evaluation)
    assert [a["action"] for a in alarms] == [
        "monitor.drift_detected",
        "monitor.performance_degraded",
    ]
    for alarm in alarms:
        _validate(monitor_events.MONITOR_EVENT_SCHEMA_ID, alarm)


@pytest.mark.parametrize("kind", ["rerun", "reproducibility", "retraining"])
def test_job_events_are_valid(kind: str) -> None:
    spec = {"model": "credit", "version": 3, "retraining_id": "t1"}
    job = Job(
        id="j1", kind=kind, state="finished", spec=spec, result={"summary": {"passed": True}},
        error=None, run_id="r1", result_run_id="r2", created_by="alice", owner=None,
        cancel_requested=False, created_time=0, started_time=0, ended_time=1, updated_time=1,
        log_size=0,
    )  # fmt: skip
    _validate(jobs.JOB_EVENT_SCHEMA_ID, jobs.job_event(job))


def test_a_bad_event_is_refused() -> None:
    with pytest.raises(ValidationError, match="'job_id' is a required property"):
        _validate(jobs.JOB_EVENT_SCHEMA_ID, {"action": "rerun.finished"})
