"""A real PostgreSQL server for one test: Debian's package, a private socket, no TCP.

The test's own setup installs the server when it is missing (``apt-get install
postgresql``, as root) and starts a throwaway cluster owned by the ``postgres``
user (the server refuses to run as root), listening only on a Unix socket in a
temporary folder.  Nothing is left behind: the cluster stops and its folder goes.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from debian import ensure_package

__all__ = ["postgres_url"]


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _install() -> Path:
    """The folder of initdb and pg_ctl, installing Debian's postgresql package if need be."""
    return ensure_package("postgresql", _bindir)


@contextlib.contextmanager
def postgres_url(database: str = "gradebook"):
    """Start a server; yield a SQLAlchemy URL of an empty ``database`` on it."""
    bindir = _install()
    folder = Path(tempfile.mkdtemp(prefix="pg-test-"))
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)

    def run(*argv):
        subprocess.run([str(a) for a in argv], check=True, capture_output=True,
                       user=owner.pw_uid if owner else None, cwd=folder)
    data = folder / "data"
    run(bindir / "initdb", "-D", data, "-U", "grader", "--auth=trust", "-E", "UTF8")
    run(bindir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "start",
        "-o", f"-k {folder} -c listen_addresses='' -F")  # -F: no fsync, a throwaway cluster
    try:
        run(bindir / "createdb", "-h", folder, "-U", "grader", database)
        yield f"postgresql+psycopg://grader@/{database}?host={folder}"
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, user=owner.pw_uid if owner else None)
        shutil.rmtree(folder, ignore_errors=True)
