"""Saving graded submissions in order: feedback pages first, then gradebook and record.

The grading loop hands each result to a :class:`PageWriter` and goes on feeding
kernels; the pages are rendered beside it (:mod:`.render`) and, once they are
written, :meth:`autograder.store.Store.save` commits the grades and writes the
record.  So a record on disk means its pages exist, and a batch killed in
between grades those submissions again.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from autograder.assemble.files import inside
from autograder.course import folder
from autograder.feedback.render import page_job, render_pages
from autograder.record import Result

__all__ = ["PageWriter", "write_feedback"]


def write_feedback(course: Path, student: str, assignment: str, pages: dict) -> None:
    """The pages of one submission (``{notebook name: HTML}``), and what
    ``nbgrader release_feedback`` reads beside them."""
    out = folder(course, "feedback", student, assignment)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        given = folder(course, "submitted", student, assignment) / name
        if given.is_file() and inside(given.parent, given):
            shutil.copyfile(given, out / name)
    for name, html in pages.items():
        tmp = out / f".{name}.html.tmp"
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, out / f"{name}.html")


class PageWriter:
    """Submissions whose pages are being rendered; each is saved once its pages are written.

    ``limit``: how many may wait for their pages before the grading loop waits
    for the oldest (the renderers fell behind).
    """

    def __init__(self, course: Path, assignment: str, store, renderer, limit: int):
        self.course, self.assignment, self.store = course, assignment, store
        self.renderer, self.limit = renderer, limit
        self.waiting: dict = {}    # future -> (result, executed, assembled, timestamp, job)
        self.saved: dict = {}      # student -> the result as recorded

    def add(self, result: Result, executed: dict, assembled: dict, timestamp: str | None) -> None:
        """Render (then save) one final result; an error scored nothing and has no pages.

        ``executed``: the notebooks as the teacher reads them, by name;
        ``assembled``: each notebook's :class:`~autograder.assemble.Assembled`.
        """
        if not result.status.scored:
            self.saved[result.student] = self.store.save(result, executed, timestamp)
            return
        job = page_job(result.student, self.assignment, result, executed, assembled)
        self.waiting[self.renderer.submit(job)] = (result, executed, timestamp, job)
        if len(self.waiting) >= self.limit:
            self._save(next(iter(self.waiting)))
        self.settle()

    def settle(self, wait: bool = False) -> None:
        """Save every submission whose pages are done (all of them, waiting, if ``wait``)."""
        for future in list(self.waiting):
            if wait or future.done():
                self._save(future)

    def _save(self, future) -> None:
        result, executed, timestamp, job = self.waiting.pop(future)
        try:
            done = future.result()
        except Exception as exc:  # a renderer lost (killed, a worker gone): render here
            self.store.note(result.student, f"feedback rendered by the grader "
                            f"({type(exc).__name__}: {exc})")
            done = _rendered_or_none(job, self.store, result.student)
        write_feedback(self.course, result.student, self.assignment, done["pages"])
        self.saved[result.student] = self.store.save(
            result, {**executed, **done["notebooks"]}, timestamp)


def _rendered_or_none(job: dict, store, student: str) -> dict:
    """:func:`render_pages` here; no pages (noted in the log) when it fails here too: the
    submission's grade is saved all the same."""
    try:
        return render_pages(job)
    except Exception as exc:
        store.note(student, f"no feedback page: rendering failed ({type(exc).__name__}: {exc})")
        return {"pages": {}, "notebooks": {}}
