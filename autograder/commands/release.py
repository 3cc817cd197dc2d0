"""``autograder release``: generate the student notebooks, then prove they grade right.

For each assignment: ``nbgrader generate_assignment`` (source/ -> release/ and
the gradebook), the student bundle beside the notebook (the checker ``nn_utils``
with freshly published cases, and ``requirements.txt``), then a validation run
on a throwaway copy of the course with two pretend students -- one who handed
in the teacher's solutions (full marks expected) and one who handed in the
release untouched (zero expected, and no crash).  One summary line per
assignment; exit status 1 if any failed.  The checker is also written as a
wheel, ``dist/nn_utils-<version>-py3-none-any.whl``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from autograder import UsageError, demo_class
from autograder.bundle import build_wheel, write_bundle
from autograder.commands.common import command
from autograder.course import assignments_in, choose, course_root, generate
from autograder.demo_class import BuildError
from autograder.record import Result, Status
from autograder.store import read_records

__all__ = ["add_arguments", "main"]

_PAIR = ("solution", "blank")  # students s01 and s02 of the validation class


def _first_failure(record: Result) -> str:
    for test in record.failed:
        message = (test.message or "failed").strip().splitlines() or ["failed"]
        return f" ({test.grade_id}: {message[0]})"
    return f" ({record.detail})" if record.detail else ""


def _verdict(records: dict[str, Result]) -> tuple[bool, str]:
    """(all good, readable description) from the two validation records."""
    parts, good = [], True
    for student, kind, label in (("s01", "solution", "solution"),
                                 ("s02", "blank", "untouched release")):
        record = records.get(student)
        problem = demo_class.expected_outcome(kind, record)
        good = good and problem is None
        if record is None:
            parts.append(f"{label}: no result")
            continue
        text = f"{label} {record.score or 0:g}/{record.max_score:g}"
        if record.status is not Status.OK:
            text += f" [{record.status}]"
        if problem:
            text += _first_failure(record) if kind == "solution" else f" -- {problem}"
        parts.append(text)
    return good, ", ".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``autograder release``."""
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to release (default: every one in source/)")
    parser.add_argument("--workers", type=int, default=None,
                        help="grading workers for the validation (default: one per core)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="per-cell time limit of the validation run in seconds "
                             "(default: the grader's)")


@command
def main(*, course: str = ".", assignments: list[str] | None = None,
         workers: int | None = None, timeout: float | None = None) -> int:
    """Release and validate ``assignments``; 0 when every one passed."""
    root = course_root(course)
    chosen = choose(assignments, assignments_in(root), f"in {root / 'source'}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as scratch:
        for assignment in chosen:
            started = time.monotonic()
            problem = generate(root, assignment)
            if problem:
                good, text = False, f"generate_assignment: {problem}"
            else:
                bundled = write_bundle(root / "release" / assignment)
                good, text = _validate(root, Path(scratch) / assignment, assignment,
                                       workers=workers, timeout=timeout)
                text += f"; beside the notebook: {', '.join(bundled)}"
            failures += not good
            print(f"release {assignment}: {'ok' if good else 'FAILED'} -- {text} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    if failures < len(chosen):
        wheel = build_wheel(root / "dist")
        print(f"the checker as a wheel, for lab machines and JupyterHub images: "
              f"{wheel.relative_to(root)}", flush=True)
    return 1 if failures else 0


def _validate(root: Path, dest: Path, assignment: str, *, workers, timeout) -> tuple[bool, str]:
    """Grade a solution and an untouched release in a throwaway class at ``dest``."""
    from autograder import pipeline

    try:
        demo_class.build_class(root, dest, [assignment], 2, list(_PAIR))
        batch = pipeline.grade_class(dest, assignment, workers=workers, timeout=timeout,
                                     progress=False)
    except (BuildError, UsageError) as exc:
        return False, " ".join(str(exc).split())
    if batch.errors:
        return False, f"the grader could not grade {batch.errors} of the two submissions"
    return _verdict({r.student: r for r in read_records(dest, assignment)})
