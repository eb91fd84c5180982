"""MLflow-compatible REST routes under ``<base_url>/jupyter-mm/mlflow/``: the official ``mlflow``
client logs to jupyter-mm unchanged (an adapter over the same core store).

Point the client at ``MLFLOW_TRACKING_URI=http://HOST:PORT<base_url>jupyter-mm/mlflow`` with the
Jupyter token in ``MLFLOW_TRACKING_TOKEN``. See ``docs/mlflow-compat.md``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .handlers import (
    MlflowArtifactsHandler,
    MlflowGetArtifactHandler,
    MlflowHealthHandler,
    MlflowNotFoundHandler,
    MlflowRPCHandler,
    MlflowServerInfoHandler,
    MlflowVersionHandler,
)

#: Root of the MLflow routes, relative to the server's base URL (the tracking URI's path).
MLFLOW_PREFIX = "jupyter-mm/mlflow"


def mlflow_handlers() -> list[tuple[Any, ...]]:
    """Route table relative to the server's base URL.

    MLflow serves every RPC under both ``api/`` and ``ajax-api/`` (the UI uses the latter). The
    last route catches every other path under the prefix, so unknown routes (``api/3.0/...``
    too) answer MLflow's JSON ``ENDPOINT_NOT_FOUND``.
    """
    routes: list[tuple[Any, ...]] = []
    for api in ("api", "ajax-api"):
        root = url_path_join(MLFLOW_PREFIX, api)
        routes += [
            (url_path_join(root, r"2\.0/mlflow/(?P<rpc>[^?]+)"), MlflowRPCHandler),
            (url_path_join(root, r"2\.0/mlflow-artifacts/artifacts"), MlflowArtifactsHandler),
            (
                url_path_join(root, r"2\.0/mlflow-artifacts/artifacts/(?P<path>.+)"),
                MlflowArtifactsHandler,
            ),
            (url_path_join(root, r"3\.0/mlflow/server-info"), MlflowServerInfoHandler),
        ]
    routes += [
        # the UI's downloads (MLflow serves them outside api/); "//model-versions" as it accepts
        (url_path_join(MLFLOW_PREFIX, "get-artifact"), MlflowGetArtifactHandler),
        (
            MLFLOW_PREFIX + "/+(?P<kind>model-versions)/get-artifact",
            MlflowGetArtifactHandler,
        ),
        (url_path_join(MLFLOW_PREFIX, "health"), MlflowHealthHandler),
        (url_path_join(MLFLOW_PREFIX, "version"), MlflowVersionHandler),
        # last: any other path here answers MLflow's JSON ENDPOINT_NOT_FOUND, not an HTML page
        (url_path_join(MLFLOW_PREFIX, "(?P<rest>.*)"), MlflowNotFoundHandler),
    ]
    return routes
