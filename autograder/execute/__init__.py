"""Running submissions: the only place that starts processes for student code.

``payload.py`` runs one submission's notebooks (plain data in, plain data out);
``runners.py`` spreads payloads over local threads or a Dask cluster, a bounded
number in flight; ``kernels.py`` provides Jupyter kernels, forked from a
pre-warmed ``forkserver.py`` or booted fresh; ``sandbox.py`` isolates each
kernel (mount and network namespaces, its own uid or a user namespace);
``procs.py`` reads and kills process trees; ``reaper.py`` is the pid-1 of a
kernel's PID namespace.
"""
