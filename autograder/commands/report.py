"""``autograder report``: a class report (HTML + PNG charts) from the grading results.

Reads the per-submission result records under ``autograded/`` and
``grades.csv``, and writes ``reports/<assignment>/index.html`` with its PNGs
beside it: score histogram, pass rate per test, the most frequent check
failures and named bugs across the class, the slowest submissions and the
status counts, and a summary of ``autograder similarity``'s pairs with a link to
them.  Everything a student controls (messages, details) is escaped.
"""
from __future__ import annotations

import argparse
import csv
import html
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder import UsageError
from autograder.commands.common import command
from autograder.course import course_root
from autograder.record import Result, Status
from autograder.similarity.pages import report_section
from autograder.store import read_records

__all__ = ["Summary", "summarise", "write_report", "add_arguments", "main"]

_TOP = 12  # rows shown in each "most frequent" / "slowest" list


@dataclass
class Summary:
    """Everything the report shows, computed from records and grades.csv rows."""

    assignment: str
    rows: list[dict]                      # one per student: student, status, score, ...
    statuses: Counter = field(default_factory=Counter)
    tests: dict = field(default_factory=dict)  # "nb/grade_id" -> [passed, executed]
    failures: Counter = field(default_factory=Counter)  # (check or test, line) -> count
    bugs: Counter = field(default_factory=Counter)
    bug_students: dict = field(default_factory=lambda: defaultdict(list))


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", re.I)


def _first_line(message: str | None) -> str:
    """The message's first line with numbers masked, so that failures group across seeds."""
    lines = (message or "").strip().splitlines()
    return _NUMBER.sub("#", lines[0]) if lines else ""


def _grades_rows(root: Path, assignment: str) -> dict[str, dict]:
    path = root / "grades.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)
                if row.get("assignment") == assignment and row.get("student_id")}


def _number(value, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def summarise(assignment: str, records: list[Result], grades: dict[str, dict]) -> Summary:
    """Aggregate result records (and grades.csv rows of students without one)."""
    summary = Summary(assignment, [])
    for record in sorted(records, key=lambda r: r.student):
        student, failed = record.student, record.failed
        summary.rows.append({
            "student": student, "status": record.status,
            "score": record.score or 0.0, "max_score": record.max_score,
            "duration_s": record.duration_s, "detail": record.detail,
            "failed": [t.grade_id for t in failed],
            "bugs": sorted({t.bug for t in failed if t.bug}),
        })
        for test in record.tests if record.status.ran else ():
            key = f"{test.notebook}/{test.grade_id}".lstrip("/")
            counts = summary.tests.setdefault(key, [0, 0])
            counts[0] += bool(test.ok)
            counts[1] += 1
        for test in failed:
            what = _first_line(test.message)
            # after a timeout or a crash the later tests fail for that reason alone
            if record.status is Status.OK and (test.check or what):
                summary.failures[test.check or test.grade_id, what] += 1
            if test.bug:
                summary.bugs[test.bug] += 1
                if student not in summary.bug_students[test.bug]:
                    summary.bug_students[test.bug].append(student)
    seen = {row["student"] for row in summary.rows}
    for student, row in sorted(grades.items()):
        if student not in seen:  # graded without a record (e.g. nothing submitted)
            summary.rows.append({
                "student": student, "status": Status.parse(row.get("status"), Status.MISSING),
                "score": _number(row.get("score")), "max_score": _number(row.get("max_score")),
                "duration_s": 0.0, "detail": "", "failed": [], "bugs": []})
    summary.statuses = Counter(row["status"] for row in summary.rows)
    return summary


def _short(keys: list[str]) -> list[str]:
    """Test names without their notebook when the assignment has only one."""
    if len({key.split("/")[0] for key in keys}) == 1:
        return [key.split("/", 1)[-1] for key in keys]
    return keys


def _label(check: str, line: str) -> str:
    """The message alone when it already names its check ("check_fit: ...")."""
    return line if check in line.split(":")[0] else f"{check}: {line}" if line else check


def _scored(rows: list[dict]) -> list[dict]:
    """The rows with a score: a submission the grader failed to grade has none (not a 0)."""
    return [r for r in rows if r["status"] != Status.ERROR]


def _percent(row: dict) -> float:
    return 100.0 * row["score"] / row["max_score"] if row["max_score"] else 0.0


def _charts(summary: Summary, out: Path) -> dict[str, str]:
    """Draw every chart into ``out``; returns section -> PNG file name."""
    from autograder.feedback import plots as _plots  # matplotlib is slow to import: only when drawing
    slow = sorted(summary.rows, key=lambda r: -r["duration_s"])[:_TOP]
    statuses = summary.statuses.most_common()
    failures = summary.failures.most_common(_TOP)
    bugs = summary.bugs.most_common(_TOP)
    colour = _plots.STATUS_COLOURS.get
    return {
        "scores": _plots.score_histogram([_percent(r) for r in _scored(summary.rows)],
                                         out / "scores.png", f"{summary.assignment}: scores"),
        "tests": _plots.barh(_short(list(summary.tests)),
                             [100.0 * p / n for p, n in summary.tests.values()],
                             out / "pass_rate.png", "pass rate per test", "% of submissions",
                             xmax=110, fmt="{:.0f}%"),
        "failures": _plots.barh([_label(c, m) for (c, m), _ in failures],
                                [n for _, n in failures], out / "failures.png",
                                "most frequent check failures", "failed tests"),
        "bugs": _plots.barh([b for b, _ in bugs], [n for _, n in bugs], out / "bugs.png",
                            "named bugs across the class", "occurrences"),
        "slowest": _plots.barh([r["student"] for r in slow], [r["duration_s"] for r in slow],
                               out / "slowest.png", "slowest submissions", "seconds",
                               colours=[colour(r["status"], "#3b7dd8") for r in slow],
                               fmt="{:.1f} s"),
        "statuses": _plots.barh([s for s, _ in statuses], [n for _, n in statuses],
                                out / "status.png", "submission status", "submissions",
                                colours=[colour(s, "#3b7dd8") for s, _ in statuses]),
    }


def _table(header: list[str], rows: list[list]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}img{max-width:100%}")


def _html(summary: Summary, charts: dict[str, str], extra: str = "") -> str:
    rows = summary.rows
    percents = [_percent(r) for r in _scored(rows)]
    mean = sum(percents) / len(percents) if percents else 0.0
    full = sum(p >= 99.999 for p in percents)
    ok = summary.statuses.get(Status.OK, 0)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        ("Scores", "scores", f"<p>{len(rows)} submissions, mean {mean:.1f}% of the maximum, "
                             f"{full} with full marks, {ok} graded without incident.</p>"),
        ("Submission status", "statuses", _table(
            ["status", "submissions"], summary.statuses.most_common())),
        ("Pass rate per test", "tests", "<p>Over the submissions that could be executed "
         "(not malformed or missing).</p>" + _table(
            ["test", "passed", "executed", "pass rate"],
            [[k, p, n, f"{100.0 * p / n:.0f}%"] for k, (p, n) in summary.tests.items()])),
        ("Most frequent check failures", "failures", "<p>Failed tests of the submissions "
         "that ran to the end (status ok).</p>" + _table(
            ["check or test", "message (first line, numbers as #)", "failed tests"],
            [[c, m, n] for (c, m), n in summary.failures.most_common(_TOP)])),
        ("Named bugs", "bugs", _table(
            ["bug", "occurrences", "students"],
            [[b, n, ", ".join(summary.bug_students[b])] for b, n in summary.bugs.most_common()])),
        ("Slowest submissions", "slowest", _table(
            ["student", "seconds", "status"],
            [[r["student"], f"{r['duration_s']:.1f}", r["status"]]
             for r in sorted(rows, key=lambda r: -r["duration_s"])[:_TOP]])),
    ]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
             f"<title>{html.escape(summary.assignment)}: class report</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(summary.assignment)}: class report</h1><p>generated {stamp}</p>"]
    for title, key, body in sections:
        parts.append(f"<h2>{title}</h2><img src='{charts[key]}' alt='{title}'>{body}")
    parts.append(extra)
    parts.append("<h2>All submissions</h2>" + _table(
        ["student", "status", "score", "max", "seconds", "failed tests", "bugs", "detail"],
        [[r["student"], r["status"], f"{r['score']:g}", f"{r['max_score']:g}",
          f"{r['duration_s']:.1f}", ", ".join(r["failed"]), ", ".join(r["bugs"]), r["detail"]]
         for r in rows]))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(summary: Summary, out: Path, extra: str = "") -> Path:
    """Write ``out/index.html`` and its PNGs (``extra``: more sections, HTML); returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(summary, out)
    index = out / "index.html"
    index.write_text(_html(summary, charts, extra), encoding="utf-8")
    return index


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``autograder report``."""
    parser.add_argument("assignment", help="assignment name (graded with autograder grade)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: <course>/reports/<assignment>)")


@command
def main(*, course: str = ".", assignment: str, out: str | None = None) -> int:
    """Write the class report of ``assignment``; prints where it is."""
    root = course_root(course)
    try:
        records = read_records(root, assignment)
        grades = _grades_rows(root, assignment)
    except (OSError, csv.Error, KeyError) as exc:
        raise UsageError(f"cannot read the results of {assignment}: {exc}") from None
    if not records and not grades:
        raise UsageError(f"no grading results for {assignment!r} under {root} "
                         f"(run: autograder grade {assignment})")
    summary = summarise(assignment, records, grades)
    folder = Path(out) if out else root / "reports" / assignment
    # the similarity section only summarises `autograder similarity`'s files and links to them
    index = write_report(summary, folder, report_section(root / "similarity" / assignment,
                                                         folder.resolve(), assignment))
    print(f"report {assignment}: {len(summary.rows)} submissions -> {index}")
    return 0
