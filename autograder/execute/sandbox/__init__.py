"""Isolation of grading kernels: one policy, interchangeable mechanisms behind a small interface.

Every kernel gets the view :mod:`~autograder.execute.sandbox.policy` computes in the
grader (read-only system and packages, the teacher's files hidden, a private
writable working copy, no network, limits).  A :class:`Sandbox` is a mechanism
that enforces it:

* ``namespaces`` (:mod:`.namespaces`): the kernel process isolates itself with
  ``unshare`` -- as root a uid of its own, otherwise a user namespace.  Forked
  kernels do it in the child, so the pre-warmed fork server stays the fast path.
* ``bubblewrap`` (:mod:`.bubblewrap`): Debian's ``bwrap`` builds the view; kernels
  boot fresh behind a ``bwrap`` command prefix.  For servers that forbid
  unprivileged user namespaces but allow ``bwrap`` (setuid, or an AppArmor profile).

:func:`choose` picks one by name (None: ``namespaces`` where it works, else
``bubblewrap`` where that works, else ``namespaces``, which then says why not);
:func:`isolate` wraps a kernel manager with it; :func:`enter` is the kernel-side
hook that the boot code of :mod:`autograder.execute.forkserver` calls.
``AUTOGRADER_ISOLATION=off`` switches every sandbox off (as ``--no-isolation``).
"""
from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import weakref
from typing import Callable, Protocol

from autograder import UsageError
from autograder.execute.sandbox.policy import Policy, policy

__all__ = ["NAMES", "Launcher", "Policy", "Sandbox", "choose", "enter", "forks", "isolate",
           "sandbox_status", "switched_off"]

# name -> module holding ``SANDBOX``; imported on first use
_MODULES = {"namespaces": "autograder.execute.sandbox.namespaces",
            "bubblewrap": "autograder.execute.sandbox.bubblewrap"}
NAMES = tuple(_MODULES)
# a fresh kernel's start, wrapped: (argv, Popen keywords) -> (argv, Popen keywords)
Launcher = Callable[[list, dict], tuple[list, dict]]


class Sandbox(Protocol):
    """A mechanism that enforces a :class:`Policy` on one kernel and everything it starts."""

    name: str
    forks: bool  # True: kernels may be forked from the pre-warmed server (:meth:`enter` in the child)
    # how a running cell is interrupted: "signal" (SIGINT to the launched process's group:
    # the kernel) or "message" (a Jupyter interrupt_request, where the launched process
    # is the sandbox's, not the kernel)
    interrupt: str

    def available(self) -> tuple[bool, str]:
        """(True, "") where kernels can be isolated this way, else (False, one line saying why)."""

    def prepare(self, policy: Policy) -> dict:
        """The kernel's spec, JSON-able: what the grader hands the kernel (in its limits)."""

    def launcher(self, spec: dict) -> Launcher | None:
        """For kernels booted fresh: how their command is wrapped (None: run it as it is)."""

    def enter(self, spec: dict, connection_file: str) -> str:
        """In the kernel's own process, before it runs anything: finish the isolation and
        apply the sandbox's limits (the process cap); return the connection file to use."""

    def members(self, pid: int, table: dict | None = None) -> set[int]:
        """The processes that belong to the kernel whose launched process is ``pid``
        (``table``: a recent :func:`autograder.execute.procs.process_table`, to share)."""

    def teardown(self, spec: dict) -> None:
        """Remove what :meth:`prepare` made, once the kernel is gone."""


def switched_off() -> bool:
    """Whether ``AUTOGRADER_ISOLATION=off`` asks for no isolation (as ``--no-isolation``)."""
    return os.environ.get("AUTOGRADER_ISOLATION", "").lower() in ("0", "off", "no", "false")


def _load(name: str) -> Sandbox:
    return importlib.import_module(_MODULES[name]).SANDBOX


def choose(name: str | None = None) -> Sandbox:
    """The sandbox called ``name``; None: the default here (see the module docstring).

    A sandbox asked for by name that is unknown or unavailable here is a
    :class:`UsageError` of one line; the default is returned even when unavailable
    (the grader then refuses or, with ``--no-isolation``, runs kernels unisolated).
    """
    if name is None:
        first = _load(NAMES[0])
        if first.available()[0]:
            return first
        for other in NAMES[1:]:
            if _load(other).available()[0]:
                return _load(other)
        return first
    if name not in _MODULES:
        raise UsageError(f"no sandbox called {name!r} (choose one of {', '.join(NAMES)})")
    box = _load(name)
    works, why = box.available()
    if not works and not switched_off():
        raise UsageError(f"cannot isolate submissions with {name}: {why}")
    return box


def forks(name: str | None = None) -> bool:
    """Whether kernels of the sandbox ``name`` (None: the default) may come from the fork server."""
    if not sandbox_status(name)[0]:
        return True   # unisolated kernels fork as ever
    return (_load(name) if name else choose()).forks


def sandbox_status(name: str | None = None) -> tuple[bool, str]:
    """(True, "") when kernels will be isolated here, else (False, one line saying why)."""
    if switched_off():
        return False, "switched off by AUTOGRADER_ISOLATION"
    if name is not None and name not in _MODULES:
        return False, f"no sandbox called {name!r}"
    return (_load(name) if name else choose()).available()


def isolate(make_manager, server, limits: dict, workdir: str, required: bool = True,
            sandbox: str | None = None):
    """``make_manager(server, limits)`` for a kernel in ``workdir``, isolated by ``sandbox``.

    Adds the sandbox's spec to the limits, switches the kernel's transport to ZMQ
    ``ipc`` in a socket directory of its own (no sandbox gives a kernel the host's
    network) and puts its connection file there; both go with the kernel manager.
    Where no isolation is possible this raises, unless ``required`` is false (the
    grader's ``--no-isolation``): a Dask worker decides for itself.
    """
    isolated, why = sandbox_status(sandbox)
    if not isolated and required:
        raise RuntimeError(f"this machine cannot isolate submissions ({why}); "
                           "autograder grade --no-isolation runs them unisolated")
    if not isolated:
        return make_manager(server, limits)
    box = choose(sandbox)
    rundir = tempfile.mkdtemp(prefix="agk-")   # short: Unix socket paths are limited
    spec = box.prepare(policy(workdir, rundir, limits))
    km = make_manager(server if box.forks else None, {**limits, "sandbox": spec})
    km.transport, km.ip = "ipc", os.path.join(rundir, "k")
    km.connection_file = os.path.join(rundir, "connection.json")
    km.launcher = box.launcher(spec)
    km.kernel_spec.interrupt_mode = box.interrupt
    km.members = box.members  # what the executor's watch counts as the submission's
    # called by the executor when the kernel is done; at the latest when km is collected
    km.remove_rundir = weakref.finalize(km, _teardown, box, spec, rundir)
    return km


def _teardown(box: Sandbox, spec: dict, rundir: str) -> None:
    box.teardown(spec)
    shutil.rmtree(rundir, ignore_errors=True)


def enter(spec: dict | None, connection_file: str) -> str:
    """Isolate this kernel process as ``spec`` says; return its connection file.

    Called by every kernel, forked or fresh, before it runs anything; ``spec`` is what
    :func:`isolate` put in the limits (None: not isolated, nothing to do).  A spec
    without a ``kind`` is a ``namespaces`` one.
    """
    if not spec:
        return connection_file
    return _load(spec.get("kind", "namespaces")).enter(spec, connection_file)
