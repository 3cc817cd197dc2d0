"""Assignments A (backprop_numpy) and B (gradient_tape): data, notebooks, release, grading.

The slow tests share one module-scoped run on a copy of the course: the
release is regenerated there, then per assignment the teacher's solution
(student "solution") and the committed release left untouched (student
"blank") are graded together in one ``nbgrader autograde`` call.
"""
from __future__ import annotations

import importlib.util
import re

import nbformat
import numpy as np
import pytest
from nbgrader_course import (
    RELEASE,
    REPO,
    SOURCE,
    cell_output_text,
    configured_assignments,
    grade_solution_and_blank,
    notebook_signature,
    released_by_nbgrader,
)

ASSIGNMENTS = {"backprop_numpy": ["backprop_numpy"], "gradient_tape": ["gradient_tape"]}
RING_FILE = "gradient_tape/data/ring_data_-5.npy"


def _ring_module():
    spec = importlib.util.spec_from_file_location("make_ring_data", REPO / "data" / "make_ring_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nbgrader_cells(assignment: str, folder=SOURCE):
    for name in ASSIGNMENTS[assignment]:
        nb = nbformat.read(str(folder / assignment / f"{name}.ipynb"), as_version=4)
        for cell in nb.cells:
            yield name, cell, cell.metadata.get("nbgrader")


# ---------------------------------------------------------------- data (fast)

def test_ring_data_file_is_what_the_generator_writes():
    data = _ring_module().make_double_moon()
    for folder in (SOURCE, RELEASE):
        committed = np.load(folder / RING_FILE)
        assert committed.dtype == np.float64 and committed.shape == (2000, 3)
        assert np.array_equal(committed, data), f"{folder / RING_FILE} is stale: rerun data/make_ring_data.py"


def test_ring_data_has_two_interlocking_half_rings():
    ring = _ring_module()
    data = ring.make_double_moon()
    upper, lower = data[data[:, 2] == 1, :2], data[data[:, 2] == -1, :2]
    assert len(upper) == len(lower) == 1000
    lower_centre = np.array([ring.RADIUS, -ring.DISTANCE])
    for points, centre, sign in ((upper, np.zeros(2), 1), (lower, lower_centre, -1)):
        rho = np.linalg.norm(points - centre, axis=1)
        assert rho.min() >= ring.RADIUS - ring.WIDTH / 2 and rho.max() <= ring.RADIUS + ring.WIDTH / 2
        assert np.all(sign * (points[:, 1] - centre[1]) >= 0), "each moon is a half ring"
    # interlocking: the lower moon's top reaches above the upper moon's bottom
    assert lower[:, 1].max() > upper[:, 1].min() + 4
    assert not np.array_equal(ring.make_double_moon(seed=1), data)


def test_ring_generator_rejects_bad_arguments():
    ring = _ring_module()
    with pytest.raises(ValueError, match="even"):
        ring.make_double_moon(n_points=3)
    with pytest.raises(ValueError, match="width"):
        ring.make_double_moon(width=25.0)


# ---------------------------------------------------------------- notebooks (fast)

def test_config_lists_both_assignments():
    listed = configured_assignments()
    for name in ASSIGNMENTS:
        assert name in listed
        assert (SOURCE / name).is_dir()


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_source_notebook_follows_the_course_conventions(assignment):
    cells = list(_nbgrader_cells(assignment))
    first = cells[0][1]
    assert first.cell_type == "markdown" and "Learning goals" in first.source
    ids = [meta["grade_id"] for _, _, meta in cells if meta]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    tests = 0
    for _, cell, meta in cells:
        assert not cell.get("outputs"), "source notebooks are stored without outputs"
        if meta is None:
            continue
        assert meta["schema_version"] == 3
        assert re.fullmatch(r"[a-z0-9-]+", meta["grade_id"])
        if meta["grade"]:
            tests += 1
            assert meta["locked"] and meta.get("points", 0) > 0, meta["grade_id"]
            assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source
        if meta["solution"]:
            assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION") >= 1
        elif cell.cell_type == "code":
            assert "### BEGIN SOLUTION" not in cell.source, meta["grade_id"]
    assert tests >= 4


def test_release_signature_ignores_volatile_fields_but_sees_edits(tmp_path):
    path = RELEASE / "backprop_numpy" / "backprop_numpy.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    reference = notebook_signature(path)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code["id"] = "renamed-id"
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    code.metadata["nbgrader"]["checksum"] = "0" * 32
    nbformat.write(nb, str(tmp_path / "volatile.ipynb"))
    assert notebook_signature(tmp_path / "volatile.ipynb") == reference
    code.source += "\n# edited"
    nbformat.write(nb, str(tmp_path / "edited.ipynb"))
    assert notebook_signature(tmp_path / "edited.ipynb") != reference
    code.source = code.source.removesuffix("\n# edited")
    code.metadata["nbgrader"]["points"] = 99
    nbformat.write(nb, str(tmp_path / "points.ipynb"))
    assert notebook_signature(tmp_path / "points.ipynb") != reference


# ---------------------------------------------------------------- release and grading (slow)

@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    """A course copy with the release regenerated and both students autograded per assignment."""
    return grade_solution_and_blank(tmp_path_factory.mktemp("course"), ASSIGNMENTS)



def _graded(run, student, assignment, notebook):
    assert run.returncode == 0, f"nbgrader autograde exited {run.returncode}:\n{run.log[-3000:]}"
    scores = run.scores.get(student, {}).get(notebook)
    assert scores, f"no grades recorded for {student}/{assignment}/{notebook}:\n{run.log[-3000:]}"
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_committed_release_is_up_to_date(course_run, assignment):
    course, _ = course_run
    fresh, committed = course / "release" / assignment, RELEASE / assignment
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()
                             and p.relative_to(committed).parts[0] in released_by_nbgrader(committed))
    assert fresh_files == committed_files, "release/ has other files than nbgrader generates"
    for rel in fresh_files:
        if rel.suffix == ".ipynb":
            assert notebook_signature(fresh / rel) == notebook_signature(committed / rel), (
                f"release/{assignment}/{rel} is stale: run nbgrader generate_assignment {assignment} --force")
        else:
            assert (fresh / rel).read_bytes() == (committed / rel).read_bytes(), f"{rel} is stale"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_solution_gets_full_marks(course_run, assignment):
    course, runs = course_run
    for notebook in ASSIGNMENTS[assignment]:
        scores = _graded(runs[assignment], "solution", assignment, notebook)
        graded = course / "autograded" / "solution" / assignment / f"{notebook}.ipynb"
        lost = {gid: s for gid, s in scores.items() if s.score < s.max_score}
        assert not lost, "\n".join(f"{gid}: {s.score}/{s.max_score}\n{cell_output_text(graded, gid)}"
                                   for gid, s in lost.items())
        assert all(s.max_score > 0 for s in scores.values())


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_untouched_release_scores_zero(course_run, assignment):
    _, runs = course_run
    for notebook in ASSIGNMENTS[assignment]:
        expected = {meta["grade_id"] for _, _, meta in _nbgrader_cells(assignment)
                    if meta and meta["grade"]}
        scores = _graded(runs[assignment], "blank", assignment, notebook)
        assert set(scores) == expected, "every test cell must be graded"
        earned = {gid: s.score for gid, s in scores.items() if s.score != 0}
        assert not earned, f"an untouched notebook earned points: {earned}"
