"""A course server set up the usual way, for the slow tests: real accounts, a system-wide install.

What a JupyterHub server of a course looks like, built for real (as root):

* a virtual environment made from the system's Python (``/usr/bin/python3.11``,
  else the running interpreter's base), the project installed into it from a
  clone, not editable -- as an administrator installs it under ``/opt``;
* ordinary Unix accounts made with ``useradd``: a teaching assistant and three
  students, each home readable by its owner only;
* nbgrader's exchange directory, ``/srv/nbgrader/exchange``, mode 777 as
  nbgrader's documentation sets it up, named in the install's site-wide
  ``etc/jupyter/nbgrader_config.py``.

Commands run as those users with ``runuser`` and a clean environment: nothing
of root's (its interpreter under ``/root``, this checkout's ``.venv``) is
reachable or used.  :meth:`CourseServer.close` kills what the accounts left
running, then removes them, their homes, the exchange (if it made it) and the
install.  The install comes from a clone of this repository, so it is the last
commit, not uncommitted changes.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["CourseServer", "EXCHANGE", "REPO", "install_clone", "system_python"]

REPO = Path(__file__).resolve().parent.parent
EXCHANGE = Path("/srv/nbgrader/exchange")
_COMMENT = "dlcourse test account"   # only accounts carrying it are ever removed
_PATH = "/usr/local/bin:/usr/bin:/bin"


def system_python() -> str:
    """The interpreter a server administrator would build the venv from."""
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if os.access(candidate, os.X_OK):
            version = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                                     capture_output=True, text=True)
            if version.stdout.strip() == "True":
                return candidate
    return os.path.join(sys.base_prefix, "bin", "python3")


def install_clone(python: str, venv: Path) -> None:
    """A venv at ``venv`` made by ``python``, the project installed into it from a clone (not editable)."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-clone-") as scratch:
        clone = Path(scratch) / "src"
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True,
                       capture_output=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", str(clone)],
                              capture_output=True, text=True)
    # the clone is gone: what is installed must not need the source tree
    if done.returncode != 0:
        raise RuntimeError(f"pip install of the clone with {python} failed:\n{done.stderr[-3000:]}")


def _remove_account(name: str) -> None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if entry.pw_gecos != _COMMENT:
        raise RuntimeError(f"a user {name!r} exists and is not a test account: not touching it")
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    for _ in range(50):   # userdel refuses while a process of the user lives
        if subprocess.run(["pgrep", "-u", name], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    subprocess.run(["userdel", "--remove", name], capture_output=True)


class CourseServer:
    """The install, the accounts and the exchange; :meth:`run_as` runs a command as an account."""

    def __init__(self, students: int = 3):
        if os.geteuid() != 0:
            raise PermissionError("a real course server is set up as root (useradd, /srv, /opt)")
        # names of this run's own: two runs on one machine never touch each other's accounts
        tag = secrets.token_hex(3)
        self.ta, self.students = f"ta{tag}", tuple(f"st{tag}{n}" for n in range(1, students + 1))
        self.course_id = f"dlc-{tag}"    # the assistant's course writes it in nbgrader_config.py
        self.accounts = (self.ta, *self.students)
        self.made_exchange: Path | None | str = ""   # "": not set up yet; None: it was there
        self.prefix = Path(tempfile.mkdtemp(prefix="dlcourse-", dir="/opt"))
        os.chmod(self.prefix, 0o755)
        self.venv = self.prefix / "venv"
        try:
            self._install()
            self._accounts()
            self._exchange()
        except BaseException:
            self.close()
            raise

    def _install(self) -> None:
        install_clone(system_python(), self.venv)
        # the administrator's site-wide setting, where Jupyter looks for the install's config
        config = self.venv / "etc" / "jupyter"
        config.mkdir(parents=True, exist_ok=True)
        (config / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(EXCHANGE)!r}\n")

    def _accounts(self) -> None:
        for name in self.accounts:
            _remove_account(name)   # left over from a run that was killed
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--comment", _COMMENT,
                            name], check=True, capture_output=True)
            os.chmod(self.home(name), 0o700)

    def _exchange(self) -> None:
        if (EXCHANGE / self.course_id).exists():
            raise RuntimeError(f"{EXCHANGE / self.course_id} exists: a course of that name is in use here")
        made = [p for p in (EXCHANGE.parent, EXCHANGE) if not p.exists()]
        EXCHANGE.mkdir(parents=True, exist_ok=True)
        os.chmod(EXCHANGE, 0o777)
        self.made_exchange = made[0] if made else None

    def home(self, user: str) -> Path:
        """The account's home directory."""
        return Path(pwd.getpwnam(user).pw_dir)

    def env(self, user: str) -> dict:
        """A login-like environment of ``user``, the system-wide install first on PATH."""
        return {"HOME": str(self.home(user)), "USER": user, "LOGNAME": user, "SHELL": "/bin/bash",
                "LANG": "C.UTF-8", "PATH": f"{self.venv / 'bin'}:{_PATH}"}

    def run_as(self, user: str, argv: list[str], cwd: Path | None = None, timeout: float = 900,
               offline: bool = False, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``argv`` as ``user`` (stdout and stderr captured); ``offline``: no network at all."""
        env = self.env(user)
        command = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                   *argv]
        if offline:   # a network namespace of its own, made by root before dropping to the user;
            # only its loopback is up (Jupyter's kernels talk to the notebook over it)
            command = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                       *command]
        done = subprocess.run(command, cwd=cwd or self.home(user), capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{user}$ {' '.join(argv)} exited with {done.returncode}:\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def chown(self, path: Path, user: str) -> None:
        """Give ``path`` and everything below it to ``user``."""
        entry = pwd.getpwnam(user)
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def processes(self) -> dict[str, list[str]]:
        """Whatever the accounts still run: user -> command lines."""
        left = {}
        for name in self.accounts:
            done = subprocess.run(["pgrep", "-a", "-u", name], capture_output=True, text=True)
            if done.stdout.strip():
                left[name] = done.stdout.strip().splitlines()
        return left

    def close(self) -> None:
        """Remove the accounts (their processes first), the exchange if made here, the install."""
        for name in getattr(self, "accounts", ()):
            _remove_account(name)
        if getattr(self, "made_exchange", None):
            shutil.rmtree(self.made_exchange, ignore_errors=True)
        elif getattr(self, "made_exchange", "") is None:
            shutil.rmtree(EXCHANGE / self.course_id, ignore_errors=True)
        shutil.rmtree(self.prefix, ignore_errors=True)
