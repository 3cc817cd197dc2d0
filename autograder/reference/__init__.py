"""The teacher's side of every check: inputs, reference maths, expected values, verdicts.

This package is the only place that computes an exercise's answers.  It never
reaches a student: ``autograder release`` copies ``nn_utils`` without it, and the
grading kernel's view of the file system leaves it out.

* :func:`plan` -- the inputs of check ``name`` at ``seed`` (the check's own
  ``plan`` where choosing them needs no reference maths);
* :func:`expected` -- what the judge compares the observations with;
* :func:`judge` -- the verdict on observations recorded at ``seed`` (the grader);
* :func:`run` -- a check at any seed, judged here (teachers' tests);
* :func:`publish` -- write ``nn_utils/cases/<name>.json`` at the published seeds.

Adding a check: its plan/probe/judge in ``nn_utils``, its reference maths here
(a row of :mod:`.layers` for a layer), and its name in :data:`PUBLISHED`.
"""
from __future__ import annotations

import os

from nn_utils import _report, wire
from nn_utils._cases import CASES_DIR
from nn_utils._runner import get_check, judge_with

from . import tf as _tf
from .layers import ROWS, expected_layer

__all__ = ["plan", "expected", "judge", "run", "publish", "published_cases", "PUBLISHED",
           "PUBLISHED_SEEDS"]

#: the seeds whose cases students get: the default (0) and three more
PUBLISHED_SEEDS = (0, 1, 2, 3)
#: every check whose cases are published
PUBLISHED = ("affine", "relu", "cross_entropy", "evaluate", "fit", "weight_multiply",
             "bias_add", "sigmoid", "linear", "mean_squared_error", "dense",
             "neural_network", "sgd", "trainer")

_PLANS = {"evaluate": _tf.plan_evaluate, "fit": _tf.plan_fit}


def _sgd(plan):
    return {"after": [p - plan["lr"] * g for p, g in zip(plan["params"], plan["grads"], strict=False)]}


def _layer(name):
    def expected_values(plan):
        from nn_utils.framework import DENSE  # a row with a check of its own, not in TABLE
        from nn_utils.layers import TABLE
        return expected_layer(DENSE if name == "dense" else TABLE[name], plan)
    return expected_values


_EXPECTED = {**{name: _layer(name) for name in ROWS},
             "evaluate": _tf.expected_evaluate, "fit": _tf.expected_fit, "sgd": _sgd,
             "neural_network": lambda plan: {}, "trainer": lambda plan: {}}


def plan(name: str, seed: int) -> dict:
    """The inputs of check ``name`` at ``seed`` (always with a ``"seed"`` entry)."""
    check = get_check(name)
    made = _PLANS[name](seed) if check.plan is None else check.plan(seed)
    return {**made, "seed": int(seed)}


def expected(name: str, planned: dict) -> dict:
    """The values the judge of ``name`` compares with, for inputs ``planned``."""
    get_check(name)  # registers the layer rows
    return _EXPECTED[name](planned)


def judge(name: str, seed: int, observed: dict) -> _report.Verdict:
    """The verdict on ``observed``, recorded by a probe on the inputs of ``seed``."""
    check = get_check(name)
    planned = plan(name, seed)
    return judge_with(check, planned, observed, expected(name, planned))


def run(name: str, student, seed: int | None = None) -> _report.Verdict:
    """Check ``student`` at any ``seed`` and judge it here (no published cases needed)."""
    check = get_check(name)
    planned = plan(name, check.default_seed if seed is None else seed)
    return judge_with(check, planned, check.probe(student, planned),
                      expected(name, planned))


def published_cases(name: str, seeds=PUBLISHED_SEEDS) -> str:
    """The text of ``cases/<name>.json``: plan and expected values at each seed."""
    cases = {}
    for seed in seeds:
        planned = plan(name, seed)
        cases[str(seed)] = {"plan": planned, "expected": expected(name, planned)}
    return wire.dumps({"check": name, "seeds": cases}) + "\n"


def publish(folder: str = CASES_DIR, names=PUBLISHED) -> list[str]:
    """Write the published cases of ``names`` into ``folder``; the paths written."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for name in names:
        path = os.path.join(folder, f"{name}.json")
        text = published_cases(name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        if old != text:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        written.append(path)
    return written


