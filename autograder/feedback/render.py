"""Feedback pages rendered beside the grading loop, never inside it.

nbconvert takes more CPU per submission than everything else the grader does,
and the grader is one process that every submission passes through.  So the
loop that scores submissions and feeds kernels only hands the page job (plain
data: the executed notebooks, the assembled ones, the result the grader judged)
to a :class:`Renderer`: a few processes of their own, or -- with a Dask cluster
-- a task beside the submissions'.  The pages come back as text; the grader
writes them before the submission's grades and record (see
:mod:`autograder.pipeline`), so a record on disk still means its pages exist.
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
import threading

from autograder.assemble import notebook_text
from autograder.feedback.pages import feedback_html
from autograder.feedback.withhold import hidden_snippets, withhold
from autograder.record import Result

__all__ = ["Renderer", "page_job", "render_pages"]

_PR_SET_PDEATHSIG = 1


def page_job(student: str, assignment: str, result: Result, executed: dict,
             assembled: dict) -> dict:
    """What :func:`render_pages` needs for one submission (picklable; ``executed``: the
    notebooks as the teacher reads them, by name)."""
    return {"student": student, "assignment": assignment, "result": result,
            "notebooks": [(name, executed.get(name), asm) for name, asm in assembled.items()]}


def render_pages(job: dict) -> dict:
    """``{"pages": {notebook name: feedback page HTML}, "notebooks": {name: autograded notebook
    JSON}}`` for one submission (unreadable notebooks get a page too)."""
    pages, result = {}, job["result"]
    # the autograded notebooks' text too: nbformat's writer is slow on executed notebooks
    texts = {name: notebook_text(nb) for name, nb, _ in job["notebooks"] if nb is not None}
    for name, nb, asm in job["notebooks"]:
        nb = nb if nb is not None else {"cells": []}
        by_index = {t.index: e for t, e in zip(asm.tests, (
            e for e in result.tests if e.notebook == name), strict=False)}
        nb, by_index = withhold(nb, by_index, hidden_snippets(asm))  # no hidden test quoted
        pages[name] = feedback_html(job["student"], job["assignment"], name, nb, by_index,
                                    asm.shown, result)
    return {"pages": pages, "notebooks": texts}


class _Worker:
    """One rendering process (``python -m autograder.feedback.render``) and the thread that
    hands it jobs: length-prefixed pickles over its standard input and output."""

    def __init__(self, jobs: queue.Queue):
        self.jobs = jobs
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "autograder.feedback.render"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.thread = threading.Thread(target=self._serve, name="pages", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            item = self.jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                _send(self.process.stdin, job)
                ok, value = _receive(self.process.stdout)
            except Exception as exc:  # the process is gone: this job and the rest fail over
                future.set_exception(exc)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(RuntimeError(value))

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _send(stream, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the rendering process exited")
    size = struct.unpack("<Q", head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the rendering process exited")
    return pickle.loads(data)


class Renderer:
    """Renders page jobs away from the grading loop: processes of its own, or a Dask cluster.

    :meth:`submit` returns a future (``done()``, ``result()``) of :func:`render_pages`.
    The processes start with the first job.
    """

    def __init__(self, client=None, processes: int | None = None):
        self.client = client
        self.processes = processes or max(1, min(4, (os.cpu_count() or 1) // 4))
        self._jobs: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = []

    def submit(self, job: dict):
        """Start rendering ``job``; a future of its pages."""
        if self.client is not None:
            return self.client.submit(render_pages, job, pure=False, retries=1,
                                      key=f"pages-{job['student']}-{os.urandom(4).hex()}")
        if not self._workers:
            self._workers = [_Worker(self._jobs) for _ in range(self.processes)]
        future: cf.Future = cf.Future()
        self._jobs.put((job, future))
        return future

    def close(self) -> None:
        """Stop the rendering processes (a page still in progress is abandoned)."""
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.close()
        self._workers = []


def _serve_jobs() -> None:
    """The rendering process: jobs in on standard input, pages out on standard output."""
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
            reply = (True, render_pages(job))
        except Exception as exc:  # the grader renders this one itself
            reply = (False, f"{type(exc).__name__}: {exc}")
        _send(stdout, reply)


if __name__ == "__main__":
    _serve_jobs()
