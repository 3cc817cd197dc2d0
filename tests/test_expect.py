"""Plain-assert test cells are judged in the grader from plain data (fast, no kernels).

``expect_support.reports`` runs a cell's kernel-side form in this process; the
student's "kernel" is the namespace it gets, so patches live only there.
"""
from __future__ import annotations

import glob
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
from expect_support import reports

from autograder.assemble import MIME
from autograder.assemble import TestCell as Cell
from autograder.assemble.rewrite import rewrite
from autograder.judge.score import score_cell

ROOT = Path(__file__).parent.parent
HOSTILE = ROOT / "tests" / "fixtures" / "hostile" / "course" / "source" / "hostile" / "hostile.ipynb"
SQUARE_TEST = next(c.source for c in nbformat.read(HOSTILE, as_version=4).cells
                   if c.metadata["nbgrader"]["grade_id"] == "test_square")
CELL = Cell("hostile", "test_square", 0, 2.0, expects=rewrite(SQUARE_TEST).sites)


def _score(outputs) -> dict:
    return score_cell(CELL, outputs, "nonce", 2.0)


def _square(x):
    return x * x


class _AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __lt__(self, other):
        return True

    def __sub__(self, other):
        return self

    def __abs__(self):
        return self


def _lying_numpy():
    fake = types.SimpleNamespace(**{k: getattr(np, k) for k in ("array", "arange")})
    fake.allclose = lambda *a, **k: True
    fake.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)
    return fake


def test_a_correct_answer_passes_and_reports_every_assert():
    outputs = reports(SQUARE_TEST, {"np": np, "square": _square})
    assert _score(outputs).points == 2.0
    assert len(outputs) == 1 + 1 + 2 + 1 + 1   # four asserts (one in a loop of two) and the end


@pytest.mark.parametrize("namespace, why", [
    ({"np": np, "square": lambda x: 2 * x}, "wrong answer"),
    ({"np": _lying_numpy(), "square": lambda x: 2 * x}, "patched numpy in the kernel"),
    ({"np": np, "square": lambda x: _AlwaysEqual(0.0)}, "an object equal to everything"),
    ({"np": np, "square": lambda x: x * x if np.ndim(x) == 0 and abs(x) == 3 else 0 * x},
     "hard-coded visible test"),
])
def test_wrong_answers_fail_whatever_the_kernel_did(namespace, why):
    entry = _score(reports(SQUARE_TEST, namespace))
    assert entry.points == 0.0 and entry.message.startswith("AssertionError"), why


def test_dropped_skipped_or_forged_reports_fail():
    good = reports(SQUARE_TEST, {"np": np, "square": _square})
    assert _score([]).message == "the test cell did not run to its end"
    assert _score(good[:2] + good[-1:]).message == "some of this cell's tests did not run"
    crashed = reports(SQUARE_TEST, {"np": np, "square": _square}, stop_at="for _x")
    assert _score(crashed).points == 0.0
    forged = {"output_type": "display_data",
              "data": {MIME: '{"expect": 99, "values": [], "message": null}'}}
    assert _score(good[:-1] + [forged] + good[-1:]).message == "unexpected test report"
    garbage = {"output_type": "display_data", "data": {MIME: '{"expect": 0, "values": 5}'}}
    assert _score([garbage] + good).points == 0.0


def test_hidden_expected_values_never_reach_the_kernel_nor_the_feedback():
    kernel = rewrite(SQUARE_TEST).kernel_source
    assert "1e-12" not in kernel and "[0.0, 1.0, 4.0]" not in kernel and "hidden-marker" not in kernel
    wrong_hidden = reports(SQUARE_TEST, {"np": np, "square": lambda x: x * abs(x) if isinstance(
        x, float) else x * x})
    message = _score(wrong_hidden).message
    assert message == "AssertionError: square must handle negative numbers"
    sites = rewrite(SQUARE_TEST).sites
    assert [s.hidden for s in sites] == [False, False, True, True]
    assert all(not s.text for s in sites if s.hidden)


def test_structure_checks_and_tuples_survive_the_wire():
    source = ("assert type(n) is int and isinstance(x, np.ndarray)\n"
              "assert x.shape == (2, 3) and x.dtype == np.float32\n"
              "assert d == {'a': (1, 2)} and set(d) == {'a'} and b == b'ok'\n"
              "assert [v > 0 for v in x.ravel()] == [True] * 6\n")
    cell = Cell("n", "t", 0, 1.0, expects=rewrite(source).sites)
    good = {"np": np, "n": 3, "x": np.ones((2, 3), np.float32), "d": {"a": (1, 2)}, "b": b"ok"}
    assert score_cell(cell, reports(source, good), "n", 1.0).ok
    bad = {**good, "x": np.ones((3, 2), np.float32)}
    assert not score_cell(cell, reports(source, bad), "n", 1.0).ok


def test_every_course_test_cell_has_a_kernel_form_that_compiles():
    count = 0
    for path in sorted(glob.glob(str(ROOT / "source" / "*" / "*.ipynb"))):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code" and not meta.get("solution"):
                rewritten = rewrite(cell.source)
                compile(rewritten.kernel_source, path, "exec")
                for site in rewritten.sites:
                    compile(site.expression, path, "eval")
                count += len(rewritten.sites)
    assert count > 50   # the course's plain asserts are judged in the grader


def test_a_failed_hidden_numpy_assert_does_not_quote_the_expected_values():
    def square(x):
        return x * x + (0.5 if isinstance(x, np.ndarray) and len(x) == 3 else 0)
    entry = _score(reports(SQUARE_TEST, {"np": np, "square": square}))
    assert entry.points == 0.0
    assert entry.message == "AssertionError: a hidden test failed"


def test_asserts_in_a_helper_the_cell_calls_must_report():
    source = ("def _check(seed):\n    try:\n        got = fit(seed)\n    except Exception:\n"
              "        raise AssertionError('fit failed')\n    for k in (1, 2):\n"
              "        assert got[k] < 0.5, k\n\n_check(1)\n")
    sites = rewrite(source).sites  # the helper's assert, and the call as the cell's last expression
    assert [(s.kind, s.required) for s in sites] == [("assert", True), ("value", True)]
    cell = Cell("n", "t", 0, 1.0, expects=sites)
    good = reports(source, {"fit": lambda seed: {1: 0.1, 2: 0.2}})
    assert score_cell(cell, good, "n", 1.0).ok
    only_done = [o for o in good if '"expect": -1' in o["data"][MIME]]   # errors hidden, end forged
    assert score_cell(cell, only_done, "n", 1.0).message == "some of this cell's tests did not run"
    assert not rewrite(source.replace("_check(1)", "if False:\n    _check(1)")).sites[0].required


def test_every_literal_case_of_a_loop_must_report():
    sites = rewrite(SQUARE_TEST).sites
    assert [s.times for s in sites] == [1, 1, 2, 1]     # for _x in (-2.5, 0.5)
    good = reports(SQUARE_TEST, {"np": np, "square": _square})
    first_case_only = [o for o in good if '"expect": 2' not in o["data"][MIME]][:2] + [
        next(o for o in good if '"expect": 2' in o["data"][MIME])] + good[-2:]
    assert _score(first_case_only).message == "some of this cell's tests did not run"


# nbgrader's partial credit: a test cell whose last expression displays a number


def _partial(source: str, namespace: dict, points: float = 1.0) -> dict:
    cell = Cell("n", "t", 0, points, expects=rewrite(source).sites)
    return score_cell(cell, reports(source, namespace), "n", points)


@pytest.mark.parametrize("value", [0, 0.25, 1, 1.0, -0.5, float("nan"), True, "0.5", None,
                                   np.float64(0.5), np.int64(1), np.array(0.5), [0.5], 1e-9])
def test_partial_points_follow_nbgrader_s_own_rule(value):
    from nbgrader.utils import get_partial_grade

    from autograder.judge.expect_judge import partial_points
    expected = 1.0 if value is None else get_partial_grade(  # what IPython would display
        {"data": {"text/plain": repr(value)}}, 1.0)
    assert partial_points(value, 1.0) == expected


def test_partial_points_above_the_maximum_are_capped():
    from autograder.judge.expect_judge import partial_points
    assert partial_points(3, 2.0) == 2.0 and partial_points(float("inf"), 2.0) == 2.0


SCORE_CELL = "score = 0\nif f(1) == 1:\n    score += 0.5\nif f(2) == 4:\n    score += 0.5\nscore\n"


def test_a_displayed_score_is_partial_credit():
    assert _partial(SCORE_CELL, {"f": _square}).points == 1.0
    half = _partial(SCORE_CELL, {"f": lambda x: 1})
    assert (half.points, half.ok, half.message) == (0.5, False, "partial credit: 0.5 of 1 points")
    assert _partial(SCORE_CELL, {"f": lambda x: 0}).points == 0.0
    assert _partial(SCORE_CELL.replace("\nscore\n", "\nscore;\n"), {"f": lambda x: 0}).points == 1.0
    assert _partial(SCORE_CELL.replace("\nscore\n", "\nprint(score)\n"), {"f": lambda x: 0}).points == 1.0


def test_a_score_expression_is_computed_by_the_grader():
    source = "assert f(0) == 0\n0.5 * (f(2) == 4) + 0.5 * float(f(3) == 9)\n"
    assert _partial(source, {"f": _square}).points == 1.0
    # an object equal to everything does not cross: the grader compares its float value
    assert _partial(source, {"f": lambda x: _AlwaysEqual(0.0)}).points == 0.0
    crashed = _partial(source.replace("f(3)", "g(3)"), {"f": _square})
    assert (crashed.points, crashed.message) == (0.0, "NameError: name 'g' is not defined")


def test_a_numpy_scalar_score_gets_full_credit_as_under_nbgrader():
    # IPython displays np.float64(0.5), which nbgrader cannot read as a number
    assert _partial("half()\n", {"half": lambda: np.float64(0.5)}).points == 1.0
    assert _partial("half()\n", {"half": lambda: 0.5}).points == 0.5


def test_a_report_that_cannot_be_decoded_fails_the_cell_without_stopping_the_grader():
    from nn_utils import wire
    forged = [{"output_type": "display_data", "metadata": {}, "data": {MIME: wire.dumps(report)}}
              for report in ({"expect": 0, "values": [{"value": {"__bytes__": "!!not base64"}}],
                              "message": None}, {"expect": -1, "values": [], "message": None})]
    entry = score_cell(Cell("n", "t", 0, 1.0, expects=rewrite("assert f(1) == 1\n").sites),
                       forged, "n", 1.0)
    assert (entry.points, entry.ok) == (0.0, False) and "Error" in entry.message
