"""Feedback a student can read: the graded notebook rendered by nbconvert, with a verdict per test.

The page is nbconvert's HTML (the ``lab`` template): rendered markdown,
highlighted code, images and plots.  Test cells are shown as the release showed
them (hidden tests removed) with a score banner holding the trusted verdict's
message; their raw outputs are never shown, since a traceback would quote the
hidden test's source.  Everything the student controls goes through a sanitizer
(bleach, as nbconvert's): their markdown answers keep only formatting tags and
MathML, and of their outputs only text and images are kept, so a submission
cannot put markup or script on the page.

Offline by construction: LaTeX in markdown is typeset to MathML while the page is
built (browsers render it natively; a formula that cannot be converted stays as
its source, marked), and the page loads no script or stylesheet from anywhere.
"""
from __future__ import annotations

import functools
import html
import os
import re

import nbformat

from autograder.protocol import MIME
from autograder.record import CellScore, Result

__all__ = ["feedback_html", "typeset_math"]

_KEPT_DATA = ("image/png", "image/jpeg", "text/plain")
_TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
# $$...$$ or \[...\] (display) and $...$ or \(...\) (inline); not inside code
_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$|\\\((.+?)\\\)",
                   re.S)
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
# the page needs no script at all: the template's (MathJax, mermaid) would load from a CDN
_SCRIPTS = re.compile(r"<script\b.*?</script>|<link[^>]*\bhref=[\"']?https?:[^>]*>", re.I | re.S)
_SAFE_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre",
              "strong", "sub", "sup", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table",
              "thead", "tbody", "tr", "th", "td", "span", "div"}
_MATHML_TAGS = {"math", "semantics", "annotation", "mrow", "mi", "mo", "mn", "ms", "mtext",
                "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover",
                "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "menclose", "mpadded",
                "mphantom", "mfenced", "mmultiscripts", "mprescripts", "none"}
_MATHML_ATTRIBUTES = ["display", "xmlns", "mathvariant", "stretchy", "fence", "separator",
                      "lspace", "rspace", "columnalign", "rowspacing", "columnspacing",
                      "displaystyle", "scriptlevel", "accent", "accentunder", "movablelimits",
                      "minsize", "maxsize", "symmetric", "linethickness", "notation", "width",
                      "height", "depth", "encoding", "title", "class"]
_STYLE = """<style>
.ag-banner{border:2px solid #888;border-radius:4px;padding:.4em .8em;margin:.3em 0;
 font-family:sans-serif}
.ag-pass{border-color:#2a2;background:#f3fbf3}.ag-fail{border-color:#c33;background:#fdf3f3}
.ag-manual{border-color:#36c;background:#f3f6fd}.ag-score{font-weight:bold}
.ag-message{white-space:pre-wrap;font-family:monospace;margin:.3em 0 0}
.ag-math-source{color:#a40}
</style>"""


def _convert(latex: str, display: bool) -> str:
    from latex2mathml.converter import convert
    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # shown as its source, visibly, rather than lost
        shown = f"$${latex}$$" if display else f"${latex}$"
        return f"<code class='ag-math-source' title='not typeset'>{html.escape(shown)}</code>"


def typeset_math(markdown: str) -> str:
    """``markdown`` with each LaTeX formula replaced by MathML (code spans and blocks left alone)."""
    def formulas(text: str) -> str:
        return _MATH.sub(lambda m: _convert(m[1] or m[2] or m[3] or m[4], bool(m[1] or m[2])),
                         text)
    parts = _CODE.split(markdown)
    return "".join(part if i % 2 else formulas(part) for i, part in enumerate(parts))


def _clean(markdown: str) -> str:
    """A student's markdown with only harmless tags left (formatting and MathML)."""
    import bleach
    return bleach.clean(markdown, tags=_SAFE_TAGS | _MATHML_TAGS, strip=False,
                        attributes={tag: _MATHML_ATTRIBUTES for tag in _MATHML_TAGS | {"code"}})


def _safe_outputs(outputs: list) -> list:
    """The student's outputs that cannot carry markup: streams, errors, plain text, images."""
    kept = []
    for out in outputs:
        kind = out.get("output_type")
        if kind in ("stream", "error"):
            kept.append(out)
        elif kind in ("execute_result", "display_data"):
            data = {k: v for k, v in (out.get("data") or {}).items() if k in _KEPT_DATA}
            if MIME in (out.get("data") or {}) or not data:
                continue
            for key in ("image/png", "image/jpeg"):  # base64 only: no quote ends the attribute
                if key in data:
                    data[key] = _BASE64.sub("", str(data[key]))
            kept.append(nbformat.v4.new_output("display_data", data=data))
    return kept


def _banner(entry: CellScore) -> dict:
    message = entry.message or ""
    if entry.auto_score is None and entry.manual:
        kind, score = "ag-manual", f"graded by hand, out of {entry.max_points:g}"
        message = ""  # the banner says it all
    else:
        kind = "ag-pass" if entry.ok else "ag-fail"
        score = f"{entry.points:g} / {entry.max_points:g}"
    text = (f"<div class='ag-banner {kind}'><span class='ag-score'>"
            f"{html.escape(entry.grade_id)}: {html.escape(score)}</span>"
            + (f"<div class='ag-message'>{html.escape(message)}</div>" if message else "")
            + "</div>")
    return nbformat.v4.new_output("display_data", data={"text/html": text})


def _view(student, assignment, name, nb, tests, shown, result):
    """The notebook to render: sanitized student content; verdicts added afterwards."""
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        kind, source = cell.get("cell_type"), shown.get(index, cell.get("source", ""))
        if kind == "code":
            outputs = [] if index in tests else _safe_outputs(cell.get("outputs", []))
            cells.append(nbformat.v4.new_code_cell(source, outputs=outputs))
        elif kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            continue
        cells[-1].metadata["ag_index"] = index
        if kind == "markdown":  # before sanitizing: `$x<y$` is maths, not a tag
            cells[-1].source = typeset_math(cells[-1].source)
            if (cell.get("metadata", {}).get("nbgrader") or {}).get("solution"):
                cells[-1].source = _clean(cells[-1].source)  # the student wrote it
    view = nbformat.v4.new_notebook(cells=cells, metadata={
        k: v for k, v in (nb.get("metadata") or {}).items() if k in ("kernelspec", "language_info")})
    for cell in view.cells:
        index = cell.metadata.pop("ag_index")
        if index in tests:
            if cell.cell_type == "code":
                cell.outputs = [_banner(tests[index])]
            else:  # a written answer: its verdict right below it
                cell.source += "\n\n" + _banner(tests[index])["data"]["text/html"]
    mine = [t for t in result.tests if t.notebook == name]
    score = sum(t.points for t in mine)
    total = sum(t.max_points for t in mine)
    status = html.escape(result.status) + (
        f" ({html.escape(result.detail)})" if result.detail else "")
    view.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"<div class='ag-banner'><b>{html.escape(assignment)} / {html.escape(name)}</b>: "
        f"student <b>{html.escape(student)}</b>, <span class='ag-score'>{score:g} / {total:g}"
        f"</span> points graded automatically. Status: {status}</div>"))
    return view


@functools.lru_cache(maxsize=1)
def _exporter():
    """nbconvert's HTML exporter with our template (built once: compiling templates is slow)."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name="feedback", extra_template_basedirs=[_TEMPLATES],
                        exclude_input_prompt=True, exclude_output_prompt=True)


def feedback_html(student: str, assignment: str, name: str, nb: dict, tests: dict,
                  shown: dict, result: Result) -> str:
    """HTML for one notebook; ``tests`` maps cell index -> result entry, ``shown`` -> released source."""
    body, _ = _exporter().from_notebook_node(_view(student, assignment, name, nb, tests, shown,
                                                result))
    body = _SCRIPTS.sub("", body)
    return body.replace("</head>", f"{_STYLE}\n</head>", 1)
