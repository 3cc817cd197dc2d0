"""Helper processes fed over pipes: jobs in, results out, one job at a time per process.

The grader is one process that every submission passes through, so work that
scales with the class runs in helpers: local grading workers
(:mod:`autograder.execute.worker`) and feedback renderers
(:mod:`autograder.feedback.render`).  A :class:`ProcessPool` starts
``python -P -m MODULE`` processes (``-P``: a course folder that holds its own
copy of the package shadows nothing); each serves length-prefixed pickles on its
standard input and output with :func:`serve`, ignores Ctrl-C (the grader's to
handle) and dies with the grader, even one killed with ``kill -9``.  A helper
that dies fails its job (the caller decides what that means) and is replaced
for the next one.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ["ProcessPool", "HelperDied", "serve"]

_PR_SET_PDEATHSIG = 1
_STDERR_KEPT = 2048  # bytes of a dead helper's standard error kept for the log
_GRACE = 3.0  # seconds a busy helper gets to stop (a grading worker kills its kernels)


class HelperDied(EOFError):
    """A helper process exited while it had a job; ``stderr`` is the end of what it wrote."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


class ProcessPool:
    """``processes`` helpers running ``module``; :meth:`submit` returns a future of its reply.

    The processes start with the first job.  A job's exception in the helper is
    raised by ``future.result()`` (as itself when it pickles, else as a
    ``RuntimeError`` with its text); a helper that died raises :class:`HelperDied`.
    """

    def __init__(self, module: str, processes: int, name: str = "pool"):
        self.module, self.processes, self.name = module, max(1, processes), name
        self._jobs: queue.Queue = queue.Queue()
        self._helpers: list[_Helper] = []

    def submit(self, job) -> cf.Future:
        if not self._helpers:
            self._helpers = [_Helper(self.module, self._jobs, f"{self.name}-{i}")
                             for i in range(self.processes)]
        future: cf.Future = cf.Future()
        self._jobs.put((job, future))
        return future

    def close(self) -> None:
        """Stop the helpers: idle ones exit when their input closes; a busy one is asked to
        stop (SIGTERM: a grading worker then kills its kernels) and killed after a grace."""
        for _ in self._helpers:
            self._jobs.put(None)
        processes = [helper.stop() for helper in self._helpers]  # all asked at once
        deadline = time.monotonic() + _GRACE
        for process in filter(None, processes):
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for helper in self._helpers:
            helper.release()
        self._helpers = []
        while True:  # jobs nobody took: cancelled, so that no caller waits for them
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].cancel()


class _Helper:
    """One helper process and the thread that hands it jobs from the pool's queue.

    ``lock`` guards the process, its error file and ``closed``: the serving
    thread and :meth:`ProcessPool.close` both stop processes.
    """

    def __init__(self, module: str, jobs: queue.Queue, name: str):
        self.module, self.jobs = module, jobs
        self.process: subprocess.Popen | None = None
        self.stderr = None   # the process's standard error: a file of ours, read if it dies
        self.busy = False    # a job is in the process
        self.closed = False  # no job starts after close(), even one queued before it
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def _process(self) -> subprocess.Popen | None:
        """The running process (a new one if the last died between jobs); None once closed."""
        with self.lock:
            if self.closed:
                return None
            if self.process is not None and self.process.poll() is not None:
                _close(self.process)  # died idle (killed from outside): replaced
                self.process = None
            if self.process is None:
                if self.stderr is not None:
                    self.stderr.close()
                self.stderr = tempfile.TemporaryFile()
                self.process = subprocess.Popen(
                    [sys.executable, "-P", "-m", self.module], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=self.stderr)
            else:  # what it wrote during the last job, which ended well, is of no interest
                self.stderr.seek(0)
                self.stderr.truncate()
            self.busy = True
            return self.process

    def _serve(self) -> None:
        while True:
            item = self.jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                data = _dumps(job)
            except Exception as exc:  # the job itself cannot travel: the helper is fine
                future.set_exception(exc)
                continue
            try:
                process = self._process()
                if process is None:
                    future.set_exception(cf.CancelledError("the pool was closed"))
                    continue
                process.stdin.write(data)
                process.stdin.flush()
                ok, value = _receive(process.stdout)
            except Exception as exc:  # the helper is gone: this job fails, the next gets a new one
                future.set_exception(self._died(exc))
                continue
            finally:
                self.busy = False
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _died(self, exc: BaseException) -> HelperDied:
        """What killed the job: the process's exit and the end of its standard error."""
        with self.lock:
            process, self.process = self.process, None
            stderr, self.stderr = self.stderr, None
        code = None
        if process is not None:
            try:
                code = process.wait(1.0)
            except subprocess.TimeoutExpired:  # alive but not answering: it cannot be trusted
                process.kill()
                code = process.wait()
            _close(process)
        tail = ""
        if stderr is not None:
            stderr.seek(max(0, stderr.seek(0, 2) - _STDERR_KEPT))
            tail = stderr.read().decode(errors="replace")
            stderr.close()
        why = (f"exit status {code}" if code is not None and code >= 0
               else f"killed by signal {-code}" if code is not None else type(exc).__name__)
        return HelperDied(f"the helper process {self.module} died ({why})", tail)

    def stop(self) -> subprocess.Popen | None:
        """Close the process's input (it exits between jobs) and ask a busy one to stop;
        the process, for the caller to wait for."""
        with self.lock:
            self.closed = True
            process = self.process
        if process is None:
            return None
        try:
            process.stdin.close()
        except OSError:
            pass
        if self.busy and process.poll() is None:
            process.terminate()
        return process

    def release(self) -> None:
        """Free what is left of a stopped helper (its pipes and error file)."""
        with self.lock:
            process, self.process = self.process, None
            stderr, self.stderr = self.stderr, None
        if process is not None:
            _close(process)
        if stderr is not None:
            stderr.close()


def _close(process: subprocess.Popen) -> None:
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except (OSError, ValueError):
            pass


def _dumps(value) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("<Q", len(data)) + data


def _send(stream, value) -> None:
    stream.write(_dumps(value))
    stream.flush()


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the helper process exited")
    size = struct.unpack("<Q", head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the helper process exited")
    return pickle.loads(data)


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` itself when it survives a round trip through pickle, else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _terminated(signum, frame):
    """SIGTERM: unwind (``finally`` blocks run: a grading worker kills its kernels), then exit."""
    raise SystemExit(128 + signum)


def serve(handle) -> None:
    """The helper's main loop: ``handle(job)`` for each job on standard input, its result (or
    its exception) back on standard output, until the input closes."""
    import ctypes
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    try:  # dies with the grader, even one killed with kill -9
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: it exits when its input closes
        pass
    signal.signal(signal.SIGTERM, _terminated)  # the pool stops a busy helper so
    # the pipes to the grader on descriptors of their own, which no child inherits: what a
    # child of this process writes to 1 or reads from 0 can neither corrupt nor steal a message
    stdin, stdout = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    while True:
        try:
            job = _receive(stdin)
        except EOFError:
            return
        try:
            reply = (True, handle(job))
        except Exception as exc:  # the caller decides what a failed job means
            reply = (False, _picklable(exc))
        _send(stdout, reply)
