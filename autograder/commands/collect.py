"""``autograder collect``: file an LMS download into ``submitted/<student>/<assignment>/``.

The download is a zip file or a folder with one notebook per student; the
student id is read from each file name by a regular expression with a named
group ``student_id`` (and optionally ``file_id``, the rest of the name), as
nbgrader's ``zip_collect`` does.  Every placed notebook is renamed to the
assignment's notebook name.  Entries that cannot be placed -- names that do
not match, duplicates, files that are not notebooks -- are listed, never fatal.
"""
from __future__ import annotations

import argparse
import re
import zipfile
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from autograder import UsageError
from autograder.commands.common import command
from autograder.course import course_root, notebook_names

__all__ = ["DEFAULT_PATTERNS", "Placement", "plan_placements", "add_arguments", "main"]

#: Tried in order, each on the file name and then on its path inside the
#: download.  LMS-specific layouts come first; the plain ``<id>_<rest>.ipynb`` last.
DEFAULT_PATTERNS = (
    # Moodle: "Jane Doe_1234567_assignsubmission_file_gradient_tape.ipynb"
    r"^(?:.*/)?(?P<name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_file_/?(?P<file_id>.+)$",
    # Canvas: "doejane_12345_6789012_gradient_tape.ipynb", "doejane_LATE_12345_..."
    r"^(?P<name>[a-z]+)(?:_LATE)?_(?P<student_id>\d+)_\d+_(?P<file_id>.+)$",
    # Blackboard: "HW 3_jdoe_attempt_2024-11-02-10-11-12_gradient_tape.ipynb"
    r"^(?:.*/)?[^/]*?_(?P<student_id>[^/_]+)_attempt_[0-9-]+_(?P<file_id>[^/]+)$",
    # plain: "s017_gradient_tape.ipynb", "s017-gradient_tape.ipynb", "s017.ipynb"
    r"^(?P<student_id>[A-Za-z0-9.]+?)(?:[_-](?P<file_id>[^/]+))?\.ipynb$",
)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
_MAX_BYTES = 64 * 2**20  # a notebook bigger than this is not a plausible submission


@dataclass
class Placement:
    """What happens to one entry of the download: a target, or a reason why not."""

    entry: str
    student: str | None = None
    notebook: str | None = None
    reason: str | None = None


@contextmanager
def _opened(archive: Path) -> Iterator[list[tuple[str, int, Callable[[], bytes]]]]:
    """(relative path, size, reader) for every file of a zip or a folder."""
    if archive.is_dir():
        yield [(p.relative_to(archive).as_posix(), p.stat().st_size, p.read_bytes)
               for p in sorted(archive.rglob("*")) if p.is_file()]
        return
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"cannot read {archive} as a zip file or folder ({exc})") from None
    with zf:
        yield [(info.filename, info.file_size, lambda i=info: zf.read(i))
               for info in zf.infolist() if not info.is_dir()]


def _compile(patterns: tuple[str, ...]) -> list[re.Pattern]:
    compiled = []
    for text in patterns:
        try:
            regex = re.compile(text)
        except re.error as exc:
            raise UsageError(f"--pattern {text!r} is not a valid regular expression ({exc})") from None
        if "student_id" not in regex.groupindex:
            raise UsageError(f"--pattern {text!r} has no named group (?P<student_id>...)")
        compiled.append(regex)
    return compiled


def _match(regexes: list[re.Pattern], entry: str, bare: set[str]) -> re.Match | None:
    """The first pattern that finds a student id in the file name or its path.

    A file named like the notebook itself ("s017/gradient_tape.ipynb") carries
    no id in its name: the patterns see only its path, and failing that the
    folder it is in is taken as the student id.
    """
    path = PurePosixPath(entry)
    is_bare = path.stem.lower() in bare
    for regex in regexes:
        for candidate in ((entry,) if is_bare else (path.name, entry)):
            found = regex.match(candidate)
            if found and found.group("student_id"):
                return found
    if is_bare and len(path.parts) > 1:
        return re.match(r"(?P<student_id>.+)/(?P<file_id>.+)", "/".join(path.parts[-2:]))
    return None


def _which_notebook(found: re.Match, notebooks: list[str]) -> str | None:
    """The assignment notebook this file is, by ``file_id`` when there is a choice."""
    if len(notebooks) == 1:
        return notebooks[0]
    file_id = (found.groupdict().get("file_id") or "").lower()
    named = [nb for nb in notebooks if nb.lower() in file_id]
    return max(named, key=len) if named else None


def plan_placements(entries: list[tuple[str, int]], patterns: tuple[str, ...],
                    notebooks: list[str], assignment: str = "") -> list[Placement]:
    """Decide, without touching the disk, where each (entry, size) goes."""
    regexes = _compile(patterns)
    bare = {nb.lower() for nb in notebooks} | {assignment.lower()}
    plans = []
    for entry, size in entries:
        name = PurePosixPath(entry).name
        plan = Placement(entry)
        plans.append(plan)
        if "__MACOSX" in entry.split("/") or name.startswith("."):
            plan.reason = "system or hidden file"
        elif not name.lower().endswith(".ipynb"):
            plan.reason = "not a notebook"
        elif size > _MAX_BYTES:
            plan.reason = f"too large ({size / 2**20:.0f} MiB)"
        elif (found := _match(regexes, entry, bare)) is None:
            plan.reason = "name does not match the pattern (no student id)"
        elif not _SAFE_ID.match(student := found.group("student_id")):
            plan.reason = f"student id {student!r} is not usable as a folder name"
        elif (notebook := _which_notebook(found, notebooks)) is None:
            plan.reason = f"cannot tell which of {', '.join(notebooks)} it is"
        else:
            plan.student, plan.notebook = student, notebook
    by_target = defaultdict(list)
    for plan in plans:
        if plan.reason is None:
            by_target[plan.student, plan.notebook].append(plan)
    for (student, notebook), group in by_target.items():
        if len(group) > 1:
            # Which one is the final version is the teacher's call, not a guess.
            for plan in group:
                plan.reason = (f"duplicate: student {student} has {len(group)} files "
                               f"for {notebook}.ipynb (none placed)")
    return plans


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``autograder collect``."""
    parser.add_argument("assignment", help="assignment name (a folder of source/)")
    parser.add_argument("archive", help="the LMS download: a .zip file or a folder")
    parser.add_argument("--pattern", default=None, metavar="REGEX",
                        help="regular expression with a named group (?P<student_id>...) "
                             "and optionally (?P<file_id>...), matched against each file "
                             "name; default: Moodle, Canvas, Blackboard and "
                             "'<id>_<anything>.ipynb' names")


@command
def main(*, course: str = ".", assignment: str, archive: str,
         pattern: str | None = None) -> int:
    """Place the notebooks of ``archive`` under ``submitted/``; 0 unless the input is unusable."""
    with ExitStack() as stack:
        root = course_root(course)
        notebooks = notebook_names(root, assignment)
        if not Path(archive).exists():
            raise UsageError(f"archive {archive} does not exist")
        entries = stack.enter_context(_opened(Path(archive)))
        plans = plan_placements([(name, size) for name, size, _ in entries],
                                (pattern,) if pattern else DEFAULT_PATTERNS,
                                notebooks, assignment)
        readers = {name: read for name, _, read in entries}
        counts = _place(plans, readers, root / "submitted", assignment)
    _print_summary(assignment, plans, counts)
    return 0


def _place(plans: list[Placement], readers: dict, submitted: Path,
           assignment: str) -> dict[str, int]:
    """Write the placeable entries; an unreadable one becomes a rejected entry."""
    counts: dict[str, int] = defaultdict(int)
    for plan in plans:
        if plan.reason is not None:
            continue
        try:
            data = readers[plan.entry]()
        except Exception as exc:  # - a corrupt entry is listed, never fatal
            plan.reason = f"unreadable ({' '.join(str(exc).split())})"
            continue
        target = submitted / plan.student / assignment / f"{plan.notebook}.ipynb"
        state = ("unchanged" if target.is_file() and target.read_bytes() == data
                 else "updated" if target.exists() else "new")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        counts[state] += 1
    return counts


def _print_summary(assignment: str, plans: list[Placement], counts: dict) -> None:
    placed = sum(counts.values())
    detail = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    students = len({p.student for p in plans if p.reason is None})
    print(f"collect {assignment}: placed {placed} notebook(s) of {students} student(s) "
          f"into submitted/" + (f" ({detail})" if detail else ""))
    rejected = [p for p in plans if p.reason is not None]
    if rejected:
        print(f"could not place {len(rejected)} file(s):")
        for plan in rejected:
            print(f"  {plan.entry}: {plan.reason}")
