"""Verdicts and the one message template every check uses."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CheckFailed", "Verdict", "passed", "failed", "unreadable", "fmt", "public_name"]


def public_name(check: str) -> str:
    """How every message names a check: as the student typed it, ``check_<row name>``."""
    return f"check_{check}"


class CheckFailed(AssertionError):
    """Raised by a ``check_*`` function when the student's code is wrong.

    Subclasses ``AssertionError`` so nbgrader and plain ``assert``-style tests
    treat it as a failed test; it is always raised ``from None`` so the student
    sees one message, not the checker's internals.
    """


@dataclass(frozen=True)
class Verdict:
    """The judge's decision: plain data, so it can cross a process boundary.

    ``check`` is the row's name in the registry (``"affine"``); ``message`` names it as
    the student called it (``check_affine: ...``).  ``bug`` names the most likely
    mistake (a fingerprint id such as ``"transposed_d_weight"``) so the grader can
    count bugs across a class.
    """

    check: str
    ok: bool
    message: str
    bug: str | None = None
    details: dict = field(default_factory=dict)

    def raise_or_print(self) -> None:
        """Print the success line, or raise ``CheckFailed`` with the message."""
        if self.ok:
            print(self.message)
            return
        raise CheckFailed(self.message) from None

    def to_dict(self) -> dict:
        return {"check": self.check, "ok": self.ok, "message": self.message,
                "bug": self.bug}


def passed(check: str, what: str) -> Verdict:
    """A success verdict of row ``check``: one line, e.g. ``check_affine: all 9 checks passed``."""
    return Verdict(check, True, f"{public_name(check)}: {what}")


def failed(check: str, what: str, *, where: str | None = None,
           expected=None, got=None, hint: str | None = None,
           bug: str | None = None) -> Verdict:
    """A failure verdict of row ``check`` in the shared template.

    what     -- one sentence: what is wrong
    where    -- which array / which index / which call
    expected -- the reference value (any object; arrays are summarised)
    got      -- the student's value
    hint     -- the most likely bug, in words a beginner understands
    """
    lines = [f"{public_name(check)}: {what}"]
    if where:
        lines.append(f"  where:    {where}")
    if expected is not None or got is not None:
        lines.append(f"  expected: {fmt(expected)}")
        lines.append(f"  got:      {fmt(got)}")
    if hint:
        lines.append(f"  hint:     {hint}")
    return Verdict(check, False, "\n".join(lines), bug=bug)


def unreadable(check: str, exc: Exception) -> Verdict:
    """The verdict for observations the judge could not read (they come from student code)."""
    return failed(check, "the observations of your code could not be read",
                  where=f"{type(exc).__name__}: {exc}", bug="malformed_observation")


def fmt(value, width: int = 70) -> str:
    """A short, readable rendering of a value for a failure message."""
    if isinstance(value, str):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) > 0:
        with np.printoptions(precision=4, suppress=True, threshold=6,
                             edgeitems=2, linewidth=width):
            text = np.array2string(np.asarray(value), separator=", ")
        return " ".join(text.split())
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return repr(value)
