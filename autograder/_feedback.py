"""Feedback HTML: the student's answers and outputs, each test as released plus its verdict.

Test cells are shown as the release showed them (hidden tests removed) with the
trusted verdict's message; their raw outputs are never shown, since a traceback
would quote the hidden test's source.
"""
from __future__ import annotations

import html
import re

from ._assemble import MIME

__all__ = ["feedback_html"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.out{background:#fff;border-left:3px solid #ccc}.err{border-left-color:#c33}
.test{border:1px solid #ccc;margin:1em 0;padding:.3em .8em}
.pass{border-color:#3a3}.fail{border-color:#c33}.score{font-weight:bold}"""


def _pre(text: str, cls: str = "") -> str:
    return f"<pre class='{cls}'>{html.escape(_ANSI.sub('', text))}</pre>"


def _outputs(outputs: list) -> str:
    parts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(_pre(out.get("text", ""), "out"))
        elif kind == "error":
            parts.append(_pre(f"{out.get('ename')}: {out.get('evalue')}", "out err"))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") or {}
            if MIME in data:
                continue
            if "image/png" in data:
                png = re.sub(r"[^A-Za-z0-9+/=]", "", str(data["image/png"]))  # no markup
                parts.append(f"<img src='data:image/png;base64,{png}'>")
            elif "text/plain" in data:
                parts.append(_pre(data["text/plain"], "out"))
    return "".join(parts)


def feedback_html(student: str, assignment: str, name: str, nb: dict, tests: dict,
                  shown: dict, result: dict) -> str:
    """HTML for one notebook; ``tests`` maps cell index -> result entry, ``shown`` -> released source."""
    mine = [t for t in result["tests"] if t["notebook"] == name]
    score = sum(t["points"] for t in mine)
    total = sum(t["max_points"] for t in mine)
    body = [f"<h1>{html.escape(assignment)} / {html.escape(name)}</h1>",
            f"<p>Student <b>{html.escape(student)}</b>: <span class='score'>{score:g} / "
            f"{total:g}</span> points. Status: {html.escape(result['status'])}"
            + (f" ({html.escape(result['detail'])})" if result["detail"] else "") + "</p>"]
    for index, cell in enumerate(nb.get("cells", [])):
        source = shown.get(index, cell.get("source", ""))
        if index in tests:
            entry = tests[index]
            verdict = "pass" if entry["ok"] else "fail"
            body.append(f"<div class='test {verdict}'><p class='score'>{html.escape(entry['grade_id'])}: "
                        f"{entry['points']:g} / {entry['max_points']:g}</p>{_pre(source)}"
                        + (_pre(entry["message"], "out" if entry["ok"] else "out err")
                           if entry.get("message") else "") + "</div>")
        elif cell.get("cell_type") == "code":
            body.append(_pre(source) + _outputs(cell.get("outputs", [])))
        elif source.strip():
            body.append(_pre(source, "md"))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(name)} feedback"
            f"</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")
