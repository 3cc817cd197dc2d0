"""nn_utils: checks for the course's neural-network exercises.

Each ``check_*`` calls your code on fresh inputs, compares the results and
gradients with numerical gradients and reference maths, and prints one success
line -- or raises :class:`CheckFailed` saying what is wrong, where, expected
versus got, and the most likely bug.  Pass ``seed=`` to try other inputs.
"""
from __future__ import annotations

from ._report import CheckFailed, Verdict
from ._runner import run_check
from .engine import gradient_check, numerical_gradient, rel_error

__all__ = [
    "CheckFailed", "Verdict",
    "check_affine", "check_relu", "check_cross_entropy",
    "check_evaluate", "check_fit",
    "numerical_gradient", "rel_error", "gradient_check",
]


def check_affine(affine, seed=None):
    """Check ``affine.forward(inputs, weight, bias)`` and ``affine.backward(d_out)``.

    Shapes: inputs (N, D), weight (D, H), bias (H,) -> out (N, H);
    backward returns (d_inputs (N, D), d_weight (D, H), d_bias (H,)).
    """
    run_check("affine", affine, seed)


def check_relu(relu, seed=None):
    """Check ``relu.forward(inputs)`` and ``relu.backward(d_out)`` (any shape)."""
    run_check("relu", relu, seed)


def check_cross_entropy(cross_entropy, seed=None):
    """Check ``forward(logits (N, K), labels one-hot (N, K)) -> mean loss`` and
    ``backward(d_out=1.0) -> (d_logits (N, K), None)``."""
    run_check("cross_entropy", cross_entropy, seed)


def check_evaluate(evaluate, seed=None):
    """Check ``evaluate(model, X (N, 2) float32, Y (N,) int8) -> accuracy in %``."""
    run_check("evaluate", evaluate, seed)


def check_fit(fit, seed=None):
    """Check ``fit(model, X_train, Y_train, X_test, Y_test, N, lr) -> history (N+1, 2)``."""
    run_check("fit", fit, seed)
