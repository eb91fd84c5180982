"""Who may call the model server: one shared token, or the team server's users file.

Only the ``Authorization: Bearer <t>`` / ``Authorization: token <t>`` header is read (no query
argument, no cookie), as on the team server. Tokens are compared by SHA-256 digest in constant
time; the users file is re-read when it changes, and a file that fails to load keeps the previous
users (logged), so a typo never locks every client out. Health and readiness routes never ask.
"""

from __future__ import annotations

import hmac
import logging
import re

from .users import Users, UsersFileWatch, token_digest

log = logging.getLogger("jupyter_mm.serving")
_HEADER = re.compile(r"^\s*(token|bearer)\s+(\S+)\s*$", re.IGNORECASE)


class Authenticator:
    """``user(authorization_header)``: the user a request's token names, or None."""

    def __init__(self, token: str | None = None, users_file: str | None = None) -> None:
        self._token_digest = token_digest(token) if token else None
        self.users_file = users_file
        self._watch = UsersFileWatch(users_file, log) if users_file else None

    def _table(self) -> Users:
        return self._watch.users() if self._watch is not None else Users()

    def user(self, authorization: str | None) -> str | None:
        match = _HEADER.match(authorization or "")
        if match is None:
            return None
        digest = token_digest(match.group(2))
        if self._token_digest is not None and hmac.compare_digest(digest, self._token_digest):
            return "token"
        return self._table().by_digest.get(digest)
