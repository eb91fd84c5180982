"""The model registry from Python: ``mm.register_model``, aliases, approvals and the audit trail.

Thin calls over the store's registry (:mod:`jupyter_mm.core.registry`). The acting user, which
the audit trail records, is ``MM_USER`` when set, else the OS user: the core never guesses it,
this module decides it in one place (:func:`current_user`). Against a tracking server
(``MM_TRACKING_URI=http(s)://...``) the server records the identity it authenticated instead,
whatever ``MM_USER`` says (see ``client/remote/registry.py``).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ..core.registry import AuditEntry, AuditReport, ModelVersion, Policy, RegisteredModel
    from ..core.store import TrackingStore


def current_user() -> str:
    """Who acts: ``MM_USER``, else the OS user."""
    user = os.environ.get("MM_USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (some containers): say so instead of guessing
        raise InvalidInput(
            "cannot tell who is acting: set MM_USER to your name for the registry's audit trail"
        ) from None


def _store(write: bool = True) -> TrackingStore:
    if write:
        from .backend import get_store
    else:
        from .reading import get_store
    return get_store()


def _remote(store: Any) -> bool:
    return getattr(store, "kind", None) == "remote"


def _actor(store: TrackingStore) -> str:
    """Who acts: :func:`current_user`; a tracking server ignores it (it records the identity it
    authenticated), so none is needed there."""
    return "" if _remote(store) else current_user()


def _source(store: TrackingStore, source: Any) -> tuple[str, str | None, str | None]:
    """(source URI, run id, model path) of what to register: a ``runs:/`` URI, a logged model's
    info (anything with ``model_uri``) or another model URI."""
    uri = getattr(source, "model_uri", source)
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInput(f"source must be a model URI such as runs:/RUN_ID/PATH, got {source!r}")
    from ..core.registry.sources import parse

    parsed = parse(uri)  # MLflow's source rules, checked here too for a remote store's sake
    if parsed.run_id is not None and parsed.experiment_id is not None:
        # the store checks this too, but only once the registered model exists: checked first
        # so that a refused source registers nothing, not even the model's name
        try:
            experiment = store.get_run(parsed.run_id).experiment_id
        except NotFound:
            experiment = None
        if str(experiment) != parsed.experiment_id:
            raise InvalidInput(
                f"Invalid model version source: '{uri}'. It is not within the artifact root of "
                f"run {parsed.run_id} (mlflow-artifacts:/{experiment}/{parsed.run_id}/artifacts)."
            )
    if not uri.startswith("runs:/"):
        return uri, None, None
    try:
        from ..core.models.uris import in_run
    except ImportError:  # model formats not available: register the URI as given
        return uri, None, None
    if parsed.run_id is None or not parsed.path:
        raise InvalidInput(f"{uri!r}: a runs URI is runs:/RUN_ID/PATH")
    location = in_run(store, parsed.run_id, parsed.path)  # NotFound unless a model is there
    return uri, location.run_id, location.path


def register_model(
    source: Any,
    name: str,
    *,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    comment: str = "",
) -> ModelVersion:
    """Register the model at ``source`` (``runs:/RUN_ID/PATH``, or what ``mm.log_model``
    returned) as the next version of ``name``, creating the registered model if needed."""
    from ..errors import AlreadyExists

    store = _store()
    actor = _actor(store)
    uri, run_id, model_path = _source(store, source)
    try:
        store.create_registered_model(name, actor=actor)
    except AlreadyExists:
        pass
    return store.create_model_version(
        name, uri, actor=actor, run_id=run_id, model_path=model_path,
        description=description, tags=tags, comment=comment,
    )  # fmt: skip


def set_alias(name: str, alias: str, version: int | str, comment: str = "") -> None:
    """Point ``alias`` (``champion``, ``challenger``...) at ``version``, moving it atomically."""
    store = _store()
    store.set_registered_model_alias(name, alias, version, actor=_actor(store), comment=comment)


def delete_alias(name: str, alias: str, comment: str = "") -> None:
    store = _store()
    store.delete_registered_model_alias(name, alias, actor=_actor(store), comment=comment)


def request_approval(
    name: str, version: int | str, comment: str = "", evidence: Iterable[str] | None = None
) -> ModelVersion:
    """Submit a version for approval (``PendingManualApproval``) with links to the evidence."""
    store = _store()
    return store.request_approval(
        name, version, actor=_actor(store), comment=comment, evidence=evidence
    )


def approve(name: str, version: int | str, comment: str) -> ModelVersion:
    """Approve a pending version (by someone other than its requester, under four eyes)."""
    store = _store()
    return store.approve(name, version, actor=_actor(store), comment=comment)


def deprecate_version(name: str, version: int | str, reason: str) -> ModelVersion:
    """Mark a version deprecated, saying why: it still serves (its replies say so) and its
    model card shows the reason. Audited."""
    store = _store()
    return store.set_model_version_lifecycle(
        name, version, "deprecated", actor=_actor(store), reason=reason
    )


def archive_version(name: str, version: int | str, reason: str) -> ModelVersion:
    """Retire a version (MLflow's Archived stage): it never serves again, and stays readable
    for audit. Refused while an alias or a serving stage points at it. Audited."""
    store = _store()
    return store.set_model_version_lifecycle(
        name, version, "archived", actor=_actor(store), reason=reason
    )


def reactivate_version(name: str, version: int | str, reason: str = "") -> ModelVersion:
    """Undo a deprecation or an archiving (back to stage None). Audited."""
    store = _store()
    return store.set_model_version_lifecycle(
        name, version, "active", actor=_actor(store), reason=reason
    )


def reject(name: str, version: int | str, comment: str) -> ModelVersion:
    """Reject a pending version, or revoke an approval."""
    store = _store()
    return store.reject(name, version, actor=_actor(store), comment=comment)


def models(filter: str | None = None) -> list[RegisteredModel]:
    """Registered models, by name; ``filter`` in the search grammar (``name LIKE 'credit%'``)."""
    store, out, token = _store(write=False), [], None
    while True:
        page, token = store.search_registered_models(filter, max_results=1000, page_token=token)
        out += page
        if token is None:
            return out


def versions(name: str) -> list[ModelVersion]:
    """The versions of one registered model, newest first."""
    return _store(write=False).list_model_versions(name)


def audit_log(name: str | None = None) -> list[AuditEntry]:
    """Registry changes in order: who, when, what (from → to) and why; all, or of one model."""
    return _store(write=False).audit_log(name)


def alias_history(name: str, alias: str) -> list[AuditEntry]:
    return _store(write=False).alias_history(name, alias)


def resolve(name: str, alias: str, at: Any = None) -> int | None:
    """The version ``alias`` pointed to at ``at`` (a datetime, date or ms; now when None)."""
    return _store(write=False).resolve(name, alias, at)


def verify_audit(expected_head: str | None = None) -> AuditReport:
    """Recompute the audit trail's hash chain; the report names any tampered entry."""
    return _store(write=False).verify_audit(expected_head)


def export_audit(out: str | IO[str]) -> int:
    """Write the audit trail as JSONL (a path or a text stream); returns the entry count."""
    return _store(write=False).export_audit(out)


def registry_policy(name: str | None = None) -> Policy:
    """The policy in force store-wide, or for one registered model (with its overrides)."""
    return _store(write=False).registry_policy(name)


def set_registry_policy(
    *,
    name: str | None = None,
    four_eyes: bool | None = None,
    approved_aliases_only: bool | None = None,
    approvers: Sequence[str] | None = None,
    require_reproduced: bool | None = None,
    comment: str = "",
) -> Policy:
    """Change the store-wide registry policy, or one model's (``name``); audited. ``approvers``
    names who may approve or reject (``[]``: anyone); ``require_reproduced`` refuses approving a
    version without a passing ``mm.check_reproducible``; ``None`` keeps a value."""
    from ..core.registry.entities import PolicyChange

    change = PolicyChange(
        four_eyes=four_eyes, approved_aliases_only=approved_aliases_only, approvers=approvers,
        require_reproduced=require_reproduced,
    )  # fmt: skip
    store = _store()
    return store.set_registry_policy(change, actor=_actor(store), name=name, comment=comment)


def lineage(name: str, version: int | str) -> dict[str, Any]:
    """Where a version came from: run → notebook snapshot and execution log → datasets →
    environment → git, each with its artifact's digest; absent pieces listed in ``missing``."""
    return _store(write=False).lineage(name, version)


def model_card(name: str, version: int | str, format: str = "markdown") -> Any:
    """The version's model card from recorded facts plus the fields people wrote:
    ``"markdown"`` or ``"html"`` text, or ``"json"`` (Model Card Toolkit's schema)."""
    return _store(write=False).model_card(name, version, format)


def update_model_card(
    name: str, version: int | str, comment: str = "", **fields: str | None
) -> dict[str, str]:
    """Write the card's human fields (``intended_use``, ``users``, ``limitations``,
    ``tradeoffs``, ``ethical_considerations``; ``""`` clears one), audited as tag changes."""
    store = _store()
    return store.update_model_card(name, version, actor=_actor(store), comment=comment, **fields)
