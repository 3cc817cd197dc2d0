"""The course as nbgrader sees it: its ``nbgrader_config.py`` and its folders.

One home for what nbgrader's configuration says about a course directory:
settings (``Execute.timeout``, ``CourseDirectory.db_url`` ...), where each step's
folder is (``CourseDirectory.source_directory``, ``submitted_directory``,
``autograded_directory``, ``feedback_directory`` and ``directory_structure``,
resolved by nbgrader's own ``CourseDirectory``), which files it ignores, and
its region markers (``ClearSolutions.begin_solution_delimeter`` ...,
``ClearHiddenTests.begin_test_delimeter`` ...) with nbgrader's rule for them:
a line that *contains* a delimiter opens or closes a region.
A broken config is reported as one line (:class:`autograder.UsageError`).
"""
from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder import UsageError

__all__ = ["course_config", "course_setting", "folder", "ignored", "students", "Markers",
           "course_root", "assignments_in", "choose", "notebook_names", "generate",
           "markers", "gradebook_url", "alembic_on_path", "course_id", "late_penalties",
           "gradebook_file"]


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


def gradebook_url(course: Path) -> str:
    """The course's gradebook: ``CourseDirectory.db_url``, else nbgrader's default,
    ``gradebook.db`` in the course root."""
    return (course_setting(course, "CourseDirectory", "db_url", None)
            or f"sqlite:///{Path(course) / 'gradebook.db'}")


def gradebook_file(course: Path) -> Path | None:
    """The SQLite file of the course's gradebook (None when it is another database)."""
    url = gradebook_url(course)
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def course_id(course: Path) -> str:
    """The course's id in the gradebook (``CourseDirectory.course_id``, nbgrader's default)."""
    return course_setting(course, "CourseDirectory", "course_id", "default_course")


def late_penalties(course: Path):
    """nbgrader's late-penalty preprocessor with the course's configuration, plugin ready
    (``AssignLatePenalties.plugin_class``; nbgrader's default gives no penalty)."""
    from nbgrader.preprocessors import AssignLatePenalties
    try:
        late = AssignLatePenalties(config=course_config(course))
        late.init_plugin()
    except Exception as exc:  # a bad plugin_class is the teacher's to fix
        raise UsageError(f"cannot set up the late-submission plugin of nbgrader_config.py: "
                         f"{type(exc).__name__}: {exc}") from None
    return late


def alembic_on_path() -> None:
    """Put this interpreter's scripts folder on PATH: nbgrader migrates a new gradebook by
    running the ``alembic`` script, which lives there even when the venv is not activated."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


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


@dataclass(frozen=True)
class Markers:
    """nbgrader's solution and hidden-test delimiters, and the stubs a release shows."""

    begin_solution: str
    end_solution: str
    begin_hidden: str
    end_hidden: str
    code_stub: str
    text_stub: str

    def _regions(self, source: str, begin: str, end: str):
        """(line, inside a region, is a marker line) for each line, as nbgrader reads them."""
        inside = False
        for line in source.split("\n"):
            if begin in line:
                inside = True
                yield line, True, True
            elif end in line:
                inside = False
                yield line, True, True
            else:
                yield line, inside, False

    def release_view(self, source: str, code: bool = True) -> str:
        """``source`` as nbgrader releases it: each solution region replaced by the stub,
        indented like its BEGIN line; each hidden-test region removed."""
        out = []
        stub = (self.code_stub if code else self.text_stub).split("\n")
        for line, inside, marker in self._regions(source, self.begin_solution, self.end_solution):
            if marker and self.begin_solution in line:
                indent = re.match(r"\s*", line).group(0)
                out += [indent + s for s in stub]
            elif not inside:
                out.append(line)
        return "\n".join(line for line, inside, _ in self._regions(
            "\n".join(out), self.begin_hidden, self.end_hidden) if not inside)

    def hidden_lines(self, source: str) -> set[int]:
        """Numbers (from 1) of the lines inside hidden-test regions, markers excluded."""
        return {n for n, (_, inside, marker) in enumerate(
            self._regions(source, self.begin_hidden, self.end_hidden), 1) if inside and not marker}

    def without_markers(self, source: str, hidden: bool = True) -> str:
        """``source`` without the marker lines of hidden tests (or of solutions)."""
        begin, end = ((self.begin_hidden, self.end_hidden) if hidden
                      else (self.begin_solution, self.end_solution))
        return "\n".join(line for line, _, marker in self._regions(source, begin, end)
                         if not marker)


@functools.lru_cache(maxsize=8)
def markers(course: Path | None = None) -> Markers:
    """The markers nbgrader uses for ``course`` (its nbgrader_config.py), or its defaults."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    config = course_config(Path(course)) if course is not None else None
    kwargs = {"config": config} if config is not None else {}
    solutions, hidden = ClearSolutions(**kwargs), ClearHiddenTests(**kwargs)
    return Markers(solutions.begin_solution_delimeter, solutions.end_solution_delimeter,
                   hidden.begin_test_delimeter, hidden.end_test_delimeter,
                   solutions.code_stub.get("python", "# YOUR CODE HERE\nraise NotImplementedError()"),
                   solutions.text_stub)


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


def generate(root: Path, assignment: str) -> str | None:
    """``nbgrader generate_assignment`` in-process (source/ -> release/ + gradebook).

    Returns ``None`` on success, else the last line of nbgrader's error.
    """
    alembic_on_path()
    from nbgrader.apps import NbGraderAPI
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
