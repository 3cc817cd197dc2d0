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
import time
from collections import defaultdict
from pathlib import Path

from autograder import UsageError
from autograder import demo_class as _students
from autograder.commands.common import command, error_line
from autograder.course import assignments_in, course_root, folder
from autograder.demo_class import DEMO_ASSIGNMENTS, build_class, expected_outcome
from autograder.store import read_records

__all__ = ["DEMO_CELL_TIMEOUT", "add_arguments", "main"]

#: The demo's per-cell limit: its slowest solution cell (gradient_tape's graded
#: training, 5-6 s on one core) several times over, so a busy machine passes it,
#: while its infinite loops are cut off after this long, not the course's 180 s.
DEMO_CELL_TIMEOUT = 30.0


def _outcomes(dest: Path, rows: list[tuple[str, str, str]]) -> list[str]:
    """One line per (assignment, kind): how many got the expected outcome."""
    records = {(a, r.student): r for a in {a for _, a, _ in rows}
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
