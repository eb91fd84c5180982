"""Closing the loop: what happens after a registry or monitor event (webhooks), and notebook
re-runs and reproducibility checks as background jobs.

Attaches beside serving and monitoring: above core and client, below server. Jupyter-free (kernels
are driven through nbclient, out of process), so the Jupyter server extension and the team server
start it, and a notebook's ``mm.rerun`` runs the same code.
"""
