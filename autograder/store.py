"""Everything the grader writes, from one process and one thread.

Workers only return plain data; this module is the single writer of nbgrader's
``gradebook.db`` (SQLite does not like concurrent writers), the autograded
notebooks, the per-submission result records (written atomically *after* the
gradebook commit, so a record on disk means the grade is in the gradebook),
``grades.csv`` and ``autograder.log``.
"""
from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import NamedTuple

from autograder import UsageError
from autograder.assemble import notebook_text
from autograder.course import alembic_on_path, folder, gradebook_url
from autograder.course import course_id as course_id_of
from autograder.record import Result, Status

__all__ = ["read_records", "Store", "Standing", "submission_sha256", "read_record", "write_record",
           "recorded", "open_gradebook",
           "standings", "write_atomically", "write_grades", "CSV_COLUMNS", "utc_now"]

CSV_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
               "email", "raw_score", "late_submission_penalty", "score", "max_score", "status"]
RECORD = ".result.json"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def submission_sha256(folder: Path) -> str:
    """Hash of every file under a submission folder (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if ".ipynb_checkpoints" in rel:
            continue
        digest.update(rel.encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def write_atomically(path: Path, write) -> Path:
    """``write(fh)`` into a temporary file beside ``path``, synced, then renamed onto it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _atomic_write(path: Path, text: str) -> None:
    write_atomically(path, lambda fh: fh.write(text))


def read_record(course: Path, student: str, assignment: str) -> Result | None:
    """The result record of one submission, or None when it is missing or not a record."""
    path = folder(course, "autograded", student, assignment) / RECORD
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return Result.from_json(data, student=student, assignment=assignment)


def recorded(course: Path, student: str, assignment: str, sha: str) -> bool:
    """True when the submission's record matches ``sha`` and has a score (whether the
    gradebook agrees is :meth:`Store.is_graded`'s to ask)."""
    record = read_record(course, student, assignment)
    return record is not None and record.submission_sha256 == sha and record.status.scored


def write_record(course: Path, result: Result) -> None:
    """Write ``result`` as its submission's record, atomically (see :func:`read_record`)."""
    out = folder(course, "autograded", result.student, result.assignment)
    _atomic_write(out / RECORD, json.dumps(result.to_json(), indent=1))


class _Saved(NamedTuple):
    """A cell as ``generate_assignment`` saved it in the gradebook."""

    source: str | None
    checksum: str | None
    cell_type: str


class Store:
    """The one writer: gradebook rows, autograded notebooks, records, CSV and log."""

    def __init__(self, course: Path, assignment: str, sources: dict, db_url: str | None = None,
                 course_id: str | None = None, late=None):
        self.course, self.assignment = course, assignment
        # nbgrader's own settings by default, so that formgrader reads the same gradebook
        self.db_url = db_url or gradebook_url(course)
        self.gb = open_gradebook(self.db_url, course_id or course_id_of(course))
        self._register(sources)
        notebooks = self.gb.find_assignment(assignment).notebooks
        self.max_points = {(g.notebook.name, g.name): float(g.max_score or 0.0)
                           for nb in notebooks for g in nb.grade_cells}
        # the cells as generate_assignment froze them (AUTOTEST instantiated), and the
        # checksum of each as released: nbgrader's truth for what a student changed
        self.source_cells = {(nb.name, c.name): _Saved(c.source, c.checksum, c.cell_type)
                             for nb in notebooks for c in nb.source_cells}
        self.log = open(course / "autograder.log", "a", encoding="utf-8")
        self.late = late  # nbgrader's AssignLatePenalties, configured by the course (None: no penalty)
        self._layout = None  # the assignment's notebooks and cells, once a submission is added

    def _register(self, sources: dict) -> None:
        """Add the assignment from source/ if ``nbgrader generate_assignment`` has not."""
        from nbgrader.api import MissingEntry
        self.gb.update_or_create_assignment(self.assignment)
        for name, nb in sources.items():
            try:
                self.gb.find_notebook(name, self.assignment)
                continue
            except MissingEntry:
                pass
            if any("AUTOTEST" in cell.source for cell in nb.cells):
                raise UsageError(f"{name}.ipynb has AUTOTEST cells, which nbgrader turns into "
                                 "tests when it releases the assignment: run `autograder "
                                 f"release {self.assignment}` first")
            # what generate_assignment saves: solutions cleared, checksums of the release
            from nbgrader.preprocessors import (  # slow import: only when needed
                ClearSolutions,
                ComputeChecksums,
                LockCells,
                SaveCells,
            )
            resources = {"nbgrader": {"notebook": name, "assignment": self.assignment,
                                      "db_url": self.db_url}}
            nb = copy.deepcopy(nb)
            for step in (LockCells, ClearSolutions, ComputeChecksums, SaveCells):
                nb, resources = step().preprocess(nb, resources)
        self.gb.db.expire_all()

    def points(self, notebook: str, grade_id: str, default: float) -> float:
        """Points of a test cell: the gradebook's, else the source's."""
        return self.max_points.get((notebook, grade_id), default)

    def is_graded(self, student: str, sha: str) -> bool:
        """True when this exact submission already has a record and a gradebook row."""
        from nbgrader.api import MissingEntry
        if not recorded(self.course, student, self.assignment, sha):
            return False
        try:
            self.gb.find_submission(self.assignment, student)
        except MissingEntry:
            return False
        return True

    def answered(self, notebook: str, cell) -> bool:
        """Whether a written answer differs from what was released (nbgrader's checksum rule)."""
        from nbgrader.utils import compute_checksum
        source = self.source_cells.get((notebook, cell.metadata["nbgrader"]["grade_id"]))
        return source is None or not source.checksum or compute_checksum(cell) != source.checksum

    def graded_sources(self, sources: dict) -> dict:
        """``sources`` with each test and locked cell as the gradebook keeps it.

        ``nbgrader autograde`` grades those cells as ``generate_assignment`` saved
        them -- with AUTOTEST directives already turned into tests -- not as
        ``source/`` spells them; so does the grader.
        """
        out = {}
        for name, nb in sources.items():
            nb = copy.deepcopy(nb)
            for cell in nb.cells:
                meta = cell.get("metadata", {}).get("nbgrader") or {}
                saved = self.source_cells.get((name, meta.get("grade_id")))
                if saved is not None and not meta.get("solution") and saved.source is not None \
                        and saved.cell_type == cell.cell_type:
                    cell.source = saved.source
            out[name] = nb
        return out

    def total_points(self) -> float:
        """The assignment's points in all (the gradebook's)."""
        return sum(self.max_points.values())

    def note(self, student: str, message: str) -> None:
        """One line in autograder.log about ``student`` that is not a result."""
        self.log.write(f"{utc_now()} {self.assignment} {student} {message}\n")
        self.log.flush()

    def save(self, result: Result, notebooks: dict, timestamp: str | None) -> Result:
        """Commit one submission's grades, then its notebooks and record, then log it.

        ``notebooks``: name -> executed notebook, or its JSON text already written out.
        Returns the result as recorded (with nbgrader's late penalty).

        A result with status ``error`` (the grader failed, not the student) leaves the
        gradebook as it was: it has no score to give, and a zero would be published.
        """
        if result.status.scored:
            result = result.replace(late_submission_penalty=self._grades(result, timestamp))
        out = folder(self.course, "autograded", result.student, self.assignment)
        for name, nb in notebooks.items():
            _atomic_write(out / f"{name}.ipynb", nb if isinstance(nb, str) else notebook_text(nb))
        if timestamp:
            _atomic_write(out / "timestamp.txt", timestamp)
        write_record(self.course, result)
        detail = f"  {result.detail}" if result.detail else ""
        score = "-" if result.score is None else f"{result.score:g}"
        self.note(result.student, f"{result.status} {score}/{result.max_score:g} "
                  f"{result.duration_s:.1f}s{detail}")
        return result

    def _grades(self, result: Result, timestamp: str | None) -> float:
        """The submission's rows in nbgrader's gradebook: scores, manual flags, late penalty
        (returned: the sum of the notebooks').

        What ``nbgrader autograde`` writes (``add_submission`` for a new one, SaveAutoGrades,
        AssignLatePenalties), in one transaction: a query for the submission and one for its
        grades with their notebook's and cell's names (columns: nbgrader's association proxies
        are a query each), no autoflush on the way, one commit -- the record is written after
        it.  A failure rolls the whole submission back, leaving the session usable.
        """
        db = self.gb.db
        student = result.student
        by_cell = {(t.notebook, t.grade_id): t for t in result.tests}
        try:
            with db.no_autoflush:
                submission = self._find_submission(student)
                new = submission is None
                if new:
                    submission, grades = self._add_submission(student)
                else:
                    grades = self._grades_of(submission)
                if timestamp:
                    from nbgrader.utils import parse_utc
                    submission.timestamp = parse_utc(timestamp)
                for grade, notebook, cell in grades:
                    test = by_cell.get((notebook, cell))
                    if test is None or test.needs_manual_grade is None:
                        continue  # a task, or a cell not in source/: nbgrader leaves it alone
                    grade.auto_score = test.auto_score
                    # nbgrader's rule: a person looks again at what a person graded before
                    grade.needs_manual_grade = (grade.manual_score is not None
                                                or grade.auto_score is None)
                total = self._late_penalties(submission, student, new)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return total

    def _find_submission(self, student: str):
        """nbgrader's SubmittedAssignment of ``student`` with its Assignment (``find_submission``'s
        query), or None."""
        from nbgrader.api import Assignment, Student, SubmittedAssignment
        from sqlalchemy.orm import contains_eager
        return (self.gb.db.query(SubmittedAssignment)
                .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                .join(Student, Student.id == SubmittedAssignment.student_id)
                .filter(Assignment.name == self.assignment, Student.id == student)
                .options(contains_eager(SubmittedAssignment.assignment))
                .one_or_none())

    def _grades_of(self, submission) -> list:
        """(Grade, notebook name, cell name) of every grade of ``submission``, in one query."""
        from nbgrader.api import BaseCell, Grade, Notebook, SubmittedNotebook
        return (self.gb.db.query(Grade, Notebook.name, BaseCell.name)
                .join(SubmittedNotebook, SubmittedNotebook.id == Grade.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .join(BaseCell, BaseCell.id == Grade.cell_id)
                .filter(SubmittedNotebook.assignment_id == submission.id)
                .all())

    def _add_submission(self, student: str):
        """nbgrader's ``update_or_create_student`` and ``add_submission`` without their commits:
        the student if new, the submission, a SubmittedNotebook per notebook of the assignment,
        a Grade per grade and task cell, a Comment per solution and task cell.

        Returns the (pending) submission and its (Grade, notebook name, cell name).
        """
        from nbgrader.api import Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook
        db = self.gb.db
        who = db.query(Student).filter(Student.id == student).one_or_none()
        if who is None:
            who = Student(id=student)
            db.add(who)
        assignment = self.gb.find_assignment(self.assignment)
        if self._layout is None:  # the assignment's cells, as add_submission walks them
            self._layout = [(nb.id, nb.name, [(c.id, c.name) for c in nb.grade_cells],
                             [c.id for c in nb.solution_cells],
                             [(c.id, c.name) for c in nb.task_cells])
                            for nb in assignment.notebooks]
        submission = SubmittedAssignment(assignment=assignment, student=who)
        grades = []
        for notebook_id, notebook, grade_cells, solution_cells, task_cells in self._layout:
            nb = SubmittedNotebook(notebook_id=notebook_id, assignment=submission)
            for cell_id, name in grade_cells:
                grades.append((Grade(cell_id=cell_id, notebook=nb), notebook, name))
            for cell_id in solution_cells:
                Comment(cell_id=cell_id, notebook=nb)
            for cell_id, name in task_cells:
                Comment(cell_id=cell_id, notebook=nb)
                grades.append((Grade(cell_id=cell_id, notebook=nb), notebook, name))
        db.add(submission)
        return submission, grades

    def _late_penalties(self, submission, student: str, new: bool = False) -> float:
        """Each notebook's late penalty, as ``nbgrader autograde`` sets it; returns their sum.

        The course's ``AssignLatePenalties.plugin_class`` (nbgrader's ``LateSubmissionPlugin``
        unless configured: no penalty, or ``penalty_method = 'zero'``) decides, from the
        notebook's score and the seconds past the due date (extensions included).  A submission
        on time (or a course without the plugin) gets nbgrader's reset, None, on every notebook:
        only those that hold a penalty are loaded (a ``new`` submission's hold none).  Called
        without autoflush.
        """
        from nbgrader.api import SubmittedNotebook
        db = self.gb.db
        seconds = submission.total_seconds_late
        if not (seconds > 0 and self.late is not None):
            if not new:
                for nb in db.query(SubmittedNotebook).filter(
                        SubmittedNotebook.assignment_id == submission.id,
                        SubmittedNotebook.late_submission_penalty.isnot(None)):
                    nb.late_submission_penalty = None
            return 0.0
        db.flush()  # nb.score is SQL over the grades just set
        db.expire(submission, ["notebooks"])  # in the gradebook's order, as nbgrader reads them
        total = 0.0
        for nb in submission.notebooks:
            db.expire(nb, ["score"])
            penalty = None
            try:
                penalty = self.late.plugin_inst.late_submission_penalty(student, nb.score, seconds)
            except Exception as exc:  # the teacher's plugin; the grade stays
                self.log.write(f"{utc_now()} {self.assignment} {student} late-penalty plugin "
                               f"failed ({type(exc).__name__}: {exc}); no penalty\n")
            if penalty is not None:  # nbgrader's clamp: never below 0 nor above the score
                penalty = min(max(float(penalty), 0.0), float(nb.score))
            nb.late_submission_penalty = penalty
            total += penalty or 0.0
        return total

    def write_csv(self, students: list[str]) -> Path:
        """grades.csv as ``autograder export`` writes it: every assignment of the gradebook, every
        student of it, and ``students`` of this assignment (see :func:`write_grades`).

        Grading one assignment can add students to the gradebook: the rows of
        the other assignments get them too.
        """
        everything = sorted({a.name for a in self.gb.assignments} | {self.assignment})
        return write_grades(self.gb, self.course, everything, {self.assignment: students})

    def close(self) -> None:
        self.log.close()
        self.gb.close()


def open_gradebook(db_url: str, course_id: str):
    """nbgrader's ``Gradebook`` at ``db_url`` (created, and migrated, when new)."""
    from nbgrader.api import Gradebook
    alembic_on_path()
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy notes on its models
    return Gradebook(db_url, course_id=course_id)


class Standing(NamedTuple):
    """One student's result on one assignment, as the gradebook has it (see :func:`standings`)."""

    student: str
    who: object          # nbgrader's Student, or None
    submission: object   # nbgrader's SubmittedAssignment, or None: nothing submitted
    record: Result | None  # the grader's result record (None when there is none)
    raw: float | None    # nbgrader's score (manual grades included); None: the grader failed
    penalty: float | None
    score: float | None  # raw less the late penalty, never below 0
    status: Status


def standings(gb, course: Path, assignment: str, students=()) -> list[Standing]:
    """Every student of the gradebook (and ``students``) on ``assignment``, by id.

    nbgrader export's values: 0 for a student who submitted nothing (status
    ``missing``); ``graded`` for a submission graded by another tool; no score at
    all when the grader failed (status ``error``), never a zero.
    """
    from nbgrader.api import MissingEntry
    out = []
    for student in sorted(set(students) | {s.id for s in gb.students}):
        record = read_record(course, student, assignment)
        try:
            who = gb.find_student(student)
        except MissingEntry:
            who = None
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            sub = None
        raw = float(sub.score) if sub is not None else 0.0
        penalty = float(sub.late_submission_penalty or 0.0) if sub is not None else 0.0
        status = record.status if record is not None else (
            Status.GRADED if sub is not None else Status.MISSING)
        if not status.scored:
            raw = penalty = None
        out.append(Standing(student, who, sub, record, raw, penalty,
                            None if raw is None else max(raw - penalty, 0.0), status))
    return out


def _blank(value):
    return "" if value is None else value


def write_grades(gb, course: Path, assignments: list[str], students: dict | None = None) -> Path:
    """Write the rows of ``assignments`` in ``course/grades.csv`` from nbgrader's gradebook.

    nbgrader export's columns and values (manual grades and late penalties
    included, one row per student of the gradebook) plus ``status`` (see
    :func:`standings`); ``students`` maps an assignment to ids listed besides the
    gradebook's (a submission the grader failed on).  Rows of other assignments
    are kept, as in nbgrader export's one file per course.
    """
    rows = []
    for assignment in assignments:
        found = gb.find_assignment(assignment)
        rows += [{"assignment": assignment, "duedate": found.duedate or "",
                  "timestamp": (s.submission.timestamp if s.submission is not None else None) or "",
                  "student_id": s.student, "last_name": getattr(s.who, "last_name", None) or "",
                  "first_name": getattr(s.who, "first_name", None) or "",
                  "email": getattr(s.who, "email", None) or "", "raw_score": _blank(s.raw),
                  "late_submission_penalty": _blank(s.penalty), "score": _blank(s.score),
                  "max_score": float(found.max_score), "status": s.status}
                 for s in standings(gb, course, assignment, (students or {}).get(assignment, ()))]
    path = course / "grades.csv"
    rows = _other_assignments(path, set(assignments)) + rows

    def write(fh):
        writer = csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return write_atomically(path, write)


def _other_assignments(path: Path, assignments: set[str]) -> list[dict]:
    """The rows of ``grades.csv`` that belong to other assignments (none if unreadable)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [row for row in csv.DictReader(fh) if row.get("assignment") not in assignments]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def read_records(root: Path, assignment: str) -> list[Result]:
    """Every readable result record of ``assignment`` in the autograded folders, by student."""
    from autograder.course import students
    records = (read_record(root, student, assignment)
               for student in students(root, "autograded", assignment))
    return [r for r in records if r is not None]  # a half-written or foreign file is no result
