"""Adversarial review of the checks: "never reject correct code, catch the common bugs".

Student code here was written independently of tests/layer_variants.py and
tests/tf_variants.py (numpy styles in tests/redteam_variants.py, TensorFlow
styles below).  Correct styles run over many seeds to find rare rejections
(kinks, tolerance edges); each plausible bug must fail with a readable hint.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn_utils
from nn_utils import CheckFailed
from nn_utils._runner import get_check

from redteam_variants import BUGGY, CORRECT

ROOT = Path(__file__).resolve().parent.parent
LAYER_SEEDS = range(200)


def verdict(name, student, seed=0):
    check = get_check(name)
    plan = check.plan(seed)
    return check.judge(plan, check.probe(student, plan))


# ------------------------------------------------------------------ layer checks
@pytest.mark.parametrize("name,cls", [(n, c) for n, cs in CORRECT.items() for c in cs],
                         ids=lambda x: getattr(x, "__name__", x))
def test_correct_layer_style_passes_on_200_seeds(name, cls):
    rejected = [(seed, v.message) for seed in LAYER_SEEDS
                for v in [verdict(name, cls(), seed)] if not v.ok]
    assert not rejected, f"{len(rejected)} seeds rejected, first: {rejected[0]}"


@pytest.mark.parametrize("name,cls,fragment,bug", BUGGY,
                         ids=[row[1].__name__ for row in BUGGY])
def test_plausible_layer_bug_fails_with_a_readable_message(name, cls, fragment, bug):
    for seed in range(10):
        result = verdict(name, cls(), seed)
        assert not result.ok, f"{cls.__name__} passed on seed {seed}"
        assert fragment in result.message, result.message
        if bug:
            assert result.bug == bug, result.message
    message = result.message
    assert message.startswith(f"{name}: ") and "hint:" in message, message
    assert len(message.splitlines()) <= 6 and len(message) < 600, message
    assert "Traceback" not in message and "nn_utils" not in message


def test_d_weight_from_the_forward_output_is_named():
    """d_weight = out.T @ d_out has the shape (H, H): the message must say *why*
    (the output was used where the inputs belong), not only "wrong shape"."""
    from redteam_variants import AffineDWeightFromOutput
    result = verdict("affine", AffineDWeightFromOutput())
    assert result.bug == "d_weight_from_output", result.message
    assert "inputs.T @ d_out" in result.message


def test_shape_error_in_backward_shows_the_shapes():
    """d_inputs = d_out @ weight raises inside the student's line; a beginner needs
    the shapes of the arrays to see which factor needs the transpose."""
    from redteam_variants import AffineNoTransposeDInputs
    message = verdict("affine", AffineNoTransposeDInputs()).message
    assert "in backward)" in message
    assert "d_out (13, 5)" in message and "weight (7, 5)" in message, message


def test_same_rank_wrong_shape_hint_does_not_talk_about_keepdims():
    """A (5, 5) gradient for a (7, 5) weight has no extra axis: the keepdims hint misleads."""

    class SquareDWeight(CORRECT["affine"][0]):
        def backward(self, d_out):
            d_x, d_w, d_b = super().backward(d_out)
            return d_x, d_out.T @ d_out, d_b

    message = verdict("affine", SquareDWeight()).message
    assert "must have shape (7, 5)" in message and "keepdims" not in message, message
    assert "(13, 7)" in message  # the shapes are listed


def test_a_numpy_check_imports_no_tensorflow_and_nn_utils_imports_fast():
    code = ("import sys, time, numpy\n"
            "start = time.perf_counter()\n"
            "import nn_utils\n"
            "elapsed = time.perf_counter() - start\n"
            "sys.path.insert(0, 'tests')\n"
            "from redteam_variants import CORRECT\n"
            "for name, classes in CORRECT.items():\n"
            "    getattr(nn_utils, 'check_' + name)(classes[0]())\n"
            "print('TF' if 'tensorflow' in sys.modules else 'no TF', elapsed)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("NN_UTILS_GRADING_NONCE", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    flag, elapsed = done.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert flag == "no TF"
    # numpy is imported first: this times nn_utils's own import
    assert float(elapsed) < 0.3, elapsed
