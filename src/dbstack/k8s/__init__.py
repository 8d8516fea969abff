"""Kind + CloudNativePG + Atlas operator: manifests, the migrations ConfigMap, orchestration.

Nothing here imports the ``kubernetes`` client at module level (``inv --list``
must stay fast); :mod:`dbstack.k8s.api` imports it inside the functions that
talk to a cluster.
"""
