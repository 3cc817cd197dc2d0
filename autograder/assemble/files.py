"""What the grader reads from the course folder: an assignment's source, a submission's files.

Everything here follows nbgrader's rules for which files count
(``CourseDirectory.ignore``, no ``.ipynb_checkpoints``) and refuses what would
let a submission reach outside its own folder (a link to the teacher's
notebook is not an answer).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import nbformat

from autograder import UsageError
from autograder.course import course_config, course_setting, folder, ignored
from autograder.record import Status

__all__ = ["read_sources", "read_submission", "student_files", "inside", "code_size",
           "MAX_STUDENT_FILES"]

#: bytes of a submission's other files (data, helper modules) copied into its working copy
MAX_STUDENT_FILES = 64 * 1024 * 1024


def inside(base: Path, path: Path) -> bool:
    """False for a link (or a path through a linked folder) leading out of ``base``."""
    return os.path.realpath(path).startswith(os.path.realpath(base) + os.sep)


def _kept(course: Path, base: Path, path: Path) -> bool:
    """Whether nbgrader would copy ``path`` (no part of it matches CourseDirectory.ignore)."""
    return not any(ignored(course, part) for part in path.relative_to(base).parts)


def read_sources(course: Path, assignment: str) -> tuple[dict, dict]:
    """``({notebook name: source notebook}, {relative path: bytes of every other file})`` of
    ``source/<assignment>``, each notebook with the course's header and footer."""
    base = folder(course, "source", ".", assignment)
    if not base.is_dir():
        raise UsageError(f"no such assignment: {base} does not exist")
    notebooks, files = {}, {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base).as_posix()
        if not path.is_file() or ".ipynb_checkpoints" in rel or not _kept(course, base, path):
            continue
        if path.suffix == ".ipynb" and "/" not in rel:
            try:
                notebooks[path.stem] = _with_header_footer(
                    course, nbformat.read(path, as_version=4))
            except UsageError:
                raise
            except Exception as exc:
                raise UsageError(f"cannot read the source notebook {path}: {exc}") from None
        else:
            files[rel] = path.read_bytes()
    if not notebooks:
        raise UsageError(f"{base} has no notebooks to grade")
    return notebooks, files


def _with_header_footer(course: Path, nb):
    """The notebook with the course's IncludeHeaderFooter cells, as students received it."""
    header = course_setting(course, "IncludeHeaderFooter", "header", "")
    footer = course_setting(course, "IncludeHeaderFooter", "footer", "")
    if not header and not footer:
        return nb
    from nbgrader.preprocessors import IncludeHeaderFooter
    with contextlib.chdir(course):  # nbgrader reads the two notebooks relative to the root
        try:
            nb, _ = IncludeHeaderFooter(config=course_config(course)).preprocess(nb, {})
        except OSError as exc:
            raise UsageError(f"cannot read the header or footer notebook: {exc}") from None
    return nb


def read_submission(base: Path, name: str):
    """(notebook or None, problem or '') for the submitted notebook ``name`` in ``base``;
    the problem is :attr:`Status.MISSING` or :attr:`Status.MALFORMED`."""
    path = base / f"{name}.ipynb"
    if not path.is_file():
        return None, Status.MISSING
    if not inside(base, path):  # a link to the teacher's notebook is not an answer
        return None, Status.MALFORMED
    try:
        nb = nbformat.read(path, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cell list")
        return nb, ""
    except Exception:  # any unreadable notebook is 'malformed'
        return None, Status.MALFORMED


def student_files(course: Path, base: Path) -> dict:
    """``{relative path: bytes}`` of a submission's files other than notebooks (up to
    :data:`MAX_STUDENT_FILES` in all; links out of the folder left out)."""
    files, total = {}, 0
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        rel = path.relative_to(base).as_posix()
        if (path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in rel
                and inside(base, path) and _kept(course, base, path)):
            total += path.stat().st_size
            if total <= MAX_STUDENT_FILES:
                files[rel] = path.read_bytes()
    return files


def code_size(base: Path) -> int:
    """Bytes of the notebooks in a submission folder (0 when there are none)."""
    return sum(p.stat().st_size for p in base.glob("*.ipynb") if p.is_file())
