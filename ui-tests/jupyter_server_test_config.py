"""JupyterLab server configuration of the Galata UI tests (see playwright.config.js).

Galata's helper: no token, no XSRF check, a temporary root directory
(``JUPYTERLAB_GALATA_ROOT_DIR``) and workspace. Never use it for anything else.
The tracking store comes from ``MM_TRACKING_URI``, set by playwright.config.js to a
fresh temporary directory; the kernels started by the server inherit it.
"""

import os
import sys
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821

configure_jupyter_server(c)

# Test the working tree: its Python package (server and kernels; PYTHONPATH is inherited by
# the kernels) and its labextension as last built by `jlpm build`, ahead of any installed copy.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
)
_labextensions = Path(tempfile.mkdtemp(prefix="jupyter-mm-ui-labext-"))
(_labextensions / "jupyter-mm").symlink_to(REPO / "jupyter_mm" / "labextension")
c.LabServerApp.extra_labextensions_path = [
    str(_labextensions),
    *(
        [c.LabServerApp.extra_labextensions_path]
        if isinstance(c.LabServerApp.extra_labextensions_path, str)
        else list(c.LabServerApp.extra_labextensions_path)
    ),
]
c.ServerApp.jpserver_extensions = {"jupyter_mm": True}
# CI runs as root.
c.ServerApp.allow_root = True
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("MM_UI_PORT", "8899"))
c.ServerApp.port_retries = 0
# Keep the kernels' output predictable in screenshots.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"


# Two named users for the registry's four-eyes tests (ui-tests/tests/models.spec.ts): a request
# with `Authorization: token mm-ui-<name>` acts as <name>; every other request stays Galata's
# anonymous user (so the other specs are unchanged). Test-only tokens on a test-only server.
from jupyter_server.auth.identity import PasswordIdentityProvider, User  # noqa: E402

MM_UI_USERS = {"mm-ui-alice": "alice", "mm-ui-bob": "bob"}


class MMUITestIdentityProvider(PasswordIdentityProvider):
    def get_user(self, handler):  # type: ignore[no-untyped-def]
        header = handler.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        name = MM_UI_USERS.get(token.strip()) if scheme.lower() == "token" else None
        if name:
            handler._token_authenticated = True
            return User(username=name, name=name, display_name=name.title())
        return super().get_user(handler)


c.ServerApp.identity_provider_class = MMUITestIdentityProvider

# ui-tests/tests/loop.spec.ts points a webhook at this server (a loopback address): allow it here.
c.JupyterMM.webhooks_allow_private = True
