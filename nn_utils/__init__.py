"""nn_utils: checks for the course's neural-network exercises.

Each ``check_*`` calls your code on chosen inputs, compares the results and
gradients with the expected values the teacher published and with numerical
gradients of your own code, and prints one success line -- or raises
:class:`CheckFailed` saying what is wrong, where, expected versus got, and the
most likely bug.  Pass ``seed=`` (0 to 3) to try the other published inputs.

This package holds no solutions: no function in it computes an exercise's
answer.  Map: ``engine/`` (the generic engine and its public API: the row
type, plan / probe / judge, numerical gradients, fingerprints, messages, the
wire codec), ``checks/`` (the rows, grouped by family), ``cases/`` (the
published inputs and expected values).  Every ``check_<name>`` below is
derived from the registered rows: adding a check is adding a row to its family
in ``checks/`` and its reference maths to ``autograder/reference/`` (see
``docs/adding-an-exercise.md``).

The checks set ``__tracebackhide__``: IPython (and pytest) then leave the
checker's own frames out of a failure's traceback, so the message stands out.

The version test comes first and is written for any Python 3 (no f-string, no
``from __future__ import annotations`` in this file, which Python 3.6 cannot
compile): on Python 3.9 and older ``import nn_utils`` stops with one line,
``ImportError: nn_utils needs Python 3.10 or newer; this is 3.9.18``, before
numpy or any module written for 3.10 is imported.
"""
import sys

if sys.version_info < (3, 10):
    raise ImportError("nn_utils needs Python 3.10 or newer; this is %s" % sys.version.split()[0])

from . import checks as _checks  # noqa: F401  (registers every row)
from .engine import CheckFailed, Verdict, gradient_check, numerical_gradient, rel_error, wire
from .engine.report import public_name as _public_name
from .engine.runner import checks as _registered
from .engine.runner import run_check as _run_check


def _check_function(name: str, doc: str):
    """``check_<name>(student, seed=None)``: one row of the table, as students call it."""
    def check(student, seed=None):
        __tracebackhide__ = True
        _run_check(name, student, seed)
    check.__name__ = check.__qualname__ = _public_name(name)
    check.__doc__ = doc
    check.__module__ = __name__
    return check


for _name, _check in _registered().items():
    globals()[_public_name(_name)] = _check_function(_name, _check.doc)

__all__ = ["CheckFailed", "Verdict",
           *(_public_name(name) for name in _registered()),
           "numerical_gradient", "rel_error", "gradient_check", "wire"]
