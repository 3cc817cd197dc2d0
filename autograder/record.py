"""The grader's result record: what a submission got, cell by cell -- one type, one JSON form.

A :class:`Result` is made once, in the grader's process, from what the kernel
sent back (:mod:`autograder.judge` scores each test cell into a
:class:`CellScore`); :mod:`autograder.store` writes it beside the autograded
notebooks as ``.result.json`` after the gradebook commit, and everything
downstream -- feedback pages, exports, the class report, ``release``'s and the
demo's verdicts, the similarity report -- reads it back through
:func:`Result.from_json`.  :class:`Status` spells each way a submission can end
exactly once.  :class:`Outcome` is what a worker returns for one run of a
submission (plain data, so it crosses to and from Dask workers).

The JSON form is the one earlier versions wrote, so records already on disk
still read, and a record that is not one (half-written, foreign, hand-edited
into nonsense) reads as ``None`` instead of raising.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field

__all__ = ["Status", "CellScore", "Result", "Outcome"]


class Status(enum.StrEnum):
    """How a submission's grading ended (the ``status`` of records and ``grades.csv``)."""

    OK = "ok"                    # ran to the end: its tests decide the score
    TIMEOUT = "timeout"          # a cell, or the whole submission, ran out of time
    MEMORY = "memory"            # it reached its memory limit
    KERNEL_DIED = "kernel-died"  # its kernel exited or was killed while running it
    MISSING = "missing"          # a notebook (or, in grades.csv, the whole submission) not handed in
    MALFORMED = "malformed"      # a notebook that is not one (unreadable, a link out of the folder)
    ERROR = "error"              # the grader failed, not the student: no score at all
    GRADED = "graded"            # grades.csv only: in the gradebook, graded by another tool

    @property
    def scored(self) -> bool:
        """Whether a result with this status has a score (the grader's failure has none)."""
        return self is not Status.ERROR

    @property
    def ran(self) -> bool:
        """Whether the submission's code was executed at all (its tests mean something)."""
        return self not in (Status.MISSING, Status.MALFORMED)

    @classmethod
    def parse(cls, value, default: Status | None = None) -> Status | None:
        """The status spelled ``value``, or ``default`` for anything else."""
        try:
            return cls(value)
        except ValueError:
            return default


@dataclass(frozen=True)
class CellScore:
    """The grader's verdict on one test cell (a row of nbgrader's gradebook).

    ``points`` out of ``max_points``; ``check`` names the ``check_*`` the cell
    calls (None for plain asserts); ``message`` is what the student reads and
    ``bug`` the named bug it matched; ``manual`` cells are graded by hand
    (``auto_score`` None) and ``needs_manual_grade`` is nbgrader's flag.
    """

    grade_id: str
    notebook: str
    points: float = 0.0
    max_points: float = 0.0
    ok: bool = False
    check: str | None = None
    message: str | None = None
    bug: str | None = None
    manual: bool = False
    auto_score: float | None = None
    needs_manual_grade: bool | None = False

    def replace(self, **changes) -> CellScore:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> CellScore | None:
        """The cell score a record holds, or None when ``data`` is not one (no grade id).

        Each field is read on its own: one of the wrong type reads as its default (a
        cell passes only on ``"ok": true``), so one damaged value costs only itself.
        """
        if not isinstance(data, dict) or not isinstance(data.get("grade_id"), str):
            return None
        manual = data.get("manual") is True
        points = _number(data.get("points"), 0.0)
        auto = data.get("auto_score", None if manual else points)  # older records lacked it
        flag = data.get("needs_manual_grade", False)
        return cls(data["grade_id"], _text(data.get("notebook"), ""), points,
                   _number(data.get("max_points"), 0.0), data.get("ok") is True,
                   _text(data.get("check")), _text(data.get("message")), _text(data.get("bug")),
                   manual, _number(auto, None),
                   flag if isinstance(flag, bool) or flag is None else False)


@dataclass(frozen=True)
class Result:
    """One submission's grade: status, score and every test cell's verdict.

    ``score`` is None exactly when the grader failed (:attr:`Status.ERROR`):
    no score is published rather than a zero.  ``late_submission_penalty`` is
    the sum of nbgrader's per-notebook penalties, known once the gradebook has
    the submission (None before that, and for an error).
    """

    student: str
    assignment: str
    status: Status
    detail: str = ""
    score: float | None = 0.0
    max_score: float = 0.0
    duration_s: float = 0.0
    submission_sha256: str = ""
    graded_at: str = ""
    tests: tuple[CellScore, ...] = ()
    late_submission_penalty: float | None = None

    @property
    def failed(self) -> list[CellScore]:
        """The test cells that did not pass."""
        return [t for t in self.tests if not t.ok]

    def replace(self, **changes) -> Result:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        """The record's JSON form (what ``.result.json`` holds)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["status"] = str(self.status)
        data["tests"] = [t.to_json() for t in self.tests]
        return data

    @classmethod
    def from_json(cls, data, **defaults) -> Result | None:
        """The result a record holds (``defaults`` fill fields it lacks or spoils, e.g. the
        student), or None when it is not one: not an object, no known status, no student.

        Each other field is read on its own, a value of the wrong type as its default;
        an unreadable cell is left out.
        """
        if not isinstance(data, dict):
            return None
        status = Status.parse(data.get("status"))
        student = _text(data.get("student"), defaults.get("student"))
        if status is None or student is None:
            return None
        tests = data.get("tests") if isinstance(data.get("tests"), list) else ()
        return cls(
            student, _text(data.get("assignment"), defaults.get("assignment", "")), status,
            _text(data.get("detail"), ""),
            # the grader's failure has no score, whatever the file says
            _number(data.get("score"), 0.0) if status.scored else None,
            _number(data.get("max_score"), 0.0), _number(data.get("duration_s"), 0.0),
            _text(data.get("submission_sha256"), ""), _text(data.get("graded_at"), ""),
            tuple(t for t in map(CellScore.from_json, tests) if t is not None),
            _number(data.get("late_submission_penalty"), None))


def _number(value, default):
    """``value`` if it is a finite number (not a bool), else ``default``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else default


def _text(value, default=None):
    """``value`` if it is a string, else ``default``."""
    return value if isinstance(value, str) else default


@dataclass(frozen=True)
class Outcome:
    """What one run of a submission came back with, before the grader judged it.

    ``key`` is the student; ``notebooks`` maps a notebook's name to its executed
    JSON text (none when it never ran); ``stderr`` is what a process that died
    said on its way out (empty otherwise), ``stderr_from`` which one: the
    kernel, or the grading worker that ran it.
    """

    key: str
    status: Status
    detail: str = ""
    duration_s: float = 0.0
    notebooks: dict = field(default_factory=dict)
    stderr: str = ""
    stderr_from: str = "kernel"
