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

Each family of ``nn_utils.checks`` has a module of the same name here (its
reference maths and ``EXPECTED``, and ``PLANS`` where planning needs them);
:data:`PUBLISHED` is every registered check, and a test fails when a check has
no reference here or a reference no check.
"""
from __future__ import annotations

import importlib
import os

from nn_utils.engine import CASES_DIR, Verdict, checks, get_check, judge_with, wire

__all__ = ["plan", "expected", "judge", "run", "publish", "published_cases", "PUBLISHED",
           "PUBLISHED_SEEDS", "FAMILIES", "EXPECTED", "PLANS"]

#: the families of reference maths: the same names as ``nn_utils.checks``'s families
#: (``framework`` holds both of the mini-framework's)
FAMILIES = ("layers", "conv", "optimizers", "tf_loops", "framework")
_modules = [importlib.import_module(f"{__name__}.{family}") for family in FAMILIES]

#: every check's expected values, fn(plan) -> dict, merged from the families
EXPECTED: dict = {name: fn for module in _modules for name, fn in module.EXPECTED.items()}
#: the plans that need reference maths (the checker's own ``plan`` is None for them)
PLANS: dict = {name: fn for module in _modules for name, fn in getattr(module, "PLANS", {}).items()}

#: the seeds whose cases students get: the default (0) and three more
PUBLISHED_SEEDS = (0, 1, 2, 3)
#: every check whose cases are published: every registered row, in the table's order
PUBLISHED = tuple(checks())


def plan(name: str, seed: int) -> dict:
    """The inputs of check ``name`` at ``seed`` (always with a ``"seed"`` entry)."""
    check = get_check(name)
    made = PLANS[name](seed) if check.plan is None else check.plan(seed)
    return {**made, "seed": int(seed)}


def expected(name: str, planned: dict) -> dict:
    """The values the judge of ``name`` compares with, for inputs ``planned``."""
    return EXPECTED[name](planned)


def judge(name: str, seed: int, observed: dict) -> Verdict:
    """The verdict on ``observed``, recorded by a probe on the inputs of ``seed``."""
    check = get_check(name)
    planned = plan(name, seed)
    return judge_with(check, planned, observed, expected(name, planned))


def run(name: str, student, seed: int | None = None) -> Verdict:
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


