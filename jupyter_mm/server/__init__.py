"""The Jupyter server extension: REST API over the core store.

Imported only by a Jupyter server (see ``jupyter_mm._jupyter_server_extension_points``), never by
``import jupyter_mm`` in a kernel.
"""
