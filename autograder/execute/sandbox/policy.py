"""What a grading kernel may see and do: pure data, computed in the grader, the same for every sandbox.

A :class:`Policy` names the folders the kernel may read (the system, the
interpreter's prefixes, site-packages, the folders of ``nn_utils`` and
``autograder``), what inside them it sees empty (the teacher's reference maths,
the published expected values, the demo class's bug table), the two folders it
may write (its working copy -- a private, size-capped copy --, its socket
directory and the grader's file for its standard error), that it has no
network, and its limits.  A sandbox implementation
turns it into mounts; it never decides any of it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass

__all__ = ["Policy", "hidden_paths", "package_paths", "policy", "privileged", "readable_paths"]

SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/sys")
PACKAGES = ("nn_utils", "autograder")
# what of those packages the kernel must not see: the teacher's reference maths, the
# published expected values (a kernel probes; the grader judges) and the demo class's
# bug table, which quotes lines of the solutions
HIDDEN = (("autograder", "reference"), ("nn_utils", "cases"), ("autograder", "demo_class.py"))
WORKDIR_SIZE = os.environ.get("AUTOGRADER_WORKDIR_SIZE", "1g")  # tmpfs cap of a working copy
SCRATCH_SIZE = "64m"    # each of the kernel's private /tmp and /dev/shm


@dataclass(frozen=True)
class Policy:
    """One kernel's view: every path absolute, as the grader sees it."""

    readable: tuple[str, ...]        # shown read-only at their own paths
    hidden: tuple[str, ...]          # folders and files inside ``readable`` shown empty
    workdir: str                     # the working copy: the kernel writes in a private copy
    rundir: str                      # its socket directory (ZMQ ipc): shared with the grader
    network: bool = False            # no interface but a loopback of its own
    processes: int | None = None     # the most processes the kernel may run at once
    stderr: str | None = None        # the grader's file for the kernel's standard error (writable)
    workdir_size: str = WORKDIR_SIZE
    scratch_size: str = SCRATCH_SIZE

    def as_dict(self) -> dict:
        """The policy as JSON-able data (it travels to the kernel in its limits)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def policy(workdir: str, rundir: str, limits: dict | None = None) -> Policy:
    """The policy of a kernel working in ``workdir`` with sockets in ``rundir``."""
    return Policy(readable=tuple(readable_paths()), hidden=tuple(hidden_paths()),
                  workdir=os.path.realpath(workdir), rundir=rundir,
                  processes=(limits or {}).get("processes"), stderr=(limits or {}).get("stderr"),
                  workdir_size=WORKDIR_SIZE)


def readable_paths() -> list[str]:
    """Directories the kernel may read: system, interpreter, site-packages, our packages."""
    paths = [p for p in SYSTEM if os.path.lexists(p)]
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        paths += [prefix, os.path.realpath(prefix)]
    paths += [p for p in sys.path if "-packages" in p and os.path.isdir(p)]
    return sorted({*paths, *package_paths()})


def package_paths() -> list[str]:
    """The folders of ``nn_utils`` and ``autograder`` as this process imported them."""
    paths = []
    for name in PACKAGES:
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:
                continue
        for folder in getattr(module, "__path__", []):
            paths += [folder, os.path.realpath(folder)]
    return paths


def hidden_paths() -> list[str]:
    """Folders and files inside the readable packages that the kernel sees empty."""
    paths = []
    for package, name in HIDDEN:
        module = sys.modules.get(package) or __import__(package)
        for base in getattr(module, "__path__", []):
            for path in {os.path.join(base, name), os.path.join(os.path.realpath(base), name)}:
                if os.path.exists(path):
                    paths.append(path)
    return sorted(set(paths))


def privileged() -> bool:
    """Whether the grader may mount, chown and switch users (root with its capabilities):
    then each kernel runs as a uid of its own.

    A root without capabilities (a container that drops them, ``setpriv``) is
    treated as any other user: its kernels get a user namespace.
    """
    needed = (1 << 0) | (1 << 6) | (1 << 7) | (1 << 21)  # CHOWN, SETGID, SETUID, SYS_ADMIN
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            held = next(int(line.split()[1], 16) for line in fh if line.startswith("CapEff"))
    except (OSError, StopIteration, ValueError):
        return os.geteuid() == 0
    return os.geteuid() == 0 and held & needed == needed
