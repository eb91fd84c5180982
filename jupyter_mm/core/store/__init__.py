"""The store: experiments, runs, params, metrics, tags, datasets, the artifact index, MLflow 3
logged models, the artifact proxy's files outside runs, the model registry (``core/registry``) and reading the prediction log.

One class over SQLAlchemy Core for SQLite and PostgreSQL, assembled from one mixin per concept.
Every write method validates all of its input first and then writes in one transaction, so a
rejected call leaves nothing behind.
"""

from __future__ import annotations

from ..registry.mixin import RegistryMixin
from ..webhooks import WebhooksMixin
from .artifact_index import ArtifactIndexMixin
from .base import DEFAULT_EXPERIMENT_ID, MetricPoint, now_ms
from .datasets import DatasetsMixin
from .experiments import ExperimentsMixin
from .interface import TrackingStore
from .jobs import JobsMixin
from .logged_models import LoggedModelsMixin
from .predictions import PredictionsMixin
from .proxy_files import ProxyFilesMixin
from .run_data import RunDataMixin
from .runs import RunsMixin

__all__ = ["DEFAULT_EXPERIMENT_ID", "MetricPoint", "Store", "TrackingStore", "now_ms"]


class Store(
    ExperimentsMixin,
    RunsMixin,
    RunDataMixin,
    DatasetsMixin,
    ArtifactIndexMixin,
    LoggedModelsMixin,
    ProxyFilesMixin,
    RegistryMixin,
    PredictionsMixin,
    WebhooksMixin,
    JobsMixin,
):
    """A store opened from a tracking URI (see :mod:`jupyter_mm.core.locations`):
    ``Store.open(uri)``."""


def _implements_interface(store: Store) -> TrackingStore:
    return store  # mypy checks that Store has every method of TrackingStore, with its signature
