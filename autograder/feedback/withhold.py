"""Feedback never quotes a hidden test, even when the submission prints one.

The kernel has to run hidden tests, so a submission can capture their source (an
IPython hook sees every cell the grader sends) and print it from one of its own
cells or a background thread, or smuggle it out through an exception text or a
value that a test's message formats.  Feedback shows the student's outputs and the
tests' messages, so before it is written every output and message is searched for
the lines that only hidden tests contain -- as the teacher wrote them and as the
kernel ran them -- and any that quotes one is withheld.  The autograded notebook
(for the teacher) keeps everything.  Lines shorter than ``MIN_LINE`` characters are
too common to be evidence; an encoded copy is not recognised (the grader cannot
tell it from noise), so hidden tests should not hold anything a student may not
learn once graded.
"""
from __future__ import annotations

import copy
import json

import nbformat

from autograder.assemble.rewrite import rewrite

__all__ = ["hidden_snippets", "withhold", "MIN_LINE"]

MIN_LINE = 12
_NOTE = "[withheld by the grader: this quotes a hidden test]\n"


def _lines(text: str) -> set:
    return {line.strip() for line in (text or "").splitlines() if len(line.strip()) >= MIN_LINE}


def hidden_snippets(assembled) -> frozenset:
    """Lines only the hidden parts of ``assembled``'s test cells hold (as written and as run)."""
    snippets = set()
    for test in assembled.tests:
        if test.index not in assembled.shown:  # a student's answer cell, not the teacher's test
            continue
        shown = assembled.shown[test.index]
        visible = _lines(shown)
        released = rewrite(shown) if shown and test.kernel_source else None
        if released is not None:
            visible |= _lines(released.kernel_source)
        graded = assembled.notebook.cells[test.index].source
        snippets |= (_lines(graded) | _lines(test.kernel_source)) - visible
    return frozenset(snippets)


def _quotes(value, snippets: frozenset) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(snippet in text for snippet in snippets)


def withhold(nb, by_index: dict, snippets: frozenset):
    """Copies of the executed notebook and of its test entries, with quoting outputs withheld."""
    if not snippets:
        return nb, by_index
    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs") or []
        if any(_quotes(out, snippets) for out in outputs):
            cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=_NOTE)]
    entries = {}
    for index, entry in by_index.items():
        if entry.message and _quotes(entry.message, snippets):
            entry = entry.replace(message=_NOTE.strip())
        entries[index] = entry
    return nb, entries
