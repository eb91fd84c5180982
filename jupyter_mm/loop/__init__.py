"""Closing the loop: what happens after a registry or monitor event (webhooks, later re-runs
and retraining). Jupyter-free: the Jupyter server extension and the team server start it."""
