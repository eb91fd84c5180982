"""Shared pieces of the REST handlers: request parsing, limits and the JSON shapes of the API.

JSON never carries NaN or ±Inf literals (they are not JSON): non-finite metric values are the
strings of ``core/wire.py``, as MLflow spells them, both ways.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tornado.web import HTTPError

from ...core import json_body, validation
from ...core.wire import json_number
from ...errors import InvalidInput

if TYPE_CHECKING:
    from ...core.entities import ArtifactInfo, DatasetInput, Experiment, Run
    from .base import MMHandler

#: Largest JSON request body of ordinary routes (bytes).
MAX_JSON_BYTES = 1024 * 1024
#: Largest JSON body of ``log-batch`` and ``metrics/history`` (100,000 metric points fit).
MAX_BATCH_JSON_BYTES = 32 * 1024 * 1024
#: Default page size of run searches.
DEFAULT_MAX_RESULTS = 100

#: Run attributes a ``columns`` selection may name (``id`` is always included).
RUN_ATTRIBUTES = (
    "id",
    "name",
    "experiment_id",
    "experiment",
    "status",
    "start_time",
    "end_time",
    "heartbeat_time",
    "user",
    "lifecycle_stage",
    "parent_run_id",
    "notes",
)
_INT64_RE = re.compile(r"^-?\d{1,18}$")


def json_numbers(values: Any) -> list[Any]:
    """A float64 array (or sequence) as a JSON-safe list."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    out: list[Any] = arr.tolist()
    if not bool(np.isfinite(arr).all()):
        out = [json_number(v) for v in out]
    return out


def dumps(obj: Any) -> str:
    """Strict JSON (a NaN that slipped through is a bug, not an output)."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def check_body_size(handler: MMHandler, limit: int, advice: str = "") -> bytes:
    """The request body, refused with a 413 (and ``advice`` on what to do) above ``limit``."""
    body = handler.request.body or b""
    if len(body) > limit:
        hint = f"; {advice}" if advice else ""
        raise HTTPError(413, f"request body too large: {len(body)} bytes (limit {limit}){hint}")
    return body


def read_json_body(
    handler: MMHandler, limit: int = MAX_JSON_BYTES, required: bool = True, advice: str = ""
) -> Any:
    """The request body as JSON (see :mod:`..json_body`), refusing oversized bodies with a 413."""
    body = check_body_size(handler, limit, advice)
    if not body.strip():
        if required:
            raise InvalidInput("the request body must be a JSON object")
        return {}
    return json_body.parse(body)


def json_object(handler: MMHandler, allowed: Iterable[str], **kw: Any) -> dict[str, Any]:
    """The body as a JSON object with only the ``allowed`` fields."""
    body = read_json_body(handler, **kw)
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, got {type(body).__name__}")
    validation.known_fields(body, sorted(allowed))
    return body


def parse_experiment(value: str) -> str:
    """A path's experiment id: an integer that fits the database column."""
    if not isinstance(value, str) or not _INT64_RE.match(value):
        raise InvalidInput(f"experiment id must be an integer, got {value!r}")
    return str(int(value))


def parse_run(value: Any) -> str:
    from ...core.store.base import check_run_id

    return check_run_id(value)


def required_arg(handler: MMHandler, key: str, what: str = "") -> str:
    """A query argument that must be given and not empty: a 400 naming it (and ``what`` it is)."""
    value = handler.get_query_argument(key, "")
    if not value:
        raise InvalidInput(f"'{key}'{f' ({what})' if what else ''} is required")
    return value


def optional_arg(handler: MMHandler, key: str) -> str | None:
    """A query argument that may be left out: None when absent or empty (``?key=`` names
    nothing)."""
    return handler.get_query_argument(key, None) or None


def required_field(body: Mapping[str, Any], key: str, advice: str = "") -> Any:
    """``body[key]``, which must be there (it may be null): a 400 naming it, and ``advice`` on
    what it takes, when it is left out."""
    if key not in body:
        raise InvalidInput(f"'{key}' is required{f': {advice}' if advice else ''}")
    return body[key]


def string_field(body: Mapping[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"'{key}' is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'{key}' must be a string, got {type(value).__name__}")
    return value


def int_field(
    value: Any, what: str, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """An integer from JSON or a query string (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        if not _INT64_RE.match(value.strip()):
            raise InvalidInput(f"'{what}' must be an integer, got {value!r}")
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"'{what}' must be an integer, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidInput(f"'{what}' must be between {minimum} and {maximum}, got {value}")
    return value


def int_arg(
    handler: MMHandler, key: str, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """The query argument ``key`` as an integer (see :func:`int_field`); None when absent."""
    return int_field(handler.get_query_argument(key, None), key, minimum, maximum)


def bool_arg(value: str | None, what: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    low = value.lower()
    if low in ("1", "true", "yes"):
        return True
    if low in ("0", "false", "no"):
        return False
    raise InvalidInput(f"'{what}' must be true or false, got {value!r}")


def view_arg(value: Any) -> str:
    if value is None or value == "":
        return "active"
    if not isinstance(value, str) or value.lower() not in ("active", "deleted", "all"):
        raise InvalidInput(f"view must be 'active', 'deleted' or 'all', got {value!r}")
    return value.lower()


def string_map(value: Any, what: str) -> dict[str, str]:
    """``{k: v}`` or MLflow's ``[{key, value}]``; values must be strings, numbers or booleans."""
    if value is None:
        return {}
    if isinstance(value, list):
        items: dict[str, Any] = {}
        for item in value:
            if (
                not isinstance(item, dict)
                or set(item) != {"key", "value"}
                or not isinstance(item["key"], str)
            ):
                raise InvalidInput(f"each of '{what}' must be an object {{key, value}}")
            items[item["key"]] = item["value"]
        value = items
    if not isinstance(value, dict):
        raise InvalidInput(f"'{what}' must be an object of names to values")
    out: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (str, int, float)) and not (
            isinstance(v, float) and not math.isfinite(v)
        ):
            out[k] = str(v)
        else:
            raise InvalidInput(
                f"value of {what[:-1]} {k!r} must be a string or a number, got {type(v).__name__}"
            )
    return out


# --- response shapes -------------------------------------------------------------------------


def experiment_json(exp: Experiment) -> dict[str, Any]:
    """Every field of the experiment, in its order (the tags a copy)."""
    return dataclasses.asdict(exp)


class Columns:
    """Which parts of a run to include: ``None`` means everything."""

    def __init__(self, spec: Any) -> None:
        self.all = True
        self.attributes: set[str] = set()
        self.sections: dict[str, set[str] | None] = {}
        if spec is None or spec == "" or spec == []:
            return
        if isinstance(spec, str):
            names = [c.strip() for c in spec.split(",") if c.strip()]
        elif isinstance(spec, list) and all(isinstance(c, str) for c in spec):
            names = [c.strip() for c in spec if c.strip()]
        else:
            raise InvalidInput("'columns' must be a list of column names")
        self.all = False
        for name in names:
            section, _, key = name.partition(".")
            if section in ("params", "metrics", "tags") and key:
                chosen = self.sections.setdefault(section, set())
                if key == "*":
                    self.sections[section] = None
                elif chosen is not None:
                    chosen.add(key)
            elif section in ("params", "metrics", "tags") and not key:
                self.sections[section] = None
            else:
                attr = name[len("attributes.") :] if name.startswith("attributes.") else name
                if attr not in RUN_ATTRIBUTES:
                    raise InvalidInput(
                        f"unknown column {name!r}: use params.<key>, metrics.<key>, tags.<key> "
                        f"or one of {', '.join(RUN_ATTRIBUTES)}"
                    )
                self.attributes.add(attr)

    def pick(self, section: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        if self.all:
            return dict(values)
        if section not in self.sections:
            return None
        keys = self.sections[section]
        if keys is None:
            return dict(values)
        return {k: values[k] for k in keys if k in values}


def run_json(run: Run, columns: Columns | None = None) -> dict[str, Any]:
    cols = columns or Columns(None)
    full: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        "experiment_id": run.experiment_id,
        "experiment": run.experiment,
        "status": run.status,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "heartbeat_time": run.heartbeat_time,
        "user": run.user,
        "lifecycle_stage": run.lifecycle_stage,
        "parent_run_id": run.parent_run_id,
        "notes": run.notes,
    }
    out = full if cols.all else {k: v for k, v in full.items() if k == "id" or k in cols.attributes}
    metrics = {k: json_number(v) for k, v in run.metrics.items()}
    for section, values in (("params", run.params), ("metrics", metrics), ("tags", run.tags)):
        picked = cols.pick(section, values)
        if picked is not None:
            out[section] = picked
    return out


def artifact_json(info: ArtifactInfo) -> dict[str, Any]:
    return {
        "path": info.path,
        "is_dir": info.is_dir,
        "size": info.size,
        "digest": info.digest or None,
        "media_type": info.media_type,
        "created_time": info.created_time or None,
    }


def dataset_json(ds: DatasetInput) -> dict[str, Any]:
    """Every field of the dataset, in its order (what ``POST runs/{id}/datasets`` takes)."""
    return dataclasses.asdict(ds)


# --- store helpers ----------------------------------------------------------------------------
