"""Model packaging in MLflow's model format, Jupyter-free.

``format`` saves and loads model directories (``MLmodel`` + files), ``flavors`` knows how each
kind of model is written (scikit-learn with skops, cloudpickled objects with ``predict``,
PyTorch), ``signature`` infers and enforces MLflow signatures, ``environment`` records the
requirements, ``files`` reads a model from a directory or a run's artifacts, ``uris`` resolves
``runs:/`` and ``models:/`` URIs against a store, and ``pyfunc`` is the ``loader_module`` MLflow
imports for our own flavor. Nothing heavy is imported until a model is saved or loaded.
"""

from __future__ import annotations

from .format import LoadedModel, build_model, load_model, save_model
from .signature import Signature, infer_signature

__all__ = ["LoadedModel", "Signature", "build_model", "infer_signature", "load_model", "save_model"]
