"""Run a test cell's kernel-side form in this process and collect the reports it sends.

Stands in for a grading kernel in fast tests: ``reports(source, namespace)`` returns
the display outputs that ``__autograder_expect`` would have sent for ``source``
(a test cell as the teacher wrote it) run after ``namespace`` (the student's code).
"""
from __future__ import annotations

from unittest import mock

from autograder.assemble.rewrite import rewrite
from autograder.kernel_side import expect_reporter
from autograder.protocol import REPORTER


def reports(source: str, namespace: dict | None = None, stop_at: str | None = None) -> list:
    """Outputs (display_data dicts) of the rewritten ``source``; ``stop_at`` simulates a crash."""
    sent = []

    def display(data, raw=False):
        sent.append({"output_type": "display_data", "data": dict(data), "metadata": {}})

    scope = dict(namespace or {})
    with mock.patch("IPython.display.display", display):
        scope[REPORTER] = expect_reporter()
    code = rewrite(source).kernel_source
    if stop_at is not None:
        code = code[:code.index(stop_at)]
    try:
        exec(code, scope)
    except Exception:  # a crash in the cell: reports stop there
        pass
    return sent
