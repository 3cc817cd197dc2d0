"""A pre-warmed process that forks one fresh IPython kernel per submission.

``import tensorflow`` costs seconds of CPU; paying it once per worker instead of
once per notebook is most of the grader's speed.  The server imports the heavy
modules (but runs no TensorFlow op), then waits on a Unix socket.  Each request
forks a child that becomes a real ipykernel kernel speaking the Jupyter protocol
on the connection file it was given.  The connection that asked for the kernel
later receives the kernel's exit status, so the provisioner can poll and wait.

The same boot code starts a kernel from a fresh interpreter (``boot`` mode), so
both modes apply identical limits:

    python -m autograder.execute.forkserver serve SOCKET [MODULE ...]
    python -m autograder.execute.forkserver boot -f CONNECTION_FILE   (limits in $AUTOGRADER_LIMITS)

Protocol (JSON lines): request ``{"connection_file", "cwd", "env", "limits"}``;
replies ``{"pid": N}`` then ``{"exit": code}`` (negative: killed by a signal).
"""
from __future__ import annotations

import ctypes
import faulthandler
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback

from autograder.execute.procs import kill_tree
from autograder.execute.sandbox import enter as enter_sandbox

__all__ = ["apply_limits", "boot_kernel", "serve", "LIMITS_ENV"]

LIMITS_ENV = "AUTOGRADER_LIMITS"
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_GIB = 1024 ** 3
# limit name -> [(rlimit, value from the configured number)].  Memory caps the
# private data of each process (RLIMIT_DATA: what numpy and TensorFlow allocate);
# the address space gets headroom, since TensorFlow reserves much it never uses.
_RLIMITS = {
    "memory": [(resource.RLIMIT_DATA, lambda n: n), (resource.RLIMIT_AS, lambda n: 2 * n + 4 * _GIB)],
    "file_size": [(resource.RLIMIT_FSIZE, lambda n: n)],
    "core": [(resource.RLIMIT_CORE, lambda n: n)],
}


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: best effort only
        pass


def apply_limits(limits: dict) -> None:
    """Apply ``{"memory": bytes, "file_size": bytes, "core": 0}`` to this process and its children."""
    for key, value in (limits or {}).items():
        for rlimit, scale in _RLIMITS.get(key, []) if value is not None else []:
            soft, hard = resource.getrlimit(rlimit)
            target = int(scale(int(value)))
            if hard != resource.RLIM_INFINITY:
                target = min(target, hard)
            try:
                resource.setrlimit(rlimit, (target, target))
            except (ValueError, OSError):
                pass


def _redirect_output(stderr: str | None) -> None:
    """Standard input and output to /dev/null; standard error to the grader's file ``stderr``.

    The file is opened before the sandbox is entered (the kernel cannot open it
    again) and stays the kernel's file descriptor 2 for its life: what the kernel,
    its sandbox set-up or a C library writes there before IPython captures the
    output -- the reason a kernel died before it replied -- reaches the grader's
    log.  The kernel's file-size limit bounds it.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    err = devnull
    if stderr:
        try:
            err = os.open(stderr, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        except OSError:
            pass
    for fd, source in ((0, devnull), (1, devnull), (2, err)):
        os.dup2(source, fd)
    if err != devnull:  # a crash in C code (a segfault) leaves the Python stack there too;
        # on a descriptor of its own, since IPython later puts a pipe on descriptor 2
        faulthandler.enable(os.dup(2), all_threads=False)


def boot_kernel(connection_file: str, limits: dict) -> None:
    """Turn this process into an ipykernel kernel; never returns.

    ``limits`` holds the rlimits (:func:`apply_limits`), the sandbox spec
    (``"sandbox"``) and the file for the kernel's standard error (``"stderr"``).
    """
    code = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _redirect_output(limits.get("stderr"))
        connection_file = enter_sandbox(limits.get("sandbox"), connection_file)
        apply_limits(limits)
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, "--HistoryManager.enabled=False",
                        "--IPKernelApp.quiet=True"])
        # the working copy first on sys.path, as ``python -m ipykernel_launcher`` run there
        # has it, so a student's own module beside the notebook imports; only now, once the
        # kernel and the grader's packages are loaded from the install (``python -P``)
        sys.path.insert(0, os.getcwd())
        app.start()
        code = 0
    except BaseException:
        traceback.print_exc()   # to the grader's file: see _redirect_output
        sys.stderr.flush()
    finally:
        os._exit(code)


def _fork_kernel(request: dict, server_pid: int, close: list) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: a new session so the whole submission can be killed at once
        for sock in close:
            sock.close()
        os.setsid()
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server_pid:
            os._exit(1)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        sys.argv = ["ipykernel"]
    except BaseException:  # a child must never return into the server loop
        os._exit(1)
    boot_kernel(request["connection_file"], request.get("limits") or {})


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass


def _kill_orphans(server_pid: int, kernels) -> None:
    """Kill processes re-parented to the server (daemons a kernel left behind)."""
    from autograder.execute.procs import process_table
    for pid, (ppid, _) in process_table().items():
        if ppid == server_pid and pid not in kernels:
            kill_tree(pid)


def serve(path: str, preload: list[str]) -> None:
    """Import ``preload``, listen on ``path`` and fork a kernel per request."""
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional module is not fatal
            print(f"preload {name} failed: {exc}", file=sys.stderr, flush=True)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)          # orphans of a kernel come back here
    parent = os.getppid()
    children: dict[int, socket.socket] = {}

    def stop(*_):
        for child in list(children):
            kill_tree(child)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    server_pid = os.getpid()
    buffers: dict[socket.socket, bytes] = {}
    by_fd = {listener.fileno(): listener}
    poller = select.poll()  # not select(): it fails once a descriptor passes 1023
    poller.register(listener, select.POLLIN)
    print("ready", flush=True)
    swept = 0.0
    while True:
        # a short tick: a kernel's exit is reported (and the next kernel forked) sooner
        ready = [by_fd[fd] for fd, _ in poller.poll(10)]
        if os.getppid() != parent:  # the grader died (even by kill -9): stop, with all kernels
            stop()
        for sock in ready:
            if sock is listener:
                conn, _ = listener.accept()
                buffers[conn] = b""
                by_fd[conn.fileno()] = conn
                poller.register(conn, select.POLLIN)
                continue
            data = sock.recv(65536)
            if not data:  # the provisioner went away: its kernel goes too
                for child, owner in list(children.items()):
                    if owner is sock:
                        kill_tree(child)
                buffers.pop(sock)
                poller.unregister(sock)
                del by_fd[sock.fileno()]
                sock.close()
                continue
            buffers[sock] += data
            while b"\n" in buffers[sock]:
                line, buffers[sock] = buffers[sock].split(b"\n", 1)
                pid = _fork_kernel(json.loads(line), server_pid, [listener, *buffers])
                children[pid] = sock
                _send(sock, {"pid": pid})
        if time.monotonic() - swept > 1.0:
            swept = time.monotonic()
            _kill_orphans(server_pid, children)
        while True:  # reap kernels and re-parented orphans
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            owner = children.pop(pid, None)
            if owner is not None:
                kill_tree(pid)
                _send(owner, {"exit": os.waitstatus_to_exitcode(status)})


def main(argv: list[str]) -> None:
    if argv[:1] == ["serve"]:
        serve(argv[1], argv[2:])
    elif argv[:2] == ["boot", "-f"]:
        limits = json.loads(os.environ.pop(LIMITS_ENV, "{}"))
        os.setsid() if os.getsid(0) != os.getpid() else None
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # no fork server to adopt them: a daemon the submission double-forks (its own
        # session, parent gone) is re-parented to this kernel, so killing the kernel's
        # tree at the end takes it too
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        # the grader's checker, imported before the working copy is put first on
        # sys.path: submissions hand in the release's nn_utils/ folder beside the notebook,
        # and the kernel must speak the grader's protocol (forked kernels have it preloaded)
        try:
            importlib.import_module("nn_utils")
        except ImportError:
            pass
        boot_kernel(argv[2], limits)
    else:
        sys.exit("usage: python -m autograder.execute.forkserver serve SOCKET [MODULE ...] | boot -f FILE")


if __name__ == "__main__":
    main(sys.argv[1:])
