"""The client of a remote tracking server (``MM_TRACKING_URI=http(s)://host:port/base/``).

``store.RemoteStore`` answers the calls the client and the notebook layer make on a
:class:`~jupyter_mm.core.store.Store`, over the server's REST API (``http.Transport``: one
keep-alive pool per process, retries with backoff). Writes the server cannot take go to an
on-disk spool (``spool.Spool``) and are replayed, exactly once, when it is back.

Nothing here is imported until a remote URI is used.
"""
