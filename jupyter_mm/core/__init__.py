"""The Jupyter-free core: store, artifacts, search and validation.

Nothing in here imports Jupyter, IPython or tornado, so the kernel client, the server
extension and the CLI can all reuse it.
"""
