"""A version's reference profile, stored content-addressed and audited.

The profile (computed by ``jupyter_mm.monitoring.profile``, which core cannot import) is a JSON
object; it is written canonically (sorted keys, no spaces) into the store's content-addressed
blob store, and its SHA-256 becomes the version tag :data:`REFERENCE_TAG`, so setting or
replacing a reference is one audited registry change like any other tag, and the blob it names
can never change under it. Core checks only what it can without the monitoring layer: a JSON
object naming the profile schema, within :data:`MAX_PROFILE_BYTES`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ...errors import IntegrityError, InvalidInput, NotFound
from .. import validation
from . import rules

if TYPE_CHECKING:
    from ..store import Store

#: Version tag holding the SHA-256 of the version's reference profile.
REFERENCE_TAG = "mm.reference"
#: Schema name every profile carries (``monitoring/profile.py`` writes it).
PROFILE_SCHEMA = "jupyter-mm.reference-profile"
#: Largest profile accepted (a 200-feature profile is a few hundred KB).
MAX_PROFILE_BYTES = 16 * 1024 * 1024


def canonical(profile: Any) -> bytes:
    """The profile's stored bytes, after the checks every store applies."""
    if not isinstance(profile, Mapping):
        raise InvalidInput(f"a reference profile is a JSON object, got {type(profile).__name__}")
    if profile.get("schema") != PROFILE_SCHEMA:
        raise InvalidInput(f"not a reference profile: 'schema' must be {PROFILE_SCHEMA!r}")
    validation.json_value(profile, "the reference profile")
    try:
        data = json.dumps(profile, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"the reference profile is not plain JSON: {e}") from None
    raw = data.encode("utf-8")
    if len(raw) > MAX_PROFILE_BYTES:
        raise InvalidInput(
            f"the reference profile is {len(raw)} bytes; at most {MAX_PROFILE_BYTES} are accepted"
        )
    return raw


class ReferenceMixin:
    """A version's reference profile, as store methods (mixed into
    :class:`..mixin.RegistryMixin`): over the store's own registry calls and blob store."""

    def set_reference_profile(
        self,
        name: str,
        version: int | str,
        profile: Mapping[str, Any],
        *,
        actor: str,
        comment: str = "",
    ) -> str:
        """Store ``profile`` as the version's reference; returns its SHA-256. The blob goes in
        first (content-addressed: an orphan from a refused tag costs nothing and is never
        wrong), then the audited tag."""
        store = cast("Store", self)
        number = rules.version(version)
        raw = canonical(profile)
        store.get_model_version(name, number)  # NotFound before anything is written
        digest, _ = store.blobs.put_bytes(raw)
        store.set_model_version_tag(
            name, number, REFERENCE_TAG, digest, actor=actor,
            comment=comment or "reference profile",
        )  # fmt: skip
        return digest

    def reference_profile(self, name: str, version: int | str) -> dict[str, Any] | None:
        """``{"digest", "profile"}`` of the version's reference, or ``None`` when it has none.
        The blob is verified against its digest as it is read."""
        store = cast("Store", self)
        mv = store.get_model_version(name, rules.version(version))
        digest = (mv.tags or {}).get(REFERENCE_TAG)
        if not digest:
            return None
        try:
            raw = store.blobs.get_bytes(str(digest))
        except NotFound:
            raise IntegrityError(
                f"the reference profile {digest} of {name!r} version {version} is missing from "
                f"the artifact store"
            ) from None
        return {"digest": str(digest), "profile": json.loads(raw)}
