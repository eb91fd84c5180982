"""REST handlers of the server extension, all under ``<base_url>/jupyter-mm/api/``.

The OpenAPI description of every route is ``jupyter_mm/server/openapi.yaml``; a test keeps the
two in step.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .artifacts import ArtifactHandler, ArtifactListHandler, RecordHandler
from .base import API_PREFIX, MMHandler
from .experiments import ExperimentHandler, ExperimentRestoreHandler, ExperimentsHandler
from .metrics import MetricHistoryHandler
from .runs import (
    DatasetsHandler,
    LogBatchHandler,
    RunHandler,
    RunRestoreHandler,
    RunsHandler,
    RunsSearchHandler,
    RunTagHandler,
)
from .snapshots import SnapshotDiffHandler, SnapshotHandler
from .status import StatusHandler

__all__ = [
    "API_PREFIX",
    "MMHandler",
    "SnapshotDiffHandler",
    "SnapshotHandler",
    "StatusHandler",
    "api_handlers",
]

_EXP = r"(?P<experiment_id>[^/]+)"
_RUN = r"(?P<run_id>[^/]+)"


def api_handlers() -> list[tuple[Any, ...]]:
    """Route table relative to the server's base URL (the extension app prepends it)."""

    def route(*parts: str) -> str:
        return url_path_join(API_PREFIX, *parts)

    return [
        (route("status"), StatusHandler),
        (route("experiments"), ExperimentsHandler),
        (route("experiments", _EXP), ExperimentHandler),
        (route("experiments", _EXP, "restore"), ExperimentRestoreHandler),
        (route("runs"), RunsHandler),
        (route("runs", "search"), RunsSearchHandler),
        (route("runs", _RUN), RunHandler),
        (route("runs", _RUN, "restore"), RunRestoreHandler),
        (route("runs", _RUN, "log-batch"), LogBatchHandler),
        (route("runs", _RUN, "tags", r"(?P<key>.+)"), RunTagHandler),
        (route("runs", _RUN, "datasets"), DatasetsHandler),
        (route("runs", _RUN, "artifacts"), ArtifactListHandler),
        (route("runs", _RUN, "artifacts", r"(?P<path>.+)"), ArtifactHandler),
        (route("runs", _RUN, "records", r"(?P<kind>[^/]+)"), RecordHandler),
        (route("runs", _RUN, "snapshot"), SnapshotHandler),
        (route("runs", _RUN, "snapshot", "diff"), SnapshotDiffHandler),
        (route("metrics", "history"), MetricHistoryHandler),
    ]
