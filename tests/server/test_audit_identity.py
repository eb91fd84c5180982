"""Who the registry's audit trail records on a personal server (``JupyterMM.audit_identity``).

Jupyter's own token login signs everyone in as a random "Anonymous <moon>" user, so by default
the server's OS user is recorded; an identity provider that names people (JupyterHub's, a
custom one) is recorded as it names them, even if a name happens to start with "Anonymous ".
In its own module because it overrides ``jp_server_config``.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import PasswordIdentityProvider, User
from traitlets.config import Config

from jupyter_mm.core.store import Store


class NamingIdentityProvider(PasswordIdentityProvider):
    """Token login, but the token names a person (as a hub's would)."""

    def generate_anonymous_user(self, handler: Any) -> User:
        return User("io", "Anonymous Io", "Anonymous Io", "AI", None, None)


CASES = {
    # (identity provider, audit_identity) -> who is recorded ("<identity>": the Jupyter username)
    "default-auto": (None, "auto", "<os>"),
    "default-jupyter": (None, "jupyter", "<identity>"),
    "naming-auto": (NamingIdentityProvider, "auto", "io"),
    "naming-server-user": (NamingIdentityProvider, "server-user", "<os>"),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Any, str, str]:
    return CASES[request.param]


@pytest.fixture
def jp_server_config(mm_clean_env: None, mm_store_dir: Path, case: tuple[Any, str, str]) -> Config:
    provider, audit_identity, _ = case
    server: dict[str, Any] = {
        "jpserver_extensions": {"jupyter_mm": True, "jupyter_server_terminals": False},
        "allow_unauthenticated_access": False,
    }
    if provider is not None:
        server["identity_provider_class"] = provider
    return Config(
        {
            "ServerApp": server,
            "JupyterMM": {"tracking_uri": str(mm_store_dir), "audit_identity": audit_identity},
        }
    )


async def test_the_audit_records_the_configured_actor(
    jp_fetch: Any, mm_store_dir: Path, case: tuple[Any, str, str]
) -> None:
    reply = await jp_fetch(
        "jupyter-mm", "api", "registry", "models",
        method="POST", body=json.dumps({"name": "scorer"}),
    )  # fmt: skip
    assert reply.code in (200, 201)
    store = Store.open(str(mm_store_dir))
    try:
        [entry] = store.audit_log("scorer")
        owner = store.get_registered_model("scorer").owner
    finally:
        store.close()
    assert entry.action == "model.created" and owner == entry.actor
    if case[2] == "<identity>":
        # the anonymous user Jupyter made up for this one request: a fresh id, not the OS user
        me = json.loads((await jp_fetch("api", "me")).body)["identity"]
        assert me["name"].startswith("Anonymous ")
        assert len(entry.actor) == 32 and entry.actor not in (me["username"], getpass.getuser())
    else:
        assert entry.actor == (getpass.getuser() if case[2] == "<os>" else case[2])


def test_audit_identity_rejects_unknown_values() -> None:
    from traitlets import TraitError

    from jupyter_mm.server.extension import JupyterMM

    with pytest.raises(TraitError, match="audit_identity"):
        JupyterMM(audit_identity="nobody")
