"""Feedback pages rendered beside the grading loop, never inside it.

nbconvert takes more CPU per submission than everything else the grader does,
and the grader is one process that every submission passes through.  So the
loop that scores submissions and feeds kernels only hands the page job (plain
data: the executed notebooks, the assembled ones, the result the grader judged)
to a :class:`Renderer`: a few processes of their own, or -- with a Dask cluster
-- a task beside the submissions'.  The pages come back as text; the grader
writes them before the submission's grades and record (see
:mod:`autograder.feedback.save`), so a record on disk still means its pages exist.
"""
from __future__ import annotations

import os

from autograder.assemble import notebook_text
from autograder.execute.pool import ProcessPool, serve
from autograder.feedback.pages import feedback_html
from autograder.feedback.withhold import hidden_snippets, withhold
from autograder.record import Result

__all__ = ["Renderer", "page_job", "render_pages"]


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


class Renderer:
    """Renders page jobs away from the grading loop: processes of its own, or a Dask cluster.

    :meth:`submit` returns a future (``done()``, ``result()``) of :func:`render_pages`.
    The processes start with the first job.
    """

    def __init__(self, client=None, processes: int | None = None):
        self.client = client
        self.processes = processes or max(1, min(4, (os.cpu_count() or 1) // 4))
        self._pool = ProcessPool("autograder.feedback.render", self.processes, name="pages")

    def submit(self, job: dict):
        """Start rendering ``job``; a future of its pages."""
        if self.client is not None:
            return self.client.submit(render_pages, job, pure=False, retries=1,
                                      key=f"pages-{job['student']}-{os.urandom(4).hex()}")
        return self._pool.submit(job)

    def close(self) -> None:
        """Stop the rendering processes (a page still in progress is abandoned)."""
        self._pool.close()


if __name__ == "__main__":  # a rendering process of a Renderer's pool
    serve(render_pages)
