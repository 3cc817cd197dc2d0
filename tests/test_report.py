"""``autograder report`` from synthetic result records and grades.csv."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from matplotlib.image import imread

from autograder.commands import report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _test(grade_id, ok, check=None, bug=None, message=None, points=2.0):
    return {"grade_id": grade_id, "notebook": "backprop_numpy", "points": points if ok else 0.0,
            "max_points": points, "ok": ok, "check": check, "message": message, "bug": bug}


def _records():
    """Six students: two clean, two with named bugs (one twice), a timeout, a malformed one."""
    affine_t = _test("test_affine", False, "affine", "transposed_d_weight",
                     "check_affine: d_weight has the wrong shape\n  where: backward")
    ce_n = _test("test_ce", False, "cross_entropy", "missing_1_over_n",
                 "check_cross_entropy: loss is N times too large\n  hint: divide by N")
    good = [_test("test_affine", True, "affine"), _test("test_ce", True, "cross_entropy")]
    return [
        {"student": "s01", "status": "ok", "score": 4, "max_score": 4, "duration_s": 1.5,
         "tests": good},
        {"student": "s02", "status": "ok", "score": 4, "max_score": 4, "duration_s": 2.5,
         "tests": good},
        {"student": "s03", "status": "ok", "score": 2, "max_score": 4, "duration_s": 1.0,
         "tests": [affine_t, good[1]]},
        {"student": "s04", "status": "ok", "score": 0, "max_score": 4, "duration_s": 3.0,
         "tests": [affine_t, ce_n]},
        {"student": "s05", "status": "timeout", "score": 0, "max_score": 4, "duration_s": 9.0,
         "detail": "cell 3 ran past 5 s <script>alert(1)</script>",
         "tests": [_test("test_affine", False, "affine", message="this test did not run"),
                   _test("test_ce", False)]},
        {"student": "s06", "status": "malformed", "score": 0, "max_score": 4, "duration_s": 0,
         "tests": [_test("test_affine", False, "affine", message="this test did not run"),
                   _test("test_ce", False, "cross_entropy", message="this test did not run")]},
    ]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "source" / "backprop_numpy").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for record in _records():
        folder = root / "autograded" / record["student"] / "backprop_numpy"
        folder.mkdir(parents=True)
        (folder / ".result.json").write_text(json.dumps(record))
    with (root / "grades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_id", "score", "max_score", "status"])
        writer.writerow(["backprop_numpy", "s07", "0", "4", "missing"])
        writer.writerow(["other", "s08", "3", "4", "ok"])
    return root


def test_summary_counts(course):
    from autograder.store import read_records
    summary = report.summarise("backprop_numpy", read_records(course, "backprop_numpy"),
                               report._grades_rows(course, "backprop_numpy"))
    assert [r["student"] for r in summary.rows] == ["s01", "s02", "s03", "s04", "s05", "s06",
                                                    "s07"]
    assert summary.bugs == {"transposed_d_weight": 2, "missing_1_over_n": 1}
    assert summary.bug_students["transposed_d_weight"] == ["s03", "s04"]
    assert summary.tests == {"backprop_numpy/test_affine": [2, 5],
                             "backprop_numpy/test_ce": [3, 5]}
    assert summary.statuses == {"ok": 4, "timeout": 1, "missing": 1, "malformed": 1}
    # only submissions that ran to the end count towards the failure messages
    assert summary.failures == {("affine", "check_affine: d_weight has the wrong shape"): 2,
                                ("cross_entropy", "check_cross_entropy: loss is N times too large"): 1}


def test_writes_html_and_valid_pngs(course, capsys):
    assert report.main(course=str(course), assignment="backprop_numpy") == 0
    out = course / "reports" / "backprop_numpy"
    assert str(out / "index.html") in capsys.readouterr().out
    page = (out / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    assert len(images) == 6
    for name in images:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        height, width = imread(out / name).shape[:2]
        assert height > 100 and width > 300
    # bug counts and the students who had them are in the page
    assert re.search(r"<td>transposed_d_weight</td><td>2</td><td>s03, s04</td>", page)
    assert re.search(r"<td>missing_1_over_n</td><td>1</td><td>s04</td>", page)
    assert "<td>backprop_numpy/test_affine</td><td>2</td><td>5</td><td>40%</td>" in page
    # student-controlled text is escaped, other assignments' rows are left out
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "s08" not in page


def test_no_results_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("")
    assert report.main(course=str(tmp_path), assignment="backprop_numpy") == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error: no grading results") and err.count("\n") == 1


def test_failures_group_across_seeds():
    assert (report._first_line("affine: d_weight must have shape (7, 5) (seed 4119)\n  hint: x")
            == report._first_line("affine: d_weight must have shape (3, 12) (seed 88)")
            == "affine: d_weight must have shape (#, #) (seed #)")
    assert report._first_line("x1 is 1e-3 off, w_2 too") == "x1 is # off, w_2 too"
