"""The checks as a teacher's test runs them: any seed, judged by the reference maths.

Students' ``nn_utils.check_*`` only accept the published seeds; these helpers
judge on the teacher's side (``autograder.reference``) at any seed, with the
same messages, so the corpus of correct and buggy students runs over many
inputs.
"""
from __future__ import annotations

from autograder import reference
from nn_utils.engine import get_check, judge_with

__all__ = ["verdict", "judge_record", "plan", "judge", "checker", "CHECKERS"]


def verdict(name, student, seed=0):
    """The Verdict of check ``name`` on ``student`` at ``seed``."""
    return reference.run(name, student, seed)


def judge_record(name, seed, observed):
    """The grader's verdict on observations recorded at ``seed``."""
    return reference.judge(name, seed, observed)


def plan(name, seed):
    return reference.plan(name, seed)


def judge(name, planned, observed):
    return judge_with(get_check(name), planned, observed, reference.expected(name, planned))


def checker(name):
    """``check_<name>(student, seed=None)`` judged on the teacher's side."""
    def check(student, seed=None):
        __tracebackhide__ = True
        verdict(name, student, seed).raise_or_print()
    check.__name__ = f"check_{name}"
    return check


CHECKERS = {name: checker(name) for name in reference.PUBLISHED}
