"""Float64 reference maths of every layer row, and the expected values a judge reads.

One entry per row of ``nn_utils.layers.TABLE``: the forward output, the
gradients at an upstream gradient ``d``, and ``extras`` -- the values a few
named bugs would produce that are no simple transform of the right answer
(e.g. a per-sample loss).  Teacher side only: the student bundle and the
grading kernel never see this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Row", "ROWS", "expected_layer"]


@dataclass(frozen=True)
class Row:
    out: Callable                      # fn(arrays) -> output
    grad: Callable                     # fn(arrays, d_out) -> {arg name: gradient}
    extras: Callable | None = None     # fn(arrays) -> {name: value}


def _f64(d):
    return np.asarray(d, dtype=np.float64)


def _softmax(logits, axis=1):
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(logits, axis=1):
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _ce(a, axis=1):
    return float(-np.sum(a["labels"] * _log_softmax(a["logits"], axis)) / len(a["logits"]))


def _ce_grad(a, d, axis=1):
    return float(d) * (_softmax(a["logits"], axis) - a["labels"]) / len(a["logits"])


def _affine_grad(a, d, weight="weight", bias="bias", keep=False):
    d = _f64(d)
    return {"inputs" if weight == "weight" else "input": d @ a[weight].T,
            weight: a["inputs" if weight == "weight" else "input"].T @ d,
            bias: d.sum(axis=0, keepdims=keep)}


ROWS: dict[str, Row] = {
    "affine": Row(lambda a: a["inputs"] @ a["weight"] + a["bias"], _affine_grad),
    "relu": Row(lambda a: np.maximum(a["inputs"], 0.0),
                lambda a, d: {"inputs": _f64(d) * (a["inputs"] > 0)}),
    "cross_entropy": Row(
        _ce, lambda a, d: {"logits": _ce_grad(a, d)},
        lambda a: {"per_sample": -np.sum(a["labels"] * _log_softmax(a["logits"]), axis=1),
                   "loss_batch_axis": _ce(a, axis=0),
                   "grad_batch_axis": _ce_grad(a, 1.0, axis=0)}),
    "weight_multiply": Row(lambda a: a["input"] @ a["param"],
                           lambda a, d: {"input": _f64(d) @ a["param"].T,
                                         "param": a["input"].T @ _f64(d)}),
    "bias_add": Row(lambda a: a["input"] + a["param"],
                    lambda a, d: {"input": _f64(d).copy(),
                                  "param": _f64(d).sum(axis=0, keepdims=True)}),
    "sigmoid": Row(lambda a: _sigmoid(a["input"]),
                   lambda a, d: {"input": _f64(d) * _sigmoid(a["input"])
                                 * (1 - _sigmoid(a["input"]))}),
    "linear": Row(lambda a: a["input"], lambda a, d: {"input": _f64(d).copy()}),
    "mean_squared_error": Row(
        lambda a: float(np.mean((a["prediction"] - a["target"]) ** 2)),
        lambda a, d: {"prediction": float(d) * 2.0 * (a["prediction"] - a["target"])
                      / len(a["prediction"])},
        lambda a: {"per_sample": (a["prediction"] - a["target"]) ** 2}),
    "dense": Row(lambda a: a["input"] @ a["W"] + a["B"],
                 lambda a, d: _affine_grad(a, d, weight="W", bias="B", keep=True)),
}


def expected_layer(spec, plan: dict, row: Row | None = None) -> dict:
    """What a layer judge compares with: output, gradients (at the plan's d_out, at
    d_out = 1 everywhere, and at the default d_out of a loss), variants, extras.

    ``row``: the reference of a row that is not in :data:`ROWS` (a new one, a test's).
    """
    row = ROWS[spec.name] if row is None else row
    arrays, d_out = plan["arrays"], plan["d_out"]
    ones = np.ones_like(_f64(d_out)) if np.ndim(d_out) else 1.0
    expected = {"out": row.out(arrays), "grads": row.grad(arrays, d_out),
                "grads_ones": row.grad(arrays, ones),
                "variants": {name: row.out(v) for name, v in plan["variants"].items()},
                "extras": row.extras(arrays) if row.extras else {}}
    if spec.default_d_out is not None:
        expected["grads_default"] = row.grad(arrays, spec.default_d_out)
    return expected
