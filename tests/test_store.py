"""Store.save writes nbgrader's gradebook exactly as the implementation before issue 23 did.

The reference (``bench/bench_store.py``'s ``ReferenceStore``: lazy loads, nbgrader's own
``add_submission``, a commit per step) and this tree's ``Store`` save the same results, in
the same order, into two copies of one course: new students and submissions, re-saves,
grades a person gave in between, an extension, cells left alone, late submissions through
nbgrader's plugin and through a plugin that answers out of range or fails.  Gradebook rows,
records, returned results, grades.csv and autograder.log must be the same.
"""
from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import nbgrader
import pytest
from nbgrader.plugins import LateSubmissionPlugin

from autograder.assemble.files import read_sources
from autograder.course import course_id, gradebook_url
from autograder.record import CellScore, Result, Status
from autograder.store import Store, open_gradebook, read_record

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_store import ReferenceStore, gradebook_rows  # noqa: E402

STUDENTS = [f"s{i}" for i in range(6)]
ON_TIME, LATE = "2026-03-01 11:00:00 UTC", "2026-03-03 12:00:00 UTC"


class _Wild(LateSubmissionPlugin):
    """A teacher's plugin: below zero, above the score, half the score, or a failure."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if student_id == "s3":
            raise RuntimeError("no penalty table for s3")
        return {"s0": -1.0, "s1": 100.0, "s2": score / 2}.get(student_id)


def _late(plugin=None, method=None):
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config
    config = Config()
    if method:
        config.LateSubmissionPlugin.penalty_method = method
    late = AssignLatePenalties(config=config)
    if plugin is not None:
        late.plugin_class = plugin
    late.init_plugin()
    return late


@pytest.fixture
def courses(tmp_path):
    guide = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide" / "source" / "ps1"
    base = tmp_path / "base"
    shutil.copytree(guide, base / "source" / "ps1")
    shutil.copy(REPO / "nbgrader_config.py", base / "nbgrader_config.py")
    for student in STUDENTS:
        shutil.copytree(guide, base / "submitted" / student / "ps1")
    pair = []
    for name in ("reference", "store"):
        shutil.copytree(base, tmp_path / name)
        pair.append(tmp_path / name)
    return pair


def _gradebook(course: Path):
    return open_gradebook(gradebook_url(course), course_id(course))


def _store(kind, course: Path, late):
    return kind(course, "ps1", read_sources(course, "ps1")[0], late=late)


def _result(store: Store, student: str, variant: int) -> Result:
    """A result over the gradebook's cells: full, partial, cells missing or left to a person."""
    cells = sorted(store.max_points)
    tests = []
    for i, (notebook, grade_id) in enumerate(cells):
        top = store.max_points[(notebook, grade_id)]
        k = (i + variant + STUDENTS.index(student)) % 5
        if k == 4 and variant:
            continue  # not in the result: left alone
        auto, manual = {0: (top, False), 1: (top / 2, False), 2: (0.0, False),
                        3: (None, True), 4: (None, None)}[k]
        tests.append(CellScore(grade_id=grade_id, notebook=notebook, points=auto or 0.0,
                               max_points=top, ok=auto == top, auto_score=auto,
                               needs_manual_grade=manual))
    score = sum(t.points for t in tests)
    status = Status.ERROR if (student == "s5" and variant == 1) else Status.OK
    return Result(student=student, assignment="ps1", status=status, score=score,
                  max_score=store.total_points(), duration_s=1.0, graded_at="2026-03-01T12:00:00Z",
                  tests=tuple(tests))


def _save_all(kind, course: Path, variant: int, late, stamps) -> list:
    store = _store(kind, course, late)
    try:
        out = [store.save(_result(store, s, variant), {}, stamps.get(s)).to_json()
               for s in STUDENTS]
        store.write_csv(STUDENTS)
    finally:
        store.close()
    return out


def _between(course: Path, step: int) -> None:
    """What a person, or nbgrader, changes in the gradebook between two gradings."""
    gb = _gradebook(course)
    try:
        if step == 0:
            gb.add_student("s1", first_name="Ada", last_name="L")  # known before submitting
        elif step == 1:
            grade = min((g for nb in gb.find_submission("ps1", "s2").notebooks for g in nb.grades),
                        key=lambda g: (g.notebook.name, g.name))
            grade.manual_score, grade.extra_credit = 0.25, 0.5
            notebook = max(gb.find_submission("ps1", "s4").notebooks, key=lambda nb: nb.name)
            notebook.late_submission_penalty = 3.0
            gb.update_or_create_assignment("ps1", duedate=datetime(2026, 3, 1, 12, 0))
            gb.find_submission("ps1", "s0").extension = timedelta(days=5)
            gb.db.commit()
    finally:
        gb.close()


def _state(course: Path) -> dict:
    log = [line.split(" ", 1)[1] for line in (course / "autograder.log").read_text().splitlines()]
    return {"gradebook": gradebook_rows(course / "gradebook.db"),
            "records": {s: getattr(read_record(course, s, "ps1"), "to_json", lambda: None)()
                        for s in STUDENTS},
            "grades.csv": (course / "grades.csv").read_text(), "log": log}


def test_saves_write_what_the_reference_wrote(courses):
    late_stamps = {"s0": LATE, "s1": LATE, "s2": LATE, "s3": LATE, "s4": ON_TIME}
    steps = [(0, None, {"s0": ON_TIME, "s2": LATE}),            # new submissions, no plugin
             (1, _late(method="zero"), late_stamps),            # re-saves, nbgrader's 'zero'
             (2, _late(plugin=_Wild), late_stamps),             # a teacher's plugin
             (3, _late(method="zero"), {})]                     # timestamps as they are
    for step, (variant, late, stamps) in enumerate(steps):
        returned = []
        for kind, course in zip((ReferenceStore, Store), courses, strict=True):
            _between(course, step)
            returned.append(_save_all(kind, course, variant, late, stamps))
        assert returned[0] == returned[1], step
        reference, store = (_state(c) for c in courses)
        for key in reference:
            assert reference[key] == store[key], (step, key)
    rows = _state(courses[1])["gradebook"]
    penalties = {(s, nb): p for s, nb, p, _ in rows["submitted_notebook"]}
    assert any(p for p in penalties.values())  # the late path ran and set penalties
    assert any("late-penalty plugin failed" in line for line in _state(courses[1])["log"])
    assert any(manual for *_, manual in rows["grade"])  # and some grades wait for a person


def test_a_failed_save_rolls_back_and_the_store_goes_on(courses, monkeypatch):
    course = courses[1]
    store = _store(Store, course, None)
    try:
        result = _result(store, "s0", 0)
        monkeypatch.setattr(store, "_late_penalties", lambda *a: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            store.save(result, {}, ON_TIME)
        assert read_record(course, "s0", "ps1") is None  # no record without the commit
        monkeypatch.undo()
        assert store.save(result, {}, ON_TIME).late_submission_penalty == 0.0
        assert store.gb.find_submission("ps1", "s0").score == result.score
    finally:
        store.close()
