"""The model registry: registered models, versions, aliases, approvals and the audit trail.

Jupyter-free, over the store's engine: :class:`~.mixin.RegistryMixin` is one of the mixins of
:class:`jupyter_mm.core.store.Store`, assembled from one module per concept (``models``,
``versions``, ``aliases``, ``approvals``, ``audit``). Every write takes the acting user
(``actor``) explicitly (the core never guesses identities), validates all of its input first,
and then changes the tables and appends its audit entries in one transaction.

This package imports nothing from ``core.store`` at import time (the store imports it).
"""

from __future__ import annotations

from .entities import (
    APPROVAL_STATES,
    STAGES,
    Approval,
    AuditEntry,
    AuditProblem,
    AuditReport,
    ModelVersion,
    Policy,
    PolicyChange,
    RegisteredModel,
)

__all__ = [
    "APPROVAL_STATES",
    "STAGES",
    "Approval",
    "AuditEntry",
    "AuditProblem",
    "AuditReport",
    "ModelVersion",
    "Policy",
    "PolicyChange",
    "RegisteredModel",
]
