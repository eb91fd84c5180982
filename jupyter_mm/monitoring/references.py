"""``mm.set_reference``, ``mm.reference_profile``, ``mm.register_model(..., reference=)``, per-model
drift thresholds and ``mm.check_drift``: reference profiles stored with their version.

The profile is computed here (monitoring sits above client) and handed to the store, local or
remote, whose ``set_reference_profile`` keeps it content-addressed behind the audited version tag
``mm.reference`` (``core/registry/reference.py``). A profile is computed *before* anything is
written, so bad reference data leaves no version and no tag behind.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInput, MMError, NotFound

if TYPE_CHECKING:
    from ..core.registry import ModelVersion
    from ..core.store import TrackingStore
    from .presets import DriftResult, Thresholds
    from .profile import ReferenceProfile

#: Registered-model tag holding the model's drift thresholds (JSON, audited).
THRESHOLDS_TAG = "mm.drift.thresholds"
#: Dataset contexts taken as the version's evaluation data when no reference data is named.
EVALUATION_CONTEXTS = ("evaluation", "eval", "validation", "valid", "test")


def _store(write: bool = True) -> TrackingStore:
    from ..client.registry import _store as store

    return store(write)


def _actor(store: TrackingStore) -> str:
    from ..client.registry import _actor as actor

    return actor(store)


def _evaluation_data(store: TrackingStore, name: str, version: int | str) -> Any:
    """The version's logged evaluation dataset, read back from its file if the file is still
    there with the digest that was logged (a DataFrame logged from memory keeps only its digest,
    so it cannot be read back)."""
    from ..client.datasets import read_back

    mv = store.get_model_version(name, version)
    if not mv.run_id:
        raise InvalidInput(
            f"{name!r} version {version} has no run, so no logged evaluation dataset: pass data="
        )
    logged = store.get_run(mv.run_id).datasets
    why: list[str] = []
    for d in (d for d in logged if d.context in EVALUATION_CONTEXTS):
        try:
            return read_back(d)
        except InvalidInput as e:  # from memory, not a table, gone or changed
            why.append(e.message)
    contexts = ", ".join(sorted({d.context for d in logged})) or "none"
    raise InvalidInput(
        f"{name!r} version {version}: no evaluation dataset of its run can be read back (a "
        f"CSV or Parquet file still holding the logged digest; contexts logged: {contexts}"
        + "".join(f"; {w}" for w in why)
        + "); pass data="
    )


def set_reference(
    name: str,
    version: int | str,
    data: Any = None,
    scores: Any = None,
    *,
    categorical: Iterable[str] = (),
    labels: Any = None,
    comment: str = "",
) -> ReferenceProfile:
    """Compute the reference profile of ``data`` (default: the version's logged evaluation
    dataset, when its file can be read back) and the model's ``scores`` on it, and store it with
    the version (content-addressed, audited). Replacing a reference is audited too; the same
    profile again is a no-op that returns the stored one. ``labels``
    (0/1 outcomes of the rows, with ``scores``) keep the reference's performance and whether its
    scores are calibrated, for performance monitors (``mm.monitor(..., performance=)``)."""
    from .profile import ReferenceProfile, build_profile, undated

    store = _store()
    if data is None:
        data = _evaluation_data(store, name, version)
    else:
        store.get_model_version(name, version)  # NotFound before the work
    profile = build_profile(data, scores, categorical=categorical, labels=labels)
    try:
        current = store.reference_profile(name, version)
    except IntegrityError:  # the stored blob is lost: the new profile replaces it
        current = None
    if current is not None and undated(current["profile"]) == undated(profile.doc):
        # the same data again changes nothing: no new blob, no audit entry, the first stamp kept
        return ReferenceProfile.from_json(current["profile"])
    store.set_reference_profile(name, version, profile.doc, actor=_actor(store), comment=comment)
    return profile


def reference_profile(name: str, version: int | str) -> ReferenceProfile:
    """The version's stored reference profile (``NotFound`` when it has none)."""
    from .profile import ReferenceProfile

    found = _store(write=False).reference_profile(name, version)
    if found is None:
        raise NotFound(f"{name!r} version {version} has no reference profile: mm.set_reference")
    return ReferenceProfile.from_json(found["profile"])


def register_model(
    source: Any,
    name: str,
    *,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    comment: str = "",
    reference: Any = None,
    reference_scores: Any = None,
    reference_labels: Any = None,
) -> ModelVersion:
    """Register the model at ``source`` as the next version of ``name``; with ``reference`` (a
    DataFrame, e.g. the validation set) and optionally the model's scores on it (and the rows'
    0/1 outcomes, ``reference_labels``), freeze its reference profile with the version. The
    profile is computed first, so unusable reference data registers nothing. Without
    ``reference``, the run's logged evaluation dataset is profiled when it can be read back
    (otherwise a ``RuntimeWarning`` says why and the version has no profile)."""
    from ..client import registry

    profile = None
    if reference is not None:
        from .profile import build_profile

        profile = build_profile(reference, reference_scores, labels=reference_labels)
    elif reference_scores is not None or reference_labels is not None:
        raise InvalidInput(
            "reference_scores and reference_labels need reference= (the rows they belong to)"
        )
    mv = registry.register_model(source, name, description=description, tags=tags,
                                 comment=comment)  # fmt: skip
    store = _store()
    if profile is not None:
        store.set_reference_profile(
            name, mv.version, profile.doc, actor=_actor(store), comment="reference profile"
        )
    elif not _default_reference(store, name, mv.version):
        return mv
    return store.get_model_version(name, mv.version)


def default_reference(
    store: TrackingStore, name: str, version: int | str, *, actor: str
) -> tuple[bool, str | None]:
    """Freeze the profile of the version's logged evaluation dataset, if its run logged one:
    ``(stored, why not)``. Registration has already happened and must not fail because of this,
    so nothing is raised: a dataset that cannot be read back or profiled gives the reason, a run
    without an evaluation dataset (or a version without a run) gives ``(False, None)``. Shared
    by ``mm.register_model`` and the server's registration route."""
    try:
        run_id = store.get_model_version(name, version).run_id
        if not run_id or not any(
            d.context in EVALUATION_CONTEXTS for d in store.get_run(run_id).datasets
        ):
            return False, None
        from .profile import build_profile

        profile = build_profile(_evaluation_data(store, name, version))
        store.set_reference_profile(name, version, profile.doc, actor=actor,
                                    comment="reference profile: the logged evaluation dataset")  # fmt: skip
        return True, None
    except Exception as e:  # noqa: BLE001 - the version exists; only its default profile failed
        why = e.message if isinstance(e, MMError) else f"{type(e).__name__}: {e}"
        return False, (
            f"{name!r} version {version} was registered without a reference profile "
            f"(mm.set_reference sets one): {why}"
        )


def _default_reference(store: TrackingStore, name: str, version: int | str) -> bool:
    """:func:`default_reference` by the notebook's user; a failure is a ``RuntimeWarning``."""
    stored, why = default_reference(store, name, version, actor=_actor(store))
    if why is not None:
        warnings.warn(why, RuntimeWarning, stacklevel=3)
    return stored


def set_drift_thresholds(name: str, thresholds: Thresholds | None, comment: str = "") -> None:
    """Set (``None``: clear) the model's drift thresholds, applied to every version under the
    ones a call passes: ``{feature | "*": threshold | {"method", "threshold", "warning"},
    "drift_share": share}``. Stored as the audited model tag ``mm.drift.thresholds``."""
    from ..core import limits
    from .presets import check_thresholds

    store = _store()
    if thresholds is None:
        store.delete_registered_model_tag(name, THRESHOLDS_TAG, actor=_actor(store),
                                          comment=comment)  # fmt: skip
        return
    value = json.dumps(check_thresholds(thresholds), sort_keys=True, allow_nan=False)
    if len(value) > limits.MAX_TAG_VALUE_LENGTH:
        raise InvalidInput(
            f"thresholds are {len(value)} characters as JSON; at most "
            f"{limits.MAX_TAG_VALUE_LENGTH} fit a model tag"
        )
    store.set_registered_model_tag(name, THRESHOLDS_TAG, value, actor=_actor(store),
                                   comment=comment)  # fmt: skip


def drift_thresholds(name: str) -> dict[str, Any]:
    """The model's stored drift thresholds (``{}`` when none)."""
    raw = _store(write=False).get_registered_model(name).tags.get(THRESHOLDS_TAG)
    return dict(json.loads(raw)) if raw else {}


def check_drift(
    name: str,
    version: int | str,
    current: Any,
    preset: str = "bank",
    thresholds: Thresholds | None = None,
    scores: Any = None,
) -> DriftResult:
    """Compare ``current`` with the version's stored reference profile: the model's thresholds
    first, then ``thresholds`` over them."""
    from .presets import drift, merge_thresholds

    profile = reference_profile(name, version)
    merged = merge_thresholds(drift_thresholds(name), thresholds)
    return drift(profile, current, preset=preset, thresholds=merged, scores=scores)
