"""The registry as one store mixin (see :class:`jupyter_mm.core.store.Store`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .aliases import AliasesMixin
from .approvals import ApprovalsMixin
from .audit import AuditReader
from .lifecycle import LifecycleMixin
from .models import ModelsMixin
from .reference import ReferenceMixin
from .retraining import RetrainingMixin
from .versions import VersionsMixin

if TYPE_CHECKING:
    from ..store import Store


class RegistryMixin(
    ModelsMixin,
    VersionsMixin,
    AliasesMixin,
    ApprovalsMixin,
    LifecycleMixin,
    RetrainingMixin,
    AuditReader,
    ReferenceMixin,
):
    """Registered models, versions, aliases, approvals, policies, reference profiles and the
    audit trail."""

    # Derived views, as methods so that a local and a remote store answer the same calls
    # (core/store/interface.py); the remote store asks the server, which calls these.

    def lineage(self, name: str, version: int | str) -> dict[str, Any]:
        from .lineage import lineage

        return lineage(cast("Store", self), name, version)

    def model_card(self, name: str, version: int | str, format: str = "markdown") -> Any:
        from .model_card import model_card

        return model_card(cast("Store", self), name, version, format)

    def update_model_card(
        self, name: str, version: int | str, *, actor: str, comment: str = "", **fields: str | None
    ) -> dict[str, str]:
        from .model_card import update_model_card

        return update_model_card(
            cast("Store", self), name, version, actor=actor, comment=comment, **fields
        )
