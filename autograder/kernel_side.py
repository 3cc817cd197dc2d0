"""What the grading kernel runs before the student's code: real Python, imported there.

:func:`install` reads the inputs the grader chose for this submission (a plan
per check and seed slot, written beside the notebook), deletes that file and
makes every ``check_*`` call probe on them and send its observations out as
display data.  It returns the reporter the rewritten test cells call
(``__autograder_expect``, see :mod:`autograder.judge.expect`): each assert's values
leave the kernel as data.  The kernel judges nothing and holds no expected
values: the grader judges records and reports in its own process
(``autograder.judge.score``).  Everything crosses the boundary through
:mod:`nn_utils.wire`.
"""
from __future__ import annotations

import os

__all__ = ["install", "expect_reporter", "PLANS_FILE"]

#: where the grader puts this submission's plans, relative to the working copy
PLANS_FILE = ".autograder-plans.json"


def expect_reporter(mime: str):
    """``expect(site, leaves, message=None)``: evaluate each leaf of one assert and display
    the values (or the errors) for the grader.  What it uses is bound now, before any
    student code runs; a student who replaces it only loses the reports (and the points)."""
    from IPython.display import display

    from nn_utils import wire
    generic, tag, dumps = __import__("numpy").generic, wire.tag, wire.dumps

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
        display({mime: dumps({"expect": site, "values": values, "message": text})}, raw=True)
    return expect


def install(mime: str):
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
        record = {"check": name, "seed": seed, "user_seed": user_seed, "observed": observed}
        display({mime: wire.dumps(record)}, raw=True)

    install_grading(plans, sink)
    return expect_reporter(mime)
