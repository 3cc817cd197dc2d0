"""Run a command as an ordinary user (``nobody``) from a root test, the interpreter still reachable.

The grader's non-root path is tested by really dropping root: ``setpriv`` switches
to uid/gid 65534 with no groups and no capabilities.  When the interpreter or this
checkout lives below a directory that other users cannot enter (a Python or a
clone under ``/root``), the command runs in a private mount namespace where a
tmpfs replaces that directory and only those folders are bound back into it:
they become reachable, nothing else of the directory does, and the host's
mounts are untouched.
"""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

__all__ = ["NOBODY", "as_nobody"]

NOBODY = 65534


def _closed_ancestor(path: Path) -> Path | None:
    """The topmost ancestor of ``path`` that other users cannot enter, if any."""
    for parent in reversed(path.parents):
        if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
            return parent
    return None


def as_nobody(argv: list[str], view: Path) -> list[str]:
    """A command line that runs ``argv`` as nobody; ``view`` is a scratch folder for the mounts.

    The interpreter's prefixes and this checkout (the packages it imports) stay
    reachable even when they live below a folder others cannot enter.
    """
    checkout = Path(__file__).resolve().parent.parent
    keep = sorted({Path(os.path.realpath(p)) for p in (sys.base_prefix, sys.prefix, checkout)})
    closed = {c for c in map(_closed_ancestor, keep) if c is not None}
    closed = sorted(c for c in closed if not any(o in c.parents for o in closed))
    held = [(path, view / f"keep{i}") for i, path in enumerate(keep)
            if any(c == path or c in path.parents for c in closed)]
    def q(path):
        return shlex.quote(str(path))
    lines = ["set -e"]
    lines += [f"mkdir -p {q(spare)} && mount --bind {q(path)} {q(spare)}" for path, spare in held]
    lines += [f"mount -t tmpfs -o mode=0755 tmpfs {q(c)}" for c in closed]
    lines += [f"mkdir -p {q(path)} && mount --bind {q(spare)} {q(path)}" for path, spare in held]
    lines.append(f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups '
                 f'--inh-caps=-all --bounding-set=-all -- "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines),
            "sh", *argv]
