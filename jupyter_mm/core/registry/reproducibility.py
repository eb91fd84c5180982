"""A version's reproducibility evidence, stored content-addressed and audited.

``mm.check_reproducible`` (``jupyter_mm/loop/reproducibility.py``, above core) re-runs a version's
source run and compares; what it found is kept here: the full details as a canonical JSON blob in
the content-addressed store, and a short JSON summary naming the blob's SHA-256 as the audited
version tag :data:`REPRODUCIBILITY_TAG`, so each check is one entry of the hash-chained audit trail
and the evidence it names can never change under it. The ``require_reproduced`` policy
(:mod:`.approvals`) reads the summary's verdict; the model card shows it (:mod:`.model_card`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import IntegrityError, InvalidInput, NotFound
from .. import limits, validation
from . import rules

if TYPE_CHECKING:
    from ..store import Store

#: Version tag holding the latest check's summary (JSON, with the details' SHA-256).
REPRODUCIBILITY_TAG = "mm.reproducibility"
#: Schema name of the details blob.
DETAILS_SCHEMA = "jupyter-mm.reproducibility"
#: Largest details document accepted.
MAX_DETAILS_BYTES = 8 * 1024 * 1024


def reproducibility_verdict(tag_value: str | None) -> str | None:
    """``"passed"``, ``"failed"`` or ``"unreadable"`` from the tag's value; None without one."""
    if not tag_value:
        return None
    try:
        summary = json.loads(tag_value)
    except ValueError:
        return "unreadable"
    if not isinstance(summary, dict) or not isinstance(summary.get("passed"), bool):
        return "unreadable"
    return "passed" if summary["passed"] else "failed"


def record_reproducibility(
    store: Store,
    name: str,
    version: int | str,
    summary: Mapping[str, Any],
    details: Mapping[str, Any],
    *,
    actor: str,
    comment: str = "",
) -> dict[str, Any]:
    """Keep a check's ``details`` (blob) and ``summary`` (audited tag, with ``details`` set to the
    blob's SHA-256); returns the summary as stored. The blob goes first: an orphan from a refused
    tag costs nothing and is never wrong."""
    number = rules.version(version)
    if not isinstance(summary, Mapping) or not isinstance(summary.get("passed"), bool):
        raise InvalidInput("a reproducibility summary is a JSON object with a boolean 'passed'")
    doc = {"schema": DETAILS_SCHEMA, **details}
    validation.json_value(doc, "the reproducibility details")
    try:
        raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"the reproducibility details are not plain JSON: {e}") from None
    if len(raw) > MAX_DETAILS_BYTES:
        raise InvalidInput(f"the reproducibility details are {len(raw)} bytes; at most "
                           f"{MAX_DETAILS_BYTES} are accepted")  # fmt: skip
    store.get_model_version(name, number)  # NotFound before anything is written
    digest, _ = store.blobs.put_bytes(raw)
    stored = {**summary, "details": digest}
    value = json.dumps(stored, sort_keys=True, separators=(",", ":"), allow_nan=False)
    if len(value) > limits.MAX_TAG_VALUE_LENGTH:
        raise InvalidInput("the reproducibility summary is too long for a version tag")
    store.set_model_version_tag(
        name, number, REPRODUCIBILITY_TAG, value, actor=actor,
        comment=comment or ("reproducibility check " + ("passed" if summary["passed"] else "failed")),
    )  # fmt: skip
    return stored


def reproducibility(store: Store, name: str, version: int | str) -> dict[str, Any] | None:
    """``{"summary", "details"}`` of the version's latest check, or None when it has none. The
    details blob is verified against its digest as it is read."""
    mv = store.get_model_version(name, rules.version(version))
    value = (mv.tags or {}).get(REPRODUCIBILITY_TAG)
    if not value:
        return None
    try:
        summary = json.loads(value)
    except ValueError:
        return {"summary": {"passed": None, "error": "unreadable summary"}, "details": None}
    details = None
    digest = summary.get("details") if isinstance(summary, dict) else None
    if digest:
        try:
            details = json.loads(store.blobs.get_bytes(str(digest)))
        except NotFound:
            raise IntegrityError(
                f"the reproducibility details {digest} of {name!r} version {version} are missing "
                "from the artifact store"
            ) from None
    return {"summary": summary, "details": details}
