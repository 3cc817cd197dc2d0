"""Fast tests of the grading core: assembling from source, trusted scoring, CLI errors."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from expect_support import reports
from nbgrader_course import REPO
from pages import text_of

from autograder import cli
from autograder.assemble import ANY_SEED, MIME, assemble, expected_checks, release_view
from autograder.commands.grade import parse_size
from autograder.course import course_setting
from autograder.feedback.pages import feedback_html
from autograder.judge.score import expected_seed, score_cell
from autograder.pipeline import longest_first
from autograder.record import CellScore, Result, Status

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE = nbformat.read(FIXTURES / "course" / "source" / "tiny" / "tiny.ipynb", as_version=4)
NONCE = "0123456789abcdef"


def submission(name: str) -> nbformat.NotebookNode:
    return nbformat.read(FIXTURES / "submissions" / f"{name}.ipynb", as_version=4)


def test_expected_checks_reads_names_and_seeds():
    src = ("import nn_utils\n%matplotlib inline\nnn_utils.check_relu(ReLU())\n"
           "check_affine(Affine(), seed=3)\nfor s in range(2):\n    check_relu(ReLU(), seed=s)\n"
           "for s in (7, 8):\n    check_relu(ReLU(), seed=s + 1)\ncheck_fit(fit, 5)\nprint(check)\n")
    assert expected_checks(src) == (("relu", None), ("affine", 3), ("relu", 0), ("relu", 1),
                                    ("relu", ANY_SEED), ("fit", 5))


def test_release_view_hides_hidden_tests_and_solutions():
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in SOURCE.cells}
    shown = release_view(cells["test_square"])
    assert "assert square(3) == 9" in shown and "square(-2)" not in shown
    assert "np.maximum" not in release_view(cells["relu"])
    assert "raise NotImplementedError()" in release_view(cells["relu"])


def test_assemble_takes_tests_from_source_whatever_the_student_did():
    asm = assemble("tiny", SOURCE, submission("hostile_wrong_relu__relu_zero"))
    graded = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in asm.notebook.cells}
    assert [t.grade_id for t in asm.tests] == ["test_relu", "test_square", "test_tape"]
    assert [t.max_points for t in asm.tests] == [2.0, 1.0, 1.0]
    assert "seed=7" in graded["test_relu"].source                # hidden test restored
    assert "HIDDEN" not in graded["test_relu"].source            # markers removed
    assert "np.abs" in graded["relu"].source                     # the student's answer is kept
    assert all("tags" not in c.metadata for c in asm.notebook.cells)
    assert asm.notebook.metadata["kernelspec"]["name"] == "python3"
    assert asm.tests[0].checks == (("relu", None), ("relu", 7))
    # source order: the student's extra cell runs after the answer it followed, before the tests
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in asm.notebook.cells]
    assert order.index("relu") < order.index("test_relu") < order.index("square")
    assert all(asm.notebook.cells[t.index].metadata["nbgrader"]["grade_id"] == t.grade_id
               for t in asm.tests)


def test_assemble_without_submission_uses_release_view():
    asm = assemble("tiny", SOURCE, None)
    relu = next(c for c in asm.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    assert "NotImplementedError" in relu.source


class _ReLU:
    def __init__(self, leak=0.0):
        self.leak = leak

    def forward(self, inputs):
        self.cache = inputs
        return np.where(inputs > 0, inputs, self.leak * inputs)

    def backward(self, d_out):
        return d_out * np.where(self.cache > 0, 1.0, self.leak)


def _record(student, user_seed=None, nonce=NONCE, seed=None) -> dict:
    """The display output a grading kernel would send for check_relu(student)."""
    from nn_utils import wire
    from nn_utils.engine import get_check
    check = get_check("relu")
    seed = expected_seed("relu", user_seed, nonce) if seed is None else seed
    observed = check.probe(student, check.plan(seed))
    text = wire.dumps({"check": "relu", "seed": seed, "user_seed": user_seed, "observed": observed})
    return {"output_type": "display_data", "data": {MIME: text}, "metadata": {}}


TEST_RELU = assemble("tiny", SOURCE, None).tests[0]


def test_correct_records_earn_the_points():
    entry = score_cell(TEST_RELU, [_record(_ReLU()), _record(_ReLU(), 7)], NONCE, 2.0)
    assert entry.ok and entry.points == 2.0 and entry.check == "relu"


@pytest.mark.parametrize("outputs, why", [
    ([], "no record at all"),
    ([_record(_ReLU())], "the hidden seed's record is missing"),
    ([_record(_ReLU()), _record(_ReLU(), 7, nonce="guessed")], "wrong nonce"),
    ([_record(_ReLU()), _record(_ReLU(), 7, seed=7)], "seed not derived from the nonce"),
    ([_record(_ReLU()), _record(_ReLU(0.1), 7)], "wrong answer on the hidden seed"),
    ([_record(_ReLU()), _record(_ReLU(), 7),
      {"output_type": "display_data", "data": {MIME: "{not json"}}], "garbage record"),
    ([_record(_ReLU()), _record(_ReLU(), 7),
      {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}],
     "an error in the cell"),
])
def test_missing_forged_or_wrong_records_earn_nothing(outputs, why):
    entry = score_cell(TEST_RELU, outputs, NONCE, 2.0)
    assert not entry.ok and entry.points == 0.0, why
    assert entry.message


def test_wrong_answer_names_the_bug():
    entry = score_cell(TEST_RELU, [_record(_ReLU(0.1)), _record(_ReLU(0.1), 7)], NONCE, 2.0)
    assert entry.bug == "leaky_relu" and "forward output is wrong" in entry.message


def test_plain_test_cells_follow_errors_not_stderr():
    square = assemble("tiny", SOURCE, None).tests[1]
    source = next(c.source for c in SOURCE.cells if c.metadata["nbgrader"]["grade_id"] == "test_square")
    stderr = [{"output_type": "stream", "name": "stderr", "text": "WARNING: tf noise\n"},
              *reports(source, {"square": lambda x: x * x})]  # what the kernel reports
    assert score_cell(square, stderr, NONCE, 1.0).points == 1.0
    error = stderr + [{"output_type": "error", "ename": "AssertionError",
                       "evalue": "square must handle negative numbers", "traceback": ["..."]}]
    entry = score_cell(square, error, NONCE, 1.0)
    assert entry.points == 0.0 and entry.message.startswith("AssertionError: square")
    not_run = score_cell(square, None, NONCE, 1.0)
    assert not_run.message == "this test did not run"
    # nbgrader's gradebook: 0 points, and no one is asked to grade it by hand
    assert (not_run.auto_score, not_run.needs_manual_grade) == (0.0, False)


def test_feedback_shows_messages_not_hidden_tests():
    asm = assemble("tiny", SOURCE, submission("full_marks"))
    for test in asm.tests:  # outputs that quote the hidden test, as a traceback would
        asm.notebook.cells[test.index].outputs = [nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="x", traceback=["assert square(-2) == 4"])]
    entries = [CellScore(t.grade_id, "tiny", max_points=1.0, message="AssertionError: why")
               for t in asm.tests]
    result = Result("s1", "tiny", Status.OK, tests=tuple(entries))
    html = text_of(feedback_html("s1", "tiny", "tiny", asm.notebook,
                                 {t.index: e for t, e in zip(asm.tests, entries, strict=False)}, asm.shown,
                                 result))
    assert "square(-2)" not in html and "seed=7" not in html
    assert "AssertionError: why" in html and "assert square(3) == 9" in html


@pytest.mark.parametrize("assignment", ["backprop_numpy", "numpy_framework"])
def test_feedback_is_rendered_like_a_notebook_and_withholds_hidden_tests(assignment):
    from autograder.feedback.withhold import hidden_snippets, withhold
    folder = REPO / "source" / assignment
    name = next(folder.glob("*.ipynb")).stem
    source = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    released = nbformat.read(REPO / "release" / assignment / f"{name}.ipynb", as_version=4)
    asm = assemble(name, source, released)
    entries = [CellScore(t.grade_id, name, max_points=t.max_points, manual=t.manual,
                         message="AssertionError: why", auto_score=0.0) for t in asm.tests]
    nb, by_index = withhold(asm.notebook, {t.index: e for t, e in zip(asm.tests, entries, strict=False)},
                            hidden_snippets(asm))
    page = feedback_html("s1", assignment, name, nb, by_index, asm.shown,
                         Result("s1", assignment, Status.OK, tests=tuple(entries)))
    assert "<h1" in page and "<strong>" in page                # markdown, rendered
    assert '<span class="k">' in page                          # code, highlighted
    assert "ag-banner ag-fail" in page                         # a verdict per test cell
    if assignment == "numpy_framework":
        assert "<math" in page                                 # LaTeX, typeset
    assert not re.search(r"<script|(src|href)=[\"']?https?:", page)  # nothing from a CDN
    text = text_of(page)
    hidden = hidden_snippets(asm)
    assert hidden and not [line for line in hidden if line in text]


def test_parse_size():
    assert parse_size("4G") == 4 * 1024 ** 3 and parse_size("512MiB") == 512 * 1024 ** 2
    assert parse_size("none") is None


def test_longest_submissions_start_first():
    sizes = {"blank": 1, "new": 50, "slow": 1, "quick": 90, "unknown": 10}
    previous = {"slow": 30.0, "quick": 2.5, "blank": None}
    # never graded first (most code first), then by the time the last run took
    assert longest_first(list(sizes), previous, sizes) == ["new", "unknown", "blank", "slow", "quick"]


@pytest.mark.parametrize("argv, needle", [
    (["grade"], "assignment"),
    (["grade", "nope", "--workers", "two"], "invalid int"),
    (["frobnicate"], "invalid choice"),
    (["--course", "/no/such/dir", "grade", "tiny"], "course directory /no/such/dir does not exist"),
    (["--course", str(FIXTURES / "course"), "grade", "nope"], "no such assignment"),
    (["--course", str(FIXTURES / "course"), "grade", "tiny", "--memory", "lots"], "not a size"),
])
def test_cli_errors_are_one_line(argv, needle, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error:") and needle in err and len(err.splitlines()) == 1


def test_grade_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["grade", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--workers" in out and "--scheduler" in out and "Execute.timeout" in out


def test_grade_follows_the_course_nbgrader_config(tmp_path, capsys):
    """db_url and course_id come from nbgrader_config.py; a missing notebook is a 'missing' row."""
    import shutil

    from nbgrader.api import Gradebook

    from autograder.commands import grade
    course = tmp_path / "course"
    shutil.copytree(FIXTURES / "course", course)
    (course / "nbgrader_config.py").write_text(
        "import os\nc = get_config()\nc.CourseDirectory.course_id = 'c42'\n"
        "c.CourseDirectory.db_url = 'sqlite:///' + os.path.join(os.path.dirname("
        "os.path.abspath(__file__)), 'elsewhere.db')\nc.Execute.timeout = 7\n")
    (course / "submitted" / "s1" / "tiny").mkdir(parents=True)
    assert course_setting(course, "Execute", "timeout", None) == 7
    assert grade.main(course=course, assignment="tiny", progress=False) == 0
    assert not (course / "gradebook.db").exists()
    with Gradebook(f"sqlite:///{course / 'elsewhere.db'}", course_id="c42") as gb:
        sub = gb.find_submission("tiny", "s1")
        assert sub.assignment.course_id == "c42" and sub.score == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["s1", "missing"]


def test_a_bad_late_penalty_plugin_is_one_line(tmp_path, capsys):
    import shutil
    course = tmp_path / "course"
    shutil.copytree(FIXTURES / "course", course)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.AssignLatePenalties.plugin_class = 'no_such_module.Plugin'\n")
    assert cli.main(["--course", str(course), "grade", "tiny", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("autograder: error:") and "late-submission plugin" in err[-1]


def test_markers_follow_nbgrader_a_line_that_contains_the_delimiter():
    """nbgrader hides ``#### BEGIN HIDDEN TESTS`` too (a substring match), and keeps the
    indentation of the BEGIN SOLUTION line for the stub: so does the release view."""
    from nbformat.v4 import new_code_cell

    from autograder.assemble import release_view
    cell = new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
                         "assert f() == 1\n#### BEGIN HIDDEN TESTS\nassert f() != 2  # secret\n"
                         "#### END HIDDEN TESTS")
    assert release_view(cell) == ("def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
                                  "assert f() == 1")


def test_markers_are_read_from_the_courses_nbgrader_config(tmp_path):
    from autograder.course import markers
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.ClearHiddenTests.begin_test_delimeter = 'BEGIN SECRET'\n"
        "c.ClearHiddenTests.end_test_delimeter = 'END SECRET'\n"
        "c.ClearSolutions.code_stub = {'python': 'pass  # yours'}\n")
    marks = markers(tmp_path)
    source = "x = 1\n# BEGIN SECRET\nassert x\n# END SECRET\ny = 2\n# BEGIN SOLUTION\nz = 3\n# END SOLUTION"
    assert marks.release_view(source) == "x = 1\ny = 2\npass  # yours"
    assert marks.hidden_lines(source) == {3}
    assert markers().hidden_lines(source) == set()


def test_a_page_that_cannot_be_rendered_costs_the_page_not_the_grade(tmp_path, monkeypatch):
    import concurrent.futures as cf

    from autograder.feedback import save

    class Store:  # what PageWriter asks of the store
        notes, saved = [], []

        def note(self, student, message):
            self.notes.append(message)

        def save(self, result, notebooks, timestamp):
            self.saved.append(result)
            return result

    class Renderer:  # its renderer failed on this job, and so does rendering it here
        def submit(self, job):
            future = cf.Future()
            future.set_exception(ValueError("student output nbconvert chokes on"))
            return future

    def fails(job):
        raise ValueError("again")
    monkeypatch.setattr(save, "render_pages", fails)
    writer = save.PageWriter(tmp_path, "a", Store(), Renderer(), limit=4)
    result = Result("s1", "a", Status.OK, score=2.0, max_score=2.0)
    writer.add(result, {}, {}, None)
    writer.settle(wait=True)
    store = writer.store
    assert store.saved == [result] and writer.saved == {"s1": result}
    assert any(n.startswith("no feedback page: rendering failed (ValueError: again)")
               for n in store.notes)
