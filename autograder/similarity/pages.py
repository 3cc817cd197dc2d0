"""What ``autograder similarity`` writes: ``pairs.csv``, the grader's index page, side-by-side pages.

All of it goes to ``similarity/<assignment>/`` in the course directory, the
grader's own folder: students are named there and nowhere else.  The pages
follow the feedback pages' rules: self-contained (one inline stylesheet, no
script, nothing loaded from anywhere, so they open offline), and everything a
student wrote is escaped.  Each file is written atomically (``store.write_atomically``).
"""
from __future__ import annotations

import csv
import html
import io
import os
from datetime import datetime, timezone
from pathlib import Path

from autograder.similarity.rank import Pair
from autograder.store import write_atomically

__all__ = ["CSV_COLUMNS", "why", "write_pages", "report_section"]

CSV_COLUMNS = ["rank", "student_a", "student_b", "score", "code", "answers", "shared_code",
               "rare_fingerprints", "group", "why", "page"]
_CSS = ("body{font-family:sans-serif;max-width:80em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}.note{background:#fff8e0;border:1px solid #e0c060;padding:.5em 1em}"
        ".sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side{min-width:0}"
        ".cell{margin:.5em 0 1em}.cell h4{margin:.2em 0;font-size:.9em;color:#555}"
        "pre{margin:0;font-size:.82em;overflow-x:auto;border:1px solid #ddd;background:#fafafa}"
        "pre span{display:block;white-space:pre;padding:0 .4em}"
        "pre span.g{color:#999}pre span.m{background:#ffd34d}"
        "pre span::before{content:attr(data-n);display:inline-block;width:2.5em;color:#aaa}"
        ".legend span{padding:0 .4em;margin-right:1em}")
_CAUTION = ("A high score is a reason to look, never a verdict: two students may share code "
            "because they worked from the same lecture example, and a student who rewrote the "
            "logic in their own way is not found here.  Read the code side by side and decide.")


def why(pair: Pair) -> str:
    """The reasons of a pair in one line: shared code, shared wrong answers."""
    parts = []
    if pair.fingerprints:
        parts.append(f"code: {pair.shared:.0%} of the smaller submission's own code shared "
                     f"({pair.fingerprints} rare fingerprint{'s' * (pair.fingerprints != 1)})")
    for evidence, holders in pair.wrong:
        others = holders - 2
        who = f"{others} other submission{'s' * (others > 1)}" if others else "no other submission"
        parts.append(f"same wrong answer ({who} gave it): {evidence}")
    return "; ".join(parts) or "-"


def _page_name(rank: int) -> str:
    return f"pair-{rank:04d}.html"


def _head(title: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body>")


def _table(header: list[str], rows: list[list]) -> str:
    """An HTML table; cells are escaped unless given as ``("html", markup)``."""
    def cell(value) -> str:
        if isinstance(value, tuple) and value and value[0] == "html":
            return f"<td>{value[1]}</td>"
        return f"<td>{html.escape(str(value))}</td>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _link(page: str | None, text: str = "side by side") -> tuple:
    return ("html", f"<a href='{html.escape(page)}'>{html.escape(text)}</a>" if page else "")


def _matched_lines(analysis, pair: Pair) -> tuple[dict, dict]:
    """For each side, cell -> the student's own lines inside a rare shared fingerprint."""
    a, b = analysis.codes[pair.a], analysis.codes[pair.b]
    shared = [h for h in set(a.spans) & set(b.spans) if analysis.frequency.weight(h) > 0]
    out = []
    for code in (a, b):
        lines: dict[int, set[int]] = {}
        for h in shared:
            for cell, first, last in code.spans[h]:
                own = code.cells[cell].own
                lines.setdefault(cell, set()).update(n for n in range(first, last + 1) if n in own)
        out.append(lines)
    return out[0], out[1]


def _side(code, matched: dict) -> str:
    parts = [f"<div class='side'><h2>{html.escape(code.student)}</h2>",
             f"<p>{code.lines} lines of their own</p>"]
    for index, cell in enumerate(code.cells):
        if not cell.own:
            continue
        where = (f"answer cell {cell.grade_id}" if cell.grade_id is not None
                 else "a cell the student added")
        rows = []
        for number, line in enumerate(cell.source.split("\n"), 1):
            kind = "m" if number in matched.get(index, ()) else "o" if number in cell.own else "g"
            rows.append(f"<span class='{kind}' data-n='{number}'>{html.escape(line) or ' '}</span>")
        parts.append(f"<div class='cell'><h4>{html.escape(cell.notebook)}: {html.escape(where)}"
                     f"</h4><pre>{''.join(rows)}</pre></div>")
    parts.append("</div>")
    return "".join(parts)


def _pair_page(analysis, pair: Pair, rank: int) -> str:
    a, b = analysis.codes[pair.a], analysis.codes[pair.b]
    left, right = _matched_lines(analysis, pair)
    title = f"{analysis.assignment}: {a.student} and {b.student}"
    parts = [_head(title), f"<p><a href='index.html'>all pairs</a></p><h1>{html.escape(title)}</h1>",
             f"<p class='note'>{html.escape(_CAUTION)}</p>",
             _table(["rank", "score", "code", "wrong answers", "why"],
                    [[rank, f"{pair.score:.3f}", f"{pair.code:.3f}", f"{pair.answers:.3f}",
                      why(pair)]])]
    if pair.wrong:
        parts.append("<h2>Wrong answers both gave</h2>" + _table(
            ["test and mistake (numbers masked)", "submissions that gave it"],
            [[evidence, holders] for evidence, holders in pair.wrong]))
    parts.append("<p class='legend'><span style='background:#ffd34d'>shared with the other "
                 "side (rare in the class)</span><span>their own code</span>"
                 "<span style='color:#999'>given by the release, blank or comment</span></p>")
    parts.append(f"<div class='sides'>{_side(a, left)}{_side(b, right)}</div></body></html>\n")
    return "".join(parts)


def _index(analysis, pages: dict[int, str]) -> str:
    names = analysis.students
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"{analysis.assignment}: similarity"
    parts = [_head(title), f"<h1>{html.escape(title)}</h1><p>generated {stamp}; for graders "
             "only: this page names students.</p>", f"<p class='note'>{html.escape(_CAUTION)}</p>",
             f"<p>{len(names)} submissions compared; {len(analysis.pairs)} pairs score at least "
             f"{analysis.threshold:g}, in {len(analysis.groups)} group"
             f"{'s' * (len(analysis.groups) != 1)} of three or more and "
             f"{sum(p.group is None for p in analysis.pairs)} pairs on their own.  Code "
             f"fragments held by more than {analysis.common} submissions count for nothing, "
             "rarer ones count more the rarer they are; code the release or the source gave "
             "never counts.</p>"]
    ranked = {id(p): r for r, p in enumerate(analysis.pairs, 1)}
    if analysis.groups:
        rows = []
        for number, members in enumerate(analysis.groups):
            inside = [p for p in analysis.pairs if p.group == number]
            links = " ".join(f"<a href='{pages[ranked[id(p)]]}'>{html.escape(names[p.a])}"
                             f"&nbsp;/&nbsp;{html.escape(names[p.b])}</a>"
                             for p in inside if ranked[id(p)] in pages)
            rows.append([number + 1, ", ".join(names[m] for m in members), len(inside),
                         f"{max(p.score for p in inside):.3f}", ("html", links)])
        parts.append("<h2>Groups</h2><p>Three or more submissions linked by pairs above the "
                     "threshold, shown once instead of pair by pair.</p>" + _table(
                         ["group", "students", "pairs", "highest score", "side by side"], rows))
    single = [p for p in analysis.pairs if p.group is None]
    parts.append("<h2>Pairs</h2>" + (_table(
        ["rank", "student a", "student b", "score", "why", ""],
        [[ranked[id(p)], names[p.a], names[p.b], f"{p.score:.3f}", why(p),
          _link(pages.get(ranked[id(p)]))] for p in single]) if single else
        "<p>No pair outside the groups.</p>"))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_pages(analysis, out: Path, top: int = 20) -> Path:
    """Write ``pairs.csv``, ``index.html`` and a side-by-side page for each of the ``top`` pairs."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("pair-*.html"):  # pages of an earlier run would name other pairs
        old.unlink()
    names = analysis.students
    pages = {}
    for rank, pair in enumerate(analysis.pairs[:top], 1):
        pages[rank] = _page_name(rank)
        text = _pair_page(analysis, pair, rank)
        write_atomically(out / pages[rank], lambda fh, text=text: fh.write(text))

    def rows(fh):
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for rank, p in enumerate(analysis.pairs, 1):
            writer.writerow([rank, names[p.a], names[p.b], f"{p.score:.4f}", f"{p.code:.4f}",
                             f"{p.answers:.4f}", f"{p.shared:.4f}", p.fingerprints,
                             "" if p.group is None else p.group + 1, why(p), pages.get(rank, "")])
    write_atomically(out / "pairs.csv", rows)
    text = _index(analysis, pages)
    return write_atomically(out / "index.html", lambda fh: fh.write(text))


def report_section(similarity: Path, report_dir: Path, assignment: str) -> str:
    """The class report's section: how many pairs and groups, the top ones, a link to the rest."""
    path = similarity / "pairs.csv"
    head = "<h2>Similarity</h2>"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(io.StringIO(fh.read())))
    except (OSError, csv.Error, UnicodeDecodeError):
        return (head + "<p>Not compared yet: <code>autograder similarity "
                f"{html.escape(assignment)}</code> lists the pairs of submissions that share "
                "rare code or rare wrong answers.</p>")
    link = os.path.relpath(similarity / "index.html", report_dir)
    group_count = len({r["group"] for r in rows if r.get("group")})
    body = (f"<p>{len(rows)} pairs of submissions share rare code or rare wrong answers "
            f"({group_count} group{'s' * (group_count != 1)} of three or more): "
            f"<a href='{html.escape(link)}'>"
            "the similarity page</a>, with each pair side by side.  A reason to look, never "
            "a verdict.</p>")
    if rows:
        body += _table(["student a", "student b", "score", "why"],
                       [[r.get("student_a", ""), r.get("student_b", ""), r.get("score", ""),
                         r.get("why", "")] for r in rows[:5]])
    return head + body
