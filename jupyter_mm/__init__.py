"""jupyter-mm: notebook-native model management.

``import jupyter_mm as mm`` is cheap: the public API below is resolved on first use, so the store,
SQLAlchemy, numpy and pandas are imported only when a run is tracked or read.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

try:
    from ._version import __version__
except ImportError:  # a source tree never built: `pip install -e .` writes _version.py
    __version__ = "0.0.0"
from .errors import MMError

_API = {
    # tracking
    "set_experiment": "client.tracking",
    "start_run": "client.tracking",
    "end_run": "client.tracking",
    "active_run": "client.tracking",
    "last_run": "client.tracking",
    "log_param": "client.tracking",
    "log_params": "client.tracking",
    "log_metric": "client.tracking",
    "log_metrics": "client.tracking",
    "set_tag": "client.tracking",
    "set_tags": "client.tracking",
    "log_artifact": "client.tracking",
    "log_artifacts": "client.tracking",
    "log_text": "client.tracking",
    "log_figure": "client.tracking",
    "log_dataset": "client.tracking",
    # models (MLflow's model format)
    "log_model": "client.models",
    "load_model": "client.models",
    "download_model": "client.models",
    # deploy bundles (the serving layer; Jupyter-free)
    "bundle": "serving.bundle",
    # reading
    "get_run": "client.reading",
    "runs": "client.reading",
    "metric_history": "client.reading",
    "experiments": "client.reading",
    "list_artifacts": "client.reading",
    "load_artifact": "client.reading",
    "download_artifacts": "client.reading",
    "snapshot": "client.reading",
    "restore": "client.reading",
    # comparing (widgets; notebook layer, imported on first use)
    "compare": "notebook.compare_widget",
    "plot_metric": "notebook.compare_widget",
    "diff": "notebook.run_diff",
    # model registry
    "register_model": "monitoring.references",  # + reference=: profiles live above client
    "set_alias": "client.registry",
    "delete_alias": "client.registry",
    "request_approval": "client.registry",
    "approve": "client.registry",
    "reject": "client.registry",
    "deprecate_version": "client.registry",
    "archive_version": "client.registry",
    "reactivate_version": "client.registry",
    "models": "client.registry",
    "versions": "client.registry",
    "audit_log": "client.registry",
    "alias_history": "client.registry",
    "resolve": "client.registry",
    "verify_audit": "client.registry",
    "export_audit": "client.registry",
    "registry_policy": "client.registry",
    "set_registry_policy": "client.registry",
    "lineage": "client.registry",
    "model_card": "client.registry",
    "update_model_card": "client.registry",
    # webhooks
    "create_webhook": "client.webhooks",
    "webhooks": "client.webhooks",
    "delete_webhook": "client.webhooks",
    "webhook_deliveries": "client.webhooks",
    # monitoring
    "set_reference": "monitoring.references",
    "reference_profile": "monitoring.references",
    "set_drift_thresholds": "monitoring.references",
    "drift_thresholds": "monitoring.references",
    "check_drift": "monitoring.references",
    "log_predictions": "monitoring.current",
    "log_labels": "monitoring.current",
    "labels": "monitoring.current",
    "drift": "monitoring.current",
    "drift_report": "notebook.drift_report",  # a widget: notebook layer, imported on first use
    "performance": "monitoring.current",
    "estimate_performance": "monitoring.current",
    "monitor": "monitoring.monitors",
    "monitors": "monitoring.monitors",
    "delete_monitor": "monitoring.monitors",
    "evaluate_monitor": "monitoring.monitors",
    # re-runs and reproducibility (background jobs)
    "rerun": "loop.reruns",
    "job": "loop.reruns",
    "check_reproducible": "loop.reproducibility",
    "reproducibility": "loop.reproducibility",
    # retraining
    "set_retraining_policy": "loop.retraining",
    "delete_retraining_policy": "loop.retraining",
    "retraining_policy": "loop.retraining",
    "retrain": "loop.retraining",
    "retrainings": "loop.retraining",
    # serving
    "predictions": "client.predictions",
    "serve": "client.serve",
    # configuration
    "set_tracking_uri": "client.backend",
    "get_tracking_uri": "client.backend",
    # errors
    "InvalidInput": "errors",
    "NotFound": "errors",
    "Conflict": "errors",
    "FilterSyntaxError": "errors",
    "StoreError": "errors",
    "IntegrityError": "errors",
    "PolicyViolation": "errors",
}

__all__ = ["MMError", "__version__", *_API]

if TYPE_CHECKING:
    from .client.backend import get_tracking_uri, set_tracking_uri
    from .client.models import download_model, load_model, log_model
    from .client.predictions import predictions
    from .client.reading import (
        download_artifacts,
        experiments,
        get_run,
        list_artifacts,
        load_artifact,
        metric_history,
        restore,
        runs,
        snapshot,
    )
    from .client.registry import (
        alias_history,
        approve,
        archive_version,
        audit_log,
        delete_alias,
        deprecate_version,
        export_audit,
        lineage,
        model_card,
        models,
        reactivate_version,
        registry_policy,
        reject,
        request_approval,
        resolve,
        set_alias,
        set_registry_policy,
        update_model_card,
        verify_audit,
        versions,
    )
    from .client.serve import serve
    from .client.tracking import (
        active_run,
        end_run,
        last_run,
        log_artifact,
        log_artifacts,
        log_dataset,
        log_figure,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
    )
    from .client.webhooks import create_webhook, delete_webhook, webhook_deliveries, webhooks
    from .errors import (
        Conflict,
        FilterSyntaxError,
        IntegrityError,
        InvalidInput,
        NotFound,
        PolicyViolation,
        StoreError,
    )
    from .loop.reproducibility import check_reproducible, reproducibility
    from .loop.reruns import job, rerun
    from .loop.retraining import (
        delete_retraining_policy,
        retrain,
        retraining_policy,
        retrainings,
        set_retraining_policy,
    )
    from .monitoring.current import (
        drift,
        estimate_performance,
        labels,
        log_labels,
        log_predictions,
        performance,
    )
    from .monitoring.monitors import delete_monitor, evaluate_monitor, monitor, monitors
    from .monitoring.references import (
        check_drift,
        drift_thresholds,
        reference_profile,
        register_model,
        set_drift_thresholds,
        set_reference,
    )
    from .notebook.compare_widget import compare, plot_metric
    from .notebook.drift_report import drift_report
    from .notebook.run_diff import diff
    from .serving.bundle import bundle


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


# ---- IPython: `%load_ext jupyter_mm`, and the magics whenever jupyter_mm is imported in IPython


def load_ipython_extension(ipython: Any) -> None:
    from .notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload_ipython_extension as unload

    unload(ipython)


def _register_in_ipython() -> None:
    """Make ``%%track`` available as soon as ``import jupyter_mm`` runs inside IPython."""
    import sys

    if "IPython" not in sys.modules or os.environ.get("MM_NO_MAGICS"):
        return
    try:
        ipython = sys.modules["IPython"].get_ipython()
        if ipython is not None:
            load_ipython_extension(ipython)
    except Exception:  # never break an import over a convenience
        import logging

        logging.getLogger(__name__).debug("jupyter-mm: loading %%track failed", exc_info=True)


_register_in_ipython()


# ---- Jupyter entry points (server code is imported only when a server loads us)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mm"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.extension import JupyterMM  # only a Jupyter server calls this

    return [{"module": "jupyter_mm.server.extension", "app": JupyterMM}]
