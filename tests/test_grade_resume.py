"""Interrupting the grader (Ctrl-C, then kill -9) and running it again loses nothing
and grades nothing twice; --force regrades."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from test_grade import FIXTURES, kernel_processes, make_course

from autograder.commands import grade
from autograder.store import read_record

pytestmark = pytest.mark.slow
STUDENTS = [f"s{i}" for i in range(5)]
SLOW = FIXTURES / "submissions" / "stderr_sleep_other_kernelspec__full_marks.ipynb"  # sleeps 3 s


def _records(course) -> dict:
    return {s: r for s in STUDENTS if (r := read_record(course, s, "tiny"))}


def _interrupt_after_new_record(course, sig) -> int:
    """Start the grader, send ``sig`` once one more submission has a record; its exit status."""
    before = len(_records(course))
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "--course", str(course), "grade", "tiny",
         "--workers", "1", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(_records(course)) <= before and proc.poll() is None:
        assert time.monotonic() < deadline, "no submission was graded in time"
        time.sleep(0.1)
    proc.send_signal(sig)
    return proc.wait(60)


def _kernels_gone(timeout=15) -> bool:
    """No process of ours survives the grader (fork server and kernels included)."""
    deadline = time.monotonic() + timeout
    while kernel_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    return not kernel_processes()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("resume") / "course", students=[])
    source = course / "source" / "tiny" / "tiny.ipynb"
    nb = nbformat.read(source, as_version=4)   # numpy only: no TensorFlow to preload
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] != "test_tape"]
    nbformat.write(nb, source)
    for student in STUDENTS:
        folder = course / "submitted" / student / "tiny"
        folder.mkdir(parents=True)
        shutil.copy(SLOW, folder / "tiny.ipynb")
    return course


def test_interrupted_batches_resume_without_loss_or_regrading(course):
    assert _interrupt_after_new_record(course, signal.SIGINT) == 130
    assert _kernels_gone()
    first = _records(course)
    assert 1 <= len(first) < len(STUDENTS)

    _interrupt_after_new_record(course, signal.SIGKILL)
    assert _kernels_gone()
    second = _records(course)
    assert len(second) > len(first)
    assert all(second[s] == first[s] for s in first)          # nothing graded twice

    assert grade.main(course=course, assignment="tiny", workers=2, progress=False) == 0
    final = _records(course)
    assert sorted(final) == STUDENTS                           # nothing lost
    assert all(final[s] == second[s] for s in second)
    assert all((r.status, r.score) == ("ok", 3.0) for r in final.values())

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = gb.find_assignment("tiny").submissions
        assert sorted(s.student.id for s in subs) == STUDENTS  # one row per student
        assert all(s.score == 3.0 for s in subs)


def test_force_regrades(course):
    before = read_record(course, "s0", "tiny")
    assert grade.main(course=course, assignment="tiny", students=["s0"], force=True,
                      progress=False) == 0
    after = read_record(course, "s0", "tiny")
    assert after.graded_at >= before.graded_at and after.score == 3.0
    assert after != before
