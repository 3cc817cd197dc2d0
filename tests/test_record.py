"""autograder/record.py: one result type, and its JSON form read back whatever a file holds."""
from __future__ import annotations

import json

import pytest

from autograder.record import CellScore, Result, Status

CELL = CellScore("test_affine", "backprop", points=1.0, max_points=2.0, ok=False,
                 check="affine", message="check_affine: d_weight is wrong", bug="transposed",
                 auto_score=1.0)
RESULT = Result("s01", "backprop", Status.OK, "", 1.0, 2.0, 3.5, "ab" * 32,
                "2026-12-06T08:00:00Z", (CELL,), 0.0)


def test_the_json_form_round_trips():
    text = json.dumps(RESULT.to_json(), indent=1)
    assert json.loads(text)["status"] == "ok" and json.loads(text)["tests"][0]["bug"] == "transposed"
    assert Result.from_json(json.loads(text)) == RESULT


def test_a_record_of_the_earlier_form_reads_as_it_was_meant():
    # as the grader wrote it before the type: a cell that did not run had no auto_score
    old = {"student": "s02", "assignment": "backprop", "status": "timeout", "detail": "cell 3",
           "score": 0.0, "max_score": 2.0, "duration_s": 60.0, "submission_sha256": "x",
           "graded_at": "2026-12-01T00:00:00Z", "tests": [
               {"grade_id": "t", "notebook": "n", "points": 0.0, "max_points": 2.0, "ok": False,
                "check": None, "message": "this test did not run", "bug": None, "manual": False}]}
    result = Result.from_json(old)
    assert result.status is Status.TIMEOUT and result.late_submission_penalty is None
    assert (result.tests[0].auto_score, result.tests[0].needs_manual_grade) == (0.0, False)


@pytest.mark.parametrize("damage, check", [
    ({"assignment": None}, lambda r: r.assignment == "backprop"),       # the default given
    ({"score": float("nan")}, lambda r: r.score == 0.0),
    ({"score": "3"}, lambda r: r.score == 0.0),
    ({"detail": 7}, lambda r: r.detail == ""),
    ({"late_submission_penalty": "x"}, lambda r: r.late_submission_penalty is None),
    ({"tests": "all passed"}, lambda r: r.tests == ()),
    ({"tests": [{"grade_id": "a", "points": None, "ok": "false"}, {"points": 9}, 4]},
     lambda r: [(t.grade_id, t.points, t.ok) for t in r.tests] == [("a", 0.0, False)]),
    ({"status": "error", "score": 3.0}, lambda r: r.score is None),     # an error has no score
])
def test_a_damaged_field_costs_only_itself(damage, check):
    result = Result.from_json({**RESULT.to_json(), **damage}, assignment="backprop")
    assert result is not None and check(result)
    assert result.status is Status(damage.get("status", "ok")) and result.student == "s01"


@pytest.mark.parametrize("data", [None, [], "ok", {"status": "graded-by-cat", "student": "s"},
                                  {"status": "ok"}, {"status": "ok", "student": 3}])
def test_what_is_not_a_record_reads_as_none(data):
    assert Result.from_json(data) is None


def test_statuses_say_what_they_mean():
    assert not Status.ERROR.scored and all(s.scored for s in Status if s is not Status.ERROR)
    assert {s for s in Status if not s.ran} == {Status.MISSING, Status.MALFORMED}
    assert Status.parse("kernel-died") is Status.KERNEL_DIED and Status.parse("?") is None
    assert f"{Status.KERNEL_DIED:<12}|" == "kernel-died |" and json.dumps(Status.OK) == '"ok"'
