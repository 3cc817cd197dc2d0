"""Run a command as an ordinary user (``nobody``) from a root test, the interpreter still reachable.

The grader's non-root path is tested by really dropping root: ``setpriv`` switches
to uid/gid 65534 with no groups and no capabilities.  When the interpreter lives
below a directory that other users cannot enter (a Python installed under
``/root``), the command runs in a private mount namespace where a tmpfs replaces
that directory and the interpreter's prefix alone is bound back into it: the
prefix becomes reachable, nothing else of the directory does, and the host's
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
    """A command line that runs ``argv`` as nobody; ``view`` is a scratch folder for the mounts."""
    lines = ["set -e"]
    for prefix in sorted({Path(os.path.realpath(sys.base_prefix)), Path(os.path.realpath(sys.prefix))}):
        closed = _closed_ancestor(prefix)
        if closed is None:
            continue
        keep = view / f"keep{len(lines)}"
        lines += [f"mkdir -p {shlex.quote(str(keep))}",
                  f"mount --bind {shlex.quote(str(prefix))} {shlex.quote(str(keep))}",
                  f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(str(closed))}",
                  f"mkdir -p {shlex.quote(str(prefix))}",
                  f"mount --bind {shlex.quote(str(keep))} {shlex.quote(str(prefix))}"]
    lines.append(f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups '
                 f'--inh-caps=-all --bounding-set=-all -- "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines),
            "sh", *argv]
