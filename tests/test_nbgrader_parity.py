"""``autograder grade`` scores every cell as ``nbgrader autograde`` does, on material nobody here wrote.

Two courses from the installed nbgrader package, each graded twice on identical
copies, once by each tool; every graded cell's (automatic score, needs manual
grade) must agree:

* its user guide: ``ps1``, ``ps1_autotest`` (AUTOTEST and HASHED AUTOTEST cells
  with the guide's ``autotests.yml``), the real submissions ``bitdiddle`` and
  ``hacker``, and variants of our own: the solution, the untouched release, a
  wrong answer, a crash and an answer that writes to stderr;
* its own autograde fixtures: a changed and an unchanged submission, a changed
  locked cell, a changed grade cell and two cheat attempts.

Two differences are on purpose and asserted as such (the README's table):
stderr never zeroes a test cell here, and a kernel that dies keeps the credit
earned before it died, where nbgrader stops grading that notebook and leaves
every cell to a person.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import nbgrader

pytestmark = pytest.mark.slow
PACKAGE = Path(__import__("nbgrader").__file__).parent
GUIDE = PACKAGE / "docs" / "source" / "user_guide"
FIXTURES = PACKAGE / "tests" / "apps" / "files"
ANSWERS = {  # variant -> the source of its `squares` answer (problem1)
    "wrong": "def squares(n):\n    return [i for i in range(1, n + 1)]\n",
    "crash": "import os\nos._exit(1)\n",
    "stderr": ("import sys\ndef squares(n):\n    if n < 1:\n        raise ValueError('n < 1')\n"
               "    print('computing', file=sys.stderr)\n    return [i * i for i in range(1, n + 1)]\n"),
}


def _config(course: Path) -> None:
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")


def _released(course: Path, *assignments: str) -> None:
    for assignment in assignments:
        proc = nbgrader(course, "generate_assignment", assignment, "--force")
        assert proc.returncode == 0, proc.stdout[-2000:]


def _answer(folder: Path, body: str) -> None:
    nb = nbformat.read(folder / "problem1.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "squares":
            cell.source = body
    nbformat.write(nb, folder / "problem1.ipynb")


def _guide_course(course: Path) -> list[str]:
    shutil.copytree(GUIDE / "source", course / "source")
    shutil.copy(GUIDE / "autotests.yml", course / "autotests.yml")
    _config(course)
    assignments = ["ps1", "ps1_autotest"]
    _released(course, *assignments)
    for student in ("bitdiddle", "hacker"):
        shutil.copytree(GUIDE / "submitted" / student / "ps1", course / "submitted" / student / "ps1")
    for assignment in assignments:
        shutil.copytree(course / "source" / assignment, course / "submitted" / "solution" / assignment)
        shutil.copytree(course / "release" / assignment, course / "submitted" / "blank" / assignment)
        for variant, body in ANSWERS.items():
            folder = course / "submitted" / variant / assignment
            shutil.copytree(course / "source" / assignment, folder)
            _answer(folder, body)
    return assignments


def _fixture_course(course: Path) -> list[str]:
    (course / "source" / "ps1").mkdir(parents=True)
    shutil.copy(FIXTURES / "submitted-unchanged.ipynb", course / "source" / "ps1" / "p1.ipynb")
    _config(course)
    _released(course, "ps1")
    for name in ("changed", "unchanged", "locked-cell-changed", "grade-cell-changed",
                 "cheat-attempt", "cheat-attempt-alternative"):
        folder = course / "submitted" / name / "ps1"
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / f"submitted-{name}.ipynb", folder / "p1.ipynb")
    return ["ps1"]


def autograder(course: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` in ``course``, checked to succeed."""
    done = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def graded_fixture_course(course: Path) -> Path:
    """nbgrader's autograde fixtures as a course, graded by ``autograder grade``."""
    _fixture_course(course)
    autograder(course, "grade", "ps1", "--no-progress")
    return course


def _grades(course: Path, assignment: str) -> dict:
    """(student, notebook, grade id) -> (auto score, needs manual grade, max score)."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(s.student.id, nb.name, g.name): (g.auto_score, g.needs_manual_grade, g.max_score)
                for s in gb.find_assignment(assignment).submissions
                for nb in s.notebooks for g in nb.grades}


def _stderr_cells(course: Path, assignment: str) -> set:
    """Cells that nbgrader saw writing to stderr, from its autograded notebooks."""
    found = set()
    for path in (course / "autograded").glob(f"*/{assignment}/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid and any(o.get("name") == "stderr" for o in cell.get("outputs", [])):
                found.add((path.parent.parent.name, path.stem, gid))
    return found


def _both(tmp_path: Path, build) -> tuple[Path, Path, list[str]]:
    """The course built twice: graded by nbgrader autograde, and by autograder grade."""
    theirs, ours = tmp_path / "nbgrader", tmp_path / "autograder"
    assignments = build(theirs)
    shutil.copytree(theirs, ours)
    config = ours / "nbgrader_config.py"  # the copy is a course of its own
    config.write_text(config.read_text().replace(repr(str(theirs)), repr(str(ours))))
    for assignment in assignments:
        nbgrader(theirs, "autograde", assignment, "--force")  # exits 1 for the crash: expected
        autograder(ours, "grade", assignment, "--no-progress")
    return theirs, ours, assignments


@pytest.mark.parametrize("build", [_guide_course, _fixture_course], ids=["user-guide", "fixtures"])
def test_every_graded_cell_gets_nbgrader_s_score_and_manual_flag(tmp_path, build):
    theirs, ours, assignments = _both(tmp_path, build)
    for assignment in assignments:
        ref, got = _grades(theirs, assignment), _grades(ours, assignment)
        assert set(got) == set(ref) and ref
        stderr = _stderr_cells(theirs, assignment)
        differ = {k for k in ref if ref[k][:2] != got[k][:2]}
        for key in differ:
            student, notebook, _ = key
            if key in stderr:  # on purpose: nbgrader zeroes a cell that wrote to stderr
                assert ref[key][0] == 0 and got[key][0] == got[key][2], (key, ref[key], got[key])
            elif (student, notebook) == ("crash", "problem1"):  # on purpose: credit is kept
                assert ref[key][:2] == (None, True) and got[key][0] is not None, key
            else:
                pytest.fail(f"{assignment} {key}: nbgrader {ref[key][:2]}, ours {got[key][:2]}")
        if build is _guide_course:  # the differences above really were exercised
            assert {k[0] for k in differ} == {"stderr", "crash"}, differ


def _csv_scores(path: Path) -> dict:
    import csv
    with open(path, newline="") as fh:
        return {(r["assignment"], r["student_id"]): (float(r["raw_score"]), float(r["score"]))
                for r in csv.DictReader(fh)}


def test_manual_grades_and_students_without_a_submission_reach_grades_csv(tmp_path):
    """After a person grades in formgrader (nbgrader's API), export agrees with nbgrader export."""
    from nbgrader.api import Gradebook
    course = graded_fixture_course(tmp_path / "course")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("absent", first_name="Ada", last_name="Absent")
        grade = gb.find_grade("baz", "p1", "ps1", "changed")   # a written answer
        assert grade.needs_manual_grade and grade.auto_score is None
        grade.manual_score = 2.0
        gb.db.commit()
    autograder(course, "export")
    proc = nbgrader(course, "export", "--to", "nbgrader_grades.csv")
    assert proc.returncode == 0, proc.stdout[-2000:]
    ours, theirs = _csv_scores(course / "grades.csv"), _csv_scores(course / "nbgrader_grades.csv")
    assert ours == theirs
    assert ours[("ps1", "changed")][0] == 2.0 + 1.0 + 1.0   # the manual 2 points are counted
    assert ours[("ps1", "absent")] == (0.0, 0.0)
    import csv
    with open(course / "grades.csv", newline="") as fh:
        status = {r["student_id"]: r["status"] for r in csv.DictReader(fh)}
    assert status["absent"] == "missing" and status["changed"] == "ok"


def test_grade_writes_the_grades_csv_that_export_writes(tmp_path):
    """Grading one assignment refreshes every assignment's rows: a student who is in the
    gradebook only through another assignment gets a row for it (0, ``missing``) at once."""
    from nbgrader.api import Gradebook
    course = tmp_path / "course"
    _fixture_course(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_assignment("ps0")
        gb.add_student("earlier", first_name="Eli", last_name="Earlier")   # only ever in ps0
    autograder(course, "grade", "ps1", "--no-progress")
    graded = (course / "grades.csv").read_text()
    rows = _csv_scores(course / "grades.csv")
    assert rows[("ps1", "earlier")] == (0.0, 0.0) and ("ps0", "changed") in rows
    autograder(course, "export")
    assert (course / "grades.csv").read_text() == graded
    proc = nbgrader(course, "export", "--to", "nbgrader_grades.csv")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert rows == _csv_scores(course / "nbgrader_grades.csv")


def test_release_succeeds_on_the_user_guide_as_generate_assignment_does(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(GUIDE / "source", course / "source")
    shutil.copy(GUIDE / "autotests.yml", course / "autotests.yml")
    _config(course)
    done = autograder(course, "release", "ps1", "ps1_autotest")
    assert "release ps1: ok" in done.stdout and "release ps1_autotest: ok" in done.stdout
    released = (course / "release" / "ps1_autotest" / "problem1.ipynb").read_text()
    assert "AUTOTEST" not in released


def _settings_course(course: Path) -> list[str]:
    """A course that moves nbgrader's folders, ignores files and adds a header notebook."""
    from nbgrader_course import nbgrader_cell
    (course / "source" / "hf").mkdir(parents=True)
    header = nbformat.v4.new_notebook()
    header.cells = [nbformat.v4.new_code_cell("EXPECTED = 3  # from the course's header")]
    nbformat.write(header, course / "source" / "header.ipynb")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "language": "python", "display_name": "Python 3"}})
    nb.cells = [
        nbgrader_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
                      "    ### END SOLUTION\n", "add", solution=True),
        nbgrader_cell("assert add(1, 2) == EXPECTED\n", "test-header", points=1),
        nbgrader_cell("import os\nassert not os.path.exists('notes.secret')\n", "test-ignore",
                      points=1)]
    nbformat.write(nb, course / "source" / "hf" / "hf.ipynb")
    _config(course)
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write("c.CourseDirectory.submitted_directory = 'handins'\n"
                 "c.CourseDirectory.autograded_directory = 'graded'\n"
                 "c.CourseDirectory.feedback_directory = 'fb'\n"
                 "c.CourseDirectory.ignore = ['.ipynb_checkpoints', '*.secret']\n"
                 "c.IncludeHeaderFooter.header = 'source/header.ipynb'\n"
                 "c.Execute.timeout = 30\n")
    _released(course, "hf")
    for student, body in (("right", "    return a + b\n"), ("wrong", "    return a * b\n")):
        folder = course / "handins" / student / "hf"
        folder.mkdir(parents=True)
        released = nbformat.read(course / "release" / "hf" / "hf.ipynb", as_version=4)
        for cell in released.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
                cell.source = f"def add(a, b):\n{body}"
        nbformat.write(released, folder / "hf.ipynb")
        (folder / "notes.secret").write_text("not for the grader")
    return ["hf"]


def _grades_at(course: Path, assignment: str) -> dict:
    return {k: v[:2] for k, v in _grades(course, assignment).items()}


def test_course_folders_ignore_and_header_are_read_from_nbgrader_config(tmp_path):
    theirs, ours, _ = _both(tmp_path, _settings_course)
    assert _grades_at(ours, "hf") == _grades_at(theirs, "hf")
    assert _grades_at(ours, "hf")[("right", "hf", "test-header")] == (1.0, False)
    assert _grades_at(ours, "hf")[("right", "hf", "test-ignore")] == (1.0, False)
    assert (ours / "graded" / "right" / "hf" / "hf.ipynb").is_file()
    assert (ours / "fb" / "wrong" / "hf" / "hf.html").is_file()
    assert not (ours / "submitted").exists() and not (ours / "autograded").exists()


def test_autotest_cells_are_never_graded_from_their_raw_directives(tmp_path, capsys):
    """Without a release (no gradebook yet) the grader says what to run, in one line."""
    from autograder.commands import grade
    course = tmp_path / "course"
    shutil.copytree(GUIDE / "source" / "ps1_autotest", course / "source" / "ps1_autotest")
    _config(course)
    (course / "submitted" / "s1").mkdir(parents=True)
    shutil.copytree(GUIDE / "source" / "ps1_autotest", course / "submitted" / "s1" / "ps1_autotest")
    assert grade.main(course=course, assignment="ps1_autotest", progress=False) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(r"^autograder: error: .*AUTOTEST.*autograder "
                                               r"release ps1_autotest", err)


def test_feedback_is_where_nbgrader_release_feedback_finds_it(tmp_path):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    _fixture_course(course)
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write(f"c.CourseDirectory.course_id = 'parity'\nc.Exchange.root = {str(exchange)!r}\n")
    exchange.mkdir()
    (course / "submitted" / "changed" / "ps1" / "submission_secret.txt").write_text("s3cret")
    (course / "submitted" / "changed" / "ps1" / "timestamp.txt").write_text(
        "2026-01-05 10:00:00.000000 UTC")
    autograder(course, "grade", "ps1", "--no-progress", "--student", "changed")
    proc = nbgrader(course, "release_feedback", "ps1", "--student", "changed")
    assert proc.returncode == 0, proc.stdout[-2000:]
    from nbgrader.utils import notebook_hash
    released = exchange / "parity" / "feedback" / f"{notebook_hash(secret='s3cret', notebook_id='p1')}.html"
    assert released.is_file() and "graded automatically" in released.read_text()
