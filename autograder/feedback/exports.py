"""Grades in the formats courses import them: Gradescope, Canvas, Moodle (nbgrader's CSV: store).

Every format is derived from nbgrader's gradebook (:func:`autograder.store.standings`),
so manual grades from formgrader and late penalties are in it, and every student
of the gradebook has a row (0 when nothing was submitted); a submission the
grader failed to grade has an empty score, never a zero.

* ``gradescope``: one ``results.json`` per submission in Gradescope's autograder
  format (``exports/gradescope/<assignment>/<student>/results.json``; none for a
  submission the grader failed to grade): the total
  ``score``, and one test per graded cell with ``name``, ``score``, ``max_score``,
  ``status``, ``output`` (the grader's verdict, never a test's source) and
  ``visibility``; a cell that holds hidden tests is ``after_published``.
* ``canvas``: the gradebook import CSV (``exports/canvas.csv``): Student, ID,
  SIS User ID, SIS Login ID, Section, then one column per assignment, with the
  "Points Possible" row.
* ``moodle``: the grade import CSV (``exports/moodle.csv``): ID number, email,
  names, then one column per assignment.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from autograder.course import markers
from autograder.record import Result
from autograder.store import standings, write_atomically

__all__ = ["FORMATS", "write_gradescope", "write_canvas", "write_moodle"]


def _hidden(gb, course: Path, assignment: str) -> set:
    """(notebook, grade id) of the cells that hold hidden tests (nbgrader's delimiter)."""
    marks = markers(course)
    return {(nb.name, cell.name) for nb in gb.find_assignment(assignment).notebooks
            for cell in nb.source_cells if cell.source and marks.begin_hidden in cell.source}


def _messages(record: Result | None) -> dict:
    return {(t.notebook, t.grade_id): t.message or "" for t in _tests(record)}


def _tests(record: Result | None) -> tuple:
    return record.tests if record is not None else ()


def write_gradescope(gb, course: Path, assignments: list[str]) -> list[Path]:
    """One Gradescope ``results.json`` per submission of each assignment."""
    paths = []
    for assignment in assignments:
        hidden, found = _hidden(gb, course, assignment), gb.find_assignment(assignment)
        for s in standings(gb, course, assignment):
            if s.score is None:  # the grader failed: no results.json rather than a zero
                continue
            order = {(t.notebook, t.grade_id): i for i, t in enumerate(_tests(s.record))}
            tests = []
            for nb in (s.submission.notebooks if s.submission is not None else []):
                for grade in sorted(nb.grades, key=lambda g: (
                        order.get((nb.name, g.name), len(order)), g.name)):
                    key = (nb.name, grade.name)
                    score, top = float(grade.score or 0.0), float(grade.max_score or 0.0)
                    output = _messages(s.record).get(key, "")
                    if grade.needs_manual_grade:
                        output = "waiting for a person to grade it"
                    tests.append({"name": f"{nb.name}: {grade.name}", "score": score,
                                  "max_score": top,
                                  "status": "passed" if score >= top else "failed",
                                  "output": output,
                                  "visibility": "after_published" if key in hidden else "visible"})
            detail = s.record.detail if s.record is not None else ""
            result = {"score": s.score, "tests": tests, "visibility": "visible",
                      "execution_time": round(s.record.duration_s if s.record else 0.0),
                      "output": f"status: {s.status}" + (f" ({detail})" if detail else "")
                      + (f"; late penalty: -{s.penalty:g}" if s.penalty else ""),
                      "extra_data": {"student": s.student, "assignment": assignment,
                                     "max_score": float(found.max_score)}}
            path = course / "exports" / "gradescope" / assignment / s.student / "results.json"
            paths.append(write_atomically(path, lambda fh, r=result: json.dump(r, fh, indent=1)))
    return paths


def _table(gb, course: Path, assignments: list[str]) -> tuple[list, dict]:
    """(students with their gradebook entry, {assignment: {student: score or ''}})."""
    scores, people = {}, {}
    for assignment in assignments:
        scores[assignment] = {}
        for s in standings(gb, course, assignment):
            people.setdefault(s.student, s.who)
            scores[assignment][s.student] = "" if s.score is None else round(s.score, 6)
    return sorted(people.items()), scores


def write_canvas(gb, course: Path, assignments: list[str]) -> list[Path]:
    """Canvas's gradebook import CSV for ``assignments``."""
    people, scores = _table(gb, course, assignments)
    points = {a: float(gb.find_assignment(a).max_score) for a in assignments}

    def write(fh):
        out = csv.writer(fh)
        out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments])
        out.writerow(["    Points Possible", "", "", "", "", *(points[a] for a in assignments)])
        for student, who in people:
            name = ", ".join(p for p in (getattr(who, "last_name", None),
                                         getattr(who, "first_name", None)) if p) or student
            out.writerow([name, "", student, student, "",
                          *(scores[a].get(student, "") for a in assignments)])
    return [write_atomically(course / "exports" / "canvas.csv", write)]


def write_moodle(gb, course: Path, assignments: list[str]) -> list[Path]:
    """Moodle's grade import CSV for ``assignments`` (map "ID number" on import)."""
    people, scores = _table(gb, course, assignments)

    def write(fh):
        out = csv.writer(fh)
        out.writerow(["ID number", "Email address", "First name", "Last name", *assignments])
        for student, who in people:
            out.writerow([student, getattr(who, "email", None) or "",
                          getattr(who, "first_name", None) or "",
                          getattr(who, "last_name", None) or "",
                          *(scores[a].get(student, "") for a in assignments)])
    return [write_atomically(course / "exports" / "moodle.csv", write)]


FORMATS = {"gradescope": write_gradescope, "canvas": write_canvas, "moodle": write_moodle}
