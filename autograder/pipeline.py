"""Grading one assignment's class: prepare, execute, score, save -- results back, nothing printed.

For each ``submitted/<student>/<assignment>/`` the graded notebooks are rebuilt
from ``source/`` (:mod:`autograder.assemble`), executed in a working copy of
their own by local worker processes or Dask tasks (:mod:`autograder.execute`), scored in
this process from the observations that came back (:mod:`autograder.judge`) and
saved by one writer, pages first (:mod:`autograder.feedback.save`,
:mod:`autograder.store`).  A submission whose record matches its files is
skipped, so an interrupted batch resumes where it stopped.

This module only orchestrates: :func:`grade_class` settles the options and
builds a :class:`GradingRun`, which holds what every step needs and drives the
loop.  The ``grade`` command adds arguments and the summary.
"""
from __future__ import annotations

import collections
import functools
import os
import secrets
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import UsageError
from autograder.assemble import Assembled, assemble, notebook_from, notebook_text, preamble_source
from autograder.assemble.files import code_size, read_sources, read_submission, student_files
from autograder.course import course_root, course_setting, folder, late_penalties, markers
from autograder.course import students as submitters
from autograder.execute.kernels import close_fork_servers
from autograder.execute.runners import connect, error_outcome, run_dask, run_local
from autograder.execute.sandbox import choose, forks, sandbox_status, switched_off
from autograder.execute.warmup import preload_for, warm_up
from autograder.feedback.render import Renderer
from autograder.feedback.save import PageWriter
from autograder.judge.score import checks_called, grading_plans, score_cell, unanswered
from autograder.record import Outcome, Result, Status
from autograder.store import Store, read_record, recorded, submission_sha256, utc_now

__all__ = ["Batch", "GradingRun", "grade_class", "isolation_state", "longest_first", "RETRIES",
           "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 60.0  # seconds per cell when the course's Execute.timeout says nothing
RETRIES = 2  # more runs of a submission the grader itself failed, each in a fresh kernel


@dataclass
class Batch:
    """What one grading run did: every row of the class, and which were graded now."""

    rows: list[Result] = field(default_factory=list)    # one per student, graded now or before
    graded: list[Result] = field(default_factory=list)  # the results of this run
    csv_path: Path | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        """Submissions the grader failed to grade (after its retries): no score at all."""
        return sum(not r.status.scored for r in self.graded)


@dataclass
class _Prepared:
    """What scoring a submission needs to know besides what its kernel sent back."""

    assembled: dict           # notebook name -> Assembled (graded notebook and its tests)
    problems: dict            # notebook name -> Status.MISSING or Status.MALFORMED
    sha: str = ""             # the submission's files, hashed (the record's key to resume)
    timestamp: str | None = None


def isolation_state(isolation: bool, scheduler, sandbox: str | None = None) -> tuple[bool, str]:
    """(student code runs unisolated, why); a :class:`UsageError` where it would have to and
    ``isolation`` asks not to (Dask workers decide for themselves)."""
    isolation = isolation and not switched_off()
    isolated, why = sandbox_status(sandbox)
    if isolation and not isolated and not scheduler:
        raise UsageError(f"cannot isolate submissions here: {why}; run as root or where user "
                         "namespaces are allowed, or pass --no-isolation to run student code "
                         "with the grader's own rights")
    return (not isolation and not isolated), why or "asked for"


def grade_class(course: Path, assignment: str, *, workers=None, scheduler=None, timeout=None,
                submission_timeout=600.0, memory: int | None = 4 * 1024 ** 3, processes=None,
                force=False, students=None, progress=True, fork=True,
                isolation=True, sandbox=None) -> Batch:
    """Grade ``assignment``: gradebook, autograded/, feedback/, records and grades.csv.

    ``timeout`` is per cell (None: the course's ``Execute.timeout``), ``submission_timeout``
    per submission, ``memory`` the cap per submission in bytes (None: no cap),
    ``processes`` the most processes a submission may run at once (None: 64 + 3 per core,
    since an isolated kernel's threads count too and TensorFlow sizes its pools by the
    cores).  ``isolation=False`` grades even where kernels cannot be isolated.  ``sandbox``
    names how kernels are isolated (``namespaces``, ``bubblewrap``; None: the default here).
    """
    course = course_root(course)
    sources, files = read_sources(course, assignment)
    if not scheduler:  # (Dask workers decide for themselves)
        if sandbox is not None:
            choose(sandbox)                # one line when it cannot work here
        fork = fork and forks(sandbox)     # bubblewrap's kernels boot fresh: no server to warm
    unisolated, _ = isolation_state(isolation, scheduler, sandbox)
    found = submitters(course, "submitted", assignment)
    wanted = sorted(set(students)) if students else found
    if timeout is None:
        timeout = course_setting(course, "Execute", "timeout", DEFAULT_TIMEOUT)
    workers = workers or os.cpu_count() or 1
    settings = {"isolation": isolation and not switched_off(), "timeout": float(timeout),
                "threads": None if scheduler else max(1, (os.cpu_count() or 1) // workers),
                "submission_timeout": float(submission_timeout),
                "startup_timeout": float(course_setting(course, "Execute", "startup_timeout", 120)),
                "fork": bool(fork), "preload": preload_for(sources.values()), "sandbox": sandbox,
                "limits": {"memory": memory, "core": 0,
                           "processes": processes or 64 + 3 * (os.cpu_count() or 1)}}
    shas = {s: _sha(course, s, assignment) for s in wanted}
    if fork and not scheduler and any(
            sha and (force or not recorded(course, s, assignment, sha)) for s, sha in shas.items()):
        warm_up(settings["preload"])  # while the gradebook opens and payloads are built
    started = time.monotonic()
    store = Store(course, assignment, sources, late=late_penalties(course))
    client = None
    try:
        client = connect(scheduler) if scheduler else None
        if unisolated:
            store.note("-", "this batch runs unisolated: student code has the grader's rights")
        run = GradingRun(course, assignment, store.graded_sources(sources), files, settings,
                         store, client=client, workers=workers, progress=progress, shas=shas)
        batch = Batch()
        todo = []
        for student in wanted:
            if not force and shas[student] and store.is_graded(student, shas[student]):
                batch.rows.append(read_record(course, student, assignment))
            else:
                todo.append(student)
        batch.graded = run.grade(todo)
        batch.rows += batch.graded
        batch.csv_path = store.write_csv(sorted(set(found) | {r.student for r in batch.rows}))
    finally:
        store.close()
        if client is not None:
            client.close()
        close_fork_servers()  # (each worker killed its own kernels when it was stopped)
    batch.seconds = time.monotonic() - started
    return batch


@dataclass
class GradingRun:
    """One assignment being graded: what every step needs, named once.

    ``sources`` are the source notebooks with their test cells as the gradebook
    keeps them; ``files`` the other files of ``source/<assignment>`` (bytes);
    ``settings`` what every payload carries (limits, timeouts, isolation,
    preload); ``client`` a Dask client, or None for ``workers`` local worker processes;
    ``shas`` each submission's hash as the run found it (hashed once: every file is read).
    """

    course: Path
    assignment: str
    sources: dict
    files: dict
    settings: dict
    store: Store
    client: object = None
    workers: int = 1
    progress: bool = True
    shas: dict = field(default_factory=dict)
    checks: list = field(init=False)

    def __post_init__(self):
        self.checks = checks_called(self.sources.values())  # their inputs are the grader's

    def grade(self, students: list[str]) -> list[Result]:
        """Grade ``students``' submissions, longest expected first; their saved results."""
        from tqdm import tqdm
        students = longest_first(
            students, {s: getattr(read_record(self.course, s, self.assignment), "duration_s",
                                  None) for s in students},
            {s: code_size(folder(self.course, "submitted", s, self.assignment)) for s in students})
        feed = _Feed(students, self.prepare)
        renderer = Renderer(self.client)
        slots = sum(self.client.nthreads().values()) if self.client else self.workers
        pages = PageWriter(self.course, self.assignment, self.store, renderer,
                           limit=4 * max(1, slots))
        stream = (run_dask(feed, self.client) if self.client is not None
                  else run_local(feed, self.workers))
        order = []
        bar = tqdm(total=len(students), disable=not self.progress or not students,
                   unit="submission", file=sys.stderr, dynamic_ncols=True)
        try:
            for payload, outcome in stream:
                student, attempt = payload["key"], payload.get("attempt", 0)
                result, executed = self._judged(outcome, payload, feed.infos[student])
                if not result.status.scored and attempt < RETRIES:
                    # the grader's fault, not the student's: again, in a kernel of its own
                    self.store.note(student, f"attempt {attempt + 1} failed ({result.detail}); "
                                    "retrying")
                    feed.retries.append({**payload, "attempt": attempt + 1, "fork": False})
                    bar.set_postfix_str(f"{student}: retrying", refresh=False)
                    pages.settle()
                    continue
                info = feed.infos.pop(student)
                pages.add(result, executed, info.assembled, info.timestamp)  # saved when rendered
                order.append(student)
                bar.set_postfix_str(f"{student}: {result.status}", refresh=False)
                bar.update(1)
            for student, exc in feed.failed:  # no payload could be built: one row each
                result, _ = self.score(error_outcome(student, exc), {}, _Prepared({}, {}))
                pages.add(result, {}, {}, None)
                order.append(student)
                bar.update(1)
            pages.settle(wait=True)
        finally:
            stream.close()  # its workers stop now, not whenever the generator is collected
            bar.close()
            renderer.close()
        return [pages.saved[student] for student in order]

    def prepare(self, student: str) -> tuple[dict, _Prepared]:
        """The payload to execute for ``student``, and what scoring it needs to know."""
        where = folder(self.course, "submitted", student, self.assignment)
        problems, notebooks, assembled = {}, {}, {}
        for name, source in self.sources.items():
            submitted, problem = read_submission(where, name)
            if problem:
                problems[name] = problem
            assembled[name] = asm = assemble(name, source, submitted, markers(self.course))
            if submitted is not None:
                notebooks[name] = _kernel_notebook(asm)
        stamp = where / "timestamp.txt"
        nonce = secrets.token_hex(16)
        plans = grading_plans(self.checks, nonce) if notebooks else {}
        payload = {"key": student, "notebooks": notebooks, "nonce": nonce,
                   "files": {**student_files(self.course, where), **self.files, **plans},
                   **self.settings}
        sha = self.shas.get(student)
        if sha is None:
            sha = _sha(self.course, student, self.assignment)
        return payload, _Prepared(assembled, problems, sha,
                                  stamp.read_text().strip() if stamp.is_file() else None)

    def score(self, outcome: Outcome, payload: dict, info: _Prepared) -> tuple[Result, dict]:
        """The result of one run, and its executed notebooks as the teacher reads them."""
        tests, executed = [], {}
        for name, asm in info.assembled.items():
            text = outcome.notebooks.get(name)
            nb = notebook_from(text) if text else None
            cells = nb.cells[1:] if nb else None  # the preamble is the grader's, not a cell
            if nb:
                nb.cells = cells
                executed[name] = nb
            for test in asm.tests:
                cell = cells[test.index] if cells and test.index < len(cells) else None
                ran = cell is not None and cell.get("execution_count") is not None
                if cell is not None:  # the teacher reads the test as written, not as it ran
                    cell.source = asm.notebook.cells[test.index].source
                entry = score_cell(test, cell.get("outputs", []) if ran else None,
                                   payload["nonce"],
                                   self.store.points(name, test.grade_id, test.max_points))
                if test.manual and not test.task and not self.store.answered(
                        name, asm.notebook.cells[test.index]):
                    entry = unanswered(entry)
                tests.append(entry)
        status, detail = outcome.status, outcome.detail
        if info.problems and status in (Status.OK, Status.MISSING):
            status = (Status.MALFORMED if Status.MALFORMED in info.problems.values()
                      else Status.MISSING)
            detail = "; ".join(f"{n}.ipynb is {p}" for n, p in sorted(info.problems.items()))
        max_score = sum(t.max_points for t in tests) if tests else self.store.total_points()
        return Result(outcome.key, self.assignment, status, detail,
                      # the grader failed, not the student: no score at all rather than a zero
                      score=round(sum(t.points for t in tests), 6) if status.scored else None,
                      max_score=round(max_score, 6), duration_s=outcome.duration_s,
                      submission_sha256=info.sha, graded_at=utc_now(),
                      tests=tuple(tests)), executed

    def _judged(self, outcome: Outcome, payload: dict, info: _Prepared) -> tuple[Result, dict]:
        """:meth:`score`, with a dead kernel's last words logged and a crash of the scorer
        turned into an ``error`` result (retried) instead of a crash of the batch."""
        if outcome.stderr:  # a kernel (or worker) that died: what it said on its way out
            self.store.note(outcome.key, f"the {outcome.stderr_from}'s error output:\n" + textwrap.indent(
                outcome.stderr.rstrip(), "    | ", lambda line: True))
        try:
            return self.score(outcome, payload, info)
        except Exception as exc:
            return self.score(error_outcome(outcome.key, exc), payload, info)


def _kernel_notebook(asm: Assembled) -> str:
    """The JSON text the kernel runs: the preamble, then the graded notebook with each test
    cell in its kernel form (asserts that report; the grader decides their verdicts)."""
    cells = list(asm.notebook.cells)  # a shallow copy: only the changed cells are new
    for test in asm.tests:
        if test.kernel_source:
            cells[test.index] = nbformat.NotebookNode(
                {**cells[test.index], "source": test.kernel_source})
    return notebook_text(nbformat.NotebookNode({**asm.notebook, "cells": [
        _preamble_cell(), *cells]}), compact=True)


@functools.cache
def _preamble_cell():
    """The kernel's first cell (:mod:`autograder.kernel_side`), built once."""
    return nbformat.v4.new_code_cell(preamble_source())


def _sha(course: Path, student: str, assignment: str) -> str:
    """The submission's hash ('' when its folder is gone)."""
    where = folder(course, "submitted", student, assignment)
    return submission_sha256(where) if where.is_dir() else ""


def longest_first(students: list[str], previous: dict, sizes: dict) -> list[str]:
    """Students in the order to start grading them: the longest expected first.

    With a pool of workers the batch ends when its last submission does; starting
    the long ones first leaves the short ones (blanks, broken notebooks) to fill the
    end instead of one long run on an otherwise idle machine.  A submission graded
    before is expected to take as long as it did then (``previous``: seconds); one
    never graded comes before those, ordered by the bytes of its notebooks
    (``sizes``: a blank holds little).
    """
    def expected(student):
        seconds = previous.get(student)
        return (seconds if isinstance(seconds, (int, float)) else float("inf"),
                sizes.get(student, 0))
    return sorted(students, key=expected, reverse=True)


class _Feed:
    """The payloads to run, built one at a time as workers free up; queued retries go first.

    Only the submissions in flight are held in memory, so a class of thousands
    costs what a few submissions cost.  The runners ask again after every
    result, so a retry queued while scoring is picked up even after the
    students ran out.
    """

    def __init__(self, students: list[str], prepare):
        self._students, self._prepare = iter(students), prepare
        self.retries: collections.deque = collections.deque()
        self.infos: dict = {}      # student -> what the scorer needs, while in flight
        self.failed: list = []     # (student, exception) whose payload could not be built

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self.retries:
            return self.retries.popleft()
        for student in self._students:
            try:
                payload, self.infos[student] = self._prepare(student)
            except Exception as exc:  # one unreadable submission, not the batch
                self.failed.append((student, exc))
                continue
            return payload
        raise StopIteration
