"""The check registry and the one function that runs a check: plan, probe, judge.

A check is three small functions:

* ``plan(seed) -> dict``: the inputs the probe feeds the student's code, chosen
  deterministically from the seed (``None`` where choosing them needs the
  reference maths: the teacher's side plans those);
* ``probe(student, plan) -> dict``: calls the student's code and returns plain
  data only (arrays, numbers, strings, shapes, error texts) -- it decides nothing;
* ``judge(plan, observed, expected) -> Verdict``: a pure function that compares
  the observations with the expected values and names the likely bug.

Nothing here computes an answer.  Locally, plan and expected values come from
the cases the teacher published (:mod:`nn_utils.engine.cases`), so ``seed=`` picks
one of the published seeds.  While grading, the autograder installs the plans
it chose for this submission and a *sink*: the probe's observations leave the
kernel (serialised with :mod:`nn_utils.engine.wire`) and the grader judges them with
its reference maths, in its own process.  The kernel judges nothing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from .report import Verdict, public_name, unreadable

__all__ = ["Check", "register", "get_check", "checks", "run_check", "judge_with", "grading_seed",
           "grading_slot", "install_grading", "GRADING_SLOTS"]

#: how many distinct input sets a check has per graded submission: seed= values
#: fall into these slots (seed % GRADING_SLOTS), each with inputs of its own
GRADING_SLOTS = 4


@dataclass(frozen=True)
class Check:
    """One row of the check table: how to plan, probe and judge one exercise."""

    name: str
    plan: Callable[[int], dict] | None
    probe: Callable[[object, dict], dict]
    judge: Callable[[dict, dict, dict], Verdict]
    default_seed: int = 0
    doc: str = ""   # the docstring of ``nn_utils.check_<name>``: the contract a student reads


_REGISTRY: dict[str, Check] = {}
# while grading: {"plans": {name: {slot: plan}}, "sink": fn(name, seed, user_seed, observed)}
_grading: dict | None = None


def register(check: Check) -> Check:
    """Add a check to the table (idempotent: re-registering replaces it)."""
    _REGISTRY[check.name] = check
    return check


def get_check(name: str) -> Check:
    """Look a check up by name, importing the module that defines it."""
    if name not in _REGISTRY:
        import nn_utils.checks  # noqa: F401  (every family registers its rows on import)
    if name not in _REGISTRY:
        raise KeyError(f"nn_utils has no check named {name!r}; "
                       f"known checks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def checks() -> dict:
    """Every registered check, by name, in the order the families declare them."""
    import nn_utils.checks  # noqa: F401
    return dict(_REGISTRY)


def install_grading(plans: dict | None, sink: Callable | None) -> None:
    """Grade instead of judging: take inputs from ``plans[name][slot]`` and hand each
    probe's observations to ``sink(name, seed, user_seed, observed)``.

    Used by the autograder inside the grading kernel; ``None`` restores local
    judging.
    """
    global _grading
    _grading = None if plans is None else {"plans": plans, "sink": sink}


def grading_slot(name: str, user_seed: int | None) -> int:
    """Which of the ``GRADING_SLOTS`` input sets ``check_name(seed=user_seed)`` uses."""
    base = get_check(name).default_seed if user_seed is None else int(user_seed)
    return base % GRADING_SLOTS


def grading_seed(name: str, user_seed: int | None, nonce: str) -> int:
    """The seed of the inputs a graded ``check_name(seed=user_seed)`` runs on.

    Derived from a nonce chosen at grading time, so hidden re-runs use inputs
    nobody saw in advance.
    """
    slot = grading_slot(name, user_seed)
    digest = hashlib.sha256(f"{nonce}|{name}|{slot}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


# What reading observations of the wrong shape raises; they come from student code,
# so a judge that trips over them gives a failed verdict, not a crash of the grader.
# The one guard: every judge is called through judge_with (locally and by the grader).
_UNREADABLE = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def judge_with(check: Check, plan: dict, observed: dict, expected: dict) -> Verdict:
    """``check.judge``, with unreadable observations turned into a failed verdict."""
    try:
        return check.judge(plan, observed, expected)
    except _UNREADABLE as exc:
        return unreadable(check.name, exc)


def _graded(check: Check, student, seed) -> None:
    plans = _grading["plans"].get(check.name)
    if plans is None:
        print(f"{public_name(check.name)}: not graded in this assignment (nothing recorded)")
        return
    plan = plans[grading_slot(check.name, seed)]
    observed = check.probe(student, plan)
    _grading["sink"](check.name, plan["seed"], seed, observed)
    print(f"{public_name(check.name)}: ran on the grader's inputs; the grader judges the result")


def run_check(name: str, student, seed: int | None = None) -> None:
    """Run check ``name`` on the student's object: print success or raise CheckFailed."""
    __tracebackhide__ = True
    check = get_check(name)
    if _grading is not None:
        return _graded(check, student, seed)
    from .cases import published
    plan, expected = published(name, check.default_seed if seed is None else seed)
    observed = check.probe(student, plan)
    judge_with(check, plan, observed, expected).raise_or_print()
