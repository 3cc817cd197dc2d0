"""A class of hundreds in one batch: nothing the grader holds grows with the class.

Each kernel used to leave its client's heartbeat thread, sockets and ZMQ
context behind (about 20 descriptors a submission), so a few hundred
submissions into a batch ``select()`` failed and every later student got a
zero.  These tests grade hundreds of submissions of a tiny notebook in one
``grade.main`` call in this process and count what this process holds.
"""
from __future__ import annotations

import csv
import os
import threading
from pathlib import Path

import pytest
from nbgrader_course import add_course as _course

from autograder.commands import grade
from autograder.store import read_record

pytestmark = pytest.mark.slow


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


class _Peak(threading.Thread):
    """Samples this process's open descriptors while a batch runs; ``most`` is the peak."""

    def __init__(self):
        super().__init__(daemon=True)
        self.most, self._stop_at = _descriptors(), threading.Event()

    def run(self):
        while not self._stop_at.wait(0.05):
            self.most = max(self.most, _descriptors())

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self._stop_at.set()
        self.join()


def _threads() -> list[str]:
    # tqdm starts one monitor thread per process, once, whether a bar shows or not
    return [t.name for t in threading.enumerate() if t.name != "tqdm_monitor"]


def _grade(course: Path, **options) -> tuple[int, int, int]:
    """(exit status, descriptors grown, peak above the start) of one in-process batch."""
    before, threads = _descriptors(), _threads()
    with _Peak() as peak:
        status = grade.main(course=course, assignment="add", workers=2, progress=False, **options)
    assert _threads() == threads
    return status, _descriptors() - before, peak.most - before


def test_400_submissions_in_one_batch_are_all_graded_and_nothing_grows(tmp_path):
    students = {f"s{i:03d}": "solution" for i in range(400)}
    course = _course(tmp_path / "course", students)
    status, grown, peak = _grade(course)
    assert status == 0
    assert grown <= 2, f"{grown} more open descriptors after the batch"
    assert peak <= 80, f"the batch held {peak} more descriptors at its peak"
    records = [read_record(course, s, "add") for s in students]
    assert [(r.status, r.score) for r in records] == [("ok", 2)] * 400
    with open(course / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 400 and {(r["status"], r["score"]) for r in rows} == {("ok", "2.0")}


@pytest.mark.parametrize("fork", [True, False], ids=["fork-server", "fresh-kernels"])
def test_a_batch_of_crashes_and_timeouts_leaves_nothing_behind(tmp_path, fork):
    students = {f"crash{i:02d}": "crash" for i in range(24)}
    students.update({f"endless{i}": "endless" for i in range(4)})
    course = _course(tmp_path / "course", students)
    status, grown, peak = _grade(course, timeout=1.0, fork=fork)
    assert status == 0  # the students' faults, not the grader's
    assert grown <= 2 and peak <= 80, (grown, peak)
    outcomes = {s: read_record(course, s, "add") for s in students}
    assert {(r.status, r.score) for s, r in outcomes.items() if s.startswith("crash")} == {
        ("kernel-died", 0)}
    assert {r.status for s, r in outcomes.items() if s.startswith("endless")} == {"timeout"}
