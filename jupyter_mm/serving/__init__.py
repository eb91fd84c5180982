"""Serving registered models: the model server, the prediction log and deploy bundles.

Jupyter-free, above ``core`` and ``client``, below ``server`` (which only mounts it).
"""
