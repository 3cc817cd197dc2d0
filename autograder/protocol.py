"""Everything that crosses the kernel boundary, named once: names, records, readers, the preamble.

The grader and a grading kernel share nothing but what is named here:

* the names -- the display-data MIME type of every record, the plans file the grader
  writes beside the notebook, the reporter the rewritten test cells call
  (``__autograder_expect``) and the site id of the end-of-cell marker;
* two record kinds, each one JSON object written with :mod:`nn_utils.wire` and sent
  as display data: an *observation* (``check, seed, user_seed, observed``: one
  ``check_*`` call's probe, the arguments of ``nn_utils``' grading sink) and an
  *expectation* (``expect, values, message``: one assert's values).  The writers are
  used in the kernel (:mod:`autograder.kernel_side`), the readers by the grader
  (:mod:`autograder.judge`); the bytes are those earlier versions wrote, so stored
  notebooks and grades do not change;
* the preamble, the graded notebook's first cell: its source is derived from the
  kernel-side function it imports and calls;
* the notebook itself, shipped to the executor as text and read back.

The grading kernel imports this module: it imports nothing of ``autograder`` and
loads ``nn_utils`` and ``nbformat`` only when a function needs them.
"""
from __future__ import annotations

from typing import Callable

__all__ = ["MIME", "PLANS_FILE", "REPORTER", "DONE", "observation", "expectation",
           "observations", "expectations", "is_expectation", "preamble_source",
           "notebook_text", "notebook_from"]

#: the display-data MIME type of every record the kernel sends
MIME = "application/x-nn-utils-observation"
#: where the grader puts this submission's plans, relative to the working copy
PLANS_FILE = ".autograder-plans.json"
#: the name the rewritten test cells call to report an assert's values
REPORTER = "__autograder_expect"
#: the site id of the end-of-cell marker, a test cell's last report
DONE = -1

# The keys of each record kind, in the order they are written: the JSON text, and so
# the stored notebooks, depend on it.
_OBSERVATION = ("check", "seed", "user_seed", "observed")
_EXPECTATION = ("expect", "values", "message")
# how an expectation's text starts (wire.dumps keeps the key order): no decoding needed
_EXPECTATION_START = '{"' + _EXPECTATION[0] + '"'
_DISPLAYED = ("display_data", "execute_result")


def _bundle(keys: tuple, values: tuple) -> dict:
    from nn_utils.engine import wire
    return {MIME: wire.dumps(dict(zip(keys, values, strict=True)))}


def observation(check: str, seed: int, user_seed, observed: dict) -> dict:
    """The display bundle of one ``check_*`` call's observation record (kernel side).

    Its arguments are those of ``nn_utils.engine.install_grading``'s sink.
    """
    return _bundle(_OBSERVATION, (check, seed, user_seed, observed))


def expectation(site: int, values: list, message: str | None = None) -> dict:
    """The display bundle of one assert's report: the values (or errors) of its leaves (kernel side)."""
    return _bundle(_EXPECTATION, (site, values, message))


def is_expectation(payload) -> bool:
    """True for the text of an expectation record (anything else of ours is an observation)."""
    return isinstance(payload, str) and payload.startswith(_EXPECTATION_START)


def _payloads(outputs) -> list:
    """The records among a cell's outputs, as sent: the one guard against malformed or
    foreign display data (the outputs come from a kernel that ran student code)."""
    found = []
    for out in outputs or ():
        if isinstance(out, dict) and out.get("output_type") in _DISPLAYED:
            data = out.get("data")
            payload = data.get(MIME) if isinstance(data, dict) else None
            if payload is not None:
                found.append(payload)
    return found


def observations(outputs) -> list:
    """The observation records of a cell's outputs, undecoded (any non-expectation payload
    counts: the judge fails what does not decode)."""
    return [p for p in _payloads(outputs) if not is_expectation(p)]


def expectations(outputs) -> list[str]:
    """The expectation records of a cell's outputs, undecoded, in the order they came."""
    return [p for p in _payloads(outputs) if is_expectation(p)]


def preamble_source(entry: Callable) -> str:
    """The graded notebook's first cell: import ``entry`` in the kernel, bind what it
    returns (the reporter) to ``REPORTER``, and leave no other name behind."""
    alias = "__autograder_install"
    return (f"from {entry.__module__} import {entry.__name__} as {alias}\n"
            f"{REPORTER} = {alias}()\n"
            f"del {alias}\n")


def notebook_text(nb, compact: bool = False) -> str:
    """``nb`` as nbformat writes it, without validating it again; ``compact``: on one line,
    for a notebook that only travels between the grader and its workers.

    For notebooks the grader built or that came back from its own executor:
    ``nbformat.writes`` only logs what validation finds, and validating every copy
    of every notebook was a tenth of the grader's CPU.  Indented JSON is written by
    Python's slow encoder; the compact form by its C one.
    """
    if compact:
        import json
        return json.dumps(nb, ensure_ascii=False, separators=(",", ":"))
    import nbformat
    return nbformat.v4.writes(nb)


def notebook_from(text: str):
    """A notebook written by :func:`notebook_text`, read back without validating it again."""
    import nbformat
    return nbformat.reader.reads(text)
