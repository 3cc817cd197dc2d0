"""The demo class: synthetic submissions (fast) and the demo end to end (slow)."""
from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from autograder import demo_class as _students
from autograder.commands import demo
from autograder.course import markers
from autograder.record import Result
from autograder.store import read_records

REPO = Path(__file__).resolve().parents[1]


def _cell(grade_id, text, solution=False, grade=False):
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": not solution,
            "schema_version": 3}
    return {"cell_type": "code", "metadata": {"nbgrader": meta}, "source": text,
            "outputs": [], "execution_count": None}


SOURCE = {"cells": [
    _cell("imports", "import numpy as np\n"),
    _cell("scale", "def scale(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
          solution=True),
    _cell("test_scale", "assert scale(1) == 2\n### BEGIN HIDDEN TESTS\nassert scale(2) == 4\n"
          "### END HIDDEN TESTS\n", grade=True),
], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
RELEASE = json.loads(json.dumps(SOURCE))
RELEASE["cells"][1]["source"] = ("def scale(x):\n    # YOUR CODE HERE\n"
                                 "    raise NotImplementedError()\n")
RELEASE["cells"][2]["source"] = "assert scale(1) == 2\n"
TOY_BUG = _students.Bug("toy", "scale_by_three", "scale", "2 * x", "3 * x")


@pytest.fixture
def toy_bug(monkeypatch):
    monkeypatch.setattr(_students, "BUGS", _students.BUGS + (TOY_BUG,))


def _build(kind, tmp_path):
    files = _students.build_submission(kind, "toy", {"toy": (SOURCE, RELEASE)}, tmp_path / "s")
    assert len(files) == 1
    return files[0]


def _solution_text(path):
    return json.loads(path.read_text())["cells"][1]["source"]


def test_solution_fills_release_from_source(tmp_path):
    text = _solution_text(_build("solution", tmp_path))
    assert text == "def scale(x):\n    return 2 * x\n"
    nb = json.loads((tmp_path / "s" / "toy.ipynb").read_text())
    assert "HIDDEN" not in nb["cells"][2]["source"]  # the student never saw hidden tests


def test_every_kind_is_what_it_says(tmp_path, toy_bug):
    assert _students.kinds_for("toy") == ["solution", "blank", "bug:scale_by_three",
                                          "malformed", "infinite_loop", "kernel_crash", "missing"]
    assert json.loads(_build("blank", tmp_path).read_text()) == RELEASE
    assert _solution_text(_build("bug:scale_by_three", tmp_path)).endswith("return 3 * x\n")
    assert _solution_text(_build("infinite_loop", tmp_path)).startswith("while True:")
    assert "os._exit(1)" in _solution_text(_build("kernel_crash", tmp_path))
    with pytest.raises(ValueError):
        json.loads(_build("malformed", tmp_path).read_text())
    assert _build("missing", tmp_path).name == "Untitled.ipynb"


def test_a_bug_that_no_longer_applies_fails_the_build(tmp_path, monkeypatch):
    stale = _students.Bug("toy", "stale", "scale", "x * 2", "x * 3")
    monkeypatch.setattr(_students, "BUGS", (stale,))
    with pytest.raises(_students.BuildError, match="does not apply"):
        _build("bug:stale", tmp_path)
    with pytest.raises(_students.BuildError, match="unknown kind"):
        _build("sleepy", tmp_path)


@pytest.mark.parametrize("bug", _students.BUGS, ids=lambda b: f"{b.assignment}:{b.id}")
def test_every_bug_row_applies_to_the_course_source(bug):
    """Each substitution changes exactly the solution text of the committed assignment."""
    (path,) = (REPO / "source" / bug.assignment).glob("*.ipynb")
    source = json.loads(path.read_text())
    cells = [c for c in source["cells"] if _students._meta(c).get("grade_id") == bug.cell]
    assert len(cells) == 1 and _students._meta(cells[0]).get("solution")
    solution = markers().without_markers(_students._text(cells[0]), hidden=False)
    assert solution.count(bug.old) == 1, f"{bug.id}: {bug.old!r} not found once"


def test_roster_has_every_kind_then_solutions():
    kinds = _students.kinds_for("backprop_numpy")
    plan = _students.roster("backprop_numpy", 30)
    assert plan[:len(kinds)] == kinds and set(plan[len(kinds):]) == {"solution"}
    assert _students.roster("backprop_numpy", 3) == kinds[:3]


@pytest.mark.parametrize("kind, record, ok", [
    ("solution", {"status": "ok", "score": 5, "max_score": 5}, True),
    ("solution", {"status": "ok", "score": 4, "max_score": 5}, False),
    # a hand-graded answer scores 0 until a teacher grades it: the solution still has full marks
    ("solution", {"status": "ok", "score": 3, "max_score": 5, "tests": [
        {"grade_id": "a", "max_points": 3}, {"grade_id": "b", "max_points": 2, "manual": True}]}, True),
    ("solution", {"status": "ok", "score": 2, "max_score": 5, "tests": [
        {"grade_id": "a", "max_points": 3}, {"grade_id": "b", "max_points": 2, "manual": True}]}, False),
    ("blank", {"status": "ok", "score": 0, "max_score": 5}, True),
    ("blank", {"status": "kernel-died", "score": 0, "max_score": 5}, False),
    ("bug:x", {"status": "ok", "score": 3, "max_score": 5}, True),
    ("bug:x", {"status": "ok", "score": 5, "max_score": 5}, False),
    ("infinite_loop", {"status": "timeout", "score": 3, "max_score": 5}, True),
    ("kernel_crash", {"status": "ok", "score": 5, "max_score": 5}, False),
    ("missing", None, False),
])
def test_expected_outcome(kind, record, ok):
    record = Result.from_json(record, student="s", assignment="a")
    assert (_students.expected_outcome(kind, record) is None) == ok


def test_refuses_to_delete_a_folder_it_did_not_build(tmp_path, capsys):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("keep me")
    assert demo.main(course=str(REPO), directory=str(tmp_path / "precious")) == 2
    assert "is not a demo class" in capsys.readouterr().err
    assert (tmp_path / "precious" / "thesis.tex").exists()
    assert demo.main(course=str(REPO), directory=str(REPO.parent)) == 2
    assert "would overwrite the course itself" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_small_class_end_to_end(tmp_path, capsys, monkeypatch):
    """Build, grade and report five students on the small fixture course (one kernel each)."""
    relu_bug = next(b for b in _students.BUGS if b.id == "relu_ignores_d_out")
    monkeypatch.setattr(_students, "BUGS", (dataclasses.replace(relu_bug, assignment="tiny"),))
    kinds = ["solution", "blank", "bug:relu_ignores_d_out", "malformed", "kernel_crash"]
    dest = tmp_path / "demo"
    assert demo.main(course=str(REPO / "tests" / "fixtures" / "course"), directory=str(dest),
                     assignments=["tiny"], kinds=kinds, workers=2) == 0
    out = capsys.readouterr().out
    assert "UNEXPECTED" not in out and str(dest / "grades.csv") in out
    with open(dest / "roster.csv", newline="") as handle:
        roster = {row["student"]: row["kind"] for row in csv.DictReader(handle)}
    assert roster == {f"s0{i}": kind for i, kind in enumerate(kinds, 1)}
    records = {r.student: r for r in read_records(dest, "tiny")}
    for student, kind in roster.items():
        assert _students.expected_outcome(kind, records.get(student)) is None, (kind, records[student])
    bugs = {t.bug for t in records["s03"].tests if t.bug}
    assert bugs, "the checker should name the bug in the result record"
    with open(dest / "grades.csv", newline="") as handle:
        assert {row["student_id"] for row in csv.DictReader(handle)} == set(roster)
    page = (dest / "reports" / "tiny" / "index.html").read_text()
    assert all(bug in page for bug in bugs)
