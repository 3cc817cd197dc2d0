"""Kernel launching: a fork-server kernel provisioner, fresh kernels, process cleanup.

``kernel_manager(...)`` returns a jupyter_client ``AsyncKernelManager`` that nbclient
drives as usual.  In ``fork`` mode its kernel spec names the ``autograder-fork``
provisioner (an entry point in pyproject.toml), which asks a pre-warmed
:mod:`autograder.execute.forkserver` process for a forked kernel; in ``fresh`` mode a new
interpreter boots the kernel with the same limits.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Dict, Instance, Unicode

from autograder.execute.forkserver import LIMITS_ENV
from autograder.execute.procs import kill_tree

__all__ = ["ForkServer", "ForkServerProvisioner", "ReadyClient", "ServerAddress", "close_fork_servers",
           "fork_server", "kernel_manager", "kill_tree", "PROVISIONER"]

PROVISIONER = "autograder-fork"
# -P: the current folder is not put on sys.path.  The fork server starts in the
# course directory and a fresh kernel in the submission's: a folder named
# ``autograder`` or ``nn_utils`` there (a clone of this repository used as the
# course, or one a student hands in) must never replace the installed packages.
_BOOT = [sys.executable, "-P", "-m", "autograder.execute.forkserver"]


class ForkServer:
    """A running :mod:`autograder.execute.forkserver` process that has imported ``preload``."""

    def __init__(self, preload: tuple[str, ...], start_timeout: float = 180.0):
        self.preload = tuple(preload)
        self._dir = tempfile.mkdtemp(prefix="autograder-fork-")
        self.path = os.path.join(self._dir, "server.sock")
        self.process = subprocess.Popen(
            [*_BOOT, "serve", self.path, *self.preload], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline() if _readable(self.process.stdout, start_timeout) else ""
        if line.strip() != "ready":
            self.close()
            raise RuntimeError("the kernel fork server did not start")

    def close(self) -> None:
        """Stop the server; its pdeath/stop handler kills any kernel still running."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self._dir, ignore_errors=True)


@dataclass(frozen=True)
class ServerAddress:
    """A fork server another process started (the grader, for its local workers)."""

    path: str   # its Unix socket


_servers: dict[tuple[str, ...], ForkServer] = {}
_servers_lock = threading.Lock()


def fork_server(preload: tuple[str, ...]) -> ForkServer:
    """The process-wide fork server for ``preload`` (started on first use)."""
    with _servers_lock:
        server = _servers.get(tuple(preload))
        if server is None or server.process.poll() is not None:
            server = _servers[tuple(preload)] = ForkServer(preload)
        return server


@atexit.register
def close_fork_servers() -> None:
    """Stop every fork server this process started."""
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()


class _ForkedKernel:
    """The Popen-like handle LocalProvisioner expects, for a kernel the server forked."""

    stdin = stdout = stderr = None

    def __init__(self, path: str, request: dict, timeout: float = 60.0):
        self.returncode: int | None = None
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._buffer = b""
        try:
            self._sock.connect(path)
            self._sock.sendall((json.dumps(request) + "\n").encode())
            reply = self._read(timeout)
        except OSError:
            reply = None
        if reply is None or "pid" not in reply:
            self.close()
            raise RuntimeError("the kernel fork server did not answer")
        self.pid = int(reply["pid"])

    def close(self) -> None:
        """Hang up on the server (which then kills the kernel if it still runs)."""
        self._sock.close()

    def _read(self, timeout: float | None) -> dict | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._sock.fileno() < 0:  # hung up: the server has killed the kernel
            return {"exit": -signal.SIGKILL}
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not _readable(self._sock, left):
                return None
            data = self._sock.recv(4096)
            if not data:  # server gone: the kernel went with it
                return {"exit": -signal.SIGKILL}
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def poll(self) -> int | None:
        if self.returncode is None:
            reply = self._read(0)
            if reply is not None and "exit" in reply:
                self.returncode = int(reply["exit"])
                self._sock.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        while self.returncode is None:
            reply = self._read(timeout)
            if reply is None:
                raise subprocess.TimeoutExpired("kernel", timeout)
            if "exit" in reply:
                self.returncode = int(reply["exit"])
                self._sock.close()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:  # already reaped by the server (as Popen: not an error)
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _readable(stream, timeout: float | None) -> bool:
    """Whether ``stream`` has data within ``timeout`` s (poll: select() fails past fd 1023)."""
    poller = select.poll()
    poller.register(stream, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))


class ForkServerProvisioner(LocalProvisioner):
    """Kernel provisioner whose kernels are forked from a pre-warmed server."""

    socket_path = Unicode(config=True, help="the fork server's Unix socket")
    limits = Dict(config=True, help="resource limits for the kernel")

    async def launch_kernel(self, cmd: list[str], **kwargs):
        cwd = str(kwargs.get("cwd") or os.getcwd())
        request = {"connection_file": self.parent.connection_file, "cwd": cwd,
                   "env": dict(kwargs.get("env") or {}), "limits": dict(self.limits)}
        self.process = _ForkedKernel(self.socket_path, request)
        self.pid = self.pgid = self.process.pid  # the kernel leads its own session
        self.cwd = cwd
        return self.connection_info

    async def cleanup(self, restart: bool = False) -> None:
        if isinstance(self.process, _ForkedKernel):
            self.process.close()
        await super().cleanup(restart)

    async def wait(self) -> int | None:
        # LocalProvisioner polls every 0.1 s; a forked kernel's exit is one socket read away
        while self.process is not None and await self.poll() is None:
            await asyncio.sleep(0.01)
        return await super().wait()


class ReadyClient(AsyncKernelClient):
    """A kernel client that is ready once the kernel answers on the shell and IOPub channels.

    jupyter_client then drains IOPub until it has been quiet for 0.2 s: a fixed
    wait per kernel, i.e. per graded notebook.  nbclient ignores IOPub messages of
    other requests, so a short drain is enough.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # an IOPub message too: that channel is connected
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.01)
            except Empty:
                return


class _KernelManager(AsyncKernelManager):
    """AsyncKernelManager that sees a killed kernel gone within 10 ms (it polls every 100 ms),
    and lets a sandbox wrap a fresh kernel's start (:attr:`launcher`)."""

    # (argv, Popen keywords) -> (argv, Popen keywords): a sandbox's command prefix, uid and
    # standard error (see autograder.execute.sandbox); None: the kernel starts as it is
    launcher = None

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, 0.01))

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if self.launcher is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        kernel_cmd, kw = self.launcher(list(kernel_cmd), dict(kw))
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:  # the kernel holds its own copy of a stream the launcher opened
            for stream in (kw.get("stdout"), kw.get("stderr")):
                if hasattr(stream, "close"):
                    stream.close()


class _OneSpec(KernelSpecManager):
    """A kernel spec manager that knows exactly one spec, built at grading time."""

    spec = Instance(KernelSpec)

    def get_kernel_spec(self, kernel_name: str, *args, **kwargs) -> KernelSpec:
        return self.spec


def kernel_manager(server: ForkServer | None, limits: dict) -> AsyncKernelManager:
    """A kernel manager for one notebook: forked from ``server``, or fresh if None."""
    argv = [*_BOOT, "boot", "-f", "{connection_file}"]
    if server is not None:
        metadata = {"kernel_provisioner": {"provisioner_name": PROVISIONER, "config": {
            "socket_path": server.path, "limits": limits}}}
        spec = KernelSpec(argv=argv, display_name="Python 3 (graded)", language="python",
                          metadata=metadata)
    else:
        spec = KernelSpec(argv=argv, display_name="Python 3 (graded)", language="python",
                          env={LIMITS_ENV: json.dumps(limits)})
    return _KernelManager(kernel_name="graded", kernel_spec_manager=_OneSpec(spec=spec),
                          client_factory=ReadyClient)
