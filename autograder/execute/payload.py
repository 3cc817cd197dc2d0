"""Execute one submission: plain data in (notebooks + files), plain data out.

``execute_payload`` is what a worker runs -- a local worker process or a Dask task.  It
writes the working copy to a temporary directory of its own, runs each graded
notebook in a fresh kernel (forked from a pre-warmed server, or started fresh),
bounds time and output, kills every process the submission started, and returns
the executed notebooks and a status.  It decides no score.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import tempfile
import threading
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder.execute.kernels import ServerAddress, fork_server, kernel_manager
from autograder.execute.procs import kill_tree, members, process_table, usage
from autograder.execute.sandbox import forks, isolate
from autograder.protocol import MIME, notebook_from, notebook_text
from autograder.record import Outcome, Status

__all__ = ["error_outcome", "execute_payload", "MAX_CELL_OUTPUT", "kernel_env", "kill_running"]

MAX_CELL_OUTPUT = 200_000          # bytes of student output kept per cell
MAX_RECORD = 16 * 1024 * 1024      # one check observation record
MAX_RECORDS = 32 * 1024 * 1024     # all records of one notebook
MAX_STDERR = 4096                  # bytes of a dead kernel's standard error kept for the log
_DIED = (Status.KERNEL_DIED, Status.MEMORY)  # statuses whose kernel's standard error is worth reading
_TIMEOUT_ERROR = {"ename": "CellTimeoutError", "evalue": "", "traceback": []}
_MEMORY_ERRORS = {"MemoryError", "ResourceExhaustedError"}
_running: set[int] = set()  # kernel pids this process is running, killed when it is stopped
_running_lock = threading.Lock()


def kill_running() -> None:
    """Kill every kernel (and its children) that this process is running."""
    with _running_lock:
        pids = list(_running)
    for pid in pids:
        kill_tree(pid)


def _track(km, add: bool) -> None:
    pid = getattr(km.provisioner, "pid", None) if km.provisioner is not None else None
    if pid:
        with _running_lock:
            (_running.add if add else _running.discard)(pid)


class _BoundedClient(NotebookClient):
    """nbclient with a cap on how much output one cell may produce; remembers timeouts."""

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        data = content.get("data") or {}
        if MIME in data:  # observation records are the grader's, kept whole (up to a cap)
            size = len(str(data[MIME]))
            self._records = getattr(self, "_records", 0) + size
            if size > MAX_RECORD or self._records > MAX_RECORDS:
                return None   # a flood of records must not fill the grader's memory
            return super().output(outs, msg, display_id, cell_index)
        used = self._used.get(cell_index, 0)
        size = len(json.dumps(content, default=str))
        self._used[cell_index] = used + size
        if used + size <= MAX_CELL_OUTPUT:
            return super().output(outs, msg, display_id, cell_index)
        if used <= MAX_CELL_OUTPUT:
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr", text="\n[output truncated by the grader]\n"))
        return None


def kernel_env(home: str, threads: int | None = None) -> dict:
    """The environment of a grading kernel: minimal (the grading nonce stays out of it).

    ``threads`` caps TensorFlow's and BLAS's thread pools (cores / parallel kernels),
    so parallel kernels do not fight over the same cores.
    """
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
    env = {**keep, "HOME": home,
           "NBGRADER_EXECUTION": "autograde", "PYTHONDONTWRITEBYTECODE": "1",
           "MPLBACKEND": "Agg"}
    if threads:
        env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")})
        env["TF_NUM_INTEROP_THREADS"] = "1"
    return env


def _exit_detail(code: int | None) -> str:
    if code is None:
        return "the kernel died"
    if code < 0:
        try:
            return f"the kernel was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"the kernel was killed by signal {-code}"
    return f"the kernel exited with status {code}"


async def _watch(km, limits: dict, verdict: dict) -> None:
    """Kill the submission when its processes together exceed the process or memory cap.

    rlimits bound each process; this bounds the whole tree (a submission that
    forks many processes, each under the per-process cap).  Which processes are the
    submission's is the sandbox's to say (``km.members``); unisolated, its process tree.
    """
    cap_procs, cap_memory = limits.get("processes"), limits.get("memory")
    while True:
        await asyncio.sleep(0.25)
        pid = getattr(km.provisioner, "pid", None) if km.provisioner is not None else None
        if not pid:
            continue
        # one read of /proc a second serves every watcher of this process (a worker runs one
        # submission at a time, a Dask worker one per thread); memory is read fresh each time
        tree = getattr(km, "members", members)(pid, process_table(max_age=1.0))
        if cap_procs and len(tree) > cap_procs:
            verdict.update(status=Status.KERNEL_DIED,
                           detail=f"killed: the submission ran more than {cap_procs} processes")
        elif cap_memory and usage(tree) > cap_memory:
            verdict.update(status=Status.MEMORY, detail="killed: the submission's processes used more "
                           f"than {cap_memory / 1024 ** 3:.1f} GiB together")
        else:
            continue
        kill_tree(pid)
        return


def error_outcome(key: str, exc: BaseException, stderr: str = "",
                  stderr_from: str = "kernel") -> Outcome:
    """The outcome of a payload whose execution failed in the grader itself.

    ``stderr``: what the process that died (``stderr_from``: a kernel, or the grading
    worker) wrote to its standard error.
    """
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return Outcome(key, Status.ERROR, detail, stderr=stderr, stderr_from=stderr_from)


class _KernelFailed(Exception):
    """The kernel could not be run; carries what it wrote to its standard error."""

    def __init__(self, cause: BaseException, stderr: str):
        super().__init__(str(cause))
        self.cause, self.stderr = cause, stderr


def _excerpt(path: str, size: int = MAX_STDERR) -> str:
    """The file at ``path`` as text, its middle cut out past ``size`` bytes ('' when unreadable).

    Both ends matter: a crash report starts with what happened, a traceback ends with it.
    """
    try:
        with open(path, "rb") as fh:
            total = os.fstat(fh.fileno()).st_size
            if total <= size:
                return fh.read().decode("utf-8", "replace")
            head = fh.read(size // 4)
            fh.seek(total - (size - size // 4))
            tail = fh.read()
    except OSError:
        return ""
    return (head.decode("utf-8", "replace") + f"\n[... {total - size} bytes left out ...]\n"
            + tail.decode("utf-8", "replace"))


async def _run(nb, workdir: str, env: dict, payload: dict, budget: float) -> tuple[str, str, str]:
    """Execute ``nb`` in one kernel: (status, detail, the kernel's stderr if it died)."""
    handle, stderr_file = tempfile.mkstemp(prefix="agk-stderr-")
    os.close(handle)
    try:
        try:
            status, detail = await _run_kernel(nb, workdir, env, payload, budget, stderr_file)
        except Exception as exc:
            raise _KernelFailed(exc, _excerpt(stderr_file)) from exc
        return status, detail, _excerpt(stderr_file) if status in _DIED else ""
    finally:
        os.unlink(stderr_file)


async def _run_kernel(nb, workdir: str, env: dict, payload: dict, budget: float,
                      stderr_file: str) -> tuple[str, str]:
    fork = payload.get("fork", True) and forks(payload.get("sandbox"))  # bubblewrap boots fresh
    server = None
    if fork:  # the grader's own server (its local workers), else this process's
        where = payload.get("fork_server")
        server = ServerAddress(where) if where else fork_server(tuple(payload["preload"]))
    limits = {**(payload.get("limits") or {}), "stderr": stderr_file}
    km = isolate(kernel_manager, server, limits, workdir, required=payload.get("isolation", True),
                 sandbox=payload.get("sandbox"))
    client = _BoundedClient(
        nb, km=km, timeout=payload["timeout"], startup_timeout=payload.get("startup_timeout", 120),
        allow_errors=True, interrupt_on_timeout=True, record_timing=True, skip_cells_with_tag="",
        on_notebook_start=lambda notebook: _track(km, True),
        error_on_timeout={**_TIMEOUT_ERROR, "evalue": f"cell ran longer than {payload['timeout']} s"})
    client._used, client._timed_out = {}, False
    status, detail, verdict = Status.OK, "", {}
    watchdog = asyncio.ensure_future(_watch(km, payload.get("limits") or {}, verdict))
    task = asyncio.ensure_future(client.async_execute(cwd=workdir, env=env))
    try:
        done, _ = await asyncio.wait({task}, timeout=budget)
        if not done:  # nbclient turns the cancellation into DeadKernelError: swallow it
            status = Status.TIMEOUT
            detail = f"the submission ran longer than {payload['submission_timeout']:g} s"
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        else:
            task.result()
            if client._timed_out:
                status, detail = Status.TIMEOUT, f"a cell ran longer than {payload['timeout']:g} s"
    except DeadKernelError:
        code = None
        if km.provisioner is not None and km.provisioner.process is not None:
            code = km.provisioner.process.poll()
        status, detail = Status.KERNEL_DIED, _exit_detail(code)
    except CellTimeoutError as exc:
        status, detail = Status.TIMEOUT, str(exc).splitlines()[0]
    finally:
        watchdog.cancel()
        pid = getattr(km.provisioner, "pid", None) if km.provisioner is not None else None
        if pid:
            kill_tree(pid)
            _track(km, False)
        await _release(client, km)
    if verdict:
        return verdict["status"], verdict["detail"]
    return status, detail


async def _release(client, km) -> None:
    """Free all one kernel held: channel threads and sockets, ZMQ context, connection file.

    nbclient leaves its kernel client running when it did not create the manager
    (ours is passed in), and a kernel that failed to start is never shut down:
    either way a heartbeat thread and a dozen descriptors would outlive the
    submission, and a batch of hundreds would run out of them.
    """
    kc, client.kc = getattr(client, "kc", None), None
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:  # a channel that never started
            pass
    try:
        await asyncio.wait_for(km.shutdown_kernel(now=True), 10)
    except Exception:  # the kernel is already gone (or never started
        try:
            await km.cleanup_resources()
        except Exception:
            pass
    if not km.context.closed:
        km.context.destroy(linger=0)
    getattr(km, "remove_rundir", lambda: None)()  # the sandbox's socket directory
    atexit.unregister(client._cleanup_kernel)  # left registered when a start fails


def _outcome_status(nbs: list, status: Status, detail: str) -> tuple[Status, str]:
    """Refine ``ok``: cell timeouts and memory errors name what happened."""
    for nb in nbs:
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                if out.get("ename") == "CellTimeoutError" and status is Status.OK:
                    status, detail = Status.TIMEOUT, out.get("evalue", "")
                if out.get("ename") in _MEMORY_ERRORS and status in (Status.OK, Status.KERNEL_DIED):
                    status, detail = Status.MEMORY, f"{out['ename']}: the memory limit was reached"
    return status, detail


def execute_payload(payload: dict) -> Outcome:
    """Run ``payload["notebooks"]`` ({name: notebook JSON text}) with ``payload["files"]``.

    Returns plain data: the :class:`~autograder.record.Outcome`, with each executed
    notebook's JSON text.
    """
    start = time.monotonic()
    if not payload["notebooks"]:  # nothing submitted that could run
        return Outcome(payload["key"], Status.OK)
    workdir = tempfile.mkdtemp(prefix="autograde-")
    executed, status, detail, stderr = {}, Status.OK, "", ""
    try:
        for rel, blob in payload.get("files", {}).items():
            target = os.path.join(workdir, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(blob)
        env = kernel_env(workdir, payload.get("threads"))
        for name, text in payload["notebooks"].items():
            nb = notebook_from(text)  # the grader wrote it: validated once, there
            budget = payload["submission_timeout"] - (time.monotonic() - start)
            if budget <= 0:
                limit = payload["submission_timeout"]
                status, detail = Status.TIMEOUT, f"the submission ran longer than {limit} s"
                break
            try:
                one_status, one_detail, one_stderr = asyncio.run(
                    _run(nb, workdir, env, payload, budget))
            except _KernelFailed as failed:
                return error_outcome(payload["key"], failed.cause, failed.stderr)
            executed[name] = nb
            if status is Status.OK:
                status, detail, stderr = one_status, one_detail, one_stderr
        status, detail = _outcome_status(list(executed.values()), status, detail)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Outcome(payload["key"], status, detail, round(time.monotonic() - start, 3),
                   {k: notebook_text(v, compact=True) for k, v in executed.items()}, stderr)
