"""nn_utils: checks for the course's neural-network exercises.

Each ``check_*`` calls your code on chosen inputs, compares the results and
gradients with the expected values the teacher published and with numerical
gradients of your own code, and prints one success line -- or raises
:class:`CheckFailed` saying what is wrong, where, expected versus got, and the
most likely bug.  Pass ``seed=`` (0 to 3) to try the other published inputs.

This package holds no solutions: no function in it computes an exercise's
answer.  Map: ``_runner`` (registry, ``run_check``), ``_cases`` and ``cases/``
(the published inputs and expected values), ``_spec``/``layers``/``framework``
(the layer-check table), ``_layer_probe``/``_layer_judge``/``_fingerprints``,
``tf_checks`` with ``_tf_judge*``, ``framework_training`` with
``_trainer_judge``, ``engine`` (numerical gradients), ``wire`` (the codec of
what leaves a grading kernel), ``_report`` (verdicts and the message template).
Adding a layer check is adding a row to ``layers.py`` (see its docstring); its
reference maths goes to the teacher's side, ``autograder/reference/``.

The checks set ``__tracebackhide__``: IPython (and pytest) then leave the
checker's own frames out of a failure's traceback, so the message stands out.

The version test comes first and is written for any Python 3 (no f-string, no
``from __future__ import annotations`` in this file, which Python 3.6 cannot
compile): on Python 3.9 and older ``import nn_utils`` stops with one line,
``ImportError: nn_utils needs Python 3.10 or newer; this is 3.9.18``, before
numpy or any module written for 3.10 is imported.
"""
import sys

if sys.version_info < (3, 10):
    raise ImportError("nn_utils needs Python 3.10 or newer; this is %s" % sys.version.split()[0])

from ._report import CheckFailed, Verdict
from ._runner import run_check
from .engine import gradient_check, numerical_gradient, rel_error

__all__ = [
    "CheckFailed", "Verdict",
    "check_affine", "check_relu", "check_cross_entropy",
    "check_evaluate", "check_fit",
    "check_weight_multiply", "check_bias_add", "check_sigmoid", "check_linear",
    "check_dense", "check_mean_squared_error", "check_neural_network", "check_sgd",
    "check_trainer",
    "numerical_gradient", "rel_error", "gradient_check",
]


def check_affine(affine, seed=None):
    """Check ``affine.forward(inputs, weight, bias)`` and ``affine.backward(d_out)``.

    Shapes: inputs (N, D), weight (D, H), bias (H,) -> out (N, H);
    backward returns (d_inputs (N, D), d_weight (D, H), d_bias (H,)).
    """
    __tracebackhide__ = True
    run_check("affine", affine, seed)


def check_relu(relu, seed=None):
    """Check ``relu.forward(inputs)`` and ``relu.backward(d_out)`` (any shape)."""
    __tracebackhide__ = True
    run_check("relu", relu, seed)


def check_cross_entropy(cross_entropy, seed=None):
    """Check ``forward(logits (N, K), labels one-hot (N, K)) -> mean loss`` and
    ``backward(d_out=1.0) -> (d_logits (N, K), None)``."""
    __tracebackhide__ = True
    run_check("cross_entropy", cross_entropy, seed)


def check_evaluate(evaluate, seed=None):
    """Check ``evaluate(model, X (N, 2) float32, Y (N,) int8) -> accuracy in %``."""
    __tracebackhide__ = True
    run_check("evaluate", evaluate, seed)


def check_fit(fit, seed=None):
    """Check ``fit(model, X_train, Y_train, X_test, Y_test, N, lr) -> history (N+1, 2)``."""
    __tracebackhide__ = True
    run_check("fit", fit, seed)


# --- Assignment E: the numpy framework (pass your classes, not instances) ---

def check_weight_multiply(op_class, seed=None):
    """Check a ``WeightMultiply(W)`` class: input (N, D) @ W (D, H) -> (N, H);
    ``_input_grad(output_grad)`` (N, D) and ``_param_grad(output_grad)`` (D, H)."""
    __tracebackhide__ = True
    run_check("weight_multiply", op_class, seed)


def check_bias_add(op_class, seed=None):
    """Check a ``BiasAdd(B)`` class: input (N, H) + B (1, H); gradients (N, H) and (1, H)."""
    __tracebackhide__ = True
    run_check("bias_add", op_class, seed)


def check_sigmoid(op_class, seed=None):
    """Check a ``Sigmoid()`` class: element-wise forward and ``_input_grad`` (any 2-D shape)."""
    __tracebackhide__ = True
    run_check("sigmoid", op_class, seed)


def check_linear(op_class, seed=None):
    """Check a ``Linear()`` (identity) class: forward and ``_input_grad``."""
    __tracebackhide__ = True
    run_check("linear", op_class, seed)


def check_mean_squared_error(loss_class, seed=None):
    """Check ``MeanSquaredError().forward(prediction (N, 1), target (N, 1)) -> number``
    and ``_input_grad() -> (N, 1)``."""
    __tracebackhide__ = True
    run_check("mean_squared_error", loss_class, seed)


def check_dense(layer_class, seed=None):
    """Check ``Dense(neurons, activation)``: set-up (params [W (D, H), b (1, H)] shared with
    the operations, seeded), forward input (N, D) -> (N, H), backward and param_grads."""
    __tracebackhide__ = True
    run_check("dense", layer_class, seed)


def check_neural_network(make_network, seed=None):
    """Check ``make_network()`` (a fresh network ending in one output neuron): forward,
    ``train_batch(X (N, D), y (N, 1)) -> loss`` and ``param_grads()`` vs numerical ones."""
    __tracebackhide__ = True
    run_check("neural_network", make_network, seed)


def check_sgd(sgd_class, seed=None):
    """Check ``SGD(lr).step()``: every ``net.params()`` array moves by -lr * grad, in place."""
    __tracebackhide__ = True
    run_check("sgd", sgd_class, seed)


def check_trainer(trainer_class, seed=None):
    """Check ``Trainer(net, optim).fit(...)``: shuffling, batches, one step per batch,
    validation every ``eval_every`` epochs, early stop and the deep copy it keeps."""
    __tracebackhide__ = True
    run_check("trainer", trainer_class, seed)
