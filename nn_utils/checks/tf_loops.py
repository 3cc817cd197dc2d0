"""Checks for the GradientTape assignment: ``evaluate(model, X, Y)`` and ``fit(...)``.

The probes build the checker's own small model (a ReLU dense layer then a
softmax dense layer, float32 ``tf.Variable`` weights taken from the plan),
call the student's function and record plain data only.  The judges live in
:mod:`nn_utils._tf_judge` (evaluate) and :mod:`nn_utils._tf_judge_fit` (fit) and
use numpy only, against expected values the teacher's side computed in float64.
Choosing these inputs needs the reference maths, so they are planned on the
teacher's side too (``plan=None``): published cases locally, the grader's
plans while grading.

TensorFlow is imported inside the probes, never when this module is imported,
so the trusted grader can judge recorded observations without it.  The probes
never touch TensorFlow's random state, so a check does not change the numbers
a student's notebook produces afterwards.

``evaluate`` may return any numeric scalar: a Python int or float, a numpy
scalar, a 0-d array or a 0-d tensor, rounded to one decimal or not.  Anything
with a shape is rejected.  ``fit`` must return a numpy array of shape (N+1, 2)
(a list or a tensor is rejected); float32 or float64 values both pass.  What
the student's code prints -- ``print`` to stdout or stderr, ``tf.print`` (which
writes to the file descriptors directly) -- is captured, not shown, and recorded
for fit's progress check.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile

import numpy as np

from .. import engine as _probe
from ..engine import Check, register
from ._tf_judge import judge_evaluate
from ._tf_judge_fit import FitContext, judge_fit

__all__ = ["probe_evaluate", "probe_fit", "build_model", "judge_evaluate", "judge_fit", "FitContext"]

_MAX_LINES = 200


def _tf():
    import tensorflow as tf
    # TF32 matmuls (recent NVIDIA GPUs) would cost float32 its precision
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return tf


class _Dense:
    """``activation(inputs @ W + b)`` with ``W (n_in, n_out)``, ``b (n_out,)`` variables."""

    def __init__(self, W, b, activation):
        tf = _tf()
        self.W = tf.Variable(np.array(W, np.float32))
        self.b = tf.Variable(np.array(b, np.float32))
        self.activation = activation

    def __call__(self, inputs):
        import tensorflow as tf
        return self.activation(tf.matmul(inputs, self.W) + self.b)

    @property
    def weights(self):
        return [self.W, self.b]


class _Sequential:
    """Layers applied in order; ``weights`` lists every layer's variables."""

    def __init__(self, layers):
        self.layers = layers

    def __call__(self, inputs):
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    trainable_variables = weights


def build_model(theta):
    """The checker's model from ``[W1 (2, H), b1 (H,), W2 (H, 2), b2 (2,)]``:
    float32 inputs (N, 2) -> class probabilities (N, 2)."""
    tf = _tf()
    return _Sequential([_Dense(theta[0], theta[1], tf.nn.relu),
                        _Dense(theta[2], theta[3], tf.nn.softmax)])


@contextlib.contextmanager
def _descriptor_output():
    """Collect what is written straight to file descriptors 1 and 2 (``tf.print``
    writes there, past ``sys.stdout``); yields the list the lines are put in."""
    lines: list[str] = []
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()  # earlier output stays where it was going
    sink, saved = None, []
    try:
        sink = tempfile.TemporaryFile()
        for fd in (1, 2):
            saved.append((fd, os.dup(fd)))
            os.dup2(sink.fileno(), fd)
    except OSError:  # no temporary file or no such descriptors: Python-level capture only
        pass
    try:
        yield lines
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        if sink is not None:
            sink.seek(0)
            # of a flood of output only the start matters (at most _MAX_LINES are kept)
            lines.extend(sink.read(1 << 20).decode(errors="replace").splitlines())
            sink.close()


def _quiet_call(fn, *args):
    """``_probe.call`` with everything the student prints captured -- ``print`` to
    stdout or stderr, ``tf.print`` -- as (result, lines)."""
    out = io.StringIO()
    with _descriptor_output() as raw, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(out):
        result = _probe.call(fn, *args)
    return result, (out.getvalue().splitlines() + raw)[:_MAX_LINES]


def _values(variables):
    return [np.array(v.numpy() if hasattr(v, "numpy") else v, copy=True) for v in variables]


def probe_evaluate(evaluate, plan) -> dict:
    """Call ``evaluate`` on each planned input; record its value and weight changes."""
    cases = []
    for case in plan["cases"]:
        model = build_model(plan["models"][case["model"]])
        before = _values(model.weights)
        result, _ = _quiet_call(evaluate, model, case["X"].copy(), case["Y"].copy())
        seen = {"weights_changed": bool(_probe.mutated(before, _values(model.weights)))}
        if "error" in result:
            seen["error"] = result["error"]
        else:
            seen["value"], seen["desc"] = _probe.as_array(result["value"])
        cases.append(seen)
    return {"cases": cases}


def probe_fit(fit, plan) -> dict:
    """Call ``fit`` once per planned (epochs, lr) on a fresh model; record the
    history, the original variables' values afterwards and what was printed."""
    cases = []
    data = [plan[k] for k in ("X_train", "Y_train", "X_test", "Y_test")]
    for case in plan["cases"]:
        model = build_model(plan["theta"])
        originals = list(model.weights)
        result, lines = _quiet_call(fit, model, *[a.copy() for a in data],
                                    case["epochs"], case["lr"])
        seen = {"stdout": lines, "after": _values(originals)}
        try:
            current = list(model.weights)
        except Exception:  # the student broke the model: data, not a crash
            current = []
        seen["same_objects"] = len(current) == len(originals) and all(
            a is b for a, b in zip(current, originals, strict=False))
        if not seen["same_objects"]:
            with contextlib.suppress(Exception):
                seen["model_after"] = _values(current)
        if "error" in result:
            seen["error"] = result["error"]
        else:
            value = result["value"]
            seen["is_ndarray"] = isinstance(value, np.ndarray)
            seen["type"] = type(value).__name__
            seen["history"], seen["desc"] = _probe.as_array(value)
        cases.append(seen)
    return {"cases": cases}


register(Check("evaluate", None, probe_evaluate, judge_evaluate,
               doc="""Check ``evaluate(model, X (N, 2) float32, Y (N,) int8) -> accuracy in %``."""))
register(Check("fit", None, probe_fit, judge_fit,
               doc="""Check ``fit(model, X_train, Y_train, X_test, Y_test, N, lr) -> history (N+1, 2)``."""))
