"""Who may call the model server: one shared token, or the team server's users file.

Only the ``Authorization: Bearer <t>`` / ``Authorization: token <t>`` header is read (no query
argument, no cookie), as on the team server. Tokens are compared by SHA-256 digest in constant
time; the users file is re-read when it changes, and a file that fails to load keeps the previous
users (logged), so a typo never locks every client out. Health and readiness routes never ask.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import threading

from ..errors import InvalidInput
from .users import Users, load_users_file, token_digest

log = logging.getLogger("jupyter_mm.serving")
_HEADER = re.compile(r"^\s*(token|bearer)\s+(\S+)\s*$", re.IGNORECASE)


class Authenticator:
    """``user(authorization_header)``: the user a request's token names, or None."""

    def __init__(self, token: str | None = None, users_file: str | None = None) -> None:
        self._token_digest = token_digest(token) if token else None
        self.users_file = users_file
        self._lock = threading.Lock()
        self._state: tuple[int, int] | None = None
        self._users = Users()
        if users_file:
            self._users = load_users_file(users_file)  # a broken file refuses to start
            self._state = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.users_file or "")
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _table(self) -> Users:
        if self.users_file:
            state = self._stat()
            if state != self._state:
                with self._lock:
                    if state != self._state:
                        try:
                            self._users = load_users_file(self.users_file)
                            log.info("re-read users file %s", self.users_file)
                        except InvalidInput as e:
                            log.error("%s; keeping the previous users", e)
                        self._state = state
        return self._users

    def user(self, authorization: str | None) -> str | None:
        match = _HEADER.match(authorization or "")
        if match is None:
            return None
        digest = token_digest(match.group(2))
        if self._token_digest is not None and hmac.compare_digest(digest, self._token_digest):
            return "token"
        return self._table().by_digest.get(digest)
