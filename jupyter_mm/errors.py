"""Errors raised to users. Every one is an :class:`MMError` with a message that says what was wrong.

``code`` is a stable, MLflow-style error code the REST layer maps to an HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MMError(Exception):
    """Base class of every error jupyter-mm raises on purpose."""

    code = "INTERNAL_ERROR"
    http_status = 500
    #: Whether the same request may succeed later unchanged (the store was full, locked or
    #: unreachable): callers keep what they were writing and try again instead of dropping it.
    #: Decided here, by the error's kind, so no caller ever parses a message to know.
    retryable = False

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: JSON-safe facts a program can act on without parsing ``message`` (e.g. where a filter
        #: is wrong); the REST API sends them as the error's ``details``.
        self.details: dict[str, Any] = dict(details or {})


class InvalidInput(MMError):
    """The caller passed something malformed: a bad key, an oversized value, a bad path..."""

    code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class NotFound(MMError):
    code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class AlreadyExists(MMError):
    code = "RESOURCE_ALREADY_EXISTS"
    http_status = 400


class Conflict(InvalidInput):
    """A write contradicts what is recorded, e.g. a param logged again with another value."""


class PolicyViolation(MMError):
    """A registry policy forbids the change, e.g. approving one's own request (four eyes) or
    pointing an alias at a version that is not approved. ``details["policy"]`` names it."""

    code = "PERMISSION_DENIED"
    http_status = 403

    def __init__(self, message: str, policy: str) -> None:
        super().__init__(message, {"policy": policy})


class FilterSyntaxError(InvalidInput):
    """A search filter or order_by clause that does not parse; says where and what was expected.

    ``details`` holds ``position`` (a character offset in ``text``) when known; the parser's entry
    points add ``field`` (``"filter"`` or ``"order_by"``) and, for order_by, the ``item`` index,
    so a UI can mark the spot without reading the message.
    """

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        if position is not None and text:
            pointer = " " * position + "^"
            message = f"{message}\n  {text}\n  {pointer}"
        super().__init__(message, {} if position is None else {"position": position})
        self.text = text
        self.position = position


class StoreError(MMError):
    """The store cannot be opened or written for now (unreachable, locked for too long, its
    database connection lost). Nothing was written; the same write may succeed later."""

    code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503
    retryable = True


class StoreFull(StoreError):
    """The disk (or quota) holding part of the store is full: nothing was written, and the same
    write succeeds once space is freed. ``details["location"]`` says which part is full:
    ``"database"`` or ``"artifacts"`` (the artifact root), and ``details["path"]`` where it is."""

    code = "INSUFFICIENT_STORAGE"
    http_status = 507

    def __init__(self, location: str, where: str = "", cause: object = None) -> None:
        what = "database" if location == "database" else "artifact root"
        message = f"the store's {what}{f' ({where})' if where else ''} is full: nothing was written"
        if cause:
            message += f" ({cause})"
        super().__init__(message, {"location": location, "path": where})
        self.location = location


class ServerError(MMError):
    """A tracking server failed on a request for a reason of its own (an HTTP 5xx it did not
    explain): not the request's fault, so it is retried, and spooled meanwhile."""

    retryable = True


class Unavailable(StoreError):
    """A remote tracking server could not be reached (after retries). Writes are spooled and
    replayed later; a read that needs the server raises this."""

    code = "SERVER_UNAVAILABLE"


class PermissionDenied(MMError):
    """Refused for who is asking: a remote tracking server refused the credentials
    (``MM_TRACKING_TOKEN``), or the user's role on a team server does not allow the request
    (then ``details["role"]`` is that role)."""

    code = "PERMISSION_DENIED"
    http_status = 403


class IntegrityError(MMError):
    """Stored content no longer matches its recorded hash."""

    code = "DATA_LOSS"
    http_status = 500


class UntrustedModel(MMError):
    """Loading this model would run code from its files (pickle, cloudpickle, or types outside
    the safe allow-list); the caller must say ``trust=True`` to allow it."""

    code = "UNTRUSTED_MODEL"
    http_status = 403


class MissingDependency(MMError):
    """A package a model flavor needs (e.g. ``torch``, ``skops``) is not installed here."""

    code = "MISSING_DEPENDENCY"
    http_status = 400
