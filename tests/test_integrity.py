"""Hostile submissions, graded for real: each is named by the outcome it expects.

One ``autograder grade`` run (real kernels, forked from one server) grades the whole
hostile class; the tests below read what it wrote.  The course (numpy only) has a
``check_relu`` test cell with a hidden re-run (2 points), a plain-assert test cell with
hidden asserts (2 points) and a hand-graded answer (1 point).  Every attack on the
verdict comes with a wrong ReLU and a wrong ``square``, so any point it earns is a hole.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import answers
import nbformat
import pytest
from pages import text_of

from autograder.commands import grade
from autograder.execute.sandbox import sandbox_status
from autograder.record import Result, Status
from autograder.store import read_record

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures" / "hostile"
SECRET = "hidden-marker-7f3a9c"
NO_POINTS = ("patch_numpy_allclose", "patch_builtins", "always_equal_objects",
             "ipython_input_transformer", "ast_transformer", "custom_exc_handler",
             "patch_showtraceback", "patch_run_cell", "patch_display",
             "monkeypatch_nn_utils_judge", "forged_check_record", "forged_expect_reports",
             "record_flood", "answers_from_checker")
EXPECTED = {  # student -> (status, score out of 4 automatic points; 1 more is graded by hand)
    "correct__full_marks": ("ok", 4),
    "wrong_answers__zero": ("ok", 0),
    **{f"{attack}__no_points": ("ok", 0) for attack in NO_POINTS},
    "skip_execution_tag__test_still_runs": ("ok", 2),
    "edit_test_cell_points__ignored": ("ok", 2),
    "delete_test_cell__restored": ("ok", 2),
    "reorder_duplicate_retag__source_wins": ("ok", 2),
    "other_kernelspec__full_marks": ("ok", 4),
    "stderr_warning__full_marks": ("ok", 4),
    "sleep_5s__full_marks": ("ok", 4),
    "kernel_view__full_marks": ("ok", 4),
    "read_source_notebook__denied": ("ok", 4),
    "read_gradebook__denied": ("ok", 4),
    "write_gradebook__denied": ("ok", 4),
    "snoop_proc__denied": ("ok", 4),
    "network_access__denied": ("ok", 4),
    "alloc_6gib__memory": ("memory", 4),
    "fork_bomb__bounded": ("ok", 4),   # unisolated, the watchdog kills it instead: see below
    "orphan_daemon__killed": ("ok", 4),
    "output_flood__trimmed": ("ok", 4),
    "os_exit_after_first_test__keeps_credit": ("kernel-died", 2),
    "symlink_to_source__denied": ("ok", 4),
    "exfiltrate_hidden_tests__withheld": ("ok", 4),
    "slow_cells_after_first_test__submission_timeout": ("timeout", 2),   # 4 x 8 s > 20 s
    "symlinked_notebook__malformed": ("malformed", 0),
}
PROCESS_CAP = 96
ISOLATED = sandbox_status()[0]
if ISOLATED:  # attacks that would really hurt an unisolated grader (fill its disk, kill it)
    EXPECTED.update({"kill_grader__denied": ("ok", 4), "fill_disk__bounded": ("ok", 4)})
else:  # no per-kernel user: the process cap is the grader's watchdog, which kills
    EXPECTED["fork_bomb__bounded"] = ("kernel-died", 2)
    # nor a private view of the files: the teacher's reference maths is readable
    EXPECTED["answers_from_checker__no_points"] = ("ok", 2)
needs_isolation = pytest.mark.skipif(not ISOLATED, reason=f"no isolation: {sandbox_status()[1]}")


def _cells_text(nb) -> str:
    """Every cell's printed text (one print may arrive in several stream outputs), then all outputs."""
    streams = ["".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
               for c in nb.cells]
    return "\n".join(streams) + "\n" + json.dumps([c.get("outputs", []) for c in nb.cells])


# root: a uid of its own per kernel; nobody: the grader is an ordinary user and
# isolates kernels with user namespaces; ta: a teaching assistant's real account on a
# course server, the project installed system-wide (see ``real_server``).  All must
# give the same outcomes.
GRADERS = ["root", "nobody", "ta"] if ISOLATED and os.geteuid() == 0 else ["as-is"]
# bubblewrap: the same class behind bwrap instead (fresh kernels, no fork server), graded
# by this process's account only, as root: each account costs a whole grading run
BWRAP, BWRAP_WHY = sandbox_status("bubblewrap")
GRADERS += ["bubblewrap"]


def _grade_as_nobody(course: Path) -> int:
    """``autograder grade`` run by uid 65534 on a course that user owns (see ``unprivileged``)."""
    import subprocess
    import sys

    from unprivileged import NOBODY, as_nobody
    home = Path(tempfile.mkdtemp(prefix="nobody-home-"))
    for path in [course.parent, home, *course.parent.rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    try:
        done = subprocess.run(as_nobody([sys.executable, "-m", "autograder", "grade", "hostile",
                                         "--workers", "2", "--timeout", "10",
                                         "--submission-timeout", "20", "--processes",
                                         str(PROCESS_CAP), "--no-progress"], home),
                              cwd=course, env=env, capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert "unisolated" not in done.stderr, done.stderr
    return done.returncode


def _grade_as_the_assistant(server, course: Path) -> int:
    """``autograder grade`` run by the assistant's account, from the system-wide install."""
    server.chown(course.parent, server.ta)
    done = server.run_as(server.ta, ["autograder", "grade", "hostile", "--workers", "2", "--timeout",
                                     "10", "--submission-timeout", "20", "--processes",
                                     str(PROCESS_CAP), "--no-progress"], cwd=course, check=False)
    assert "unisolated" not in done.stderr, done.stderr
    assert not server.processes(), server.processes()
    return done.returncode


@pytest.fixture(scope="module", params=GRADERS)
def graded(request):
    if request.param == "bubblewrap" and not BWRAP:
        pytest.skip(f"bubblewrap: {BWRAP_WHY}")
    if request.param == "ta":   # in the assistant's home: nothing of root's is reachable
        server = request.getfixturevalue("course_server")
        root = Path(tempfile.mkdtemp(prefix="hostile-", dir=server.home(server.ta)))
    else:
        root = Path(tempfile.mkdtemp(prefix="hostile-"))   # not below pytest's root-only folder
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    course = root / "course"
    shutil.copytree(FIXTURES / "course", course)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    for student in EXPECTED:
        folder = course / "submitted" / student / "hostile"
        folder.mkdir(parents=True)
        if student == "symlinked_notebook__malformed":   # "my answer is the teacher's notebook"
            (folder / "hostile.ipynb").symlink_to(course / "source" / "hostile" / "hostile.ipynb")
            continue
        shutil.copy(FIXTURES / "submissions" / f"{student}.ipynb", folder / "hostile.ipynb")
        if student == "symlink_to_source__denied":     # files that lead out of the submission
            (folder / "leak.txt").symlink_to(course / "source" / "hostile" / "hostile.ipynb")
            (folder / "leakdir").symlink_to(course / "source")
        if student == "kernel_view__full_marks":  # the leak probe and what it looks for
            shutil.copy(Path(__file__).with_name("leak_probe.py"), folder)
            # one unpublished seed: the probe must fit in the cell's 10 s time limit
            answers.write(folder / "answers.json", seeds=answers.SEEDS[:1])
        # the worst case: the student knows where the course lives and where a server listens
        (folder / "course_path.txt").write_text(str(course))
        (folder / "port.txt").write_text(str(listener.getsockname()[1]))
    before = {p: p.stat().st_mtime for p in course.rglob("*") if p.is_file()}
    if request.param == "nobody":
        status = _grade_as_nobody(course)
    elif request.param == "ta":
        status = _grade_as_the_assistant(server, course)
    else:
        status = grade.main(course=course, assignment="hostile", workers=2, timeout=10,
                            submission_timeout=20, processes=PROCESS_CAP, progress=False,
                            sandbox="bubblewrap" if request.param == "bubblewrap" else None)
    try:
        accepted = listener.accept()
        accepted[0].close()
    except BlockingIOError:
        accepted = None
    listener.close()
    yield {"course": course, "status": status, "accepted": accepted, "before": before}


def _record(graded, student):
    return read_record(graded["course"], student, "hostile")


def _autograded(graded, student):
    path = graded["course"] / "autograded" / student / "hostile" / "hostile.ipynb"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("student", EXPECTED)
def test_each_hostile_submission_gets_its_expected_outcome(graded, student):
    assert graded["status"] == 0
    record = _record(graded, student)
    got = {t.grade_id: t.points for t in record.tests}
    assert (record.status, record.score) == EXPECTED[student], (record.detail, got)
    assert record.max_score == 5.0 and sorted(got) == ["explain", "test_relu", "test_square"]


def test_gradebook_and_csv_agree_with_the_records(graded):
    from nbgrader.api import Gradebook
    course = graded["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = {s.student.id: s for s in gb.find_assignment("hostile").submissions}
        assert sorted(subs) == sorted(EXPECTED)
        for student, sub in subs.items():
            assert sub.score == pytest.approx(_record(graded, student).score), student
            assert sub.max_score == 5.0
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert {s: float(r["score"]) for s, r in rows.items()} == {
        s: float(score) for s, (_, score) in EXPECTED.items()}


def test_feedback_names_the_failure_but_not_hidden_tests(graded):
    course = graded["course"]
    for student in EXPECTED:
        path = course / "feedback" / student / "hostile" / "hostile.html"
        if not path.exists():   # a malformed notebook has nothing to show
            assert EXPECTED[student][0] == "malformed"
            continue
        html = text_of(path.read_text())
        assert SECRET not in html and "seed=7" not in html and "0.5)" not in html, student
    html = text_of((course / "feedback" / "wrong_answers__zero" / "hostile" / "hostile.html")
                   .read_text())
    assert "check_relu: forward output is wrong" in html and "assert square(3) == 9" in html


def test_links_out_of_a_submission_are_not_followed(graded):
    text = _cells_text(_autograded(graded, "symlink_to_source__denied"))
    assert SECRET not in text and "np.maximum" not in text


@needs_isolation
@pytest.mark.parametrize("student", ["read_source_notebook__denied", "read_gradebook__denied",
                                     "write_gradebook__denied", "snoop_proc__denied",
                                     "network_access__denied", "kill_grader__denied"])
def test_course_files_processes_and_network_are_out_of_reach(graded, student):
    text = _cells_text(_autograded(graded, student))
    assert "DENIED" in text or student == "snoop_proc__denied"
    for word in ("LEAKED", "WROTE", "CONNECTED", "KILLED", SECRET):
        assert word not in text, (student, word)


@needs_isolation
def test_the_kernel_sees_no_reference_maths_and_no_expected_values(graded):
    """The leak probe, run inside a grading kernel, finds nothing to call that returns an
    answer; the teacher's reference package and the published cases are empty there."""
    text = _cells_text(_autograded(graded, "kernel_view__full_marks"))
    assert "KERNEL VIEW " in text, [c.get("outputs") for c in _autograded(
        graded, "kernel_view__full_marks").cells if "KERNEL VIEW" in c.source]
    view = json.loads(text.split("KERNEL VIEW ")[1].splitlines()[0])
    assert view["reference_importable"] is False and view["reference_files"] == [], view
    assert view["cases"] == [] and view["demo_class"] == 0  # its bug table quotes solutions
    assert isinstance(view["probe"], dict), view["probe"]
    assert view["probe"]["callables"] > 200 and view["probe"]["hits"] == []


@needs_isolation
def test_nothing_outside_the_working_copies_changed(graded):
    course, before = graded["course"], graded["before"]
    assert not list(course.rglob("PWNED*")) and not Path("/var/tmp/PWNED-hostile.txt").exists()
    for path, mtime in before.items():
        assert path.stat().st_mtime == mtime, path  # sources and submissions untouched
    assert graded["accepted"] is None                # no connection reached the test's server


@needs_isolation
def test_fork_bomb_hits_the_process_cap_inside_the_submission(graded):
    text = _cells_text(_autograded(graded, "fork_bomb__bounded"))
    assert "FORK-LIMIT" in text
    kids = int(text.split("FORK-LIMIT ")[1].split()[0])
    assert kids < PROCESS_CAP


@needs_isolation
def test_a_submission_cannot_fill_the_disk(graded):
    text = _cells_text(_autograded(graded, "fill_disk__bounded"))
    assert "DISK-LIMIT" in text
    assert int(text.split("DISK-LIMIT ")[1].split()[0]) <= 1024   # MiB: the working copy's cap


def test_output_flood_is_trimmed(graded):
    path = graded["course"] / "autograded" / "output_flood__trimmed" / "hostile" / "hostile.ipynb"
    assert path.stat().st_size < 1_000_000
    records = graded["course"] / "autograded" / "record_flood__no_points" / "hostile" / "hostile.ipynb"
    assert records.stat().st_size < 40 * 2 ** 20   # 180 MB of fake records sent, 32 MiB kept
    html = graded["course"] / "feedback" / "output_flood__trimmed" / "hostile" / "hostile.html"
    assert html.stat().st_size < 1_000_000


def test_memory_error_stays_inside_the_submission(graded):
    text = _cells_text(_autograded(graded, "alloc_6gib__memory"))
    assert "MemoryError" in text


def test_no_process_survives_the_batch(graded):
    from test_grade import kernel_processes
    deadline = time.monotonic() + 10       # the last kernels are being reaped as the batch ends
    while kernel_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernel_processes()
    table = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                table[entry] = fh.read()
        except OSError:
            continue
    assert not [p for p, cmd in table.items() if b"time.sleep(300)" in cmd]


def test_student_output_cannot_inject_markup_into_feedback():
    from autograder.feedback.pages import feedback_html
    cell = {"cell_type": "code", "source": "x", "outputs": [{
        "output_type": "display_data", "metadata": {},
        "data": {"image/png": "AAAA' onerror='alert(1)", "text/plain": "<script>alert(2)</script>"}},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": "<script>alert(3)</script>", "text/plain": "<b>plain</b>"}}]}
    html = feedback_html("s", "a", "n", {"cells": [cell]}, {}, {}, Result("s", "a", Status.OK))
    assert "<script>alert" not in html and "' onerror" not in html
    assert 'src="data:image/png;base64,AAAAonerror=alert1"' in html  # stays an attribute
    assert "<b>plain</b>" not in html and "<b>plain</b>" in text_of(html)  # shown as text
