"""Course-directory helpers shared by the release, collect, report and demo commands."""
from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from pathlib import Path

from autograder import UsageError

__all__ = ["command", "error_line", "choose", "course_root", "assignments_in", "generate",
           "notebook_names", "read_records"]


def error_line(exc: BaseException | str) -> int:
    """Print ``autograder: error: ...`` (one line) to stderr and return 2."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    print(f"autograder: error: {text}", file=sys.stderr)
    return 2


def command(main):
    """The one error convention of every command's ``main``: a :class:`UsageError`
    raised anywhere inside becomes one line on stderr and exit status 2, whether the
    command runs from the CLI or is called as a function."""
    @functools.wraps(main)
    def run(**kwargs) -> int:
        try:
            return int(main(**kwargs) or 0)
        except UsageError as exc:
            return error_line(exc)
    return run


def course_root(course: str | os.PathLike) -> Path:
    """The course directory, checked to hold ``nbgrader_config.py`` or ``source/``."""
    root = Path(course).resolve()
    if not root.is_dir():
        raise UsageError(f"course directory {course} does not exist")
    if not (root / "nbgrader_config.py").is_file() and not (root / "source").is_dir():
        raise UsageError(f"{root} is not a course directory "
                        "(no nbgrader_config.py and no source/); use --course DIR")
    return root


def assignments_in(root: Path, folder: str = "source") -> list[str]:
    """Names of the assignments under ``root/folder`` that hold a notebook."""
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and any(p.glob("*.ipynb")))


def choose(wanted, available: list[str], where: str) -> list[str]:
    """``wanted`` assignments (all ``available`` when none), each checked to be there."""
    chosen = list(wanted or available)
    unknown = sorted(set(chosen) - set(available))
    if unknown or not chosen:
        raise UsageError(f"no assignment {', '.join(unknown) or 'at all'} {where} "
                        f"(found: {', '.join(available) or 'none'})")
    return chosen


def notebook_names(root: Path, assignment: str) -> list[str]:
    """Notebook stems of an assignment, from ``source/`` (else ``release/``)."""
    for folder in ("source", "release"):
        names = sorted(p.stem for p in (root / folder / assignment).glob("*.ipynb"))
        if names:
            return names
    known = ", ".join(assignments_in(root)) or "none"
    raise UsageError(f"assignment {assignment!r} has no notebook under "
                    f"{root / 'source'} (assignments: {known})")


def read_records(root: Path, assignment: str) -> list[dict]:
    """Every readable result record of ``assignment`` in the autograded folders, by student."""
    from autograder.course import students
    from autograder.store import read_record
    records = []
    for student in students(root, "autograded", assignment):
        record = read_record(root, student, assignment)
        if record is not None:  # a half-written or foreign file is not a result
            record.setdefault("student", student)
            records.append(record)
    return records


def generate(root: Path, assignment: str) -> str | None:
    """``nbgrader generate_assignment`` in-process (source/ -> release/ + gradebook).

    Returns ``None`` on success, else the last line of nbgrader's error.
    """
    # nbgrader migrates a new gradebook by running the ``alembic`` script,
    # which lives beside this interpreter even when the venv is not activated.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.apps import NbGraderAPI

    from autograder.course import course_config
    config = course_config(root).copy()
    config.CourseDirectory.root = str(root)
    # nbgrader reads some course files relative to the working directory (autotests.yml)
    with contextlib.chdir(root):
        result = NbGraderAPI(config=config).generate_assignment(assignment, force=True,
                                                                create=True)
    if result.get("success"):
        return None
    text = f"{result.get('log') or ''}\n{result.get('error') or ''}"
    causes = [line.strip() for line in text.splitlines()
              if re.match(r"\s*\w+(Error|Exception): ", line) and "NbGraderException" not in line]
    errors = [line.strip() for line in text.splitlines() if line.startswith("[ERROR]")]
    return (causes or errors or ["nbgrader generate_assignment failed"])[-1]
