"""The published cases: inputs and expected values at a few seeds, stored as data.

``nn_utils/cases/<check>.json`` (the :mod:`nn_utils.engine.wire` format) holds, for
each published seed, the plan a probe feeds the student's code and the values
the judge compares with.  The teacher's side writes them at release
(``autograder release``); a test fails when they are stale.  Nothing here can
compute a value for inputs that were not published.
"""
from __future__ import annotations

import functools
import os

from . import wire
from .report import public_name

__all__ = ["published", "published_seeds", "UnpublishedSeed", "CASES_DIR"]

#: ``nn_utils/cases/``: beside the package root, where the grader's sandbox hides it
CASES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cases")


class UnpublishedSeed(ValueError):
    """``seed=`` names inputs the checker does not hold."""


@functools.lru_cache(maxsize=None)
def _load(name: str) -> dict:
    path = os.path.join(CASES_DIR, f"{name}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return wire.loads(fh.read())
    except FileNotFoundError:
        raise UnpublishedSeed(f"{public_name(name)}: this copy of nn_utils holds no cases for it "
                              f"(missing {path}); ask your teacher for a complete one") from None


def published_seeds(name: str) -> list[int]:
    """The seeds ``check_name(..., seed=)`` accepts."""
    return sorted(int(s) for s in _load(name)["seeds"])


def published(name: str, seed: int) -> tuple[dict, dict]:
    """(plan, expected) of check ``name`` at a published ``seed``."""
    __tracebackhide__ = True
    cases = _load(name)["seeds"]
    key = str(int(seed)) if isinstance(seed, int) or str(seed).isdigit() else None
    if key not in cases:
        seeds = ", ".join(str(s) for s in published_seeds(name))
        raise UnpublishedSeed(f"{public_name(name)}: seed={seed!r} is not one of the published "
                              f"seeds ({seeds}); leave seed out or pick one of them") from None
    case = cases[key]
    return case["plan"], case["expected"]
