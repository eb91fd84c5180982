"""MLflow-compatible REST routes under ``<base_url>/jupyter-mm/mlflow/``: the official ``mlflow``
client logs to jupyter-mm unchanged (an adapter over the same core store)."""

from __future__ import annotations

from typing import Any


def mlflow_handlers() -> list[tuple[Any, ...]]:
    """Route table relative to the server's base URL."""
    return []
