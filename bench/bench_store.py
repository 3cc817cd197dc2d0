"""The grader's CPU per submission in ``Store.save`` (the gradebook write), before and after.

``Store.save`` is the grader process's serial part of each submission's bookkeeping:
nbgrader's gradebook rows (scores, manual-grade flags, timestamp, late penalty), then the
result record.  This builds nbgrader's user-guide ``ps1`` class (as ``bench_grader_cpu.py``
does), grades it once with ``autograder grade`` (or takes an already graded class, ``--course``),
then saves every result record again, in one process, with this tree's ``Store`` and with
``ReferenceStore`` -- the implementation before issue 23, kept here verbatim -- in turn, on
fresh copies of the class, and prints the CPU time (``time.thread_time``) per submission of
each.  The scenarios:

* **resave**: every submission is already in the gradebook (``autograder grade --force``);
* **first**: the students and their submissions were removed from the gradebook first, so each
  save adds the student and the submission (a class's first grading);
* **late**: a due date before the submissions' timestamps for every other student, and
  nbgrader's ``LateSubmissionPlugin`` with ``penalty_method = 'zero'``: the late-penalty path.

After each scenario it checks that both implementations left the same gradebook rows, the
same result records, the same returned results and the same ``grades.csv``; exit status 1 if
not.

    .venv/bin/python bench/bench_store.py                      # ps1 x40, 5 rounds
    .venv/bin/python bench/bench_store.py --course /tmp/ps1c/ps1 --rounds 3

CPU time, not wall time, is measured; the minimum and median over the rounds are printed, the
two implementations alternating within each round.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from autograder.record import Result  # noqa: E402  (needs the repository on sys.path)
from autograder.store import Store, utc_now  # noqa: E402

__all__ = ["ReferenceStore", "gradebook_rows", "main"]

ASSIGNMENT = "ps1"
DUE, ON_TIME, LATE = "2026-03-01 12:00:00 UTC", "2026-03-01 11:59:00 UTC", "2026-03-02 12:00:00 UTC"


class ReferenceStore(Store):
    """``Store`` with the gradebook write as it was before issue 23 (lazy loads through
    nbgrader's relationships and association proxies, a commit for the student, one for the
    grades and one for the late penalties): the baseline, and the tests' reference."""

    def _grades(self, result: Result, timestamp: str | None) -> float:
        from nbgrader.api import MissingEntry
        student = result.student
        self.gb.update_or_create_student(student)
        try:
            submission = self.gb.find_submission(self.assignment, student)
        except MissingEntry:
            submission = self.gb.add_submission(self.assignment, student)
        if timestamp:
            from nbgrader.utils import parse_utc
            submission.timestamp = parse_utc(timestamp)
        by_cell = {(t.notebook, t.grade_id): t for t in result.tests}
        for nb in submission.notebooks:
            for grade in nb.grades:
                test = by_cell.get((nb.name, grade.name))
                if test is None or test.needs_manual_grade is None:
                    continue  # a task, or a cell not in source/: nbgrader leaves it alone
                grade.auto_score = test.auto_score
                # nbgrader's rule: a person looks again at what a person graded before
                grade.needs_manual_grade = (grade.manual_score is not None
                                            or grade.auto_score is None)
        self.gb.db.commit()
        return self._late_penalties(submission, student)

    def _late_penalties(self, submission, student: str) -> float:
        seconds, total = submission.total_seconds_late, 0.0
        for nb in submission.notebooks:
            penalty = None
            if seconds > 0 and self.late is not None:
                try:
                    penalty = self.late.plugin_inst.late_submission_penalty(student, nb.score, seconds)
                except Exception as exc:  # the teacher's plugin; the grade stays
                    self.log.write(f"{utc_now()} {self.assignment} {student} late-penalty plugin "
                                   f"failed ({type(exc).__name__}: {exc}); no penalty\n")
            if penalty is not None:  # nbgrader's clamp: never below 0 nor above the score
                penalty = min(max(float(penalty), 0.0), float(nb.score))
            nb.late_submission_penalty = penalty
            total += penalty or 0.0
        self.gb.db.commit()
        return total


def gradebook_rows(db: Path) -> dict:
    """What a save may touch in a SQLite gradebook, keyed by names (not nbgrader's random ids)."""
    con = sqlite3.connect(db)
    try:
        grades = con.execute(
            "SELECT sa.student_id, a.name, n.name, c.name, g.auto_score, g.manual_score,"
            " g.extra_credit, g.needs_manual_grade FROM grade g"
            " JOIN submitted_notebook sn ON sn.id = g.notebook_id"
            " JOIN submitted_assignment sa ON sa.id = sn.assignment_id"
            " JOIN assignment a ON a.id = sa.assignment_id"
            " JOIN notebook n ON n.id = sn.notebook_id JOIN base_cell c ON c.id = g.cell_id"
        ).fetchall()
        comments = con.execute(
            "SELECT sa.student_id, n.name, c.name, m.auto_comment, m.manual_comment FROM comment m"
            " JOIN submitted_notebook sn ON sn.id = m.notebook_id"
            " JOIN submitted_assignment sa ON sa.id = sn.assignment_id"
            " JOIN notebook n ON n.id = sn.notebook_id JOIN base_cell c ON c.id = m.cell_id"
        ).fetchall()
        notebooks = con.execute(
            "SELECT sa.student_id, n.name, sn.late_submission_penalty, sn.flagged"
            " FROM submitted_notebook sn JOIN submitted_assignment sa ON sa.id = sn.assignment_id"
            " JOIN notebook n ON n.id = sn.notebook_id").fetchall()
        submissions = con.execute(
            "SELECT sa.student_id, a.name, sa.timestamp, sa.extension FROM submitted_assignment sa"
            " JOIN assignment a ON a.id = sa.assignment_id").fetchall()
        students = con.execute("SELECT id, first_name, last_name, email FROM student").fetchall()
    finally:
        con.close()
    return {name: sorted(rows, key=repr) for name, rows in
            [("grade", grades), ("comment", comments), ("submitted_notebook", notebooks),
             ("submitted_assignment", submissions), ("student", students)]}


def _grade_class(dest: Path, students: int) -> Path:
    from bench_grader_cpu import build
    course = dest / "graded"
    build(course, ASSIGNMENT, students)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--no-progress"],
                          cwd=course, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"autograder grade failed:\n{proc.stdout}\n{proc.stderr}")
    return course


def _late_plugin():
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config
    config = Config()
    config.LateSubmissionPlugin.penalty_method = "zero"
    late = AssignLatePenalties(config=config)
    late.init_plugin()
    return late


def _prepare(course: Path, scenario: str, students: list[str]) -> None:
    """Set the gradebook up for ``scenario`` (not timed)."""
    if scenario == "resave":
        return
    from autograder.course import course_id, gradebook_url
    from autograder.store import open_gradebook
    gb = open_gradebook(gradebook_url(course), course_id(course))
    try:
        if scenario == "first":
            for student in students:
                gb.remove_student(student)
        elif scenario == "late":
            from datetime import datetime
            gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2026, 3, 1, 12, 0))
    finally:
        gb.close()


def _run(kind, source: Path, course: Path, scenario: str) -> tuple[float, int, dict]:
    """Save every record of ``course`` (a fresh copy of ``source``) with ``kind``; returns the
    CPU seconds of the saves, their number, and what they left."""
    from autograder.assemble.files import read_sources
    from autograder.course import late_penalties
    from autograder.course import students as students_of
    from autograder.store import read_record
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(source, course, symlinks=True)
    students = students_of(course, "submitted", ASSIGNMENT)
    records = [r for r in (read_record(course, s, ASSIGNMENT) for s in students) if r is not None]
    _prepare(course, scenario, students)
    sources, _ = read_sources(course, ASSIGNMENT)
    late = _late_plugin() if scenario == "late" else late_penalties(course)
    store = kind(course, ASSIGNMENT, sources, late=late)
    stamps = [(LATE if i % 2 == 0 else ON_TIME) if scenario == "late" else None
              for i in range(len(records))]
    try:
        start = time.thread_time()
        returned = [store.save(r, {}, stamp) for r, stamp in zip(records, stamps, strict=True)]
        spent = time.thread_time() - start
        store.write_csv(students)
    finally:
        store.close()
    left = {"returned": [r.to_json() for r in returned],
            "records": {s: json.loads((course / "autograded" / s / ASSIGNMENT / ".result.json")
                                      .read_text()) for s in students},
            "gradebook": gradebook_rows(course / "gradebook.db"),
            "grades.csv": (course / "grades.csv").read_text()}
    return spent, len(records), left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40, help="ps1 submissions (default 40)")
    parser.add_argument("--course", type=Path, help="an already graded ps1 class to copy instead")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per scenario (default 5)")
    parser.add_argument("--scenarios", default="resave,first,late")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-"))
    good = True
    try:
        source = args.course.resolve() if args.course else _grade_class(scratch, args.students)
        impls = [("before", ReferenceStore), ("after", Store)]
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
              f"Store.save CPU per submission in ms (min / median of {args.rounds} rounds)")
        print(f"{'scenario':<8} {'n':>4} {'before':>15} {'after':>15} {'ratio':>6}  same")
        for scenario in args.scenarios.split(","):
            times = {name: [] for name, _ in impls}
            left, n = {}, 0
            for _ in range(args.rounds):
                for name, kind in impls:
                    spent, n, got = _run(kind, source, scratch / f"{scenario}-{name}", scenario)
                    times[name].append(1000 * spent / max(n, 1))
                    left.setdefault(name, got)
            differ = [k for k in left["before"] if left["before"][k] != left["after"][k]]
            good = good and not differ
            cells = {k: f"{min(v):.2f} / {statistics.median(v):.2f}" for k, v in times.items()}
            print(f"{scenario:<8} {n:>4} {cells['before']:>15} {cells['after']:>15} "
                  f"{min(times['before']) / min(times['after']):>5.1f}x  "
                  f"{'NO: ' + ', '.join(differ) if differ else 'yes'}",
                  flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
