"""``GET jupyter-mm/mlflow/``: where the links the ``mlflow`` client prints lead.

The client prints ``<tracking URI>/#/experiments/<e>/runs/<id>`` (MLflow's UI route). The part
after ``#`` never reaches the server, so this page reads it in the browser and moves to
JupyterLab with ``?mm-run=<id>``, which the views plugin opens as the run view (``src/views/
plugin.ts``); a link without a run opens JupyterLab. Nothing from the URL is written into the
page: the script only matches the fragment against a 32-hex run id.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import tornado.escape
import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from .handlers.base import MMHandler

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Opening the run in JupyterLab…</title></head>
<body><p>Opening the run in JupyterLab… <a id="lab" href="{lab}">Open JupyterLab</a></p>
<script nonce="{nonce}">
(function () {{
  var lab = {lab_json};
  var m = /\\/runs\\/([0-9a-f]{{32}})(?:[/?]|$)/.exec(window.location.hash || "");
  window.location.replace(m ? lab + "?mm-run=" + m[1] : lab);
}})();
</script></body></html>
"""


class MlflowLinkHandler(MMHandler):
    """MLflow's UI address of a run, answered with a page that opens the run in JupyterLab
    (authenticated and authorized like the MLflow routes it sits among)."""

    auth_resource = "jupyter_mm:mlflow"

    @property
    def _nonce(self) -> str:
        if not hasattr(self, "_mm_nonce"):
            self._mm_nonce = secrets.token_urlsafe(18)
        return str(self._mm_nonce)

    @property
    def content_security_policy(self) -> str:
        """The API handlers' ``default-src 'none'``, letting this page's one script run."""
        return f"{super().content_security_policy}; script-src 'nonce-{self._nonce}'"

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        lab = url_path_join(self.base_url, "lab")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            _PAGE.format(
                lab=tornado.escape.xhtml_escape(lab),
                lab_json=json.dumps(lab).replace("<", "\\u003c"),
                nonce=self._nonce,
            ),
            set_content_type="text/html; charset=utf-8",
        )


def mlflow_link_handlers() -> list[tuple[Any, ...]]:
    """Exactly the MLflow prefix (``jupyter-mm/mlflow`` and ``jupyter-mm/mlflow/``); registered
    before the MLflow routes, whose catch-all answers every other path under it."""
    return [(r"jupyter-mm/mlflow/?", MlflowLinkHandler)]
