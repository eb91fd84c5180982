"""Who is calling the team server (``jupyter mm server``), and what they may reach.

* :class:`TokenIdentityProvider` maps a bearer token to a user and the user's role. Tokens are
  looked up by their SHA-256, so the users file holds no secret: it maps each user to
  ``"sha256:<hex>"`` (or a list of them, to rotate a token without downtime), or to an object
  that also names a role::

      {"alice": "sha256:5e88...", "bob": ["sha256:9f86...", "sha256:2c26..."],
       "val": {"token": "sha256:1b4f...", "role": "admin"}}

  Roles (:data:`ROLES`): ``reader`` may only read, ``writer`` (the default, so files without
  roles keep working) may also track runs and use the registry, ``admin`` may also change
  registry policies. The user of a shared ``--token`` is an admin.

  A plain, unsalted SHA-256 is enough because tokens are random 256-bit secrets (see
  :func:`new_token`), not passwords: there is nothing to guess from a digest. The file is re-read
  when it changes, so users are added or revoked without a restart.
* :class:`MMOnlyAuthorizer` allows jupyter-mm resources (``jupyter_mm:*``) and nothing else, so
  a token holder can never reach kernels, terminals, contents or any other Jupyter service even if
  one were registered; within them it applies the roles.

Only the ``Authorization: token <t>`` / ``Authorization: Bearer <t>`` header is accepted (what
MLflow's client sends with ``MLFLOW_TRACKING_TOKEN``): no ``?token=`` query argument (it ends up in
proxy logs), no cookies, no login page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import Dict, Unicode, default

from ..errors import PermissionDenied
from ..serving.users import (  # the users file's format lives with the model server, which reads it too
    ADMIN,
    DEFAULT_ROLE,
    DIGEST_PREFIX,
    MAX_USERS_FILE_BYTES,
    READER,
    ROLES,
    WRITER,
    Users,
    UsersFileWatch,
    check_role,
    check_username,
    load_users_file,
    new_token,
    parse_users,
    token_digest,
)

__all__ = [  # the users file's names, re-exported for the team server and its CLI
    "ADMIN", "DEFAULT_ROLE", "DIGEST_PREFIX", "MAX_USERS_FILE_BYTES", "READER", "ROLES", "WRITER",
    "MMOnlyAuthorizer", "TeamUser", "TokenIdentityProvider", "Users", "check_role",
    "check_username", "load_users_file", "new_token", "parse_users", "token_digest",
]  # fmt: skip

#: The resource of the registry policy routes: only admins may change them.
POLICY_RESOURCE = "jupyter_mm:registry_policy"
#: Starting or cancelling a background job runs (or stops) notebook code on the server itself,
#: which a team-server token never allows by default: administrators only.
JOBS_RESOURCE = "jupyter_mm:jobs"
#: Requests that use POST to read (searches with a body), below ``{base_url}jupyter-mm/``: a
#: reader may send these. Everything else that is not GET/HEAD changes something.
READ_ONLY_POSTS = re.compile(
    r"api/(runs/search|metrics/history)"
    r"|mlflow/(ajax-)?api/2\.0/mlflow/(experiments/search|runs/search|registered-models/search"
    r"|registered-models/get-latest-versions|model-versions/search|logged-models/search)"
)


@dataclass
class TeamUser(User):
    """A user of the team server, with the role the users file (or ``--token``) gives it."""

    role: str = DEFAULT_ROLE


class TokenIdentityProvider(IdentityProvider):
    """Bearer token → :class:`User` from a users file and/or one shared token.

    Never sets cookies and offers no login or logout page: every request carries its token.
    """

    users_file = Unicode(
        "", config=True, help="JSON file mapping each user to 'sha256:<hex>' of its token(s)."
    )
    token_digests = Dict(
        config=True,
        help="Extra {'sha256:<hex>': user} entries, e.g. the digest of a shared --token.",
    )
    token_roles = Dict(
        config=True,
        help="Roles of the users of token_digests ({user: role}); the users file's win.",
    )

    @default("token")
    def _token_default(self) -> str:
        return ""  # jupyter_server's single generated token is not used here

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._file = UsersFileWatch(self.users_file, self.log) if self.users_file else None

    def _users(self) -> Users:
        """The current table: ``token_digests`` and ``token_roles`` overlaid with the users file
        (re-read when it changed on disk, see :class:`UsersFileWatch`)."""
        table = self._file.users() if self._file is not None else Users()
        return Users({**self.token_digests, **table.by_digest}, {**self.token_roles, **table.roles})

    def user_for_token(self, token: str) -> TeamUser | None:
        """The user a presented token names, with its role, if any."""
        users = self._users()
        name = users.by_digest.get(token_digest(token.strip()))
        if not name:
            return None
        return TeamUser(username=name, role=users.roles.get(name, DEFAULT_ROLE))

    def get_user(self, handler: web.RequestHandler) -> User | None:
        match = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
        if match is None:
            return None
        user = self.user_for_token(match.group(2))
        if user is not None:
            # jupyter_server skips its XSRF and Origin checks for token-authenticated requests.
            handler._token_authenticated = True  # type: ignore[attr-defined]
        return user

    def get_handlers(self) -> list[tuple[str, object]]:
        return []  # no /login, no /logout

    @property
    def login_available(self) -> bool:
        return False

    @property
    def logout_available(self) -> bool:
        return False

    @property
    def auth_enabled(self) -> bool:
        return True


class MMOnlyAuthorizer(Authorizer):
    """Allows the ``jupyter_mm`` resources and nothing else, within the user's role: a reader
    only reads (GET, and the searches in :data:`READ_ONLY_POSTS`), a writer also writes, and
    only an admin changes registry policies (:data:`POLICY_RESOURCE`).

    A refusal of the request being handled is raised as a 403 that says why, with the role in
    its ``details`` (jupyter_server's own message names only the action and resource); a user
    from another identity provider, without a role, is a writer.
    """

    def is_authorized(
        self, handler: web.RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        if not (resource == "jupyter_mm" or resource.startswith("jupyter_mm:")):
            return False
        role = getattr(user, "role", DEFAULT_ROLE)
        if action == "read" or role == ADMIN:
            return True
        reason = None
        if role == READER and not self._reads(handler):
            reason = (
                f"{user.username} has the reader role on this team server: it may read but not "
                f"change anything ({handler.request.method} {self._mm_path(handler) or '?'}); "
                "an administrator can give it the writer role in the users file"
            )
        elif resource == POLICY_RESOURCE:
            reason = (
                f"only administrators may change registry policies on this team server; "
                f"{user.username} has the {role} role (roles are set in the users file)"
            )
        elif resource == JOBS_RESOURCE and not self._reads(handler):
            reason = (
                f"only administrators may start or cancel re-runs on this team server (they run "
                f"notebook code on the server); {user.username} has the {role} role"
            )
        if reason is None:
            return True
        if getattr(handler, "auth_resource", None) == resource:
            # the request itself is being decided: say why rather than return a bare False
            raise PermissionDenied(reason, {"role": role})
        return False

    @staticmethod
    def _mm_path(handler: web.RequestHandler) -> str | None:
        """The request path below ``{base_url}jupyter-mm/``, if it is there."""
        prefix = handler.settings.get("base_url", "/").rstrip("/") + "/jupyter-mm/"
        path = handler.request.path
        return path[len(prefix) :] if path.startswith(prefix) else None

    def _reads(self, handler: web.RequestHandler) -> bool:
        """A write action that only reads: a search sent as POST."""
        path = self._mm_path(handler)
        return (
            handler.request.method == "POST"
            and path is not None
            and READ_ONLY_POSTS.fullmatch(path) is not None
        )
