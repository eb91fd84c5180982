"""The model server: registered models behind MLflow's scoring protocol and the Open Inference
Protocol v2, on one port (``jupyter mm serve``, ``python -m jupyter_mm.serving``).

Jupyter-free, above ``core`` and ``client``, below ``server`` (which only mounts it). Started
with ``--model-dir`` it imports no store code (no SQLAlchemy), so it runs from a deploy bundle:
``config`` (options), ``models`` (loading, digests, alias following), ``codecs`` (request bodies
to frames and predictions back), ``batching``, ``metrics``, ``auth``, ``users`` (the users file),
``handlers``, ``app`` (``make_app``) and ``runner`` (command line, sockets, worker processes);
beside it the prediction log (``prediction_log``) and deploy bundles (``bundle``).
"""
