"""What the grading kernel runs before the student's code: real Python, imported there.

:func:`install` (the function the preamble cell imports and calls, see
:func:`autograder.protocol.preamble_source`) reads the inputs the grader chose for
this submission (a plan per check and seed slot, written beside the notebook),
deletes that file and makes every ``check_*`` call probe on them and send its
observations out.  It returns the reporter the rewritten test cells call
(:func:`expect_reporter`, see :mod:`autograder.assemble.rewrite`): each assert's
values leave the kernel as data.  The kernel judges nothing and holds no expected
values: the grader judges records and reports in its own process
(:mod:`autograder.judge`).  What crosses the boundary, and how, is
:mod:`autograder.protocol`'s.
"""
from __future__ import annotations

import os

from autograder.protocol import PLANS_FILE, expectation, observation

__all__ = ["install", "expect_reporter"]


def expect_reporter():
    """``expect(site, leaves, message=None)``: evaluate each leaf of one assert and display
    the values (or the errors) for the grader.  What it uses is bound now, before any
    student code runs; a student who replaces it only loses the reports (and the points)."""
    from IPython.display import display

    from nn_utils import wire
    generic, tag, report = __import__("numpy").generic, wire.tag, expectation

    def expect(site, leaves, message=None):
        values = []
        for leaf in leaves:
            try:
                v = leaf()
                values.append({"value": tag(v), "numpy": True} if isinstance(v, generic)
                              else {"value": tag(v)})
            except BaseException as exc:  # the student's error is the report
                values.append({"error": (type(exc).__name__ + ": " + str(exc))[:300]})
        text = None
        if message is not None:
            try:
                text = str(message())[:500]
            except BaseException:  # an assert message that fails to format is no message
                text = None
        display(report(site, values, text), raw=True)
    return expect


def install():
    """Switch ``nn_utils`` to grading -- the grader's plans in, observations out -- and
    return the reporter of the rewritten test cells."""
    from IPython.display import display

    from nn_utils.engine import install_grading, wire

    try:
        with open(PLANS_FILE, encoding="utf-8") as fh:
            plans = wire.loads(fh.read())
        os.remove(PLANS_FILE)
    except (OSError, wire.WireError):
        plans = {}
    plans = {name: {int(slot): plan for slot, plan in slots.items()}
             for name, slots in plans.items()}

    def sink(name, seed, user_seed, observed):
        display(observation(name, seed, user_seed, observed), raw=True)

    install_grading(plans, sink)
    return expect_reporter()
