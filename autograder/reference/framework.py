"""Float64 reference maths of the numpy mini-framework's rows (``nn_utils/checks/framework*.py``).

The operations and the loss are layer rows (see :mod:`.layers`); ``sgd`` moves
each parameter by ``-lr * grad``; ``neural_network`` and ``trainer`` are judged
against the student's own numbers and the check's stand-ins, so they need no
expected values.  Teacher side only.
"""
from __future__ import annotations

import numpy as np

from .layers import Row, affine_grad, f64, layer_rows, sigmoid

__all__ = ["ROWS", "EXPECTED"]

ROWS: dict[str, Row] = {
    "weight_multiply": Row(lambda a: a["input"] @ a["param"],
                           lambda a, d: {"input": f64(d) @ a["param"].T,
                                         "param": a["input"].T @ f64(d)}),
    "bias_add": Row(lambda a: a["input"] + a["param"],
                    lambda a, d: {"input": f64(d).copy(),
                                  "param": f64(d).sum(axis=0, keepdims=True)}),
    "sigmoid": Row(lambda a: sigmoid(a["input"]),
                   lambda a, d: {"input": f64(d) * sigmoid(a["input"])
                                 * (1 - sigmoid(a["input"]))}),
    "linear": Row(lambda a: a["input"], lambda a, d: {"input": f64(d).copy()}),
    "mean_squared_error": Row(
        lambda a: float(np.mean((a["prediction"] - a["target"]) ** 2)),
        lambda a, d: {"prediction": float(d) * 2.0 * (a["prediction"] - a["target"])
                      / len(a["prediction"])},
        lambda a: {"per_sample": (a["prediction"] - a["target"]) ** 2}),
    "dense": Row(lambda a: a["input"] @ a["W"] + a["B"],
                 lambda a, d: affine_grad(a, d, weight="W", bias="B", keep=True)),
}


def _sgd(plan):
    return {"after": [p - plan["lr"] * g
                      for p, g in zip(plan["params"], plan["grads"], strict=False)]}


def _dense_table():
    from nn_utils.checks.framework import DENSE  # a row with a check of its own
    from nn_utils.checks.layers import TABLE
    return {**TABLE, "dense": DENSE}



def _row(name):
    def expected(plan):
        return layer_rows({name: ROWS[name]}, _dense_table())[name](plan)
    return expected


EXPECTED = {**{name: _row(name) for name in ROWS}, "sgd": _sgd,
            "neural_network": lambda plan: {}, "trainer": lambda plan: {}}
