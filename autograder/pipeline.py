"""Grading one assignment's class: prepare, execute, score, write -- rows back, nothing printed.

For each ``submitted/<student>/<assignment>/`` the graded notebooks are rebuilt
from ``source/`` (:mod:`autograder.assemble`), executed in a working copy of
their own by worker threads or Dask tasks (:mod:`autograder.execute`), scored in
this process from the observations that came back (:mod:`autograder.judge`) and
written by one writer (:mod:`autograder.store`, :mod:`autograder.feedback`).  A
submission whose record matches its files is skipped, so an interrupted batch
resumes where it stopped.  :func:`grade_class` is the whole of it; the
``grade`` command adds arguments and the summary.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import os
import re
import secrets
import shutil
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import UsageError
from autograder.assemble import assemble, notebook_from, notebook_text, preamble_source
from autograder.course import (
    course_config,
    course_root,
    course_setting,
    folder,
    gradebook_url,
    ignored,
    markers,
)
from autograder.course import students as submitters
from autograder.execute.kernels import close_fork_servers, fork_server
from autograder.execute.payload import kill_running
from autograder.execute.runners import connect, error_outcome, run_dask, run_local
from autograder.execute.sandbox import sandbox_status, switched_off
from autograder.feedback.render import Renderer, page_job, render_pages
from autograder.judge.score import checks_called, grading_plans, score_cell, unanswered
from autograder.record import Outcome, Result, Status
from autograder.store import Store, read_record, submission_sha256, utc_now

__all__ = ["Batch", "grade_class", "isolation_state", "longest_first", "RETRIES",
           "DEFAULT_TIMEOUT"]

_TF_IMPORT = re.compile(r"^\s*(import|from)\s+tensorflow\b", re.M)
_MAX_STUDENT_FILES = 64 * 1024 * 1024
_DEFAULT_TIMEOUT = 60.0
_RETRIES = 2  # more runs of a submission the grader itself failed, each in a fresh kernel
# What every kernel imports while it starts (debugger included): the fork server
# imports it once, so a forked kernel is ready sooner.  TensorFlow is added when the
# source notebooks import it.
_KERNEL_MODULES = ("numpy", "IPython", "IPython.core.completer", "ipykernel.kernelapp",
                   "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.comm",
                   "ipykernel.debugger", "debugpy.server.api", "tornado.ioloop", "nn_utils")
RETRIES, DEFAULT_TIMEOUT = _RETRIES, _DEFAULT_TIMEOUT


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
    sources, files = _sources(course, assignment)
    unisolated, _ = isolation_state(isolation, scheduler, sandbox)
    isolation = isolation and not switched_off()
    found = submitters(course, "submitted", assignment)
    wanted = sorted(set(students)) if students else found
    preload = list(_KERNEL_MODULES)
    if any(_TF_IMPORT.search(c.source) for nb in sources.values() for c in nb.cells):
        preload.append("tensorflow")
    if timeout is None:
        timeout = course_setting(course, "Execute", "timeout", _DEFAULT_TIMEOUT)
    processes = processes or 64 + 3 * (os.cpu_count() or 1)
    workers = workers or os.cpu_count() or 1
    settings = {"isolation": isolation, "timeout": float(timeout),
                "threads": None if scheduler else max(1, (os.cpu_count() or 1) // workers),
                "submission_timeout": float(submission_timeout),
                "startup_timeout": float(course_setting(course, "Execute", "startup_timeout", 120)),
                "fork": bool(fork), "preload": preload, "sandbox": sandbox,
                "limits": {"memory": memory, "processes": processes, "core": 0}}
    client = connect(scheduler) if scheduler else None
    where = {s: folder(course, "submitted", s, assignment) for s in wanted}
    shas = {s: submission_sha256(where[s]) if where[s].is_dir() else "" for s in wanted}
    if fork and not scheduler and any(
            sha and (force or not _recorded(course, s, assignment, sha)) for s, sha in shas.items()):
        _warm_up(tuple(preload))
    store = Store(course, assignment, sources,  # nbgrader's own settings: formgrader agrees
                  db_url=gradebook_url(course),
                  course_id=course_setting(course, "CourseDirectory", "course_id",
                                           "default_course"),
                  late=_late_penalties(course))
    sources = store.graded_sources(sources)  # test cells as generate_assignment froze them
    if unisolated:
        store.note("-", "this batch runs unisolated: student code has the grader's rights")
    batch, todo = Batch(), []
    started = time.monotonic()
    try:
        for student in wanted:
            sha = shas[student]
            if not force and sha and store.is_graded(student, sha):
                batch.rows.append(read_record(course, student, assignment))
                continue
            todo.append(student)
        todo = longest_first(todo, {s: getattr(read_record(course, s, assignment), "duration_s",
                                               None) for s in todo},
                             {s: _code_size(where[s]) for s in todo})
        prepare = functools.partial(_prepare, course, assignment, sources=sources, files=files,
                                    settings=settings, checks=checks_called(sources.values()))
        batch.graded = _grade(course, assignment, todo, prepare, store, workers, client, progress)
        batch.rows += batch.graded
        batch.csv_path = store.write_csv(sorted(set(found) | {r.student for r in batch.rows}))
    finally:
        store.close()
        if client is not None:
            client.close()
        kill_running()
        close_fork_servers()
    batch.seconds = time.monotonic() - started
    return batch


def _kept(course: Path, base: Path, path: Path) -> bool:
    """Whether nbgrader would copy ``path`` (no part of it matches CourseDirectory.ignore)."""
    return not any(ignored(course, part) for part in path.relative_to(base).parts)


def _sources(course: Path, assignment: str) -> tuple[dict, dict]:
    base = folder(course, "source", ".", assignment)
    if not base.is_dir():
        raise UsageError(f"no such assignment: {base} does not exist")
    notebooks, files = {}, {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base).as_posix()
        if not path.is_file() or ".ipynb_checkpoints" in rel or not _kept(course, base, path):
            continue
        if path.suffix == ".ipynb" and "/" not in rel:
            try:
                notebooks[path.stem] = _with_header_footer(
                    course, nbformat.read(path, as_version=4))
            except UsageError:
                raise
            except Exception as exc:
                raise UsageError(f"cannot read the source notebook {path}: {exc}") from None
        else:
            files[rel] = path.read_bytes()
    if not notebooks:
        raise UsageError(f"{base} has no notebooks to grade")
    return notebooks, files


def _with_header_footer(course: Path, nb):
    """The notebook with the course's IncludeHeaderFooter cells, as students received it."""
    header = course_setting(course, "IncludeHeaderFooter", "header", "")
    footer = course_setting(course, "IncludeHeaderFooter", "footer", "")
    if not header and not footer:
        return nb
    from nbgrader.preprocessors import IncludeHeaderFooter
    with contextlib.chdir(course):  # nbgrader reads the two notebooks relative to the root
        try:
            nb, _ = IncludeHeaderFooter(config=course_config(course)).preprocess(nb, {})
        except OSError as exc:
            raise UsageError(f"cannot read the header or footer notebook: {exc}") from None
    return nb


def _inside(folder: Path, path: Path) -> bool:
    """False for a link (or a path through a linked folder) leading out of ``folder``."""
    return os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)


def _student_files(course: Path, folder: Path) -> dict:
    files, total = {}, 0
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        rel = path.relative_to(folder).as_posix()
        if (path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in rel
                and _inside(folder, path) and _kept(course, folder, path)):
            total += path.stat().st_size
            if total <= _MAX_STUDENT_FILES:
                files[rel] = path.read_bytes()
    return files


def _read_submission(folder: Path, name: str):
    """(notebook or None, problem or '') for one submitted notebook."""
    path = folder / f"{name}.ipynb"
    if not path.is_file():
        return None, "missing"
    if not _inside(folder, path):  # a link to the teacher's notebook is not an answer
        return None, "malformed"
    try:
        nb = nbformat.read(path, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cell list")
        return nb, ""
    except Exception:  # any unreadable notebook is 'malformed'
        return None, "malformed"


def _prepare(course, assignment, student, *, sources, files, settings,
             checks) -> tuple[dict, dict]:
    """The payload to execute and what the scorer needs to know about it (``checks``:
    the checks the source calls, whose inputs the grader chooses)."""
    where = folder(course, "submitted", student, assignment)
    problems, notebooks, assembled = {}, {}, {}
    for name, source in sources.items():
        submitted, problem = _read_submission(where, name)
        if problem:
            problems[name] = problem
        assembled[name] = asm = assemble(name, source, submitted, markers(course))
        if submitted is not None:
            # a shallow copy: only the cells the kernel runs differently are new
            cells = list(asm.notebook.cells)
            for test in asm.tests:  # asserts whose verdict the grader decides (see _expect)
                if test.kernel_source:
                    cells[test.index] = nbformat.NotebookNode(
                        {**cells[test.index], "source": test.kernel_source})
            nb = nbformat.NotebookNode({**asm.notebook, "cells": [
                nbformat.v4.new_code_cell(preamble_source()), *cells]})
            notebooks[name] = notebook_text(nb)
    stamp = where / "timestamp.txt"
    nonce = secrets.token_hex(16)
    plans = grading_plans(checks, nonce) if notebooks else {}
    payload = {"key": student, "notebooks": notebooks, "nonce": nonce,
               "files": {**_student_files(course, where), **files, **plans}, **settings}
    info = {"assembled": assembled, "problems": problems,
            "sha": submission_sha256(where) if where.is_dir() else "",
            "timestamp": stamp.read_text().strip() if stamp.is_file() else None}
    return payload, info


def _scored(student, assignment, outcome: Outcome, payload, info, store) -> tuple[Result, dict]:
    tests, executed = [], {}
    for name, asm in info["assembled"].items():
        text = outcome.notebooks.get(name)
        nb = notebook_from(text) if text else None
        cells = nb.cells[1:] if nb else None
        if nb:
            nb.cells = cells
            executed[name] = nb
        for test in asm.tests:
            cell = cells[test.index] if cells and test.index < len(cells) else None
            ran = cell is not None and cell.get("execution_count") is not None
            if cell is not None:  # the teacher reads the test as written, not as the kernel ran it
                cell.source = asm.notebook.cells[test.index].source
            entry = score_cell(test, cell.get("outputs", []) if ran else None, payload["nonce"],
                               store.points(name, test.grade_id, test.max_points))
            if test.manual and not test.task and not store.answered(
                    name, asm.notebook.cells[test.index]):
                entry = unanswered(entry)
            tests.append(entry)
    status, detail = outcome.status, outcome.detail
    if info["problems"] and status in (Status.OK, Status.MISSING):
        status = Status.MALFORMED if "malformed" in info["problems"].values() else Status.MISSING
        detail = "; ".join(f"{n}.ipynb is {p}" for n, p in sorted(info["problems"].items()))
    max_score = sum(t.max_points for t in tests) if tests else store.total_points()
    result = Result(student, assignment, status, detail,
                    # the grader failed, not the student: no score at all rather than a zero
                    score=round(sum(t.points for t in tests), 6) if status.scored else None,
                    max_score=round(max_score, 6), duration_s=outcome.duration_s,
                    submission_sha256=info["sha"], graded_at=utc_now(), tests=tuple(tests))
    return result, executed


def _write_feedback(course, student, assignment, pages: dict) -> None:
    """The pages of one submission, and what ``nbgrader release_feedback`` reads beside them."""
    out = folder(course, "feedback", student, assignment)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        given = folder(course, "submitted", student, assignment) / name
        if given.is_file() and _inside(given.parent, given):
            shutil.copyfile(given, out / name)
    for name, html in pages.items():
        tmp = out / f".{name}.html.tmp"
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, out / f"{name}.html")


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


def _code_size(folder: Path) -> int:
    """Bytes of the notebooks in a submission folder (0 when there are none)."""
    return sum(p.stat().st_size for p in folder.glob("*.ipynb") if p.is_file())


def _late_penalties(course: Path):
    """nbgrader's late-penalty preprocessor with the course's configuration (its plugin ready)."""
    from nbgrader.preprocessors import AssignLatePenalties
    try:
        late = AssignLatePenalties(config=course_config(course))
        late.init_plugin()
    except Exception as exc:  # a bad plugin_class is the teacher's to fix
        raise UsageError(f"cannot set up the late-submission plugin of nbgrader_config.py: "
                         f"{type(exc).__name__}: {exc}") from None
    return late


def _recorded(course: Path, student: str, assignment: str, sha: str) -> bool:
    """True when the submission's record matches ``sha`` (the gradebook is asked later)."""
    record = read_record(course, student, assignment)
    return record is not None and record.submission_sha256 == sha and record.status.scored


def _warm_up(preload: tuple[str, ...]) -> None:
    """Start the fork server (seconds of imports) while the gradebook opens and payloads build.

    A failed start is not reported here: the runner asks again and reports it then.
    """
    def start():
        try:
            fork_server(preload)
        except Exception:
            pass
    threading.Thread(target=start, name="fork-server-start", daemon=True).start()


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


class _Pages:
    """Submissions whose pages are being rendered; each is saved once its pages are written.

    The grading loop only hands a job to the :class:`Renderer` and goes on feeding
    kernels.  The order on disk stays what it was: pages, then gradebook, then
    record; a batch killed in between grades those submissions again.
    """

    def __init__(self, course, assignment, store, renderer, limit: int):
        self.course, self.assignment, self.store = course, assignment, store
        self.renderer, self.limit = renderer, limit
        self.waiting: dict = {}    # future -> (result, executed, info, job)
        self.saved: dict = {}      # student -> the result as recorded

    def add(self, result, executed, info) -> None:
        """Render (then save) one final result; an error scored nothing and has no pages."""
        if not result.status.scored:
            self.saved[result.student] = self.store.save(result, executed, info["timestamp"])
            return
        job = page_job(result.student, self.assignment, result, executed, info["assembled"])
        self.waiting[self.renderer.submit(job)] = (result, executed, info, job)
        if len(self.waiting) >= self.limit:  # the renderers fell behind: wait for the oldest
            self._save(next(iter(self.waiting)))
        self.settle()

    def settle(self, wait: bool = False) -> None:
        """Save every submission whose pages are done (all of them, waiting, if ``wait``)."""
        for future in list(self.waiting):
            if wait or future.done():
                self._save(future)

    def _save(self, future) -> None:
        result, executed, info, job = self.waiting.pop(future)
        try:
            done = future.result()
        except Exception as exc:  # a renderer lost (killed, a worker gone): render here
            self.store.note(result.student, f"feedback rendered by the grader "
                            f"({type(exc).__name__}: {exc})")
            done = render_pages(job)
        _write_feedback(self.course, result.student, self.assignment, done["pages"])
        self.saved[result.student] = self.store.save(
            result, {**executed, **done["notebooks"]}, info["timestamp"])


def _grade(course, assignment, students, prepare, store, workers, client,
           progress) -> list[Result]:
    from tqdm import tqdm
    feed = _Feed(students, prepare)
    renderer = Renderer(client)
    pages = _Pages(course, assignment, store, renderer,
                   limit=4 * max(1, sum(client.nthreads().values()) if client else workers))
    stream = run_dask(feed, client) if client is not None else run_local(feed, workers)
    rows = []
    bar = tqdm(total=len(students), disable=not progress or not students, unit="submission",
               file=sys.stderr, dynamic_ncols=True)
    try:
        for payload, outcome in stream:
            student, attempt = payload["key"], payload.get("attempt", 0)
            info = feed.infos[student]
            if outcome.stderr:  # a kernel that died: what it said on its way out
                store.note(student, "the kernel's error output:\n"
                           + textwrap.indent(outcome.stderr.rstrip(), "    | ", lambda line: True))
            try:
                result, executed = _scored(student, assignment, outcome, payload, info, store)
            except Exception as exc:  # one row with status 'error', not a crash
                result, executed = _scored(student, assignment, error_outcome(student, exc),
                                          payload, info, store)
            if not result.status.scored and attempt < _RETRIES:
                # the grader's fault, not the student's: again, in a kernel of its own
                store.note(student, f"attempt {attempt + 1} failed ({result.detail}); retrying")
                feed.retries.append({**payload, "attempt": attempt + 1, "fork": False})
                bar.set_postfix_str(f"{student}: retrying", refresh=False)
                pages.settle()
                continue
            del feed.infos[student]
            pages.add(result, executed, info)  # saved once its pages are written
            rows.append(student)
            bar.set_postfix_str(f"{student}: {result.status}", refresh=False)
            bar.update(1)
        for student, exc in feed.failed:
            info = {"assembled": {}, "problems": {}, "sha": "", "timestamp": None}
            result, _ = _scored(student, assignment, error_outcome(student, exc), {}, info, store)
            pages.add(result, {}, info)
            rows.append(student)
            bar.update(1)
        pages.settle(wait=True)
    finally:
        bar.close()
        renderer.close()
    return [pages.saved[student] for student in rows]
