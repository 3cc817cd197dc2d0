"""Build the notebook that is graded from the teacher's source, never from the student's.

Only the student's answers are taken from a submission (solution cells, matched by
``grade_id``, plus cells the student added).  Every test and locked cell comes from
``source/`` -- hidden tests included, markers removed -- in the source's order, with
the source's points and metadata; tags, kernelspec and anything else the student
controls are dropped.  Each test cell also records which ``check_*`` calls it makes
(parsed with ``ast``, :mod:`autograder.cells`) so the trusted side knows what
observations to expect, and the form the kernel runs, its asserts turned into
reports (:mod:`.rewrite`).  What the kernel is sent and sends back is
:mod:`autograder.protocol`'s; ``MIME``, ``TestCell``, ``ANY_SEED``,
``expected_checks``, ``notebook_text`` and ``notebook_from`` are re-exported here for
the grader's other stages.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import nbformat

from autograder import kernel_side, protocol
from autograder.assemble.rewrite import rewrite
from autograder.cells import ANY_SEED, TestCell, expected_checks
from autograder.course import Markers, markers
from autograder.protocol import MIME, notebook_from, notebook_text

__all__ = ["ANY_SEED", "MIME", "TestCell", "Assembled", "assemble", "expected_checks",
           "release_view", "preamble_source", "notebook_text", "notebook_from"]


@dataclass
class Assembled:
    """The graded notebook of one submission and its test cells."""

    notebook: nbformat.NotebookNode
    tests: list[TestCell] = field(default_factory=list)
    shown: dict = field(default_factory=dict)   # index -> source as released (feedback)


def _meta(cell) -> dict:
    nbg = cell.get("metadata", {}).get("nbgrader")
    return nbg if isinstance(nbg, dict) else {}


def release_view(cell, marks: Markers | None = None) -> str:
    """The cell's source as students were given it: solutions cleared, hidden tests removed
    (``marks``: the course's nbgrader markers; nbgrader's defaults when None)."""
    return _released(cell.source, cell.cell_type == "code", marks or markers())


# What follows from a source cell alone is the same for every submission: computed once.
@functools.lru_cache(maxsize=4096)
def _without_markers(source: str, marks: Markers) -> str:
    return marks.without_markers(source)


@functools.lru_cache(maxsize=1024)
def _rewritten(source: str, marks: Markers):
    return rewrite(source, marks)


@functools.lru_cache(maxsize=1024)
def _released(source: str, code: bool, marks: Markers) -> str:
    return marks.release_view(source, code=code).rstrip("\n")


def preamble_source() -> str:
    """The graded notebook's first cell: the kernel side of the protocol switched on."""
    return protocol.preamble_source(kernel_side.install)


def _new_cell(kind: str, source: str):
    """``nbformat.v4.new_<kind>_cell(source)`` without validating it: a string source in a
    fresh cell is valid (validating the cells of every submission cost more than building them)."""
    from nbformat.v4.nbbase import random_cell_id
    cell = nbformat.NotebookNode(id=random_cell_id(), cell_type=kind,
                                 metadata=nbformat.NotebookNode(), source=source)
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _clean(cell, source: str | None = None, nbgrader: dict | None = None):
    """A copy of ``cell`` with fresh metadata: only nbgrader's, from the source."""
    new = _new_cell(cell.cell_type, cell.source if source is None else source)
    if nbgrader:
        new.metadata["nbgrader"] = dict(nbgrader)
    return new


def _student_cells(submitted) -> tuple[dict, dict]:
    """Answers by grade_id, and the student's own extra cells by the grade_id they follow."""
    answers, extra, anchor = {}, {}, None
    for cell in (submitted.cells if submitted is not None else []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if gid:
            if meta.get("solution") and isinstance(cell.get("source"), str):
                answers.setdefault(gid, cell)
            anchor = gid
        elif cell.cell_type == "code" and isinstance(cell.get("source"), str):
            extra.setdefault(anchor, []).append(cell)
    return answers, extra


def assemble(name: str, source, submitted, marks: Markers | None = None) -> Assembled:
    """Graded notebook for notebook ``name`` from ``source`` and the student's copy (or None);
    ``marks``: the course's nbgrader markers (nbgrader's defaults when None)."""
    marks = marks or markers()
    answers, extra = _student_cells(submitted)
    cells, tests, shown = [_clean(c) for c in extra.get(None, [])], [], {}
    for cell in source.cells:
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if meta.get("solution"):
            theirs = answers.get(gid)
            if theirs is not None and theirs.cell_type == cell.cell_type:
                new = _clean(cell, theirs.source, meta)
            else:
                new = _clean(cell, release_view(cell, marks), meta)
        else:
            new = _clean(cell, _without_markers(cell.source, marks), meta)
            shown[len(cells)] = release_view(cell, marks)
        if (meta.get("grade") or meta.get("task")) and gid:
            # as nbgrader: only a code cell that is neither an answer nor a task is a test
            auto = cell.cell_type == "code" and not meta.get("solution") and not meta.get("task")
            # markers mark hidden lines; parsing is per source cell, not per submission
            judged = _rewritten(cell.source, marks) if auto else None
            tests.append(TestCell(
                notebook=name, grade_id=gid, index=len(cells),
                max_points=float(meta.get("points") or 0.0),
                checks=expected_checks(new.source) if auto else (),
                manual=not auto, task=bool(meta.get("task")),
                expects=judged.sites if judged else None,
                kernel_source=judged.kernel_source if judged else None))
        cells.append(new)
        cells.extend(_clean(c) for c in extra.get(gid, []) if gid)
    # built from parts that are valid already: nbformat's constructor would validate it all
    nb = nbformat.from_dict({
        "nbformat": nbformat.v4.nbformat, "nbformat_minor": nbformat.v4.nbformat_minor,
        "metadata": {k: source.metadata[k] for k in ("kernelspec", "language_info")
                     if source.metadata.get(k)}, "cells": cells})
    return Assembled(nb, tests, shown)
