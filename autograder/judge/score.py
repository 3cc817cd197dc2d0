"""Trusted scoring: decide each test cell from what crossed the boundary, never from the kernel.

A test cell that calls ``check_*`` earns its points only if, for every call the
teacher's source makes, an observation record with the right check name and the
seed derived from this grading's nonce came out of that cell, and the verdict --
decided here from the seed by :func:`autograder.reference.judge`, with the
reference maths the kernel never sees -- passes.
Missing, forged or malformed records earn nothing.  Other test cells follow
nbgrader's rules (an error output scores zero; a number displayed by the cell's
last expression is partial credit) except that stderr never zeroes a cell.
"""
from __future__ import annotations

from autograder.cells import ANY_SEED, TestCell, expected_checks
from autograder.judge.expect_judge import judge, partial_points, trailing_value
from autograder.protocol import PLANS_FILE, expectations, observations
from autograder.record import CellScore
from nn_utils.engine import public_name

__all__ = ["score_cell", "expected_seed", "unanswered", "checks_called", "grading_plans"]


def expected_seed(name: str, user_seed, nonce: str) -> int:
    """The seed the kernel had to use for ``check_name(seed=user_seed)`` under ``nonce``."""
    from nn_utils.engine import grading_seed
    return grading_seed(name, user_seed, nonce)


def checks_called(sources) -> list[str]:
    """The published checks that the code cells of the ``sources`` notebooks call."""
    from autograder import reference
    return sorted({name for nb in sources for cell in nb.cells if cell.cell_type == "code"
                   for name, _ in expected_checks(cell.source)} & set(reference.PUBLISHED))


def grading_plans(names: list[str], nonce: str) -> dict:
    """``{PLANS_FILE: bytes}``: the inputs of the checks ``names`` at each seed slot,
    chosen from ``nonce``.  The kernel probes on them; it never learns the nonce,
    and the grader rebuilds the same plans from it when judging."""
    from autograder import reference
    from nn_utils import wire
    from nn_utils.engine import GRADING_SLOTS, grading_seed
    plans = {name: {str(slot): reference.plan(name, grading_seed(name, slot, nonce))
                    for slot in range(GRADING_SLOTS)} for name in names}
    return {PLANS_FILE: wire.dumps(plans).encode()}


def _first_error(outputs: list) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip()
            return f"{out.get('ename', 'Error')}: {value}" if value else str(out.get("ename"))
    return None


def _judge(text, nonce: str):
    """(check name, user seed, Verdict-like dict) for one record, or an explanation why not."""
    from autograder.reference import judge as judge_record
    from nn_utils import wire
    try:
        record = wire.loads(text) if isinstance(text, str) else None
        if not isinstance(record, dict) or not isinstance(record.get("check"), str):
            return None, None, {"ok": False, "message": "malformed check record", "bug": None}
        name, seed, user_seed = record["check"], record.get("seed"), record.get("user_seed")
        if user_seed is not None and not isinstance(user_seed, int):
            return name, None, {"ok": False, "message": "malformed check record", "bug": None}
        if seed != expected_seed(name, user_seed, nonce):
            return name, user_seed, {"ok": False, "bug": None,
                                     "message": f"{public_name(name)}: ran on inputs not chosen "
                                                "by the grader"}
        observed = record.get("observed")
        verdict = judge_record(name, seed, observed if isinstance(observed, dict) else {})
        return name, user_seed, {"ok": bool(verdict.ok), "message": verdict.message,
                                 "bug": verdict.bug}
    except Exception as exc:  # forged data must not crash the grader
        return None, None, {"ok": False, "bug": None,
                            "message": f"check record could not be judged ({type(exc).__name__})"}


def score_cell(test: TestCell, outputs: list | None, nonce: str, max_points: float) -> CellScore:
    """The verdict on one test cell given its outputs (None: the cell never ran)."""
    entry = {"grade_id": test.grade_id, "notebook": test.notebook, "points": 0.0,
             "max_points": max_points, "ok": False,
             "check": test.checks[0][0] if test.checks else None, "message": None, "bug": None,
             "manual": test.manual}
    if test.manual:
        entry.update(message="graded by hand", auto_score=None, needs_manual_grade=not test.task)
        return CellScore(**entry)
    if outputs is None:  # no points, and nobody is asked to grade it by hand
        entry.update(message="this test did not run", auto_score=0.0, needs_manual_grade=False)
        return CellScore(**entry)
    error = _first_error(outputs)
    if not test.checks:
        entry["ok"] = error is None
        entry["message"] = error
    else:
        judged = [_judge(text, nonce) for text in observations(outputs)]
        failure = next((v for _, _, v in judged if not v["ok"]), None)
        missing = [(name, seed) for name, seed in test.checks if not any(
            got == name and v["ok"] and (seed == ANY_SEED or user == seed)
            for got, user, v in judged)]
        if failure is not None:
            entry.update(message=failure["message"], bug=failure["bug"])
        elif missing:
            name = missing[0][0]
            entry["check"] = name
            entry["message"] = f"{public_name(name)}: did not run" + (
                f" ({error})" if error else "")
        elif error is not None:
            entry["message"] = error
        else:
            entry["ok"] = True
            entry["message"] = "; ".join(v["message"].splitlines()[0] for _, _, v in judged)
    # the cell's asserts, judged here; a cell of check_* calls alone is judged by its records
    points = float(max_points)
    if entry["ok"] and test.expects is not None and (test.expects or not test.checks):
        texts = expectations(outputs)
        reason = judge(test.expects, texts)
        if reason:
            entry.update(ok=False, message=reason)
        else:  # nbgrader's partial credit: a number displayed by the cell's last expression
            points = partial_points(trailing_value(test.expects, texts), max_points)
            if points < max_points:
                entry.update(ok=False, points=points,
                             message=f"partial credit: {points:g} of {max_points:g} points")
    if entry["ok"]:
        entry["points"] = points
    entry.update(auto_score=entry["points"], needs_manual_grade=False)
    return CellScore(**entry)


def unanswered(score: CellScore) -> CellScore:
    """A written answer left as released: nbgrader scores it 0 and asks nobody to grade it."""
    return score.replace(message="no answer given", auto_score=0.0, needs_manual_grade=False)
