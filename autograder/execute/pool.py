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
import pickle
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading

__all__ = ["ProcessPool", "HelperDied", "serve"]

_PR_SET_PDEATHSIG = 1
_STDERR_KEPT = 2048  # bytes of a dead helper's standard error kept for the log


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
        """Stop the helpers (a job still in progress is abandoned: its process is killed)."""
        for _ in self._helpers:
            self._jobs.put(None)
        for helper in self._helpers:
            helper.close()
        self._helpers = []
        while True:  # jobs nobody took: cancelled, so that no caller waits for them
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].cancel()


class _Helper:
    """One helper process and the thread that hands it jobs from the pool's queue."""

    def __init__(self, module: str, jobs: queue.Queue, name: str):
        self.module, self.jobs = module, jobs
        self.process: subprocess.Popen | None = None
        self.stderr = None   # the process's standard error: a file of ours, read if it dies
        self._code: int | None = None
        self.closed = False  # no job starts after close(), even one queued before it
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def _start(self) -> subprocess.Popen:
        self.stderr = tempfile.TemporaryFile()
        return subprocess.Popen([sys.executable, "-P", "-m", self.module],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)

    def _serve(self) -> None:
        while True:
            item = self.jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with self.lock:  # (close() takes it too: no process starts after it)
                    if self.closed:
                        future.set_exception(cf.CancelledError("the pool was closed"))
                        continue
                    if self.process is None or self.process.poll() is not None:
                        self.process = self._start()
                    process = self.process
                _send(process.stdin, job)
                ok, value = _receive(process.stdout)
            except Exception as exc:  # the helper is gone: this job fails, the next gets a new one
                future.set_exception(self._died(exc))
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _stop(self) -> None:
        with self.lock:
            process, self.process = self.process, None
        if process is None:
            return
        try:  # its input closed, a helper between jobs exits by itself (and says why it died)
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(0.2)
        except subprocess.TimeoutExpired:
            process.kill()
        self._code = process.wait()
        process.stdout.close()

    def _died(self, exc: BaseException) -> HelperDied:
        """Stop the process; what killed the job, with the end of its standard error."""
        self._stop()
        code = self._code
        tail = ""
        if self.stderr is not None:
            self.stderr.seek(max(0, self.stderr.seek(0, 2) - _STDERR_KEPT))
            tail = self.stderr.read().decode(errors="replace")
            self.stderr.close()
            self.stderr = None
        why = f"exit status {code}" if code is not None and code >= 0 else (
            f"killed by signal {-code}" if code is not None else type(exc).__name__)
        return HelperDied(f"the helper process {self.module} died ({why})", tail)

    def close(self) -> None:
        with self.lock:
            self.closed = True
        self._stop()
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


def _send(stream, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
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


def serve(handle) -> None:
    """The helper's main loop: ``handle(job)`` for each job on standard input, its result (or
    its exception) back on standard output, until the input closes."""
    import ctypes
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    try:  # dies with the grader, even one killed with kill -9
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: it exits when its input closes
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may corrupt the replies
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
