"""``autograder export [ASSIGNMENT...] [--format F]``: grades from the gradebook as it is now.

After graders enter scores in nbgrader's formgrader (or through nbgrader's API),
this refreshes ``grades.csv`` without grading anything: nbgrader export's columns
and values, manual grades and late penalties included, one row per student of
the gradebook (0 and status ``missing`` for one who submitted nothing), plus the
grader's ``status``.  ``--format gradescope|canvas|moodle`` writes what those
import instead (see :mod:`autograder.feedback.exports`).
"""
from __future__ import annotations

import inspect

from autograder import UsageError
from autograder.commands.common import command
from autograder.feedback.exports import FORMATS

__all__ = ["add_arguments", "main"]


def add_arguments(parser) -> None:
    """Options of ``autograder export`` (defaults come from :func:`main`)."""
    d = {k: v.default for k, v in inspect.signature(main).parameters.items()}
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to export (default: every one in the gradebook)")
    parser.add_argument("--format", choices=["csv", *FORMATS], dest="format",
                        help=f"what to write (default {d['format']}: grades.csv; gradescope: a "
                             "results.json per submission; canvas, moodle: their import CSV, "
                             "under exports/)")


@command
def main(*, course=".", assignments=None, format="csv") -> int:  # the CLI's word
    """Write ``grades.csv`` rows of ``assignments`` from the course's gradebook; 0 on success."""
    from autograder.course import choose, course_id, course_root, gradebook_file, gradebook_url
    from autograder.store import open_gradebook, write_grades
    course = course_root(course)
    sqlite = gradebook_file(course)
    if sqlite is not None and not sqlite.is_file():
        raise UsageError(f"no gradebook at {sqlite}: grade first")
    gb = open_gradebook(gradebook_url(course), course_id(course))
    try:
        chosen = choose(assignments, sorted(a.name for a in gb.assignments), "in the gradebook")
        if format == "csv":
            paths = [write_grades(gb, course, chosen)]
        else:
            paths = FORMATS[format](gb, course, chosen)
        where = paths[0] if len(paths) == 1 else f"{len(paths)} files under {course / 'exports'}"
        print(f"exported {', '.join(chosen)} as {format} to {where}")
    finally:
        gb.close()
    return 0
