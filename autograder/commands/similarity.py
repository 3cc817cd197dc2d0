"""``autograder similarity``: which submissions share rare code or rare wrong answers.

Compares what each student wrote (the release's and the source's lines
removed) through winnowed fingerprints and an inverted index, and the wrong
answers of their check records, and writes ``similarity/<assignment>/``:
``pairs.csv`` (ranked, one row per pair above the threshold), ``index.html``
(groups of three or more shown as groups) and a side-by-side page for each of
the top pairs.  Only counts are printed: students are named in those files alone.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from autograder import UsageError
from autograder.commands.common import command
from autograder.course import course_root

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``autograder similarity``."""
    from autograder.similarity import DEFAULT_THRESHOLD
    parser.add_argument("assignment", help="assignment name (its submissions under submitted/)")
    parser.add_argument("--threshold", type=float, metavar="S",
                        help=f"list pairs scoring at least S, 0 to 1 (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--pages", type=int, metavar="N",
                        help="side-by-side pages for the N highest pairs (default 20)")
    parser.add_argument("--out", metavar="DIR",
                        help="output folder (default: <course>/similarity/<assignment>)")


@command
def main(*, course: str = ".", assignment: str, threshold: float | None = None,
         pages: int = 20, out: str | None = None) -> int:
    """Compare the submissions of ``assignment``; prints counts and where the pages are."""
    from autograder.similarity import DEFAULT_THRESHOLD, analyse
    from autograder.similarity.pages import write_pages
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if not 0.0 < threshold <= 1.0:
        raise UsageError(f"--threshold must be above 0 and at most 1, not {threshold:g}")
    if pages < 0:
        raise UsageError(f"--pages must be 0 or more, not {pages}")
    root = course_root(course)
    analysis = analyse(root, assignment, threshold)
    index = write_pages(analysis, Path(out) if out else root / "similarity" / assignment, pages)
    groups = len(analysis.groups)
    grouped = sum(len(g) for g in analysis.groups)
    print(f"similarity {assignment}: {len(analysis.codes)} submissions, "
          f"{len(analysis.pairs)} pair{'s' * (len(analysis.pairs) != 1)} at or above "
          f"{threshold:g} ({groups} group"
          f"{'s' * (groups != 1)} of three or more, {grouped} submissions) -> {index}")
    return 0
