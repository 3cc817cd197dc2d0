"""The layer-check table: one row per forward/backward exercise.

Every row is a :class:`~nn_utils._spec.LayerSpec`; :func:`register_layer` turns
it into a check (plan / probe / judge) that ``nn_utils.check_<name>`` runs.
The probe (``_layer_probe``) and judge (``_layer_judge``) are shared by all
rows, so adding a layer means adding a row, never a new check function.

How to add a row (e.g. a ``Sigmoid`` of a numpy mini-framework)::

    def _sigmoid(a):
        return 1 / (1 + np.exp(-a["inputs"]))

    SIGMOID = register_layer(LayerSpec(
        name="sigmoid",                        # check name; add it to _catalogue.py
        args=(Arg("inputs", ("N", "H")),),     # forward's arguments, symbolic shapes
        dims={"N": 7, "H": 5},                 # distinct primes: transposes cannot pass
        out_shape=("N", "H"),                  # () for a loss that returns one number
        reference=_sigmoid,                    # float64 maths, judge side only
        reference_grad=lambda a, d: {"inputs": d * _sigmoid(a) * (1 - _sigmoid(a))},
        returns=("inputs",),                   # backward's return order; None = no gradient
        step=SMOOTH,                           # LINEAR, kink(margin) or SMOOTH
        setup=lambda cls, a: cls(),            # the student passed a class: a fresh object
        fingerprints=(Fingerprint("bug_id", "inputs", lambda ctx: ..., "hint"),),
    ))

Adapters, when the exercise's calling convention is not ``obj.forward(*args)``
/ ``obj.backward(d_out) -> grads in `returns` order``:

* ``setup(student, arrays) -> obj`` builds the object for one forward+backward,
  e.g. a parameter given to the constructor:
  ``setup=lambda cls, a: cls(a["weight"])`` with ``Arg("weight", ("D", "H"))``;
* ``forward(obj, arrays) -> out``, e.g. ``lambda op, a: op.forward(a["inputs"])``;
* ``backward(obj, d_out) -> tuple``, e.g. a parameter gradient kept on the
  object: ``lambda op, d: (op.backward(d), op.param_grad)`` with
  ``returns=("inputs", "weight")``; a loss whose ``backward()`` takes no
  argument: ``lambda op, d: d * op.backward()``.

Other fields: ``Arg(sample=...)`` picks a sampler ("normal", "away_from_zero"
for kinks, "one_hot", "logits", "positive" or a function); ``Arg(grad=False)``
for inputs without a gradient (labels, targets); ``default_d_out`` for losses
whose ``backward()`` is also called with no argument; ``variants`` for extra
forward calls (e.g. +1000 on logits); ``hints`` for the message when no
fingerprint matches.  Generic fingerprints (sign, d_out ignored, x N, / N,
transpose, d_out unchanged, zeros) apply to every row; list only the
layer-specific ones.  ``TABLE[name].with_dims(...)`` gives the row at other
sizes.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ._layer_judge import judge_layer
from ._layer_probe import probe_layer
from ._runner import Check, register
from ._spec import (LINEAR, SMOOTH, Arg, Fingerprint, LayerSpec, Step, Variant, kink,
                    make_plan)

__all__ = ["LayerSpec", "Arg", "Fingerprint", "Variant", "Step", "LINEAR", "SMOOTH", "kink",
           "register_layer", "layer_check", "AFFINE", "RELU", "CROSS_ENTROPY", "TABLE"]

#: every registered row, by check name
TABLE: dict[str, LayerSpec] = {}


def layer_check(spec: LayerSpec) -> Check:
    """The plan/probe/judge triple of one row (not registered)."""
    return Check(spec.name, plan=partial(make_plan, spec), probe=partial(probe_layer, spec),
                 judge=partial(judge_layer, spec))


def register_layer(spec: LayerSpec) -> LayerSpec:
    """Add a row to the table and register its check under ``spec.name``."""
    TABLE[spec.name] = spec
    register(layer_check(spec))
    return spec


# --- affine ---------------------------------------------------------------

def _affine(a):
    return a["inputs"] @ a["weight"] + a["bias"]


def _affine_grad(a, d):
    d = np.asarray(d, dtype=np.float64)
    return {"inputs": d @ a["weight"].T, "weight": a["inputs"].T @ d, "bias": d.sum(axis=0)}


AFFINE = register_layer(LayerSpec(
    name="affine",
    args=(Arg("inputs", ("N", "D")), Arg("weight", ("D", "H")), Arg("bias", ("H",))),
    dims={"N": 13, "D": 7, "H": 5},
    out_shape=("N", "H"),
    reference=_affine, reference_grad=_affine_grad,
    returns=("inputs", "weight", "bias"),
    fingerprints=(
        Fingerprint("forgot_bias", "out", lambda c: c.arrays["inputs"] @ c.arrays["weight"],
                    "the bias is missing: out = inputs @ weight + bias"),
        Fingerprint("transposed_d_weight", "weight", lambda c: c.ref.T,
                    "d_weight looks transposed: use inputs.T @ d_out (shape (D, H))"),
        Fingerprint("d_weight_from_output", "weight",
                    lambda c: (c.arrays["inputs"] @ c.arrays["weight"]
                               + c.arrays["bias"]).T @ c.d_out,
                    "d_weight uses the forward output: it needs the forward inputs, "
                    "inputs.T @ d_out"),
        Fingerprint("transposed_d_inputs", "inputs", lambda c: c.ref.T,
                    "d_inputs looks transposed: use d_out @ weight.T (shape (N, D))"),
        Fingerprint("d_bias_mean", "bias", lambda c: c.ref / c.dims["N"],
                    "d_bias is the SUM of d_out over the batch (axis 0), not the mean"),
        Fingerprint("d_bias_wrong_axis", "bias", lambda c: c.d_out.sum(axis=1),
                    "sum d_out over the batch axis: d_out.sum(axis=0)"),
        Fingerprint("d_bias_one_row", "bias", lambda c: c.d_out[0],
                    "d_bias uses one row of d_out only: sum over all rows, d_out.sum(axis=0)"),
        Fingerprint("d_bias_not_summed", "bias", lambda c: c.d_out,
                    "d_bias must be summed over the batch: d_out.sum(axis=0)"),
    ),
    hints={"out": "out = inputs @ weight + bias",
           "inputs": "d_inputs = d_out @ weight.T", "weight": "d_weight = inputs.T @ d_out",
           "bias": "d_bias = d_out.sum(axis=0)"},
))


# --- ReLU -----------------------------------------------------------------

_MARGIN = 0.1  # inputs keep |x| >= 0.1, so neither the step nor the convention at 0 matters


def _relu_grad(a, d):
    return {"inputs": np.asarray(d, dtype=np.float64) * (a["inputs"] > 0)}


def _leaky_slope(x, values):
    """The slope a leaky ReLU would have on the negative side, or None."""
    neg = x < 0
    if not np.any(neg):
        return None
    slope = np.median(np.asarray(values)[neg] / x[neg])
    # slope 1 is the identity (d_out passed through), named by another fingerprint
    return None if abs(slope) < 1e-6 or abs(slope - 1) < 1e-3 else slope


def _leaky_forward(c):
    x = c.arrays["inputs"]
    slope = _leaky_slope(x, c.got)
    return None if slope is None else np.where(x > 0, x, slope * x)


def _leaky_backward(c):
    x, d = c.arrays["inputs"], np.asarray(c.d_out)
    slope = _leaky_slope(x, np.asarray(c.got) * x / d)
    return None if slope is None else d * np.where(x > 0, 1.0, slope)


RELU = register_layer(LayerSpec(
    name="relu",
    args=(Arg("inputs", ("N", "H"), sample="away_from_zero"),),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    reference=lambda a: np.maximum(a["inputs"], 0.0), reference_grad=_relu_grad,
    returns=("inputs",),
    step=kink(_MARGIN),
    fingerprints=(
        Fingerprint("relu_abs", "out", lambda c: np.abs(c.arrays["inputs"]),
                    "that is |x|: ReLU keeps positive values and sets negative ones to 0"),
        Fingerprint("relu_min", "out", lambda c: np.minimum(c.arrays["inputs"], 0),
                    "that keeps the negative part: use np.maximum(inputs, 0)"),
        Fingerprint("relu_identity", "out", lambda c: c.arrays["inputs"],
                    "negative inputs must become 0: np.maximum(inputs, 0)"),
        Fingerprint("leaky_relu", "out", _leaky_forward,
                    "that is a leaky ReLU: negative inputs must give exactly 0"),
        Fingerprint("relu_forgets_d_out", "inputs",
                    lambda c: (c.arrays["inputs"] > 0).astype(float),
                    "that is only the mask (inputs > 0): multiply it by d_out"),
        Fingerprint("relu_mask_from_d_out", "inputs",
                    lambda c: c.d_out * (c.d_out > 0),
                    "the mask must come from the forward inputs (inputs > 0), not from d_out"),
        Fingerprint("relu_wrong_sign_mask", "inputs",
                    lambda c: c.d_out * (c.arrays["inputs"] < 0),
                    "the mask is inverted: pass d_out where inputs > 0, zero elsewhere"),
        Fingerprint("relu_abs", "inputs", lambda c: c.d_out * np.sign(c.arrays["inputs"]),
                    "that is the derivative of |x|: ReLU's derivative is 0 for negative inputs"),
        Fingerprint("leaky_relu", "inputs", _leaky_backward,
                    "that is a leaky ReLU's gradient: it must be exactly 0 for negative inputs"),
    ),
    hints={"out": "out = np.maximum(inputs, 0)", "inputs": "d_inputs = d_out * (inputs > 0)"},
))


# --- categorical cross-entropy --------------------------------------------

def _softmax(logits, axis=1):
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(logits, axis=1):
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _ce(a):
    return float(-np.sum(a["labels"] * _log_softmax(a["logits"])) / len(a["logits"]))


def _ce_grad(a, d):
    n = len(a["logits"])
    return {"logits": float(d) * (_softmax(a["logits"]) - a["labels"]) / n}


def _ce_batch_axis(c):
    n = len(c.arrays["logits"])
    return float(-np.sum(c.arrays["labels"] * _log_softmax(c.arrays["logits"], axis=0)) / n)


def _ce_grad_batch_axis(c):
    n = len(c.arrays["logits"])
    return float(c.d_out) * (_softmax(c.arrays["logits"], axis=0) - c.arrays["labels"]) / n


def _ce_grad_probs(c):
    n = len(c.arrays["logits"])
    return -float(c.d_out) * c.arrays["labels"] / _softmax(c.arrays["logits"]) / n


_NO_SHIFT = ("subtract each row's maximum logit before np.exp (softmax is unchanged, "
             "and exp no longer overflows)")

CROSS_ENTROPY = register_layer(LayerSpec(
    name="cross_entropy",
    args=(Arg("logits", ("N", "K"), sample="logits"),
          Arg("labels", ("N", "K"), sample="one_hot", grad=False)),
    dims={"N": 11, "K": 7},
    out_shape=(), out_name="the loss",
    reference=_ce, reference_grad=_ce_grad,
    returns=("logits", None),
    step=SMOOTH,
    default_d_out=1.0,
    variants=(
        Variant("offset", lambda a: {**a, "logits": a["logits"] + 1000.0},
                "when 1000 is added to every logit (the loss must not change)",
                "no_max_shift", _NO_SHIFT),
    ),
    fingerprints=(
        Fingerprint("loss_summed", "out", lambda c: c.ref * c.dims["N"],
                    "the loss is summed over the batch: return the mean (divide by N)"),
        Fingerprint("loss_mean_over_NK", "out", lambda c: c.ref / c.dims["K"],
                    "the loss is averaged over N*K entries: sum over classes, mean over samples"),
        Fingerprint("per_sample_loss", "out",
                    lambda c: -np.sum(c.arrays["labels"] * _log_softmax(c.arrays["logits"]),
                                      axis=1),
                    "return one number, the mean loss over the batch, not one loss per sample"),
        Fingerprint("softmax_wrong_axis", "out", _ce_batch_axis,
                    "softmax must normalise over the classes (axis=1), not over the batch"),
        Fingerprint("softmax_wrong_axis", "logits", _ce_grad_batch_axis,
                    "softmax must normalise over the classes (axis=1), not over the batch"),
        Fingerprint("gradient_wrt_probabilities", "logits", _ce_grad_probs,
                    "that is the gradient w.r.t. the probabilities; w.r.t. the logits it is "
                    "(probs - labels) / N * d_out"),
    ),
    hints={"out": "loss = -sum(labels * log(softmax(logits))) / N",
           "logits": "d_logits = (softmax(logits) - labels) / N * d_out"},
))
