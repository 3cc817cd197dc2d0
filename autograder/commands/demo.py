"""``autograder demo``: build a pretend class, grade it, and write grades.csv and the report.

The class lives in a fresh folder (default ``./demo-class``): a copy of the
course's ``nbgrader_config.py`` and ``source/``, released into its own
gradebook, and one submission per student and assignment made from the
teacher's solutions -- correct ones, untouched releases, known-buggy variants
and a few broken notebooks (see :mod:`autograder.demo_class`).  ``roster.csv``
records which student handed in what; the closing table compares each kind of
submission with the outcome it should get.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from collections import defaultdict
from pathlib import Path

from autograder import UsageError
from autograder import demo_class as _students
from autograder.commands.common import (
    assignments_in,
    command,
    course_root,
    error_line,
    generate,
    notebook_names,
    read_records,
)
from autograder.course import folder

__all__ = ["DEMO_ASSIGNMENTS", "expected_outcome", "roster", "build_class",
           "add_arguments", "main"]

#: Graded by default, in this order, when they exist in source/: assignment ->
#: how many of the class hand it in.  A gradient_tape solution trains a
#: 512-wide network for 1000 epochs (~25 s of CPU per submission), so a
#: section of the class submits it and the demo stays within minutes.
DEMO_ASSIGNMENTS = {"backprop_numpy": 30, "gradient_tape": 10}
#: The demo's per-cell limit: its slowest solution cell (gradient_tape's graded
#: training, 5-6 s on one core) several times over, so a busy machine passes it,
#: while its infinite loops are cut off after this long, not the course's 180 s.
DEMO_CELL_TIMEOUT = 30.0
_MARK = ".autograder-demo"  # only a folder carrying this mark is ever deleted
_STATUS = {"malformed": "malformed", "infinite_loop": "timeout",
           "kernel_crash": "kernel-died", "missing": "missing"}


def expected_outcome(kind: str, record: dict | None) -> str | None:
    """None when a ``kind`` submission got the outcome it should, else what is wrong."""
    if record is None:
        return "no result record"
    status, score, top = record.get("status"), record.get("score") or 0, record.get("max_score")
    if kind in _STATUS:
        return None if status == _STATUS[kind] else f"status {status}, expected {_STATUS[kind]}"
    if status != "ok":
        return f"status {status}, expected ok"
    # answers graded by hand score 0 until a teacher grades them: full marks means the rest
    auto_top = (top or 0) - sum(t.get("max_points") or 0 for t in record.get("tests", [])
                                if t.get("manual"))
    if kind == "solution" and abs(score - auto_top) > 1e-9:
        return f"score {score:g}/{top:g}, expected {auto_top:g} (full marks on every autograded test)"
    if kind == "blank" and score != 0:
        return f"score {score:g}/{top:g}, expected 0"
    if kind.startswith("bug:") and not score < top:
        return f"score {score:g}/{top:g}, expected less than full marks"
    return None


def roster(assignment: str, students: int) -> list[str]:
    """The kind of submission of each of ``students`` students (every kind once, then solutions)."""
    kinds = _students.kinds_for(assignment)
    return (kinds + ["solution"] * students)[:students]


def _fresh(dest: Path, course: Path) -> None:
    if dest == course or course.is_relative_to(dest):
        raise UsageError(f"--dir {dest} would overwrite the course itself")
    if dest.exists() or dest.is_symlink():
        if not (dest.is_dir() and (dest / _MARK).is_file()):
            raise UsageError(f"{dest} exists and is not a demo class; remove it or use --dir")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / _MARK).write_text("built by autograder demo; deleted by the next one\n")


def build_class(course: Path, dest: Path, assignments: list[str], students: int | None,
                kinds: list[str] | None = None) -> list[tuple[str, str, str]]:
    """Copy and release the course into ``dest`` and write every submission.

    ``students`` per assignment (None: :data:`DEMO_ASSIGNMENTS`' number, else 30),
    or exactly ``kinds``.  Returns the roster as (student, assignment, kind) rows.
    """
    _fresh(dest, course)
    # the course files nbgrader reads beside the assignments: config, AUTOTEST templates,
    # and files at the top of source/ (a header or footer notebook)
    for path in [course / "nbgrader_config.py", course / "autotests.yml",
                 *sorted((course / "source").glob("*"))]:
        if path.is_file():
            target = dest / path.relative_to(course)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    rows = []
    for assignment in assignments:
        shutil.copytree(course / "source" / assignment, dest / "source" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        problem = generate(dest, assignment)
        if problem:
            raise UsageError(f"nbgrader generate_assignment {assignment} failed: {problem}")
        notebooks = {name: tuple(json.loads((dest / folder / assignment / f"{name}.ipynb")
                                            .read_text()) for folder in ("source", "release"))
                     for name in notebook_names(dest, assignment)}
        plan = list(kinds) if kinds else roster(
            assignment, students or DEMO_ASSIGNMENTS.get(assignment, 30))
        width = max(2, len(str(len(plan))))
        for number, kind in enumerate(plan, 1):
            student = f"s{number:0{width}d}"
            folder = dest / "submitted" / student / assignment
            _students.build_submission(kind, assignment, notebooks, folder)
            rows.append((student, assignment, kind))
    with (dest / "roster.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("student", "assignment", "kind"), *rows])
    return rows


def _outcomes(dest: Path, rows: list[tuple[str, str, str]]) -> list[str]:
    """One line per (assignment, kind): how many got the expected outcome."""
    records = {(a, r.get("student")): r for a in {a for _, a, _ in rows}
               for r in read_records(dest, a)}
    tally: dict = defaultdict(lambda: [0, 0, []])
    for student, assignment, kind in rows:
        problem = expected_outcome(kind, records.get((assignment, student)))
        entry = tally[assignment, kind]
        entry[0] += problem is None
        entry[1] += 1
        if problem:
            entry[2].append(f"{student}: {problem}")
    lines = []
    for (assignment, kind), (good, total, problems) in sorted(tally.items()):
        verdict = "as expected" if good == total else "UNEXPECTED " + "; ".join(problems[:3])
        lines.append(f"  {assignment:<16} {kind:<36} {good}/{total} {verdict}")
    return lines


def _feedback_pages(dest: Path, rows: list[tuple[str, str, str]]) -> list[str]:
    """One line per (assignment, kind): the feedback page of its first student."""
    seen, lines = set(), []
    for student, assignment, kind in rows:
        if (assignment, kind) in seen:
            continue
        seen.add((assignment, kind))
        pages = sorted(folder(dest, "feedback", student, assignment).glob("*.html"))
        lines.append(f"  {assignment:<16} {kind:<36} "
                     + (str(pages[0]) if pages else "(no page: nothing was graded)"))
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``autograder demo``."""
    parser.add_argument("--dir", dest="directory", metavar="DIR", default="demo-class",
                        help="folder of the demo class, rebuilt from scratch (default: demo-class)")
    parser.add_argument("--students", type=int, default=None,
                        help="students handing in each assignment (default: "
                             + ", ".join(f"{n} for {a}" for a, n in DEMO_ASSIGNMENTS.items())
                             + ", 30 for others)")
    parser.add_argument("--assignment", action="append", dest="assignments", metavar="NAME",
                        help="grade this assignment (repeatable; default: "
                             + ", ".join(DEMO_ASSIGNMENTS) + " where they exist)")
    parser.add_argument("--workers", type=int, default=None,
                        help="grading workers (default: one per CPU core)")
    parser.add_argument("--timeout", type=float, default=DEMO_CELL_TIMEOUT,
                        help=f"per-cell time limit in seconds (default: {DEMO_CELL_TIMEOUT:g}, "
                             "several times the slowest solution cell of the demo on two busy "
                             "cores; the infinite loops of the demo wait this long)")


@command
def main(*, course: str = ".", directory: str = "demo-class", students: int | None = None,
         assignments: list[str] | None = None, kinds: list[str] | None = None,
         workers: int | None = None, timeout: float = DEMO_CELL_TIMEOUT) -> int:
    """Build, grade and report the demo class; ``kinds`` fixes each student's submission."""
    started = time.monotonic()
    try:
        root = course_root(course)
        available = assignments_in(root)
        chosen = assignments or [a for a in DEMO_ASSIGNMENTS if a in available] or available
        missing = sorted(set(chosen) - set(available))
        if missing or not chosen:
            raise UsageError(f"no assignment {', '.join(missing) or 'at all'} in {root / 'source'}")
        if students is not None and students < 1:
            raise UsageError("--students must be at least 1")
        dest = Path(directory).resolve()
        print(f"demo: building the class in {dest}", flush=True)
        rows = build_class(root, dest, chosen, students, kinds)
        print("demo: " + ", ".join(f"{sum(a == name for _, a, _ in rows)} submissions of {name}"
                                   for name in chosen), flush=True)
    except _students.BuildError as exc:
        raise UsageError(str(exc)) from None
    from autograder.commands import grade, report  # imported late: building does not need them

    for assignment in chosen:
        status = grade.main(course=str(dest), assignment=assignment, workers=workers,
                            timeout=timeout, progress=True)
        if status != 0:
            return error_line(f"grading {assignment} failed (exit status {status})")
    for assignment in chosen:
        report.main(course=str(dest), assignment=assignment)
    print("demo: each kind of submission against the outcome it should get")
    print("\n".join(_outcomes(dest, rows)))
    print("demo: the feedback one student of each kind gets (open in a browser)")
    print("\n".join(_feedback_pages(dest, rows)))
    print(f"demo: done in {time.monotonic() - started:.0f} s\n"
          f"  grades:  {dest / 'grades.csv'}\n"
          f"  reports: " + "\n           ".join(
              str(dest / "reports" / a / "index.html") for a in chosen) + "\n"
          f"  roster:  {dest / 'roster.csv'}")
    return 0
