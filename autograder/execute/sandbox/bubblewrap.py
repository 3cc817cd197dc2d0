"""The ``bubblewrap`` sandbox: kernels boot fresh behind a ``bwrap`` command prefix built from the policy.

For course servers where the kernel process may not ``unshare`` by itself
(AppArmor or a sysctl restricts unprivileged user namespaces) but Debian's
``bwrap`` is allowed (setuid, or a profile of its own).  Every namespace is new
(``--unshare-all``: no network but a private loopback, so Jupyter speaks ZMQ
``ipc`` in the kernel's socket directory), the root is a tmpfs with read-only
binds of what the policy lets it read, empty tmpfs or files over what it hides,
its own ``/proc`` (a new PID namespace: only its processes), a small ``/dev``,
private 64 MiB ``/tmp`` and ``/dev/shm``, and the root remounted read-only.

The guarantees match :mod:`.namespaces`.  As root, ``bwrap`` makes no user
namespace and keeps only CAP_CHOWN, CAP_SETUID and CAP_SETGID; the kernel's
first act (:func:`Bubblewrap.enter`, before it runs anything) gives its working
copy and socket directory to a uid of its own and becomes that uid, with no
supplementary groups and no capability left, so the per-user process cap bites.
As an ordinary user, ``bwrap`` maps the grader's uid into a user namespace and
drops every capability.  The working copy the kernel writes is a copy on a
size-capped tmpfs, made by the kernel from the grader's copy shown read-only at
:data:`SUBMISSION`, so a submission cannot fill the grader's disk.
``--die-with-parent`` plus the PID namespace (its init's death takes every
process in it) mean that killing the process the grader launched kills the whole
submission.  ``bwrap``'s own errors and the kernel's standard error go to the
grader's per-kernel file.  The launched
process is ``bwrap``, not the kernel, so interrupts travel as Jupyter messages.
"""
from __future__ import annotations

import ctypes
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

from autograder.execute import procs
from autograder.execute.sandbox.policy import Policy
from autograder.execute.sandbox.policy import policy as make_policy
from autograder.execute.sandbox.policy import privileged as _privileged

__all__ = ["SANDBOX", "SUBMISSION", "bwrap_argv"]

SUBMISSION = "/.submission"   # the grader's working copy, read-only, inside the sandbox
_UID_BASE = 1_700_000_000     # as the namespaces sandbox: far above any login or container user
_CAP_VERSION_3 = 0x20080522
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)\s*$", re.I)


def _bytes(size: str) -> str:
    """``"64m"`` -> ``"67108864"`` (``--size`` takes bytes)."""
    match = _SIZE.match(str(size))
    if not match:
        raise ValueError(f"not a size: {size!r}")
    return str(int(match[1]) * 1024 ** " kmg".index((match[2] or " ").lower()))


def _kernel_uid(rundir: str) -> int:
    """A uid for one kernel, unique while its socket directory exists (its inode number)."""
    return _UID_BASE + os.stat(rundir).st_ino % (1 << 20)


def _under(path: str, parents) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def bwrap_argv(spec: dict) -> list[str]:
    """The ``bwrap`` options (without the command) that enforce the kernel's spec."""
    argv = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session",
            # ipykernel would exit at once: its parent is the sandbox's init, not the grader
            "--unsetenv", "JPY_PARENT_PID"]
    if spec.get("uid"):  # root: no user namespace, so the kernel can become a uid of its own
        # (see enter); it keeps only the capabilities that takes
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try", "--cap-drop", "ALL"]
        for cap in ("CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"):
            argv += ["--cap-add", cap]
    else:  # bwrap maps the grader's uid into a user namespace and drops every capability
        argv += ["--unshare-all", "--cap-drop", "ALL"]
    # the private /tmp first: the interpreter or the packages may live below /tmp
    # (a checkout in /tmp), and their binds must land on top of it, not under it
    scratch = _bytes(spec["scratch_size"])
    argv += ["--perms", "1777", "--size", scratch, "--tmpfs", "/tmp"]
    bound: list[str] = []  # (the /tmp tmpfs shows nothing of the host's /tmp: not one of them)
    binds: list[str] = []
    for path in sorted({p for p in spec["readable"] if os.path.lexists(p)}, key=len):
        if path == "/" or _under(path, bound):
            continue  # already visible through a bound parent
        if os.path.islink(path):  # e.g. /bin -> usr/bin: keep the link, the target is bound too
            binds += ["--symlink", os.readlink(path), path]
        else:
            binds += ["--ro-bind", path, path]
        bound.append(path)
    writable = [spec["rundir"], spec["workdir"], *([spec["stderr"]] if spec.get("stderr") else [])]
    # bwrap gives the folders it makes on the way to a bind their modes on the host (/root:
    # 0700): made first, open, so the kernel's uid can reach what is bound below them
    made: list[str] = []
    for path in [*bound, *writable]:
        parent = os.path.dirname(path)
        ancestors = []
        while parent != "/":
            ancestors.append(parent)
            parent = os.path.dirname(parent)
        for folder in reversed(ancestors):
            if folder in made or _under(folder, bound) or os.path.islink(folder):
                continue
            argv += ["--perms", "0755", "--dir", folder]
            made.append(folder)
    argv += binds
    for path in spec["hidden"]:
        if os.path.isdir(path):
            argv += ["--perms", "0555", "--size", "4096", "--tmpfs", path, "--remount-ro", path]
        else:
            argv += ["--ro-bind", os.path.join(spec["rundir"], ".covered"), path]
    argv += ["--dev", "/dev", "--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev", "--proc", "/proc",
             "--bind", spec["rundir"], spec["rundir"]]
    if spec.get("stderr"):  # the kernel reopens it by name (see forkserver._redirect_output)
        argv += ["--bind", spec["stderr"], spec["stderr"]]
    argv += ["--ro-bind", spec["workdir"], SUBMISSION,
             "--perms", "0755", "--size", _bytes(spec["workdir_size"]), "--tmpfs", spec["workdir"],
             "--remount-ro", "/", "--chdir", spec["workdir"]]
    return argv


def _chown_tree(path: str, uid: int) -> None:
    """Give ``path`` and all below it to ``uid``: deepest first, since a root without
    CAP_DAC_OVERRIDE cannot enter a 0700 folder once it belongs to another uid."""
    for top, dirs, files in os.walk(path, topdown=False):
        for name in dirs + files:
            os.chown(os.path.join(top, name), uid, uid, follow_symlinks=False)
    os.chown(path, uid, uid, follow_symlinks=False)


def _become(uid: int) -> None:
    """Inside ``bwrap``, as root: give the kernel its working copy and sockets, then become ``uid``.

    Changing uid clears the permitted and effective capabilities; the inheritable ones
    ``bwrap`` set go too, so nothing is left.
    """
    _chown_tree(os.getcwd(), uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    if libc.capset(header, (ctypes.c_uint32 * 6)()) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    if 0 in os.getresuid() or 0 in os.getresgid():
        raise OSError("could not drop root")


class Bubblewrap:
    """``bwrap`` behind :class:`autograder.execute.sandbox.Sandbox`."""

    name, forks, interrupt = "bubblewrap", False, "message"
    _status: tuple[bool, str] | None = None

    def available(self) -> tuple[bool, str]:
        if Bubblewrap._status is None:
            Bubblewrap._status = self._probe()
        return Bubblewrap._status

    def _probe(self) -> tuple[bool, str]:
        """Start ``true`` in a sandbox once: kernels must never die of a missing feature."""
        if not sys.platform.startswith("linux"):
            return False, "bubblewrap needs Linux"
        if shutil.which("bwrap") is None:
            return False, "bwrap is not installed"
        workdir, rundir = tempfile.mkdtemp(prefix="autograde-"), tempfile.mkdtemp(prefix="agk-")
        try:
            spec = self.prepare(make_policy(workdir, rundir))
            # the interpreter, as a kernel will be: its files reachable, root given up
            code = (f"import os; os.setgroups([]); os.setresgid({spec['uid']}, {spec['uid']}, "
                    f"{spec['uid']}); os.setresuid({spec['uid']}, {spec['uid']}, {spec['uid']})"
                    if spec.get("uid") else "pass")
            done = subprocess.run([*bwrap_argv(spec), "--", sys.executable, "-S", "-c", code],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"bwrap could not start: {exc}"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            shutil.rmtree(rundir, ignore_errors=True)
        if done.returncode != 0:
            cause = " ".join(done.stderr.split())[:300] or f"exit status {done.returncode}"
            return False, f"bwrap cannot build its sandbox here ({cause})"
        return True, ""

    def prepare(self, policy: Policy) -> dict:
        # an empty file of the kernel's own to show over hidden files
        open(os.path.join(policy.rundir, ".covered"), "w").close()
        return {"kind": self.name, **policy.as_dict(),
                "uid": _kernel_uid(policy.rundir) if _privileged() else None}

    def launcher(self, spec: dict):
        def launch(argv: list, kw: dict) -> tuple[list, dict]:
            if spec.get("stderr"):  # bwrap's own complaints too, before the kernel exists
                kw["stderr"] = open(spec["stderr"], "ab")
            return [*bwrap_argv(spec), "--", *argv], kw
        return launch

    def enter(self, spec: dict, connection_file: str) -> str:
        """Inside ``bwrap``: make the private working copy, drop root, cap processes, check."""
        shutil.copytree(SUBMISSION, spec["workdir"], symlinks=True, dirs_exist_ok=True)
        os.chdir(spec["workdir"])
        if spec.get("uid"):
            _chown_tree(spec["rundir"], spec["uid"])   # the connection file, the sockets
            _become(spec["uid"])
        if spec.get("processes"):  # per uid, or per user namespace: this kernel's processes only
            resource.setrlimit(resource.RLIMIT_NPROC, (spec["processes"], spec["processes"]))
        with open("/proc/self/status", encoding="ascii") as fh:
            held = [line.split()[1] for line in fh if line.startswith(("CapEff", "CapPrm", "CapInh"))]
        if any(int(mask, 16) for mask in held):
            raise OSError("bwrap left the kernel capabilities")
        return connection_file

    def members(self, pid: int, table: dict | None = None) -> set[int]:
        return procs.members(pid, table)   # bwrap, its init and the kernel: descendants of ``pid``

    def teardown(self, spec: dict) -> None:
        pass   # the tmpfs mounts die with the sandbox; the caller removes the rundir


SANDBOX = Bubblewrap()
