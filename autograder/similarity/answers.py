"""Wrong answers a submission gave, in terms that do not depend on its inputs.

Every submission is graded on inputs of its own (the grader's nonce), so two
students' wrong *values* cannot be compared directly.  What can: which test
failed, which check, the bug the judge named (``transposed_d_weight``), where
it goes wrong with the numbers masked (``d_weight[#, #]``), the first line and
hint of the message, and how the wrong value relates to the expected one (its
sign, larger or smaller) when both are numbers.  That tuple is the wrong
answer's *signature*; two submissions with the same rare signature made the
same unusual mistake.

Failures that say nothing about the student's own code are left out: tests of a
submission that did not run to the end (status other than ``ok``), tests that
did not run, hand-graded cells, and the release's stub still in place
(``NotImplementedError``: the template is no evidence).
"""
from __future__ import annotations

import re

from autograder.record import Result, Status

__all__ = ["wrong_answers"]

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.])", re.I)
_FIELD = re.compile(r"^\s*(where|expected|got|hint):\s*(.*)$")
_NO_EVIDENCE = ("this test did not run", "did not run", "NotImplementedError", "no answer given")


def _masked(text: str) -> str:
    return " ".join(_NUMBER.sub("#", text).split())


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _relation(expected: str, got: str) -> str:
    """How a wrong number relates to the expected one, whatever the inputs were."""
    e, g = _number(expected), _number(got)
    if e is None or g is None:
        return ""
    if g == 0 or e == 0:
        return "zero" if g == 0 else "nonzero where zero expected"
    if (e > 0) != (g > 0):
        return "opposite sign" + (", same size" if abs(abs(g) - abs(e)) <= 1e-3 * abs(e) else "")
    return "too large" if abs(g) > abs(e) else "too small"


def wrong_answers(record: Result | None) -> dict[str, str]:
    """Signature -> a readable line of evidence, for each informative failed test of a record."""
    if record is None or record.status is not Status.OK:
        return {}
    out = {}
    for test in record.failed:
        if test.manual:
            continue
        message = str(test.message or "")
        if not message.strip() or any(text in message for text in _NO_EVIDENCE):
            continue
        lines = message.strip().splitlines()
        fields = {m[1]: m[2].strip() for m in map(_FIELD.match, lines[1:]) if m}
        relation = _relation(fields.get("expected", ""), fields.get("got", ""))
        where = _masked(fields.get("where", ""))
        bug = str(test.bug or "")
        name = f"{test.notebook}/{test.grade_id}".lstrip("/")
        signature = "\x1f".join([name, str(test.check or ""), bug, _masked(lines[0]),
                                 where, _masked(fields.get("hint", "")), relation])
        detail = ", ".join(part for part in (f"bug {bug}" if bug else _masked(lines[0]),
                                             f"at {where}" if where else "", relation) if part)
        out[signature] = f"{name}: {detail}"
    return out
