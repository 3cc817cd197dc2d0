"""``autograder grade ASSIGNMENT``: grade every submission, in parallel, resumably.

The work is :func:`autograder.pipeline.grade_class`; this command parses the
arguments, says when student code runs unisolated, and prints the summary.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from autograder import UsageError, pipeline
from autograder.commands.common import command
from autograder.execute.sandbox import NAMES
from autograder.record import Result, Status

__all__ = ["add_arguments", "main", "parse_size"]

_DEFAULT_TIMEOUT = pipeline.DEFAULT_TIMEOUT
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.I)


def parse_size(text) -> int | None:
    """``"4G"`` -> 4 GiB in bytes; ``"none"``/``0`` -> None (no limit)."""
    if text is None or str(text).lower() in ("none", "0", "off"):
        return None
    match = _SIZE.match(str(text))
    if not match:
        raise UsageError(f"not a size: {text!r} (try 4G or 512M)")
    return int(float(match[1]) * 1024 ** "_kmgt".index((match[2] or "_").lower()))


_SUMMARY_ROWS = 60  # a larger class lists only its submissions that need a look


def _summary(rows: list[Result], out=None) -> None:
    out = out or sys.stdout
    shown = [r for r in rows if len(rows) <= _SUMMARY_ROWS or r.status is not Status.OK]
    width = max([7] + [len(r.student) for r in shown])
    print(f"{'student':<{width}}  {'status':<11} {'score':>13}  {'time':>7}  detail", file=out)
    for r in sorted(shown, key=lambda r: r.student):
        score = f"{'-' if r.score is None else format(r.score, 'g')}/{r.max_score:g}"
        late = r.late_submission_penalty or 0.0
        detail = (f"late: -{late:g} points; " if late else "") + r.detail
        print(f"{r.student:<{width}}  {r.status:<11} {score:>13}  "
              f"{r.duration_s:6.1f}s  {detail[:60]}", file=out)
    if len(shown) < len(rows):
        print(f"... and {len(rows) - len(shown)} more with status ok (see grades.csv)", file=out)


def add_arguments(parser) -> None:
    """Options of ``autograder grade`` (defaults come from :func:`main`)."""
    d = {k: v.default for k, v in inspect.signature(main).parameters.items()}
    parser.add_argument("assignment", help="assignment name (a folder under source/)")
    parser.add_argument("--workers", type=int, help="parallel kernels (default: CPU count)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler address, e.g. tcp://host:8786 (default: local)")
    parser.add_argument("--timeout", type=float, help="seconds per cell (default: Execute.timeout "
                        f"of nbgrader_config.py, else {_DEFAULT_TIMEOUT:g})")
    parser.add_argument("--submission-timeout", type=float, dest="submission_timeout",
                        help=f"seconds per submission (default {d['submission_timeout']})")
    parser.add_argument("--memory", help=f"memory cap per submission (default {d['memory']})")
    parser.add_argument("--processes", type=int,
                        help="most processes per submission (default: 64 + 3 per core)")
    parser.add_argument("--force", action="store_true", help="regrade already graded submissions")
    parser.add_argument("--student", action="append", dest="students", metavar="ID",
                        help="grade only this student (repeatable)")
    parser.add_argument("--no-fork-server", action="store_false", dest="fork",
                        help="start every kernel from a fresh interpreter (slower)")
    parser.add_argument("--no-progress", action="store_false", dest="progress",
                        help="no progress bar")
    parser.add_argument("--no-isolation", action="store_false", dest="isolation",
                        help="where kernels cannot be isolated, run student code anyway, with "
                             "the grader's rights (default: refuse)")
    parser.add_argument("--sandbox", choices=NAMES,
                        help="how kernels are isolated: namespaces (forked kernels, the fast "
                             "path) or bubblewrap (bwrap, fresh kernels; where user namespaces "
                             "are restricted); default: namespaces where available")


@command
def main(*, course=".", assignment, workers=None, scheduler=None, timeout=None,
         submission_timeout=600.0, memory="4G", processes=None, force=False, students=None,
         progress=True, fork=True, isolation=True, sandbox=None) -> int:
    """Grade ``assignment``; write gradebook, autograded/, feedback/, grades.csv. Returns exit status.

    ``memory`` is the cap per submission ("4G"; "none" for no cap); the others are
    :func:`autograder.pipeline.grade_class`'s.
    """
    unisolated, why = pipeline.isolation_state(isolation, scheduler, sandbox)
    if unisolated:
        print("autograder: warning: submissions run unisolated, with the grader's rights "
              f"({why})", file=sys.stderr)
    batch = pipeline.grade_class(
        Path(course), assignment, workers=workers, scheduler=scheduler, timeout=timeout,
        submission_timeout=submission_timeout, memory=parse_size(memory), processes=processes,
        force=force, students=students, progress=progress, fork=fork, isolation=isolation,
        sandbox=sandbox)
    if batch.graded:
        print(f"graded {len(batch.graded)} submissions in {batch.seconds:.1f} s", file=sys.stderr)
    _summary(batch.rows)
    print(f"{len(batch.graded)} graded, {len(batch.rows) - len(batch.graded)} already graded; "
          f"grades in {batch.csv_path}")
    if unisolated:
        print("isolation: none (--no-isolation): student code ran with the grader's rights")
    if batch.errors:
        print(f"autograder: {batch.errors} submission{'s' * (batch.errors != 1)} could not be "
              f"graded after {pipeline.RETRIES} retries (status 'error', no score; why: "
              "autograder.log); run the same command again to grade only those", file=sys.stderr)
        return 1
    return 0
