"""Assignments C (tf_basics) and D (tf_mlp): notebook conventions, release, real grading.

The slow tests share one module-scoped run on a copy of the course: the release
is regenerated there, then per assignment the teacher's solution (student
"solution") and the committed release left untouched (student "blank") are
graded together in one ``nbgrader autograde`` call.

D mixes autograded test cells with written answers graded by hand (markdown
cells that are both ``grade`` and ``solution``).  Autograding leaves those at 0
points, flagged for manual grading when a student wrote something; the tests
check both kinds separately.
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import (
    RELEASE,
    SOURCE,
    cell_output_text,
    configured_assignments,
    grade_solution_and_blank,
    notebook_signature,
    released_by_nbgrader,
)

ASSIGNMENTS = ("tf_basics", "tf_mlp")
MANUAL_POINTS = {"tf_basics": 0, "tf_mlp": 20}   # points graded by hand, per assignment
# Budget of every solution notebook, TensorFlow import included.  Asserted on the
# kernel's CPU time (its last cell prints it), which a busy shared machine does not
# inflate the way it inflates wall time; the wall time is printed alongside.
SOLUTION_SECONDS = 60


def _cells(folder: Path, assignment: str):
    nb = nbformat.read(str(folder / assignment / f"{assignment}.ipynb"), as_version=4)
    return [(cell, cell.metadata.get("nbgrader")) for cell in nb.cells]


def _kind(meta) -> str:
    """'test' (autograded), 'manual' (written answer graded by hand), 'solution', 'locked' or ''."""
    if not meta:
        return ""
    if meta["grade"]:
        return "manual" if meta["solution"] else "test"
    return "solution" if meta["solution"] else "locked"


def _grade_ids(assignment: str, kind: str) -> set[str]:
    return {meta["grade_id"] for _, meta in _cells(SOURCE, assignment) if _kind(meta) == kind}


# ---------------------------------------------------------------- notebooks (fast)

def test_config_lists_both_assignments():
    listed = configured_assignments()
    for name in ASSIGNMENTS:
        assert name in listed and (SOURCE / name / f"{name}.ipynb").is_file()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_follows_the_course_conventions(assignment):
    cells = _cells(SOURCE, assignment)
    header = cells[0][0]
    assert header.cell_type == "markdown" and "Learning goals" in header.source
    ids = [meta["grade_id"] for _, meta in cells if meta]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    hidden = 0
    for cell, meta in cells:
        assert not cell.get("outputs"), "source notebooks are stored without outputs"
        if not meta:
            assert "### BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
            continue
        kind, gid = _kind(meta), meta["grade_id"]
        assert meta["schema_version"] == 3 and re.fullmatch(r"[a-z0-9-]+", gid), gid
        if kind in ("test", "manual"):
            assert meta.get("points", 0) > 0, f"{gid} has no points"
        if kind == "test":
            assert cell.cell_type == "code" and meta["locked"], gid
            hidden += cell.source.count("### BEGIN HIDDEN TESTS")
            assert cell.source.count("### BEGIN HIDDEN TESTS") == cell.source.count("### END HIDDEN TESTS")
        else:
            assert "HIDDEN TESTS" not in cell.source, gid
        if kind in ("solution", "manual"):
            assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION") >= 1, gid
        if kind == "manual":
            # the model answer and the rubric sit inside the solution region, so the release drops them
            assert cell.cell_type == "markdown", gid
            inside = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            assert "**Rubric" in inside and f"({meta['points']} point" in inside, gid
    assert hidden >= 5, "the hidden tests carry the value checks"
    manual = sum(meta["points"] for _, meta in cells if _kind(meta) == "manual")
    assert manual == MANUAL_POINTS[assignment]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_hides_solutions_rubrics_and_hidden_tests(assignment):
    for cell, meta in _cells(RELEASE, assignment):
        for secret in ("### BEGIN SOLUTION", "HIDDEN TESTS", "**Rubric", "**Model answer"):
            assert secret not in cell.source, (secret, meta and meta["grade_id"])
        if _kind(meta) == "manual":
            assert cell.source.strip() == "YOUR ANSWER HERE"
        if _kind(meta) == "solution":
            assert "raise NotImplementedError()" in cell.source, meta["grade_id"]


# ---------------------------------------------------------------- release and grading (slow)

@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    """A course copy with the release regenerated and both students autograded per assignment."""
    return grade_solution_and_blank(tmp_path_factory.mktemp("course"), ASSIGNMENTS)



def _grades(course: Path, run, student: str, assignment: str) -> dict:
    """{grade_id: (auto_score, max_score, needs_manual_grade)} of one graded notebook."""
    from nbgrader.api import Gradebook

    assert run.returncode == 0, f"nbgrader autograde exited {run.returncode}:\n{run.log[-3000:]}"
    graded = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    assert graded.is_file(), f"{student}/{assignment} was not graded:\n{run.log[-3000:]}"
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.auto_score, float(g.max_score), bool(g.needs_manual_grade))
                for g in notebook.grades}


def _cpu_seconds(notebook: Path) -> float:
    """CPU seconds the grading kernel reported in the notebook's last cell."""
    last = nbformat.read(str(notebook), as_version=4).cells[-1]
    text = "".join(out.get("text", "") for out in last.get("outputs", []))
    found = re.search(r"CPU time of this notebook: ([0-9.]+) s", text)
    assert found, f"the last cell of {notebook.name} did not report its CPU time: {text!r}"
    return float(found.group(1))


def _execution_seconds(notebook: Path) -> float:
    """Time from the first cell's start to the last cell's reply, as the kernel recorded it."""
    stamps = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        timing = cell.metadata.get("execution", {})
        stamps += [datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                   for key in ("iopub.execute_input", "shell.execute_reply") if key in timing]
    assert stamps, f"no execution timing recorded in {notebook}"
    return (max(stamps) - min(stamps)).total_seconds()


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_up_to_date(course_run, assignment):
    course, _ = course_run
    fresh, committed = course / "release" / assignment, RELEASE / assignment
    assert sorted(p.name for p in fresh.iterdir()) == released_by_nbgrader(committed)
    name = f"{assignment}.ipynb"
    assert notebook_signature(fresh / name) == notebook_signature(committed / name), (
        f"release/{assignment}/{name} is stale: run nbgrader generate_assignment {assignment} --force")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_marks_and_manual_cells_wait_for_a_grader(course_run, assignment):
    course, runs = course_run
    grades = _grades(course, runs[assignment], "solution", assignment)
    graded = course / "autograded" / "solution" / assignment / f"{assignment}.ipynb"
    tests, manual = _grade_ids(assignment, "test"), _grade_ids(assignment, "manual")
    assert set(grades) == tests | manual, "every graded cell must be in the gradebook"
    lost = {gid: grades[gid] for gid in tests if grades[gid][0] != grades[gid][1]}
    assert not lost, "\n".join(f"{gid}: {g[0]}/{g[1]}\n{cell_output_text(graded, gid)}"
                               for gid, g in lost.items())
    for gid in manual:
        auto, top, needs_manual = grades[gid]
        assert auto is None and needs_manual and top > 0, (gid, grades[gid])
    assert sum(grades[gid][1] for gid in manual) == MANUAL_POINTS[assignment]
    errors = [cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
              for cell in nbformat.read(str(graded), as_version=4).cells
              for out in cell.get("outputs", []) if out.output_type == "error"]
    assert not errors, f"cells of the solution raised: {errors}"
    cpu, wall = _cpu_seconds(graded), _execution_seconds(graded)
    print(f"{assignment}: solution notebook used {cpu:.1f} CPU s, {wall:.1f} s wall")
    assert cpu < SOLUTION_SECONDS


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(course_run, assignment):
    course, runs = course_run
    grades = _grades(course, runs[assignment], "blank", assignment)
    tests, manual = _grade_ids(assignment, "test"), _grade_ids(assignment, "manual")
    assert set(grades) == tests | manual, "every graded cell must be in the gradebook"
    earned = {gid: g for gid, g in grades.items() if g[0] != 0}
    assert not earned, f"an untouched notebook earned points: {earned}"
    # an unanswered written question is scored 0 automatically, nothing left for a grader
    assert not [gid for gid in manual if grades[gid][2]]
    # every failure traces back to an unfilled stub: no timeout, no crash of the given code
    graded = course / "autograded" / "blank" / assignment / f"{assignment}.ipynb"
    raised = {out.ename for cell in nbformat.read(str(graded), as_version=4).cells
              for out in cell.get("outputs", []) if out.output_type == "error"}
    assert raised <= {"NotImplementedError", "NameError"}, raised
