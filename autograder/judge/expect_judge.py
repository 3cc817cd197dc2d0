"""The grader's side of :mod:`autograder.assemble.rewrite`: decode the kernel's reports, judge the sites.

Nothing here trusts the kernel: reports are plain data (no pickle), every
expression is evaluated with the grader's own numpy and a few pure builtins, and
a cell passes only if every required site reported, every report passed and the
cell reached its end.
"""
from __future__ import annotations

import builtins

import numpy as np

from autograder.cells import SAFE_BUILTINS, SAFE_MODULES, Site
from autograder.protocol import DONE
from nn_utils import wire

__all__ = ["judge", "partial_points", "trailing_value"]


class _LeafError(Exception):
    pass


def _scope(values: list) -> dict:
    def leaf(i: int):
        entry = values[i] if i < len(values) and isinstance(values[i], dict) else {}
        if "value" in entry:
            return entry["value"]
        raise _LeafError(str(entry.get("error", "no value was reported")))
    safe = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
    return {"__builtins__": safe, **SAFE_MODULES, "__v": leaf}


def _check_site(site: Site, report: dict) -> str | None:
    """None when the report satisfies the site, else why not (no hidden source)."""
    values = report.get("values")
    if not isinstance(values, list) or len(values) != site.leaves:
        return "malformed test report"
    try:  # decoding too: a forged value (say bad base64) must fail the cell, not stop the grader
        result = _evaluate(site, values, [wire.untag(v) for v in values])
        if site.kind in ("call", "value") or bool(result):
            return None
        reason = None
    except _LeafError as exc:
        if site.kind == "value":  # the cell's last expression raised: that error, as the kernel had it
            return str(exc)
        reason = str(exc)
    except AssertionError as exc:  # numpy's message quotes the expected values: not if hidden
        reason = str(exc).strip().splitlines()
        reason = None if site.hidden else " ".join(x.strip() for x in reason[:3] if x.strip())
    except Exception as exc:  # data that does not fit the test fails it
        reason = f"{type(exc).__name__}: {exc}"[:300]
    message = report.get("message")
    if isinstance(message, str) and message:
        return f"AssertionError: {message}"
    if reason:
        return f"AssertionError: {reason}"
    return "AssertionError: a hidden test failed" if site.hidden else \
        f"AssertionError: the test `{site.text}` failed"


def judge(sites: tuple, texts: list) -> str | None:
    """None when the cell's reports (raw record texts) pass, else the first reason why not."""
    from nn_utils import wire
    seen, done = {}, False
    by_id = {s.site: s for s in sites}
    for text in texts:
        try:
            report = wire.loads(text)
        except Exception:  # forged or truncated
            return "malformed test report"
        site_id = report.get("expect") if isinstance(report, dict) else None
        if site_id == DONE and isinstance(site_id, int):
            done = True
            continue
        site = by_id.get(site_id) if isinstance(site_id, int) else None
        if site is None or done:
            return "unexpected test report"
        seen[site.site] = seen.get(site.site, 0) + 1
        reason = _check_site(site, report)
        if reason:
            return reason
    if not done:
        return "the test cell did not run to its end"
    missing = [s for s in sites if s.required and seen.get(s.site, 0) < s.times]
    if missing:
        return "some of this cell's tests did not run"
    return None


def _evaluate(site: Site, raw: list, leaves: list):
    """The value of ``site``'s expression over the decoded ``leaves`` of a report's ``raw`` values.

    For the cell's last expression, a leaf the kernel marked as a numpy scalar becomes
    one again: nbgrader reads partial credit from how IPython displays the value.
    """
    if site.kind == "value":
        leaves = [{"value": np.asarray(leaf["value"])[()]}
                  if isinstance(r, dict) and r.get("numpy") is True and "value" in leaf else leaf
                  for r, leaf in zip(raw, leaves, strict=False)]
    return eval(compile(site.expression, "<test>", "eval"), _scope(leaves))


def trailing_value(sites: tuple, texts: list):
    """The value of the cell's last expression (a ``value`` site), or None when it has none.

    Call only after :func:`judge` passed: the reports are then known to be well formed.
    """
    from nn_utils import wire
    site = next((s for s in sites if s.kind == "value"), None)
    if site is None:
        return None
    for text in reversed(texts):
        report = wire.loads(text)
        if isinstance(report, dict) and report.get("expect") == site.site:
            try:
                return _evaluate(site, report["values"], [wire.untag(v) for v in report["values"]])
            except Exception:  # judge() already failed such a cell
                return None
    return None


def partial_points(value, max_points: float) -> float:
    """nbgrader's points for a test cell whose last expression displayed ``value``.

    As nbgrader's ``get_partial_grade``: the displayed text (``repr``, as IPython shows
    numbers) read as a float between 0 and the points; anything else, a negative
    number or nothing displayed gives full credit.  A number above the points (nbgrader
    stops with an error) is capped at the points.
    """
    if value is None:
        return float(max_points)
    try:
        grade = float(repr(value))
    except (ValueError, TypeError, OverflowError):
        return float(max_points)
    if not grade >= 0.0:  # negative or nan
        return float(max_points)
    return min(grade, float(max_points))
