"""Which submissions share code, or share the same wrong answers: a reason for a grader to look.

The stage after grading, in the order it runs::

    code.py      the lines each student wrote (what the release and source gave removed),
                 normalised tokens, winnowed k-gram fingerprints per function or cell
    answers.py   the wrong answers of each check record, as signatures that do not
                 depend on the grader's per-submission inputs
    rank.py      inverted indexes (fingerprint -> submissions), rarity weights, pairs
                 above a threshold, groups (connected components of three or more)
    pages.py     similarity/<assignment>/: pairs.csv, index.html, side-by-side pages

Why not a library.  copydetect (PyPI, 0.5.0, 2024) and compare50 (CS50's,
maintained) both winnow Pygments tokens, take template files to subtract and
write HTML.  Neither fits:

* they work on files: the notebooks would first be exported, and everything the
  release gave (signatures, docstrings, stubs, the teacher's tests) would be
  matched as student code unless subtracted exactly -- and compare50 subtracts
  template by k-grams of its noise threshold (25 tokens, more than most lines of
  a notebook answer), so short template is reported as a match (its issue #72);
* neither knows which cells a student wrote in, nor reads the grader's check
  records, where the shared wrong answers are;
* copydetect compares every file with every other (its README), the n^2 this
  stage must avoid at 5,000 submissions; compare50 indexes fingerprints, as here.

What they would bring -- winnowing, token normalisation, template removal -- is
a couple of hundred lines on :mod:`tokenize` with no new dependency, tuned to
short notebook answers (k-grams of 9 tokens, template removed k-gram by
k-gram); the rest (the students' own lines, the records, the rarity weights)
had to be written either way.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from autograder import UsageError
from autograder.course import folder, markers, notebook_names, students
from autograder.similarity.answers import wrong_answers
from autograder.similarity.code import Code, Given, given_code, student_code
from autograder.similarity.rank import Frequency, Pair, common_cut, groups, rank

__all__ = ["Analysis", "analyse", "DEFAULT_THRESHOLD"]

DEFAULT_THRESHOLD = 0.3
PARALLEL_FROM = 300   # submissions: below this a pool of processes costs more than it saves


@dataclass
class Analysis:
    """A class compared: its submissions' code and wrong answers, the pairs, the groups."""

    assignment: str
    codes: list[Code]
    signatures: list[dict]
    threshold: float
    pairs: list[Pair] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    frequency: Frequency | None = None

    @property
    def students(self) -> list[str]:
        """The students, in the order the pairs' indexes refer to."""
        return [code.student for code in self.codes]

    @property
    def common(self) -> int:
        """Fingerprints held by more submissions than this count for nothing."""
        return common_cut(len(self.codes))


def _read(path: Path) -> dict | None:
    """A notebook as plain JSON (a submission may be anything: unreadable is None)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None


def _text(cell: dict) -> str | None:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def _student_cells(nb: dict | None, name: str) -> list[tuple[str, str | None, str]]:
    """(notebook, grade_id or None, source) of every code cell the student may have written in:
    answer cells (all of them, even a duplicated grade id) and cells without a grade id."""
    out = []
    for cell in (nb or {}).get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta, source = _nbgrader(cell), _text(cell)
        if source is not None and (meta.get("solution") or not meta.get("grade_id")):
            out.append((name, meta.get("grade_id") if meta.get("solution") else None, source))
    return out


def _given(root: Path, assignment: str, names: list[str]) -> Given:
    """Every code cell the teacher wrote: the released notebook, the source as nbgrader
    releases it (even if release/ is stale), and the source itself."""
    from nbformat import from_dict

    from autograder.assemble import release_view  # the marker rules, as grading applies them
    marks = markers(root)
    released, teacher = [], []
    for name in names:
        for step in ("source", "release"):
            nb = _read(folder(root, step, ".", assignment) / f"{name}.ipynb")
            for cell in (nb or {}).get("cells", []):
                if isinstance(cell, dict) and cell.get("cell_type") == "code" and _text(cell):
                    if step == "release":
                        released.append(_text(cell))
                        continue
                    teacher.append(_text(cell))
                    released.append(release_view(from_dict({**cell, "source": _text(cell)}),
                                                 marks))
    return given_code(released, teacher)


def _submission(root: Path, assignment: str, names: list[str], given: Given,
                student: str) -> tuple[Code, dict]:
    """One student's code fingerprints and wrong answers."""
    from autograder.store import read_record
    base = folder(root, "submitted", student, assignment)
    cells = [c for name in names for c in _student_cells(_read(base / f"{name}.ipynb"), name)]
    return (student_code(student, cells, given),
            wrong_answers(read_record(root, student, assignment)))


_JOB: tuple = ()   # a worker's (root, assignment, names, given), set once when it starts


def _start_worker(*job) -> None:
    global _JOB
    _JOB = job


def _in_worker(students: list[str]) -> list[tuple[Code, dict]]:
    return [_submission(*_JOB, student) for student in students]


def _submissions(root: Path, assignment: str, names: list[str], given: Given,
                 who: list[str]) -> list[tuple[Code, dict]]:
    """Every submission's fingerprints and wrong answers, in ``who``'s order; a large class
    is shared among the cores (tokenising is the cost: the index that follows is not)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if len(who) < PARALLEL_FROM or (cores or 1) < 2:
        return [_submission(root, assignment, names, given, student) for student in who]
    chunks = [who[i:i + 100] for i in range(0, len(who), 100)]
    # fork: the workers only read files and tokenise, and need nothing set up again
    with ProcessPoolExecutor(min(cores, len(chunks)), mp_context=get_context("fork"),
                             initializer=_start_worker,
                             initargs=(root, assignment, names, given)) as pool:
        return [found for part in pool.map(_in_worker, chunks) for found in part]


def analyse(root: Path, assignment: str, threshold: float = DEFAULT_THRESHOLD) -> Analysis:
    """Compare every submission of ``assignment`` in the course at ``root``."""
    names = notebook_names(root, assignment)
    who = students(root, "submitted", assignment)
    if not who:
        raise UsageError(f"no submissions of {assignment!r} under "
                         f"{folder(root, 'submitted', '*', assignment)} "
                         f"(run: autograder collect {assignment} ARCHIVE)")
    found = _submissions(root, assignment, names, _given(root, assignment, names), who)
    analysis = Analysis(assignment, [code for code, _ in found], [wrong for _, wrong in found],
                        threshold)
    analysis.pairs, analysis.frequency = rank([set(c.spans) for c in analysis.codes],
                                              analysis.signatures, threshold)
    analysis.groups = groups(analysis.pairs)
    return analysis
