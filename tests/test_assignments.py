"""The assignments, source to release to grades: what holds for every one of them.

Fast tests read the notebooks: the course's conventions, what the release hides,
the ring data and the numpy framework's training limits.  The slow tests share
one module-scoped run on a copy of the course: each release is regenerated
there, then the teacher's solution (student ``solution``) and the committed
release left untouched (student ``blank``) are graded together, per assignment,
in one ``nbgrader autograde`` call.  What differs between assignments is one row
of :data:`ASSIGNMENTS`.
"""
from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import framework_variants as fv
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


@dataclass(frozen=True)
class Facts:
    """What one assignment's notebook promises."""

    tests: tuple = (4, None)         # (at least, exactly) autograded test cells
    hidden_everywhere: bool = True   # every test cell carries hidden tests
    min_hidden: int = 0              # hidden-test regions in the whole notebook
    manual_points: int = 0           # written answers graded by hand
    points: int | None = None        # total points of the autograded cells
    cpu_seconds: float | None = None  # the solution's budget (its last cell prints its CPU time)
    grading_seconds: float | None = None  # nbgrader autograde of both students
    blank_errors: frozenset | None = None       # error names an untouched release may raise
    blank_cell_errors: tuple | None = None      # ... per graded cell, exactly one of these lists


ASSIGNMENTS = {
    "backprop_numpy": Facts(),
    "gradient_tape": Facts(),
    # Budget of every solution notebook, TensorFlow import included.  Asserted on the
    # kernel's CPU time, which a busy shared machine does not inflate as it does wall time.
    "tf_basics": Facts(hidden_everywhere=False, min_hidden=5, cpu_seconds=60,
                       blank_errors=frozenset({"NotImplementedError", "NameError"})),
    "tf_mlp": Facts(hidden_everywhere=False, min_hidden=5, manual_points=20, cpu_seconds=60,
                    blank_errors=frozenset({"NotImplementedError", "NameError"})),
    # a check's verdict or the training test's message, never a raw crash
    "numpy_framework": Facts(tests=(10, 10), points=22, grading_seconds=120,
                             blank_cell_errors=(["CheckFailed"], ["AssertionError"])),
    # a check's verdict on each stubbed layer, then the stub itself in the training cell
    "cnn_numpy": Facts(tests=(6, 6), points=15, cpu_seconds=60,
                       blank_errors=frozenset({"CheckFailed", "NotImplementedError", "NameError"})),
    "optimizers_numpy": Facts(tests=(5, 5), points=12, cpu_seconds=60,
                              blank_errors=frozenset({"CheckFailed", "NotImplementedError",
                                                      "NameError"})),
}
NAMES = sorted(ASSIGNMENTS)


def _cells(assignment: str, folder: Path = SOURCE):
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
    return {meta["grade_id"] for _, meta in _cells(assignment) if _kind(meta) == kind}


# ---------------------------------------------------------------- notebooks (fast)

def test_config_lists_every_assignment():
    listed = configured_assignments()
    for name in ASSIGNMENTS:
        assert name in listed and (SOURCE / name / f"{name}.ipynb").is_file()
    assert sorted(p.name for p in SOURCE.iterdir() if p.is_dir()) == NAMES


@pytest.mark.parametrize("assignment", NAMES)
def test_source_notebook_follows_the_course_conventions(assignment):
    facts, cells = ASSIGNMENTS[assignment], _cells(assignment)
    header = cells[0][0]
    assert header.cell_type == "markdown" and "Learning goals" in header.source
    ids = [meta["grade_id"] for _, meta in cells if meta]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    hidden = tests = 0
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
            tests += 1
            assert cell.cell_type == "code" and meta["locked"], gid
            hidden += cell.source.count("### BEGIN HIDDEN TESTS")
            assert cell.source.count("### BEGIN HIDDEN TESTS") == \
                cell.source.count("### END HIDDEN TESTS"), gid
            if facts.hidden_everywhere:
                assert "### BEGIN HIDDEN TESTS" in cell.source, gid
        else:
            assert "HIDDEN TESTS" not in cell.source, gid
        if kind in ("solution", "manual"):
            assert cell.source.count("### BEGIN SOLUTION") == \
                cell.source.count("### END SOLUTION") >= 1, gid
        elif cell.cell_type == "code":
            assert "### BEGIN SOLUTION" not in cell.source, gid
        if kind == "manual":
            # the model answer and the rubric sit inside the solution region: the release drops them
            assert cell.cell_type == "markdown", gid
            inside = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            assert "**Rubric" in inside and f"({meta['points']} point" in inside, gid
    at_least, exactly = facts.tests
    assert tests >= at_least and (exactly is None or tests == exactly), tests
    assert hidden >= facts.min_hidden, "the hidden tests carry the value checks"
    assert sum(meta["points"] for _, meta in cells if _kind(meta) == "manual") == facts.manual_points


@pytest.mark.parametrize("assignment", NAMES)
def test_committed_release_hides_solutions_rubrics_and_hidden_tests(assignment):
    for cell, meta in _cells(assignment, RELEASE):
        for secret in ("### BEGIN SOLUTION", "HIDDEN TESTS", "**Rubric", "**Model answer"):
            assert secret not in cell.source, (secret, meta and meta["grade_id"])
        if _kind(meta) == "manual":
            assert cell.source.strip() == "YOUR ANSWER HERE"
        if _kind(meta) == "solution" and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, meta["grade_id"]


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


# ---------------------------------------------------------------- gradient_tape's data (fast)
RING_FILE = "gradient_tape/data/ring_data_-5.npy"


def _ring_module():
    spec = importlib.util.spec_from_file_location("make_ring_data",
                                                  REPO / "data" / "make_ring_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ring_data_file_is_what_the_generator_writes():
    data = _ring_module().make_double_moon()
    for folder in (SOURCE, RELEASE):
        committed = np.load(folder / RING_FILE)
        assert committed.dtype == np.float64 and committed.shape == (2000, 3)
        assert np.array_equal(committed, data), (
            f"{folder / RING_FILE} is stale: rerun data/make_ring_data.py")


def test_ring_data_has_two_interlocking_half_rings():
    ring = _ring_module()
    data = ring.make_double_moon()
    upper, lower = data[data[:, 2] == 1, :2], data[data[:, 2] == -1, :2]
    assert len(upper) == len(lower) == 1000
    lower_centre = np.array([ring.RADIUS, -ring.DISTANCE])
    for points, centre, sign in ((upper, np.zeros(2), 1), (lower, lower_centre, -1)):
        rho = np.linalg.norm(points - centre, axis=1)
        assert rho.min() >= ring.RADIUS - ring.WIDTH / 2
        assert rho.max() <= ring.RADIUS + ring.WIDTH / 2
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


# ---------------------------------------------------------------- numpy_framework's training (fast)
# Measured with this notebook's classes over 200 seeds (init and shuffling; fixed split):
# test MSE mean 0.539 / 0.538 / 0.545, max 0.639 / 0.583 / 0.600 (linear / one / two hidden
# layers); with the original lesson's unit-normal start the 99th percentile is
# 0.646 / 0.748 / 0.696.  Predicting the training mean scores 1.153.  The limit 0.75 sits
# above all of those and far below the baseline and the bugs below.
GRADED_SEEDS = (20200720, 3, 4)    # the visible and hidden seeds of test-training


def _framework_source(grade_id):
    return next(cell.source for cell, meta in _cells("numpy_framework")
                if meta and meta["grade_id"] == grade_id)


def _limits() -> dict:
    """The thresholds written in the test-training cell."""
    for node in ast.walk(ast.parse(_framework_source("test-training"))):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_limits":
            return ast.literal_eval(node.value)
    raise AssertionError("test-training defines no _limits")


@pytest.fixture(scope="module")
def lab():
    """The solution's namespace with the data and the model-comparison helpers loaded."""
    namespace = fv.load_reference()
    for grade_id in ("data", "models"):
        exec(compile(_framework_source(grade_id), f"<{grade_id}>", "exec"), namespace)
    return namespace


def test_every_framework_solution_cell_is_a_definition_the_checks_are_tested_on():
    solutions = {meta["grade_id"] for _, meta in _cells("numpy_framework")
                 if meta and meta["solution"]}
    assert solutions <= set(fv.DEFINITIONS)


def test_every_framework_test_cell_calls_a_check_or_trains():
    for cell, meta in _cells("numpy_framework"):
        if meta and meta["grade"]:
            assert "nn_utils.check_" in cell.source or "compare_models" in cell.source


def test_the_solution_clears_every_limit_with_room(lab):
    limits = _limits()
    for seed in GRADED_SEEDS + (0, 1):
        reached = lab["compare_models"](seed)
        for name, limit in limits.items():
            assert reached[name] < limit - 0.1, (seed, name, reached[name])


def test_limits_sit_well_below_predicting_the_mean(lab):
    baseline = float(np.mean(lab["y_test"] ** 2))
    assert baseline > 1.1
    assert all(limit < baseline - 0.3 for limit in _limits().values())


@pytest.mark.parametrize("bug,replaces", [("SgdRebinds", "SGD"), ("TrainerUnpaired", "Trainer"),
                                          ("DenseZeroWeights", "Dense"),
                                          ("SgdFirstOnly", "SGD"),
                                          ("MseGradNotAveraged", "MeanSquaredError")])
def test_training_bugs_miss_a_limit(lab, bug, replaces):
    student = next(b.student for b in fv.BUGGY if b.name == bug)
    original, lab[replaces] = lab[replaces], student
    try:
        with np.errstate(all="ignore"):
            reached = lab["compare_models"](GRADED_SEEDS[0])
    finally:
        lab[replaces] = original
    limits = _limits()
    assert any(not reached[name] < limit for name, limit in limits.items()), reached


# ---------------------------------------------------------------- release and grading (slow)

@pytest.fixture(scope="module")
def course_run(request, tmp_path_factory):
    """A course copy with every release regenerated and both students autograded
    (only the assignments of the selected tests, e.g. under ``-k cnn``)."""
    wanted = {item.callspec.params.get("assignment") for item in request.session.items
              if "course_run" in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")}
    chosen = [name for name in NAMES if name in wanted] or NAMES
    return grade_solution_and_blank(tmp_path_factory.mktemp("course"), chosen)


def _graded(course_run, student: str, assignment: str):
    """(grades, graded notebook, test ids, manual ids) of one student's graded notebook;
    grades: {grade_id: (auto_score, max_score, needs_manual_grade)}, one per graded cell."""
    from nbgrader.api import Gradebook

    course, runs = course_run
    run = runs[assignment]
    assert run.returncode == 0, f"nbgrader autograde exited {run.returncode}:\n{run.log[-3000:]}"
    graded = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    assert graded.is_file(), f"{student}/{assignment} was not graded:\n{run.log[-3000:]}"
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        grades = {g.name: (g.auto_score, float(g.max_score), bool(g.needs_manual_grade))
                  for g in notebook.grades}
    tests, manual = _grade_ids(assignment, "test"), _grade_ids(assignment, "manual")
    assert set(grades) == tests | manual, "every graded cell must be in the gradebook"
    return grades, graded, tests, manual


def _errors(notebook: Path) -> list[tuple]:
    """(grade_id or cell id, error name) of every error output."""
    return [(cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id")), out.ename)
            for cell in nbformat.read(str(notebook), as_version=4).cells
            for out in cell.get("outputs", []) if out.output_type == "error"]


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
@pytest.mark.parametrize("assignment", NAMES)
def test_committed_release_is_up_to_date(course_run, assignment):
    course, _ = course_run
    fresh, committed = course / "release" / assignment, RELEASE / assignment
    assert sorted(p.name for p in fresh.iterdir()) == released_by_nbgrader(committed)
    files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()
                           and p.relative_to(committed).parts[0] in released_by_nbgrader(committed))
    for rel in files:
        if rel.suffix == ".ipynb":
            assert notebook_signature(fresh / rel) == notebook_signature(committed / rel), (
                f"release/{assignment}/{rel} is stale: "
                f"run nbgrader generate_assignment {assignment} --force")
        else:
            assert (fresh / rel).read_bytes() == (committed / rel).read_bytes(), f"{rel} is stale"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", NAMES)
def test_solution_gets_full_marks_and_manual_cells_wait_for_a_grader(course_run, assignment):
    facts, (_, runs) = ASSIGNMENTS[assignment], course_run
    grades, graded, tests, manual = _graded(course_run, "solution", assignment)
    lost = {gid: grades[gid] for gid in tests if grades[gid][0] != grades[gid][1]}
    assert not lost, "\n".join(f"{gid}: {g[0]}/{g[1]}\n{cell_output_text(graded, gid)}"
                               for gid, g in lost.items())
    assert all(grades[gid][1] > 0 for gid in tests)
    for gid in manual:
        auto, top, needs_manual = grades[gid]
        assert auto is None and needs_manual and top > 0, (gid, grades[gid])
    assert sum(grades[gid][1] for gid in manual) == facts.manual_points
    if facts.points is not None:
        assert sum(grades[gid][1] for gid in tests) == facts.points
    assert not _errors(graded), f"cells of the solution raised: {_errors(graded)}"
    if facts.cpu_seconds is not None:
        cpu, wall = _cpu_seconds(graded), _execution_seconds(graded)
        print(f"{assignment}: solution notebook used {cpu:.1f} CPU s, {wall:.1f} s wall")
        assert cpu < facts.cpu_seconds
    if facts.grading_seconds is not None:
        assert runs[assignment].seconds < facts.grading_seconds, "grading two copies: about 20 s"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", NAMES)
def test_untouched_release_scores_zero(course_run, assignment):
    facts = ASSIGNMENTS[assignment]
    grades, graded, tests, manual = _graded(course_run, "blank", assignment)
    earned = {gid: g for gid, g in grades.items() if g[0] != 0}
    assert not earned, f"an untouched notebook earned points: {earned}"
    # an unanswered written question is scored 0 automatically, nothing left for a grader
    assert not [gid for gid in manual if grades[gid][2]]
    if facts.blank_errors is not None:
        # every failure traces back to an unfilled stub: no timeout, no crash of the given code
        raised = {name for _, name in _errors(graded)}
        assert raised <= facts.blank_errors, raised
    if facts.blank_cell_errors is not None:
        for gid in tests:
            names = [name for where, name in _errors(graded) if where == gid]
            assert names in facts.blank_cell_errors, (gid, names)
