"""The jupyter_events schemas of our events, one YAML file each, laid out as jupyter_server lays
out its own (``jupyter_server/event_schemas``): the schema
``https://events.jupyter.org/jupyter_mm/<name>/v1`` is the file ``<name>/v1.yaml`` here.
Subscribers, webhook receivers and reviewers read the events' fields there; the server's
modules ``events``, ``registry_events``, ``monitor_events`` and ``jobs`` emit them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The prefix of our schema ids, as ``https://events.jupyter.org/jupyter_server`` is the server's.
JUPYTER_MM_EVENTS_URI = "https://events.jupyter.org/jupyter_mm"
#: This folder.
EVENT_SCHEMAS_PATH = Path(__file__).parent


def schema_path(schema_id: str) -> Path:
    """The file of the schema ``schema_id``: jupyter_server's rule, its id past the URI plus
    ``.yaml``."""
    return EVENT_SCHEMAS_PATH / (schema_id.removeprefix(JUPYTER_MM_EVENTS_URI + "/") + ".yaml")


def load_schema(schema_id: str) -> dict[str, Any]:
    """The schema ``schema_id`` read from its file, as ``EventLogger.register_event_schema`` reads
    a schema path (YAML, safe loader)."""
    import yaml

    schema: dict[str, Any] = yaml.safe_load(schema_path(schema_id).read_text(encoding="utf-8"))
    return schema
