"""The kernel boundary's protocol: the records' bytes, the readers' guard, the preamble."""
from __future__ import annotations

import os
from unittest import mock

import numpy as np

from autograder import kernel_side, protocol
from autograder.assemble import preamble_source
from nn_utils import wire


def test_records_keep_the_bytes_earlier_versions_wrote():
    """Stored notebooks hold these texts: the key order is part of the format."""
    seen = protocol.observation("affine", 7, None, {"out": np.arange(2.0)})
    assert list(seen) == [protocol.MIME]
    assert seen[protocol.MIME] == wire.dumps(
        {"check": "affine", "seed": 7, "user_seed": None, "observed": {"out": np.arange(2.0)}})
    report = protocol.expectation(3, [{"value": 1}], None)[protocol.MIME]
    assert report == '{"expect": 3, "values": [{"value": 1}], "message": null}'
    assert protocol.is_expectation(report) and not protocol.is_expectation(seen[protocol.MIME])


def _display(payload, output_type="display_data"):
    return {"output_type": output_type, "data": {protocol.MIME: payload}, "metadata": {}}


def test_readers_sort_records_and_ignore_what_is_not_one():
    report = protocol.expectation(protocol.DONE, [])[protocol.MIME]
    outputs = [
        _display("obs"), _display(report, "execute_result"), _display(None),
        {"output_type": "stream", "name": "stdout", "text": "hi"},
        {"output_type": "display_data", "data": ["not", "a", "dict"]},
        {"output_type": "display_data", "data": {"text/plain": "foreign"}},
        "not an output", None, _display(123),
        {"output_type": "error", "data": {protocol.MIME: "not displayed"}},
    ]
    assert protocol.observations(outputs) == ["obs", 123]   # the judge fails the 123
    assert protocol.expectations(outputs) == [report]
    assert protocol.observations(None) == protocol.expectations([]) == []


def test_the_preamble_runs_the_kernel_side_and_binds_only_the_reporter(tmp_path):
    source = preamble_source()
    assert kernel_side.install.__name__ in source and protocol.REPORTER in source
    plans = {"affine": {"0": {"seed": 5}}}
    (tmp_path / protocol.PLANS_FILE).write_text(wire.dumps(plans))
    sent, scope, cwd = [], {}, os.getcwd()
    os.chdir(tmp_path)
    try:
        with mock.patch("IPython.display.display", lambda data, raw=False: sent.append(data)), \
                mock.patch("nn_utils.engine.install_grading") as install_grading:
            exec(source, scope)
            sink = install_grading.call_args.args[1]
            sink("affine", 5, None, {"x": 1})
            scope[protocol.REPORTER](0, [lambda: 2])
    finally:
        os.chdir(cwd)
    assert [k for k in scope if k != "__builtins__"] == [protocol.REPORTER]
    assert not (tmp_path / protocol.PLANS_FILE).exists()   # read once, then gone
    assert install_grading.call_args.args[0] == {"affine": {0: {"seed": 5}}}
    assert sent == [protocol.observation("affine", 5, None, {"x": 1}),
                    protocol.expectation(0, [{"value": 2}], None)]
