"""Checks for the GradientTape assignment: ``evaluate(model, X, Y)`` and ``fit(...)``.

The probes build the checker's own small model (a ReLU dense layer then a
softmax dense layer, float32 ``tf.Variable`` weights taken from the plan),
call the student's function and record plain data only.  The judges live in
:mod:`nn_utils._tf_judge` and use numpy only.

TensorFlow is imported inside the probes, never when this module is imported,
so the trusted grader can judge recorded observations without it.  The probes
never touch TensorFlow's random state, so a check does not change the numbers
a student's notebook produces afterwards.

``evaluate`` may return any numeric scalar: a Python int or float, a numpy
scalar, a 0-d array or a 0-d tensor.  Anything with a shape is rejected.
``fit`` must return a numpy array (a list or a tensor is rejected).
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from . import _probe
from ._runner import Check, register
from ._tf_judge import judge_evaluate
from ._tf_judge_fit import judge_fit
from ._tf_ref import plan_evaluate, plan_fit

__all__ = ["probe_evaluate", "probe_fit", "build_model"]

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


def _quiet_call(fn, *args):
    """``_probe.call`` with the student's prints captured: (result, stdout lines)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = _probe.call(fn, *args)
    return result, out.getvalue().splitlines()[:_MAX_LINES]


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
        current = list(model.weights)
        seen["same_objects"] = len(current) == len(originals) and all(
            a is b for a, b in zip(current, originals))
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


register(Check("evaluate", plan_evaluate, probe_evaluate, judge_evaluate))
register(Check("fit", plan_fit, probe_fit, judge_fit))
