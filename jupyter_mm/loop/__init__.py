"""Closing the loop: notebook re-runs and reproducibility checks, as background jobs.

Attaches beside serving and monitoring: above core and client, below server. Jupyter-free (it
drives kernels through nbclient, out of process), so a notebook's ``mm.rerun`` and the servers'
job routes run the same code.
"""
