"""The whole round trip on a real course server, each step run by the account that does it.

A teaching assistant (an ordinary account, the project installed system-wide
from a clone) releases a numpy and a TensorFlow assignment through nbgrader's
exchange; three students fetch them, check their work offline with the bundled
checker, hand in (one solution, one with a known bug, one untouched) and submit;
the assistant collects, grades with isolated kernels (user namespaces: the
assistant is not root), releases feedback, and each student fetches it.  See
``real_server`` for the set-up; everything is removed afterwards.
"""
from __future__ import annotations

import csv
import json
import re
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from pages import text_of
from real_server import EXCHANGE, REPO

from autograder.course import markers
from autograder.demo_class import build_submission

pytestmark = pytest.mark.slow
# assignment -> the bug the second student hands in (a row of demo_class.BUGS)
ASSIGNMENTS = {"backprop_numpy": "bug:relu_ignores_d_out",
               "gradient_tape": "bug:argmax_over_batch_axis"}
FULL = {"backprop_numpy": 8.0, "gradient_tape": 11.0}
_SNOOP = """
import os as _os
for _path in {paths!r}:
    try:
        if _os.path.isdir(_path):
            _os.listdir(_path)
        else:
            open(_path, "rb").read(1)
        print("LEAKED", _path)
    except Exception as _exc:
        print("denied", _path, type(_exc).__name__)
"""


def _snooper(server) -> str:
    """The buggy student, who also tries to read what a kernel must not see."""
    return server.students[1]


def _kinds(server, assignment: str) -> dict[str, str]:
    solution, buggy, blank = server.students
    return {solution: "solution", buggy: ASSIGNMENTS[assignment], blank: "blank"}


def _snoop_paths(server, course: Path, assignment: str) -> list[str]:
    """What a grading kernel must not read: the course, the others' work, the exchange."""
    others = [s for s in server.students if s != _snooper(server)]
    return [str(course / "gradebook.db"), str(course / "source" / assignment),
            *(str(course / "submitted" / s / assignment) for s in others),
            *(str(server.home(s) / assignment) for s in server.students),
            str(EXCHANGE / server.course_id / "inbound"), str(server.home(server.ta))]


def _hand_in(server, course: Path, student: str, assignment: str, kind: str, scratch: Path) -> None:
    """Write the ``kind`` answers into the student's fetched notebook, as they would edit it."""
    fetched = server.home(student) / assignment
    if kind == "blank":
        return
    notebooks = {}
    for path in (course / "source" / assignment).glob("*.ipynb"):
        notebooks[path.stem] = (json.loads(path.read_text()),
                                json.loads((fetched / path.name).read_text()))
    out = scratch / student / assignment
    build_submission(kind, assignment, notebooks, out)
    for path in out.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        if student == _snooper(server):   # in an answer cell: cells a student adds are not graded
            answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
            answer.source += "\n" + _SNOOP.format(paths=_snoop_paths(server, course, assignment))
        nbformat.write(nb, fetched / path.name)
    server.chown(fetched, student)


def _check_offline(server, student: str, assignment: str) -> str:
    """The student runs the notebook (its visible checks) in their folder, with no network."""
    folder = server.home(student) / assignment
    nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import nn_utils\nprint('checker from', nn_utils.__file__)"))
    trial = folder / "trial.ipynb"
    nbformat.write(nb, trial)
    server.chown(trial, student)
    try:
        server.run_as(student, ["jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                                "--ExecutePreprocessor.timeout=300", "--inplace", trial.name],
                      cwd=folder, offline=True)
        return json.dumps([c.get("outputs", []) for c in nbformat.read(trial, as_version=4).cells])
    finally:
        trial.unlink()


@pytest.fixture(scope="module")
def round_trip(course_server, tmp_path_factory):
    server, ta = course_server, course_server.ta
    scratch = tmp_path_factory.mktemp("answers")
    # the course is a clone of this repository, as a teacher starts one: its own autograder/
    # and nn_utils/ folders sit in the directory the assistant grades from
    course = server.home(ta) / "course"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(course)], check=True)
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(f"c.CourseDirectory.course_id = {server.course_id!r}\n")
    server.chown(course, ta)
    took: dict = {}
    out = {"course": course, "server": server, "took": took, "checked": {}}
    start = time.monotonic()
    out["release"] = server.run_as(ta, ["autograder", "release", *ASSIGNMENTS], cwd=course)
    for assignment in ASSIGNMENTS:
        server.run_as(ta, ["nbgrader", "release_assignment", assignment, "--force"], cwd=course)
        for student, kind in _kinds(server, assignment).items():
            server.run_as(student, ["nbgrader", "fetch_assignment", assignment, "--course", server.course_id])
            _hand_in(server, course, student, assignment, kind, scratch)
            if assignment == "backprop_numpy" and kind != "blank":
                out["checked"][student] = _check_offline(server, student, assignment)
            server.run_as(student, ["nbgrader", "submit", assignment, "--course", server.course_id])
        server.run_as(ta, ["nbgrader", "collect", assignment], cwd=course)
        graded = time.monotonic()
        out[f"grade {assignment}"] = server.run_as(
            ta, ["autograder", "grade", assignment, "--workers", "2", "--no-progress"], cwd=course)
        took[f"grade {assignment}"] = time.monotonic() - graded
        server.run_as(ta, ["nbgrader", "release_feedback", assignment], cwd=course)
        for student in server.students:
            server.run_as(student, ["nbgrader", "fetch_feedback", assignment, "--course", server.course_id])
    took["round trip"] = time.monotonic() - start
    out["left"] = server.processes()
    print("real-server timings (s):", {k: round(v, 1) for k, v in took.items()})
    return out


def test_the_release_validates_as_the_assistant(round_trip):
    text = round_trip["release"].stdout
    for assignment in ASSIGNMENTS:
        assert re.search(rf"release {assignment}: ok\b", text), text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grades_isolated_as_the_assistant(round_trip, assignment):
    server, course = round_trip["server"], round_trip["course"]
    run = round_trip[f"grade {assignment}"]
    assert "unisolated" not in run.stdout + run.stderr
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == assignment}
    kinds = _kinds(server, assignment)
    got = {kinds[s]: (rows[s]["status"], float(rows[s]["score"])) for s in kinds}
    assert got["solution"] == ("ok", FULL[assignment])
    assert got["blank"] == ("ok", 0.0)
    bug_status, bug_score = got[ASSIGNMENTS[assignment]]
    assert bug_status == "ok" and 0 < bug_score < FULL[assignment]
    log = (course / "autograder.log").read_text()
    assert "error output" not in log and "retrying" not in log


def test_each_fetched_folder_holds_the_checker_and_checks_offline(round_trip):
    server = round_trip["server"]
    for assignment in ASSIGNMENTS:
        for student in server.students:
            folder = server.home(student) / assignment
            assert (folder / "nn_utils" / "__init__.py").is_file() and (folder / "requirements.txt").is_file()
    solution, buggy, _ = server.students
    good, bad = round_trip["checked"][solution], round_trip["checked"][buggy]
    bundle = str(server.home(solution) / "backprop_numpy" / "nn_utils")
    assert f"checker from {bundle}" in good                 # the bundle, not the installed copy
    assert "CheckFailed" not in good and "relu" in good
    assert "CheckFailed" in bad and "d_out" in bad            # the bug, named


def _hidden_lines(course: Path, assignment: str) -> list[str]:
    """The lines of the source's hidden tests (nbgrader's markers, as the course sets them)."""
    found = markers(course)
    lines = []
    for path in (course / "source" / assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            source = cell.source.splitlines()
            lines += [source[n - 1].strip() for n in sorted(found.hidden_lines(cell.source))
                      if len(source[n - 1].strip()) > 12]
    return lines


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_student_fetches_their_own_feedback_without_hidden_tests(round_trip, assignment):
    server, course = round_trip["server"], round_trip["course"]
    hidden = _hidden_lines(course, assignment)
    assert hidden
    for student in server.students:
        fetched = list((server.home(student) / assignment / "feedback").glob(f"*/{assignment}.html"))
        assert len(fetched) == 1, student
        page = fetched[0].read_text()
        assert page == (course / "feedback" / student / assignment / f"{assignment}.html").read_text()
        text = text_of(page)
        named = re.findall(r"student (\w+), [\d.]+ / [\d.]+ point", text)
        assert named and set(named) == {student}
        assert not [line for line in hidden if line in text]


def test_a_grading_kernel_reads_nothing_of_the_course_or_other_students(round_trip):
    server, course = round_trip["server"], round_trip["course"]
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(course / "autograded" / _snooper(server) / assignment / f"{assignment}.ipynb",
                           as_version=4)
        printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        tried = _snoop_paths(server, course, assignment)
        assert "LEAKED" not in printed
        assert all(f"denied {path} " in printed for path in tried), printed[:3000]


def test_no_process_of_the_accounts_is_left(round_trip):
    assert round_trip["left"] == {}
