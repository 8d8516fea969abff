"""A cluster twin for the Kubernetes tests: operators that behave like the real ones
in the ways dbstack depends on, on real parts where this machine has them.

* :class:`twin.api.TwinAPI` — the in-memory API store (FakeClusterAPI behind the
  same ClusterAPI interface), thread-safe, with resourceVersions; controllers
  run in background threads in real time, not on reads.
* :class:`twin.cnpg.CNPGController` — a Cluster is real PostgreSQL containers
  (the stand-in image) on a Docker network this twin creates; the primary is
  reachable as ``<cluster>-rw.<ns>.svc.cluster.local``; it takes real time to
  boot; CNPG's ``<cluster>-app`` Secret with CNPG's keys; status as CNPG 1.30
  writes it (no observedGeneration; Ready derived from the phase).
* :class:`twin.atlas.AtlasOperator` — a container "in" namespace
  atlas-operator (its resolver searches atlas-operator.svc.cluster.local,
  svc.cluster.local, cluster.local) through which every connection to the
  database is resolved and dialled; a reconcile loop modelled on
  ariga/atlas-operator 0.7.37 (conditions, failed, backoff failed x unit,
  watches on the ConfigMap and the password Secret) that validates atlas.sum
  and applies with dbstack's engine (Atlas-compatible, standing in for the
  Atlas CLI).
* :class:`twin.eso.ExternalSecretsController` — external-secrets with a fake
  in-memory provider behind a ClusterSecretStore.

kind and helm stay fakes (tests/data/k8s/fakebin).
"""
