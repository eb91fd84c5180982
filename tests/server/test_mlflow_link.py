"""``GET jupyter-mm/mlflow/``: the link the ``mlflow`` client prints opens the run in JupyterLab."""

from __future__ import annotations

import pytest
from tornado.httpclient import HTTPClientError


@pytest.mark.parametrize("path", [("jupyter-mm", "mlflow", ""), ("jupyter-mm", "mlflow")])
async def test_the_printed_run_link_opens_jupyterlab_at_the_run(jp_fetch, path) -> None:
    r = await jp_fetch(*path)
    assert r.code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    page = r.body.decode()
    # the fragment (#/experiments/<e>/runs/<id>) stays in the browser: the page reads it and
    # moves to JupyterLab with ?mm-run=<id>, which the views plugin opens
    assert "window.location.hash" in page
    assert '"/a%40b/lab"' in page and '"?mm-run="' in page
    assert "[0-9a-f]{32}" in page
    # the API routes' CSP forbids scripts: this page's one script runs by its nonce, nothing else
    csp = r.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<script nonce="{nonce}">' in page and page.count("<script") == 1
    assert "default-src 'none'" in csp


async def test_other_paths_under_the_prefix_stay_mlflow_json_404s(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("jupyter-mm", "mlflow", "api", "9.9", "nothing")
    assert err.value.code == 404
    assert err.value.response is not None
    assert b"ENDPOINT_NOT_FOUND" in err.value.response.body
