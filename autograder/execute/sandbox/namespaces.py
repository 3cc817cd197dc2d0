"""The ``namespaces`` sandbox: the kernel process isolates itself (unshare, bind mounts, chroot).

A submission is untrusted code; the course directory next to it holds the solutions,
the hidden tests, the gradebook and every other student's work.  When the grader runs
as root (CI and the course machines do), every kernel -- forked from the pre-warmed
server or booted fresh -- isolates itself in :func:`enter` before it runs anything:

1. ``unshare(CLONE_NEWNS | CLONE_NEWNET)``: a mount table of its own, and a network
   namespace whose only interface is a loopback that is down (no network at all).
   The Jupyter protocol therefore runs over ZMQ ``ipc`` (Unix sockets in a socket
   directory of the kernel's own), not TCP.
2. A new root on a tmpfs holding only read-only binds of the system directories, the
   interpreter's prefixes and the directories of the packages the kernel imports
   (``nn_utils``, ``autograder``) -- never the course directory itself, and with an empty
   read-only tmpfs over the teacher's reference maths and the published expected values
   (``autograder/reference``, ``nn_utils/cases``) -- plus a small
   ``/dev``, a private ``/tmp`` and ``/dev/shm``, a ``/proc`` mounted with
   ``hidepid=invisible`` (other users' processes do not exist), and the working copy and
   the socket directory, writable, at their own paths.  Then ``chroot`` into it.
3. The working copy and socket directory are given to a uid/gid of its own
   (``UID_BASE`` + the kernel's pid modulo 2**20, no passwd entry needed, no supplementary
   groups), then privileges are dropped for good (``setuid``, no new privileges).
   The working copy the kernel writes in is a copy on a tmpfs capped at
   ``WORKDIR_SIZE`` (1 GiB; ``AUTOGRADER_WORKDIR_SIZE``), ``/tmp`` and ``/dev/shm``
   at 64 MiB each, so a submission cannot fill the grader's disk.
   Being another user makes the per-user process limit bite (root ignores it) and
   keeps concurrent kernels out of each other's processes.

Everything is done in the forked child, so the fork server keeps its pre-imported
modules and the speed-up survives (the set-up costs a few milliseconds per kernel).
Without root (or without namespaces) kernels run unisolated: :func:`sandbox_status`
says why, and the grader prints one warning line.  What is bound, hidden and
writable is the grader's :class:`~autograder.execute.sandbox.policy.Policy`;
:data:`SANDBOX` is this mechanism behind :class:`autograder.execute.sandbox.Sandbox`.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import sys
import tempfile

from autograder.execute import procs
from autograder.execute.sandbox.policy import WORKDIR_SIZE, Policy, hidden_paths, package_paths
from autograder.execute.sandbox.policy import privileged as _privileged
from autograder.execute.sandbox.policy import readable_paths as _readable_paths

__all__ = ["SANDBOX", "UID_BASE", "enter", "kernel_uid", "sandbox_mode", "sandbox_status"]

UID_BASE = 1_700_000_000            # far above any login or container user
_CLONE_NEWNS, _CLONE_NEWNET = 0x00020000, 0x40000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWIPC = 0x10000000, 0x20000000, 0x08000000
_PR_CAPBSET_DROP, _CAP_VERSION_3 = 24, 0x20080522
# flags a bind keeps from the mount it shows: a user namespace may not clear them
_KEPT_FLAGS = (os.ST_RDONLY | os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME
               | os.ST_NODIRATIME | os.ST_RELATIME)
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_DEVICES = ("null", "zero", "full", "random", "urandom")
_REAPER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reaper.py")
_status: tuple[bool, str] | None = None


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    def enc(s):
        return None if s is None else os.fsencode(s)
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                         enc(data)), f"mount {target}")


def sandbox_status() -> tuple[bool, str]:
    """(True, "") when kernels can be isolated this way here, else (False, one line saying why)."""
    global _status
    if _status is None:
        if not sys.platform.startswith("linux"):
            _status = (False, "kernel isolation needs Linux namespaces")
        else:
            _status = _probe()
    return _status


def sandbox_mode() -> str:
    """How kernels are isolated here: ``"root"``, ``"user namespace"`` or ``"none"``."""
    if not sandbox_status()[0]:
        return "none"
    return "root" if _privileged() else "user namespace"


def _probe() -> tuple[bool, str]:
    """Enter a sandbox once in a throw-away child: kernels must never die of a missing feature."""
    workdir, rundir = tempfile.mkdtemp(prefix="autograde-"), tempfile.mkdtemp(prefix="agk-")
    try:
        connection = os.path.join(rundir, "probe.json")
        with open(connection, "w", encoding="utf-8") as fh:
            fh.write("{}")
        spec = {"workdir": workdir, "rundir": rundir, "paths": _readable_paths(),
                "hidden": hidden_paths()}
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(reader)
                os.chdir(workdir)
                enter(spec, connection)
                code = 0
            except BaseException as exc:  # the cause, for the one line the grader prints
                os.write(writer, f"{type(exc).__name__}: {exc}".encode()[:400])
            finally:
                os._exit(code)
        os.close(writer)
        with os.fdopen(reader, "rb") as fh:
            cause = fh.read().decode("utf-8", "replace").strip()
        _, status = os.waitpid(pid, 0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(rundir, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) != 0:
        cause = f" ({cause})" if cause else ""
        if _privileged():
            return False, f"this machine does not allow the namespaces and mounts it needs{cause}"
        return False, ("the grader is not root and this machine does not let it create user "
                       "namespaces (see /proc/sys/user/max_user_namespaces, or the container's "
                       f"seccomp/AppArmor policy){cause}")
    return True, ""


def kernel_uid(pid: int) -> int:
    """The uid (and gid) a kernel with this pid runs as."""
    return UID_BASE + pid % (1 << 20)


def _cover(root: str, path: str, rundir: str) -> None:
    """Show ``path`` empty under ``root``: a read-only tmpfs over a folder, an empty file
    of the kernel's own socket directory over a file."""
    target = root + path
    if os.path.isdir(target):
        _mount("tmpfs", target, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
               "mode=0555,size=4k")
    elif os.path.isfile(target):
        empty = os.path.join(rundir, ".covered")
        open(empty, "w").close()
        _mount(empty, target, None, _MS_BIND)
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
               | os.statvfs(empty).f_flag & _KEPT_FLAGS)


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _bind(root: str, path: str, writable: bool = False, device: bool = False) -> None:
    """Make ``path`` visible at the same place under ``root`` (read-only unless ``writable``).

    Writable binds are not recursive: only the directory itself, never a mount below it.
    """
    target = root + path
    if os.path.islink(path):  # e.g. /bin -> usr/bin: keep the link, the target is bound too
        _mkdirs(os.path.dirname(target))
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return
    if os.path.isdir(path):
        _mkdirs(target)
    else:
        _mkdirs(os.path.dirname(target))
        open(target, "a").close()
    _mount(path, target, None, _MS_BIND | (0 if writable else _MS_REC))
    flags = (_MS_REMOUNT | _MS_BIND | _MS_NOSUID | (0 if device else _MS_NODEV)
             | os.statvfs(path).f_flag & _KEPT_FLAGS)  # ST_* and MS_* agree on Linux
    _mount(None, target, None, flags | (0 if writable else _MS_RDONLY))


def _chown_tree(path: str, uid: int) -> None:
    os.chown(path, uid, uid, follow_symlinks=False)
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(top, name), uid, uid, follow_symlinks=False)


def _private_tmpfs(root: str, path: str) -> None:
    _mkdirs(root + path)
    _mount("tmpfs", root + path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777,size=64m")


def _build_root(spec: dict, root: str, uid: int) -> None:
    """A tmpfs at ``root`` with only what the kernel may see (see the module docstring)."""
    _mount("tmpfs", root, "tmpfs", _MS_NOSUID, "mode=0755,size=16m")
    # the private /tmp first: the interpreter or the packages may live below /tmp
    # (a checkout in /tmp), and their binds must land on top of it, not under it
    _private_tmpfs(root, "/tmp")
    bound: list[str] = []
    # the grader names what it imports; this process adds the folders of the packages
    # it runs itself (the reaper script among them), wherever they were imported from
    paths = {*spec["paths"], *package_paths()}
    for path in sorted({p for p in paths if os.path.lexists(p)}, key=len):
        if path in ("/", "/tmp") or any(path.startswith(b + "/") for b in bound):
            continue  # already visible through a bound parent
        _bind(root, path)
        bound.append(path)
    for path in spec.get("hidden", []):
        _cover(root, path, spec["rundir"])
    _mkdirs(root + "/dev")
    _mount("tmpfs", root + "/dev", "tmpfs", _MS_NOSUID, "mode=0755,size=64k")
    for name in _DEVICES:
        _bind(root, f"/dev/{name}", writable=True, device=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    _private_tmpfs(root, "/dev/shm")
    _mkdirs(root + "/proc")
    try:
        _mount("proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
               "hidepid=invisible")
    except OSError:  # Linux before 5.8 spells it 2
        _mount("proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=2")
    _bind(root, spec["rundir"], writable=True)
    # the working copy: a copy on a size-capped tmpfs, so a submission cannot fill the disk
    target = root + spec["workdir"]
    _mkdirs(target)
    size = spec.get("workdir_size", WORKDIR_SIZE)
    _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=0755,size={size}")
    shutil.copytree(spec["workdir"], target, symlinks=True, dirs_exist_ok=True)
    _chown_tree(target, uid)
    # the skeleton read-only: in a user namespace the kernel owns these tmpfs folders
    _mount(None, root + "/dev", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID, "mode=0755")
    _mount(None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID, "mode=0755")


def enter(spec: dict | None, connection_file: str) -> str:
    """Isolate this freshly forked kernel process; return its connection file.

    ``spec`` is what :meth:`Namespaces.prepare` made (None: do nothing).  Never
    returns half-isolated: any failure raises, and the caller exits.  As root the
    kernel becomes a uid of its own; otherwise a user namespace gives it the same
    view (see :func:`_enter_user_namespace`).
    """
    if not spec:
        return connection_file
    with open(connection_file, encoding="utf-8") as fh:
        connection = json.load(fh)
    as_root = _privileged()
    uid = kernel_uid(os.getpid()) if as_root else 0
    private = os.path.join(spec["rundir"], "kernel.json")
    with open(private, "w", encoding="utf-8") as fh:
        json.dump(connection, fh)
    root = os.path.join(spec["rundir"], ".root")
    _mkdirs(root)
    if as_root:
        _chown_tree(spec["rundir"], uid)   # before any mount: the walk stays in the socket dir
        os.chown(root, 0, 0)
        _check(_libc().unshare(_CLONE_NEWNS | _CLONE_NEWNET), "unshare")
    else:
        _enter_user_namespace()
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)   # nothing we mount leaks to the host
    _build_root(spec, root, uid)
    os.chroot(root)
    os.chdir(spec["workdir"])
    if as_root:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    else:
        _fork_and_reap()  # the init stays pid 1 and reaps; the kernel goes on as pid 2
    # per user (and, in a user namespace, per namespace): this kernel's processes only
    if spec.get("processes"):
        resource.setrlimit(resource.RLIMIT_NPROC, (spec["processes"], spec["processes"]))
    if not as_root:
        _drop_capabilities()
    libc = _libc()
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # a uid change clears it
    if as_root and (os.getuid() == 0 or os.geteuid() == 0):
        raise OSError("could not drop root")
    return private


def _enter_user_namespace() -> None:
    """Without root: new user, mount, network, IPC and PID namespaces, as their pid 1.

    The grader's uid is mapped to 0 inside, which holds every capability over the
    new namespaces (and nothing outside them) until :func:`_drop_capabilities`.
    A new PID namespace is what allows a private ``/proc``: the grader's processes
    (and their ``/proc/<pid>/cwd``, the course directory) do not exist in it.  Its
    first process is a child, so this process forks; it stays behind as the relay
    of :mod:`autograder.execute.reaper`, and the child goes on as the namespace's init.
    """
    uid, gid = os.getuid(), os.getgid()
    _check(_libc().unshare(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWIPC
                           | _CLONE_NEWPID), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)
    _fork_and_reap()


def _fork_and_reap() -> None:
    """Fork; the parent becomes :mod:`autograder.execute.reaper` for the child, which returns.

    The reaper is a fresh interpreter (``exec``), so it holds none of the pages it
    shares with the fork server, and no descriptor but /dev/null and standard error.
    """
    child = os.fork()
    if child == 0:
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with its reaper
        return
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):  # standard error stays the grader's file: a failed exec says why
            os.dup2(devnull, fd)
        os.execv(sys.executable, [sys.executable, "-S", "-E", _REAPER, str(child)])
    finally:
        os._exit(1)  # exec failed: the kernel dies with this process (its pdeath signal)


def _drop_capabilities() -> None:
    """Give up every capability for good: in a user namespace the kernel runs as its uid 0.

    The bounding set goes first, so a program it executes gains nothing either; no
    capability means no mount, no chroot and no namespace tricks to undo the view.
    """
    libc = _libc()
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # EINVAL: past the last capability this kernel knows
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    _check(libc.capset(header, data), "capset")
    with open("/proc/self/status", encoding="ascii") as fh:
        held = [line.split()[1] for line in fh if line.startswith(("CapEff", "CapPrm", "CapBnd"))]
    if any(int(mask, 16) for mask in held):
        raise OSError("could not drop the namespace's capabilities")


class Namespaces:
    """Today's mechanism behind :class:`autograder.execute.sandbox.Sandbox`."""

    name, forks, interrupt = "namespaces", True, "signal"

    def available(self) -> tuple[bool, str]:
        return sandbox_status()

    def prepare(self, policy: Policy) -> dict:
        return {"kind": self.name, "workdir": policy.workdir, "rundir": policy.rundir,
                "paths": list(policy.readable), "hidden": list(policy.hidden),
                "processes": policy.processes, "workdir_size": policy.workdir_size}

    def launcher(self, spec: dict):
        return None   # a fresh kernel enters the same way as a forked one, in its own process

    def enter(self, spec: dict, connection_file: str) -> str:
        return enter(spec, connection_file)

    def members(self, pid: int, table: dict | None = None) -> set[int]:
        return procs.members(pid, table)   # the grader sees the namespaces' processes under host pids

    def teardown(self, spec: dict) -> None:
        pass   # the kernel's mounts die with its mount namespace; the caller removes the rundir


SANDBOX = Namespaces()
