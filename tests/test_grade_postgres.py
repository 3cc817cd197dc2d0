"""The gradebook on a real PostgreSQL server: parallel grading, resume and --force.

nbgrader's ``CourseDirectory.db_url`` may name any SQLAlchemy database; large
courses keep their gradebook on a server.  The server is Debian's, installed
and started by this test's own setup (see ``postgres_server``).
"""
from __future__ import annotations

import csv

import pytest
from nbgrader_course import add_course
from postgres_server import postgres_url

from autograder.commands import grade

pytestmark = pytest.mark.slow
STUDENTS = {**{f"right{i}": "solution" for i in range(6)}, "wrong": "wrong", "crash": "crash"}
EXPECTED = {**{f"right{i}": ("ok", 2.0) for i in range(6)}, "wrong": ("ok", 0.0),
            "crash": ("kernel-died", 0.0)}


@pytest.fixture(scope="module")
def database():
    with postgres_url() as url:
        yield url


def _scores(url: str) -> dict:
    from nbgrader.api import Gradebook
    with Gradebook(url, course_id="dl-course") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions("add")}


def _csv(course) -> dict:
    with open(course / "grades.csv", newline="") as fh:
        return {r["student_id"]: (r["status"], float(r["score"])) for r in csv.DictReader(fh)}


def test_a_class_graded_in_parallel_into_postgresql_resumes_and_regrades(
        tmp_path, database, capsys):
    course = add_course(tmp_path / "course", STUDENTS)
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.CourseDirectory.db_url = {database!r}\n")
    assert grade.main(course=course, assignment="add", workers=2, progress=False) == 0
    assert _csv(course) == EXPECTED
    assert _scores(database) == {s: score for s, (_, score) in EXPECTED.items()}
    assert not (course / "gradebook.db").exists()  # nothing went to the SQLite default
    capsys.readouterr()

    assert grade.main(course=course, assignment="add", workers=2, progress=False) == 0
    assert f"0 graded, {len(STUDENTS)} already graded" in capsys.readouterr().out

    (course / "submitted" / "wrong" / "add" / "add.ipynb").write_bytes(
        (course / "submitted" / "right0" / "add" / "add.ipynb").read_bytes())
    assert grade.main(course=course, assignment="add", workers=2, progress=False) == 0
    assert "1 graded" in capsys.readouterr().out  # only the changed submission
    assert _scores(database)["wrong"] == 2.0

    assert grade.main(course=course, assignment="add", workers=2, progress=False,
                      force=True) == 0
    assert f"{len(STUDENTS)} graded, 0 already graded" in capsys.readouterr().out
    assert _scores(database) == {**{s: score for s, (_, score) in EXPECTED.items()}, "wrong": 2.0}
