"""``autograder export [ASSIGNMENT...]``: grades.csv again, from the gradebook as it is now.

After graders enter scores in nbgrader's formgrader (or through nbgrader's API),
this refreshes ``grades.csv`` without grading anything: nbgrader export's columns
and values, manual grades and late penalties included, one row per student of
the gradebook (0 and status ``missing`` for one who submitted nothing), plus the
grader's ``status``.
"""
from __future__ import annotations

import inspect
from pathlib import Path

from . import UsageError

__all__ = ["add_arguments", "main"]


def add_arguments(parser) -> None:
    """Options of ``autograder export`` (defaults come from :func:`main`)."""
    d = {k: v.default for k, v in inspect.signature(main).parameters.items()}
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to export (default: every one in the gradebook)")
    parser.add_argument("--format", choices=["csv"], dest="format",
                        help=f"what to write (default {d['format']}: grades.csv)")


def main(*, course=".", assignments=None, format="csv") -> int:  # noqa: A002 - the CLI's word
    """Write ``grades.csv`` rows of ``assignments`` from the course's gradebook; 0 on success."""
    from .grade import course_setting
    from ._store import open_gradebook, write_grades
    from ._tools import choose
    course = Path(course).resolve()
    if not course.is_dir():
        raise UsageError(f"no such course directory: {course}")
    db_url = course_setting(course, "CourseDirectory", "db_url", None) \
        or f"sqlite:///{course / 'gradebook.db'}"
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).is_file():
        raise UsageError(f"no gradebook at {db_url[len('sqlite:///'):]}: grade first")
    gb = open_gradebook(db_url, course_setting(course, "CourseDirectory", "course_id",
                                               "default_course"))
    try:
        chosen = choose(assignments, sorted(a.name for a in gb.assignments), "in the gradebook")
        for assignment in chosen:
            path = write_grades(gb, course, assignment)
        print(f"exported {', '.join(chosen)} to {path}")
    finally:
        gb.close()
    return 0
