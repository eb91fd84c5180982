"""MLflow's JSON wire format: reading requests and writing our entities as MLflow messages.

Requests arrive as a JSON body (POST, PATCH, DELETE) or a query string (GET; repeated keys are
repeated fields). :class:`Request` reads both the same way and raises MLflow's messages for
missing or mistyped fields. Doubles go out as numbers, except NaN and ±Infinity, which go out as
the proto3 JSON strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the client parses them).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ...core import json_body, limits
from ...core.entities import Experiment, Run, RunModelLink
from ...core.wire import json_number
from ...errors import InvalidInput

#: Artifact URIs we hand out: the client then uploads and downloads through our artifact proxy.
ARTIFACTS_SCHEME = "mlflow-artifacts:"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_RUN_TAG = "mlflow.parentRunId"

_VIEW_TYPES = {
    "ACTIVE_ONLY": "active",
    "DELETED_ONLY": "deleted",
    "ALL": "all",
    "1": "active",
    "2": "deleted",
    "3": "all",
}


def missing(name: str) -> InvalidInput:
    """MLflow's wording, which tools match on: ``Missing value for required parameter 'x'.``"""
    return InvalidInput(f"Missing value for required parameter '{name}'.")


def invalid(name: str, value: Any) -> InvalidInput:
    """MLflow's wording: the value as JSON (``"foo"``, ``31``, ``9.0``), then the field."""
    return InvalidInput(f"Invalid value {_as_json(value)} for parameter '{name}' supplied")


def _as_json(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)


class Request:
    """The fields of one RPC, from a JSON body or from query arguments (``multi``)."""

    def __init__(self, fields: dict[str, Any], from_query: bool = False) -> None:
        self.fields = fields
        self.is_query = from_query

    @classmethod
    def from_body(cls, body: bytes | None) -> Request:
        # MLflow treats a body that is not JSON as empty: the error then names a missing field.
        # One that is JSON but too deep or holding a lone surrogate is refused (see json_body).
        try:
            data = json_body.parse(body) if body else {}
        except json_body.NotJSON:
            data = {}
        return cls(data if isinstance(data, dict) else {})

    @classmethod
    def from_query(cls, args: dict[str, list[bytes]]) -> Request:
        return cls(
            {k: [v.decode("utf-8", "replace") for v in vs] for k, vs in args.items()},
            from_query=True,
        )

    def raw(self, name: str) -> Any:
        value = self.fields.get(name)
        if self.is_query and isinstance(value, list):
            return value[0] if value else None
        return value

    def given(self, name: str, required: bool = False) -> Any:
        """The field's value; None when it is absent or empty (an error when ``required``)."""
        value = self.raw(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        return value

    def text(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.given(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise invalid(name, value)
        return value

    def integer(self, name: str, required: bool = False, default: int | None = None) -> int | None:
        value = self.given(name, required)
        return default if value is None else to_int(name, value)

    def items(self, name: str) -> list[Any]:
        value = self.fields.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid(name, value)
        return value

    def run_id(self, required: bool = True) -> str | None:
        value = self.text("run_id") or self.text("run_uuid")
        if value is None and required:
            raise missing("run_id")
        return value

    def view(self, name: str) -> str:
        value = self.given(name)
        if value is None:
            return "active"
        view = _VIEW_TYPES.get(str(value).upper())
        if view is None:
            raise invalid(name, value)
        return view


def to_int(name: str, value: Any) -> int:
    """An int64 field (proto3 JSON sends them as numbers or strings); anything else, or a number
    past 64 bits, is MLflow's invalid-value error."""
    out: int | None = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        out = value
    elif isinstance(value, float) and value.is_integer():
        out = int(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            out = int(value.strip())
        except ValueError:
            pass
    if out is None or not limits.MIN_STEP <= out <= limits.MAX_STEP:
        raise invalid(name, _short(value))
    return out


def _short(value: Any) -> Any:
    """A value as an error message may quote it (a 400-digit number is cut)."""
    text = repr(value)
    return value if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def to_double(name: str, value: Any) -> float:
    """A metric value: a JSON number, or one of the proto3 strings for NaN and ±Infinity."""
    if isinstance(value, bool) or value is None:
        raise invalid(name, value)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer past the largest double
            raise invalid(name, _short(value)) from None
    if isinstance(value, str):
        special = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}
        if value.strip().lower() in special:
            return special[value.strip().lower()]
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid(name, _short(value))


def key_values(items: list[Any], what: str) -> list[tuple[str, Any]]:
    """``[{"key": k, "value": v}, ...]`` as pairs, in order."""
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid(what, item)
        key = item.get("key")
        if key is None or key == "":
            raise missing("key")
        out.append((key, item.get("value")))
    return out


def string_value(name: str, value: Any, required: bool = True) -> str:
    """Params and tags are strings on the wire; a JSON number is a type error, as in MLflow."""
    if value is None:
        if required:
            raise missing(name)
        return ""
    if not isinstance(value, str):
        raise invalid(name, value)
    return value


def pairs(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in mapping.items()]


def paged(field: str, items: list[Any], next_page_token: str | None) -> dict[str, Any]:
    """A search reply as MLflow sends it: ``next_page_token`` only when a next page exists."""
    reply: dict[str, Any] = {field: items}
    if next_page_token:
        reply["next_page_token"] = next_page_token
    return reply


def experiment_artifact_location(experiment_id: str) -> str:
    return f"{ARTIFACTS_SCHEME}/{experiment_id}"


def run_artifact_uri(experiment_id: str, run_id: str) -> str:
    return f"{ARTIFACTS_SCHEME}/{experiment_id}/{run_id}/artifacts"


def experiment_json(exp: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": exp.id,
        "name": exp.name,
        "artifact_location": experiment_artifact_location(exp.id),
        "lifecycle_stage": exp.lifecycle_stage,
        "creation_time": exp.creation_time,
        "last_update_time": exp.last_update_time,
        "tags": pairs(exp.tags),
    }


def run_info_json(run: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "user_id": run.user,
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": run_artifact_uri(run.experiment_id, run.id),
        "lifecycle_stage": run.lifecycle_stage,
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


DATASET_CONTEXT_TAG = "mlflow.data.context"
#: where a dataset record from ``runs/log-inputs`` keeps its input's own tags
INPUT_TAGS_FIELD = "mlflow_input_tags"


def input_tags(context: str, kept: Any) -> list[dict[str, str]]:
    """A dataset input's tags as MLflow returns them (sorted by key): those it was logged with,
    its context among them when it named one; a record without kept tags (ours, or logged
    before they were kept) has its context."""
    tags: dict[str, str] = {}
    if isinstance(kept, dict):
        tags = {str(k): str(v) for k, v in kept.get("tags") or []}
        if kept.get("context"):
            tags[DATASET_CONTEXT_TAG] = context
    else:
        tags[DATASET_CONTEXT_TAG] = context
    return [{"key": k, "value": tags[k]} for k in sorted(tags)]


def run_json(run: Run, model_links: list[RunModelLink] | None = None) -> dict[str, Any]:
    tags = dict(run.tags)
    tags.setdefault(RUN_NAME_TAG, run.name)
    if run.parent_run_id:
        tags.setdefault(PARENT_RUN_TAG, run.parent_run_id)
    metrics = [
        {"key": m.key, "value": json_number(m.value), "timestamp": m.timestamp, "step": m.step}
        for m in run.latest_metrics.values()
    ]
    dataset_inputs = []
    for ds in run.datasets:
        profile = ds.profile if isinstance(ds.profile, dict) else {}
        mlflow_ds = profile.get("mlflow") if isinstance(profile.get("mlflow"), dict) else None
        dataset_inputs.append(
            {
                "tags": input_tags(ds.context, profile.get(INPUT_TAGS_FIELD)),
                "dataset": mlflow_ds
                or {
                    "name": ds.name,
                    "digest": ds.digest[:36],
                    "source_type": ds.source_type or "local",
                    "source": ds.source or "{}",
                    "schema": json.dumps(ds.schema) if ds.schema is not None else "",
                    "profile": json.dumps({"num_rows": ds.row_count})
                    if ds.row_count is not None
                    else "",
                },
            }
        )
    inputs: dict[str, Any] = {"dataset_inputs": dataset_inputs} if dataset_inputs else {}
    model_inputs = [
        {"model_id": link.model_id} for link in model_links or [] if link.direction == "input"
    ]
    if model_inputs:
        inputs["model_inputs"] = model_inputs
    model_outputs = [
        {"model_id": link.model_id, "step": link.step}
        for link in model_links or []
        if link.direction == "output"
    ]
    return {
        "info": run_info_json(run),
        "data": {"metrics": metrics, "params": pairs(run.params), "tags": pairs(tags)},
        "inputs": inputs,
        "outputs": {"model_outputs": model_outputs} if model_outputs else {},
    }


def dumps(obj: Any) -> str:
    """JSON for the client; refuses bare NaN (convert with :func:`json_number` first)."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))
