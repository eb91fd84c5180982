"""The users file of the team server and the model server: who each token names, with a role.

The file maps each user to ``"sha256:<hex>"`` of its token (or a list of them, to rotate a token
without downtime), or to ``{"token": ..., "role": "reader|writer|admin"}``. It holds no secret:
tokens are random 256-bit values (:func:`new_token`), so a plain SHA-256 is enough. Jupyter-free,
so the standalone model server reads the same file as ``jupyter mm server``
(``server/identity.py`` re-exports these names).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.limits import MAX_NAME_LENGTH
from ..errors import InvalidInput

DIGEST_PREFIX = "sha256:"
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
#: Largest users file read (bytes): a file this size is a mistake, not a team.
MAX_USERS_FILE_BYTES = 16 * 1024 * 1024
READER, WRITER, ADMIN = "reader", "writer", "admin"
#: Each role may do what the one before it may, and more.
ROLES = (READER, WRITER, ADMIN)
#: A user the users file gives no role: what every user could do before roles existed.
DEFAULT_ROLE = WRITER


@dataclass
class Users:
    """A users file, parsed: who each token digest names, and each user's role."""

    by_digest: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)


def token_digest(token: str) -> str:
    """``"sha256:<hex>"`` of a token: what the users file stores."""
    return DIGEST_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe). Never one starting with "-": a command line
    (``--token TOKEN``) would read that as an option."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def check_username(name: Any, where: str) -> str:
    """A recorded user name: non-blank, at most 250 characters, no control characters."""
    if not isinstance(name, str):
        raise InvalidInput(f"{where}: a user name must be a string, got {name!r}")
    if "\x00" in name or len(name) > MAX_NAME_LENGTH or not name.strip():
        raise InvalidInput(
            f"{where}: user name must be non-blank, without NUL, at most {MAX_NAME_LENGTH} "
            "characters"
        )
    if name != name.strip() or _CONTROL_RE.search(name):
        raise InvalidInput(
            f"{where}: user name {name!r} has leading/trailing spaces or control characters"
        )
    return name


def check_role(role: Any, where: str) -> str:
    """One of :data:`ROLES`: a typo must not silently become the default."""
    if role not in ROLES:
        raise InvalidInput(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
    return str(role)


def parse_users(data: Any, where: str) -> Users:
    """``{user: digest | [digest, ...] | {"token": ..., "role": ...}}``, refusing anything
    ambiguous."""
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{where}: expected a JSON object mapping each user to 'sha256:<hex>' of its token"
        )
    table: dict[str, str] = {}
    roles: dict[str, str] = {}
    for user, value in data.items():
        user = check_username(user, where)
        role = DEFAULT_ROLE
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"token", "role"})
            if unknown or "token" not in value:
                raise InvalidInput(
                    f"{where}: user {user!r} must map to its token digest(s) or to "
                    '{"token": "sha256:<hex>", "role": "reader|writer|admin"}'
                    + (f"; unknown key(s) {', '.join(map(repr, unknown))}" if unknown else "")
                )
            role = check_role(value.get("role", DEFAULT_ROLE), f"{where}: user {user!r}")
            value = value["token"]
        roles[user] = role
        digests = value if isinstance(value, list) else [value]
        if not digests:
            raise InvalidInput(f"{where}: user {user!r} has no token")
        for digest in digests:
            if not isinstance(digest, str) or not _DIGEST_RE.match(digest.strip().lower()):
                raise InvalidInput(
                    f"{where}: the token of user {user!r} must be given as 'sha256:' followed by "
                    "64 hex digits (the file stores no plain tokens; make one with "
                    "`jupyter mm server --new-token USER`)"
                )
            digest = digest.strip().lower()
            if table.get(digest, user) != user:
                raise InvalidInput(
                    f"{where}: users {table[digest]!r} and {user!r} share a token; "
                    "each token must name one user"
                )
            table[digest] = user
    return Users(table, roles)


def load_users_file(path: str) -> Users:
    """The users and roles of a users file; :class:`InvalidInput` says what is wrong."""
    try:
        size = os.path.getsize(path)
        if size > MAX_USERS_FILE_BYTES:
            raise InvalidInput(f"users file {path}: {size} bytes is too large")
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except OSError as e:
        raise InvalidInput(f"cannot read the users file {path}: {e.strerror or e}") from e
    except ValueError as e:
        raise InvalidInput(f"users file {path} is not valid JSON: {e}") from e
    return parse_users(data, f"users file {path}")


class UsersFileWatch:
    """A users file, re-read when it changes on disk (modification time or size).

    The first load raises (a broken file refuses to start); a later one that fails (half-written
    by an editor, say) keeps the previous users and logs why, so a typo never locks everyone out.
    Shared by the team server's identity provider and the model server's authenticator.
    """

    def __init__(self, path: str, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.path = path
        self.log = log
        self._lock = threading.Lock()
        self._users = load_users_file(path)
        self._state = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def users(self) -> Users:
        """The current users, re-reading the file first if it changed."""
        state = self._stat()
        if state != self._state:
            with self._lock:
                if state != self._state:
                    try:
                        self._users = load_users_file(self.path)
                        self.log.info("jupyter-mm: re-read users file %s", self.path)
                    except InvalidInput as e:
                        self.log.error("jupyter-mm: %s; keeping the previous users", e)
                    self._state = state
        return self._users
