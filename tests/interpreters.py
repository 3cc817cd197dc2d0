"""The Python 3 interpreters on this machine: pyenv's, Debian's and the running one's base."""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys

__all__ = ["python3_interpreters"]


def _run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def _candidates() -> list[str]:
    """Every path that may be a Python 3 on this machine (duplicates and misses included)."""
    paths = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            root = _run([pyenv, "root"], timeout=60).stdout.strip()
            bare = _run([pyenv, "versions", "--bare"], timeout=60).stdout.split()
            paths += [os.path.join(root, "versions", name, "bin", "python3") for name in bare]
        except (OSError, subprocess.TimeoutExpired):
            pass
    paths += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3")))
    for folder in ("/usr/bin", "/usr/local/bin"):
        paths += sorted(p for p in glob.glob(f"{folder}/python3*")
                        if re.fullmatch(r"python3(\.\d+)?", os.path.basename(p)))
    paths.append(getattr(sys, "_base_executable", sys.executable))
    return paths


def python3_interpreters() -> list[tuple[tuple[int, ...], str]]:
    """``[(version, path)]``: one per real path and version, Python 3 only, oldest first."""
    found: dict[tuple, str] = {}
    for path in _candidates():
        if not os.access(path, os.X_OK):
            continue
        try:  # written for any Python, 2.7 included, which is then left out
            out = _run([path, "-E", "-s", "-c", "import os, sys; sys.stdout.write("
                        "'%d.%d.%d ' % sys.version_info[:3] + os.path.realpath(sys.executable))"],
                       timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode or " " not in out.stdout:
            continue
        version, real = out.stdout.split(" ", 1)
        key = (tuple(int(n) for n in version.split(".")), real)
        if key[0][0] == 3 and key not in found:
            found[key] = path
    return sorted((version, path) for (version, _), path in found.items())
