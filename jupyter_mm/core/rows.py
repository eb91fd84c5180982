"""Records built from database rows: a record's fields are read from the row's columns of the same
name, so a mapping only spells out what differs (a renamed column, decoded JSON, loaded children).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")

_ABSENT: Any = object()


@functools.cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    # once per class, not per row: search paths map thousands of rows
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def from_row(cls: type[R], row: Any, /, **overrides: Any) -> R:
    """``cls`` (a dataclass) with each field from ``overrides``, else from the row's column of
    that name. A field with a default may have no column (it keeps its default); a required one
    without a column or override fails as a missing argument, as a hand-written mapping would."""
    values = dict(overrides)
    for name in _field_names(cls):
        if name not in values:
            value = getattr(row, name, _ABSENT)
            if value is not _ABSENT:
                values[name] = value
    return cls(**values)
