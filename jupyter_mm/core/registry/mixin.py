"""The registry as one store mixin (see :class:`jupyter_mm.core.store.Store`)."""

from __future__ import annotations

from .aliases import AliasesMixin
from .approvals import ApprovalsMixin
from .audit import AuditReader
from .models import ModelsMixin
from .versions import VersionsMixin


class RegistryMixin(ModelsMixin, VersionsMixin, AliasesMixin, ApprovalsMixin, AuditReader):
    """Registered models, versions, aliases, approvals, policies and the audit trail."""
