"""The check registry and the one function that runs a check: plan, probe, judge.

A check is three small functions:

* ``plan(seed) -> dict``: the inputs the probe will feed the student's code,
  chosen deterministically from the seed (so a trusted process can rebuild them);
* ``probe(student, plan) -> dict``: calls the student's code and returns plain
  data only (arrays, numbers, strings, shapes, error texts) -- it decides nothing;
* ``judge(plan, observed) -> Verdict``: a pure function that compares the
  observations with reference maths and names the likely bug.

Locally all three run in one process.  When grading, the autograder installs a
*sink*: the probe's observations are handed to it (serialised with
:mod:`nn_utils.wire`) and the verdict is decided again in a trusted process,
which rebuilds the plan from the seed instead of trusting the kernel.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Callable

from ._report import Verdict, unreadable

__all__ = ["Check", "register", "get_check", "run_check", "judge_record",
           "grading_seed", "set_sink", "checks"]


@dataclass(frozen=True)
class Check:
    """One row of the check table: how to plan, probe and judge one exercise."""

    name: str
    plan: Callable[[int], dict]
    probe: Callable[[object, dict], dict]
    judge: Callable[[dict, dict], Verdict]
    default_seed: int = 0


_REGISTRY: dict[str, Check] = {}
_sink: Callable[[str, int, int | None, dict], None] | None = None


def register(check: Check) -> Check:
    """Add a check to the table (idempotent: re-registering replaces it)."""
    _REGISTRY[check.name] = check
    return check


def get_check(name: str) -> Check:
    """Look a check up by name, importing the module that defines it."""
    if name not in _REGISTRY:
        from . import _catalogue
        _catalogue.load(name)
    return _REGISTRY[name]


def checks() -> list[str]:
    """Names of every registered check."""
    from . import _catalogue
    _catalogue.load_all()
    return sorted(_REGISTRY)


def set_sink(sink: Callable[[str, int, int | None, dict], None] | None) -> None:
    """Send probe observations to ``sink(name, seed, user_seed, observed)``.

    Used by the autograder inside the grading kernel; ``None`` restores local
    judging.
    """
    global _sink
    _sink = sink


def grading_seed(name: str, user_seed: int | None, nonce: str | None = None) -> int:
    """The seed actually used: the student's, or one derived from a grading nonce.

    While grading, ``NN_UTILS_GRADING_NONCE`` is set in the kernel to a value
    chosen at grading time, so hidden re-runs use inputs nobody saw in advance;
    the grader, which judges many submissions at once, passes ``nonce`` instead.
    """
    check = get_check(name)
    base = check.default_seed if user_seed is None else int(user_seed)
    if nonce is None:
        nonce = os.environ.get("NN_UTILS_GRADING_NONCE")
    if not nonce:
        return base
    digest = hashlib.sha256(f"{nonce}|{name}|{base}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


# What reading observations of the wrong shape raises; they come from student code,
# so a judge that trips over them gives a failed verdict, not a crash of the grader.
_UNREADABLE = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def _judge(check: Check, plan: dict, observed: dict) -> Verdict:
    try:
        return check.judge(plan, observed)
    except _UNREADABLE as exc:
        return unreadable(check.name, exc)


def judge_record(name: str, seed: int, observed: dict) -> Verdict:
    """Rebuild the plan from ``seed`` and judge ``observed`` (trusted side)."""
    check = get_check(name)
    return _judge(check, check.plan(seed), observed)


def run_check(name: str, student, seed: int | None = None) -> None:
    """Run check ``name`` on the student's object: print success or raise CheckFailed."""
    __tracebackhide__ = True
    check = get_check(name)
    actual = grading_seed(name, seed)
    plan = check.plan(actual)
    observed = check.probe(student, plan)
    if _sink is not None:
        _sink(name, actual, seed, observed)
    _judge(check, plan, observed).raise_or_print()
