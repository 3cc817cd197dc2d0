"""Float64 reference maths of every layer row, and the expected values a judge reads.

One entry per row of the layers family (``nn_utils/checks/layers.py``): the forward output, the
gradients at an upstream gradient ``d``, and ``extras`` -- the values a few
named bugs would produce that are no simple transform of the right answer
(e.g. a per-sample loss).  Teacher side only: the student bundle and the
grading kernel never see this module.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Row", "ROWS", "EXPECTED", "expected_layer", "layer_rows", "f64", "affine_grad", "sigmoid"]


@dataclass(frozen=True)
class Row:
    """The reference of one layer row; ``arrays`` holds its hyper-parameters too."""

    out: Callable                      # fn(arrays) -> output
    grad: Callable                     # fn(arrays, d_out) -> {arg name: gradient}
    extras: Callable | None = None     # fn(arrays, d_out) or fn(arrays) -> {name: value}
    variants: dict = field(default_factory=dict)  # variant name -> fn(arrays): its own call


def f64(d):
    return np.asarray(d, dtype=np.float64)


def _softmax(logits, axis=1):
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(logits, axis=1):
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _ce(a, axis=1):
    return float(-np.sum(a["labels"] * _log_softmax(a["logits"], axis)) / len(a["logits"]))


def _ce_grad(a, d, axis=1):
    return float(d) * (_softmax(a["logits"], axis) - a["labels"]) / len(a["logits"])


def affine_grad(a, d, weight="weight", bias="bias", keep=False):
    d = f64(d)
    return {"inputs" if weight == "weight" else "input": d @ a[weight].T,
            weight: a["inputs" if weight == "weight" else "input"].T @ d,
            bias: d.sum(axis=0, keepdims=keep)}


ROWS: dict[str, Row] = {
    "affine": Row(lambda a: a["inputs"] @ a["weight"] + a["bias"], affine_grad),
    "relu": Row(lambda a: np.maximum(a["inputs"], 0.0),
                lambda a, d: {"inputs": f64(d) * (a["inputs"] > 0)}),
    "cross_entropy": Row(
        _ce, lambda a, d: {"logits": _ce_grad(a, d)},
        lambda a: {"per_sample": -np.sum(a["labels"] * _log_softmax(a["logits"]), axis=1),
                   "loss_batch_axis": _ce(a, axis=0),
                   "grad_batch_axis": _ce_grad(a, 1.0, axis=0)}),
}


def _extras(row, arrays, d_out):
    if row.extras is None:
        return {}
    if len(inspect.signature(row.extras).parameters) == 1:
        return row.extras(arrays)  # values of bugs that need no upstream gradient
    return row.extras(arrays, d_out)


def expected_layer(spec, plan: dict, row: Row | None = None) -> dict:
    """What a layer judge compares with: output, gradients (at the plan's d_out, at
    d_out = 1 everywhere, and at the default d_out of a loss), variants, extras.

    ``row``: the reference of a row that is not in :data:`ROWS` (a new one, a test's).
    """
    row = ROWS[spec.name] if row is None else row
    hyper = plan.get("hyper", {})
    arrays, d_out = {**plan["arrays"], **hyper}, plan["d_out"]
    ones = np.ones_like(f64(d_out)) if np.ndim(d_out) else 1.0
    expected = {"out": row.out(arrays), "grads": row.grad(arrays, d_out),
                "grads_ones": row.grad(arrays, ones),
                "variants": {name: row.variants.get(name, row.out)({**v, **hyper})
                             for name, v in plan["variants"].items()},
                "extras": _extras(row, arrays, d_out)}
    if spec.default_d_out is not None:
        expected["grads_default"] = row.grad(arrays, spec.default_d_out)
    return expected


# --- the rows that take the class ------------------------------------------

def _softmax_grad(p, d, axis=1):
    d = f64(d)
    return p * (d - np.sum(d * p, axis=axis, keepdims=True))


def _leaky(a):
    return np.where(a["inputs"] > 0, a["inputs"], a["alpha"] * a["inputs"])


def _bn_parts(a, x=None, var_scale=1.0):
    x = a["inputs"] if x is None else x
    mean, var = x.mean(axis=0), x.var(axis=0) * var_scale
    return mean, var, (x - mean) / np.sqrt(var + a["eps"])


def _bn_out(a, **kw):
    return a["gamma"] * _bn_parts(a, **kw)[2] + a["beta"]


def _bn_grad(a, d, paths=("mean", "variance")):
    """d_inputs through the normalised value, and through the mean and variance paths."""
    d = f64(d)
    _, var, x_hat = _bn_parts(a)
    d_hat = d * a["gamma"]
    d_x = d_hat
    if "mean" in paths:
        d_x = d_x - d_hat.mean(axis=0)
    if "variance" in paths:
        d_x = d_x - x_hat * (d_hat * x_hat).mean(axis=0)
    return {"inputs": d_x / np.sqrt(var + a["eps"]),
            "gamma": (d * x_hat).sum(axis=0), "beta": d.sum(axis=0)}


def _bn_running(a, momentum=None, initial=False):
    m = a["momentum"] if momentum is None else momentum
    mean, var, _ = _bn_parts(a)
    if initial:
        return np.stack([np.zeros_like(mean), np.ones_like(var)])
    return np.stack([m * 0.0 + (1 - m) * mean, m * 1.0 + (1 - m) * var])


def _bn_test(a, batch_statistics=False):
    if batch_statistics:
        return _bn_out(a, x=a["test_inputs"])
    mean, var = _bn_running(a)
    return a["gamma"] * (a["test_inputs"] - mean) / np.sqrt(var + a["eps"]) + a["beta"]


def _bn_extras(a, d):
    n = len(a["inputs"])
    mean, var, _ = _bn_parts(a)
    swapped = _bn_running({**a, "momentum": 1 - a["momentum"]})
    return {"out_unbiased": _bn_out(a, var_scale=n / (n - 1)),
            "out_default_eps": _bn_out({**a, "eps": 1e-5}),
            "out_eps_outside": a["gamma"] * (a["inputs"] - mean) / (np.sqrt(var) + a["eps"])
            + a["beta"],
            "running_swapped": swapped, "running_default_momentum": _bn_running(a, 0.9),
            "running_initial": _bn_running(a, initial=True),
            "test_batch_statistics": _bn_test(
                {**a, "test_inputs": 0.5 * a["inputs"][::-1] + 1.0}, batch_statistics=True),
            "d_inputs_no_mean_path": _bn_grad(a, d, ("variance",))["inputs"],
            "d_inputs_no_variance_path": _bn_grad(a, d, ("mean",))["inputs"],
            "d_inputs_constant_statistics": _bn_grad(a, d, ())["inputs"],
            "d_gamma_raw": (f64(d) * a["inputs"]).sum(axis=0)}


ROWS.update({
    "tanh": Row(lambda a: np.tanh(a["inputs"]),
                lambda a, d: {"inputs": f64(d) * (1 - np.tanh(a["inputs"]) ** 2)}),
    "softmax": Row(lambda a: _softmax(a["logits"]),
                   lambda a, d: {"logits": _softmax_grad(_softmax(a["logits"]), d)},
                   lambda a, d: {"out_batch_axis": _softmax(a["logits"], axis=0),
                                 "grad_batch_axis": _softmax_grad(_softmax(a["logits"]), d,
                                                                  axis=0)}),
    "leaky_relu": Row(_leaky, lambda a, d: {
        "inputs": f64(d) * np.where(a["inputs"] > 0, 1.0, a["alpha"])}),
    "batchnorm": Row(_bn_out, _bn_grad, _bn_extras,
                     variants={"running": _bn_running, "test_mode": _bn_test}),
})


def expected_dropout(plan: dict) -> dict:
    """Dropout is random: the judge checks relations, with these two constants."""
    rate = plan["hyper"]["rate"]
    return {"keep": 1.0 - rate, "scale": 1.0 / (1.0 - rate)}


def layer_rows(rows: dict, table: dict | None = None) -> dict:
    """``{name: fn(plan) -> expected}`` of layer rows, from their references ``rows``.

    ``table``: the rows' specs by name (default: every registered layer row).
    """
    def expected_values(name):
        def expected(plan):
            from nn_utils.checks.layers import TABLE
            return expected_layer((table or TABLE)[name], plan, rows[name])
        return expected
    return {name: expected_values(name) for name in rows}


EXPECTED = {**layer_rows(ROWS), "dropout": expected_dropout}
