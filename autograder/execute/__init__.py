"""Running submissions: the only place that starts processes for student code.

``payload.py`` runs one submission's notebooks (plain data in, plain data out);
``runners.py`` spreads payloads over local worker processes (``worker.py``, fed by
``pool.py``, which also feeds the page renderers) or a Dask cluster, a bounded
number in flight; ``kernels.py`` provides Jupyter kernels, forked from a
pre-warmed ``forkserver.py`` or booted fresh; ``sandbox/`` isolates each
kernel behind one interface -- the grader's policy (``policy.py``) enforced by
``namespaces.py`` (the kernel unshares by itself: its own uid, or a user
namespace) or ``bubblewrap.py`` (fresh kernels behind a ``bwrap`` prefix);
``procs.py`` reads and kills process trees; ``reaper.py`` is the relay and the
pid 1 around a kernel that the namespaces sandbox puts in a user namespace.
"""
