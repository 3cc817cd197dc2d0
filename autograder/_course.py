"""The course as nbgrader sees it: its ``nbgrader_config.py`` and its folders.

One home for what nbgrader's configuration says about a course directory:
settings (``Execute.timeout``, ``CourseDirectory.db_url`` ...), where each step's
folder is (``CourseDirectory.source_directory``, ``submitted_directory``,
``autograded_directory``, ``feedback_directory`` and ``directory_structure``,
resolved by nbgrader's own ``CourseDirectory``), and which files it ignores.
A broken config is reported as one line (:class:`autograder.UsageError`).
"""
from __future__ import annotations

import fnmatch
import functools
import re
from pathlib import Path

from . import UsageError

__all__ = ["course_config", "course_setting", "folder", "ignored", "students"]


@functools.lru_cache(maxsize=8)
def course_config(course: Path):
    """The traitlets ``Config`` of ``course/nbgrader_config.py`` (empty when there is none)."""
    from traitlets.config.loader import Config, PyFileConfigLoader
    if not (Path(course) / "nbgrader_config.py").is_file():
        return Config()
    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    except Exception as exc:  # a broken config is the teacher's to fix
        raise UsageError(f"cannot read {Path(course) / 'nbgrader_config.py'}: "
                         f"{type(exc).__name__}: {exc}") from None


def course_setting(course: Path, section: str, key: str, default):
    """A value from the course's nbgrader_config.py (e.g. Execute.timeout), else ``default``."""
    return course_config(Path(course)).get(section, {}).get(key, default)


@functools.lru_cache(maxsize=8)
def _directory(course: Path):
    from nbgrader.coursedir import CourseDirectory
    return CourseDirectory(config=course_config(course), root=str(course))


def folder(course: Path, step: str, student: str = ".", assignment: str = "") -> Path:
    """The folder of ``step`` (source, release, submitted, autograded, feedback) for a student.

    ``student`` may be ``"*"`` for a glob pattern over every student.
    """
    cd = _directory(Path(course))
    return Path(cd.format_path(getattr(cd, f"{step}_directory"), student, assignment))


def ignored(course: Path, name: str) -> bool:
    """Whether ``CourseDirectory.ignore`` leaves a file of this name out (nbgrader's patterns)."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in _directory(Path(course)).ignore)


def students(course: Path, step: str, assignment: str) -> list[str]:
    """The students who have a ``step`` folder (e.g. submitted) for ``assignment``, sorted."""
    cd = _directory(Path(course))
    name = getattr(cd, f"{step}_directory")
    pattern = re.compile(cd.format_path(name, "(?P<student_id>[^/]+)", re.escape(assignment),
                                        escape=True) + "$")
    found = set()
    for path in Path("/").glob(cd.format_path(name, "*", assignment).lstrip("/")):
        match = pattern.match(str(path))
        if match and path.is_dir():
            found.add(match["student_id"])
    return sorted(found)
