"""The layer-check table: one row per forward/backward exercise.

Every row is a :class:`~nn_utils._spec.LayerSpec`; :func:`register_layer` turns
it into a check (plan / probe / judge) that ``nn_utils.check_<name>`` runs.
The probe (``_layer_probe``) and judge (``_layer_judge``) are shared by all
rows, so adding a layer means adding a row, never a new check function.

How to add a row (e.g. a ``Sigmoid`` of a numpy mini-framework)::

    SIGMOID = register_layer(LayerSpec(
        name="sigmoid",                        # check name; add it to _catalogue.py
        args=(Arg("inputs", ("N", "H")),),     # forward's arguments, symbolic shapes
        dims={"N": 7, "H": 5},                 # distinct primes: transposes cannot pass
        out_shape=("N", "H"),                  # () for a loss that returns one number
        returns=("inputs",),                   # backward's return order; None = no gradient
        step=SMOOTH,                           # LINEAR, kink(margin) or SMOOTH
        setup=lambda cls, a: cls(),            # the student passed a class: a fresh object
        fingerprints=(Fingerprint("bug_id", "inputs", lambda ctx: ..., "hint"),),
    ))

and its reference maths -- teacher side only -- as a row of
``autograder/reference/layers.py``; ``autograder release`` then publishes the
expected values at the published seeds into ``nn_utils/cases/``.

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
whose ``backward()`` is called with no argument (the contract; a random d_out
is tried too, and ignoring it passes with a note); ``variants`` for extra
forward calls (e.g. +1000 on logits); ``hints`` for the message when no
fingerprint matches.  Generic fingerprints (sign, d_out ignored, x N, / N,
transpose, d_out unchanged, zeros) apply to every row; list only the
layer-specific ones.  A fingerprint is a transform of the expected values in
``ctx`` and a hint names the idea, never a line of the solution.
``TABLE[name].with_dims(...)`` gives the row at other sizes.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ._layer_judge import judge_layer
from ._layer_probe import probe_layer
from ._runner import Check, register
from ._spec import LINEAR, SMOOTH, Arg, Fingerprint, LayerSpec, Step, Variant, kink, make_plan

__all__ = ["LayerSpec", "Arg", "Fingerprint", "Variant", "Step", "LINEAR", "SMOOTH", "kink",
           "register_layer", "layer_check", "AFFINE", "RELU", "CROSS_ENTROPY", "TABLE"]

#: every registered row, by check name
TABLE: dict[str, LayerSpec] = {}


def layer_check(spec: LayerSpec) -> Check:
    """The plan/probe/judge of one row (not registered)."""
    return Check(spec.name, plan=partial(make_plan, spec), probe=partial(probe_layer, spec),
                 judge=partial(judge_layer, spec))


def register_layer(spec: LayerSpec) -> LayerSpec:
    """Add a row to the table and register its check under ``spec.name``."""
    TABLE[spec.name] = spec
    register(layer_check(spec))
    return spec


# --- affine ---------------------------------------------------------------

AFFINE = register_layer(LayerSpec(
    name="affine",
    args=(Arg("inputs", ("N", "D")), Arg("weight", ("D", "H")), Arg("bias", ("H",))),
    dims={"N": 13, "D": 7, "H": 5},
    out_shape=("N", "H"),
    returns=("inputs", "weight", "bias"),
    fingerprints=(
        Fingerprint("forgot_bias", "out", lambda c: c.out - c.arrays["bias"],
                    "the bias is missing: it is added to every row of the output"),
        Fingerprint("transposed_d_weight", "weight", lambda c: c.ref.T,
                    "d_weight looks transposed: it must have the weight's shape (D, H)"),
        Fingerprint("d_weight_from_output", "weight", lambda c: c.out.T @ c.d_out,
                    "d_weight uses the forward output: it depends on the forward inputs "
                    "(keep them from forward) and on d_out"),
        Fingerprint("transposed_d_inputs", "inputs", lambda c: c.ref.T,
                    "d_inputs looks transposed: it must have the shape of inputs (N, D)"),
        Fingerprint("d_bias_mean", "bias", lambda c: c.ref / c.dims["N"],
                    "d_bias is the SUM of d_out over the batch (axis 0), not the mean"),
        Fingerprint("d_bias_wrong_axis", "bias", lambda c: c.d_out.sum(axis=1),
                    "that reduces over the output units; reduce over the batch axis instead"),
        Fingerprint("d_bias_one_row", "bias", lambda c: c.d_out[0],
                    "d_bias uses one row of d_out only: every row of the batch contributes"),
        Fingerprint("d_bias_not_summed", "bias", lambda c: c.d_out,
                    "d_bias must have the bias's shape (H,): each bias entry is added to every "
                    "row, so its gradient collects d_out from all of them"),
    ),
    hints={"out": "out has shape (N, H): the inputs times the weights, plus the bias",
           "inputs": "chain rule: d_inputs depends on d_out and the weights, and has the "
                     "shape of inputs (N, D)",
           "weight": "chain rule: d_weight depends on the forward inputs and d_out, and has "
                     "the weight's shape (D, H)",
           "bias": "d_bias has the bias's shape (H,): each bias entry affects every row of "
                   "the output"},
))


# --- ReLU -----------------------------------------------------------------

_MARGIN = 0.1  # inputs keep |x| >= 0.1, so neither the step nor the convention at 0 matters


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
    return None if slope is None else c.out + slope * (x - c.out)


def _leaky_backward(c):
    x, d = c.arrays["inputs"], np.asarray(c.d_out)
    slope = _leaky_slope(x, np.asarray(c.got) * x / d)
    return None if slope is None else c.ref + slope * (d - c.ref)


RELU = register_layer(LayerSpec(
    name="relu",
    args=(Arg("inputs", ("N", "H"), sample="away_from_zero"),),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    returns=("inputs",),
    step=kink(_MARGIN),
    fingerprints=(
        Fingerprint("relu_abs", "out", lambda c: np.abs(c.arrays["inputs"]),
                    "that is |x|: ReLU keeps positive values and sets negative ones to 0"),
        Fingerprint("relu_min", "out", lambda c: np.minimum(c.arrays["inputs"], 0),
                    "that keeps the negative part: ReLU keeps the positive part"),
        Fingerprint("relu_identity", "out", lambda c: c.arrays["inputs"],
                    "negative inputs must become 0"),
        Fingerprint("leaky_relu", "out", _leaky_forward,
                    "that is a leaky ReLU: negative inputs must give exactly 0"),
        Fingerprint("relu_forgets_d_out", "inputs", lambda c: c.ref / c.d_out,
                    "that is only ReLU's local derivative: multiply it by the incoming "
                    "gradient d_out (chain rule)"),
        Fingerprint("relu_mask_from_d_out", "inputs",
                    lambda c: c.d_out * (c.d_out > 0),
                    "which entries pass must depend on the forward inputs, not on d_out"),
        Fingerprint("relu_wrong_sign_mask", "inputs", lambda c: c.d_out - c.ref,
                    "the mask is inverted: the gradient flows where the input was positive"),
        Fingerprint("relu_abs", "inputs", lambda c: 2 * c.ref - c.d_out,
                    "that is the derivative of |x|: ReLU's derivative is 0 for negative inputs"),
        Fingerprint("leaky_relu", "inputs", _leaky_backward,
                    "that is a leaky ReLU's gradient: it must be exactly 0 for negative inputs"),
    ),
    hints={"out": "ReLU keeps positive inputs and replaces negative ones by 0",
           "inputs": "chain rule: d_inputs is d_out times ReLU's local derivative, which "
                     "depends on the sign of the forward inputs"},
))


# --- categorical cross-entropy --------------------------------------------

def _ce_grad_probs(c):
    # the gradient w.r.t. the probabilities, rebuilt from the expected d_logits
    n, d, labels = c.dims["N"], float(c.d_out), c.arrays["labels"]
    probs = c.ref * n / d + labels
    return -d * labels / probs / n


_NO_SHIFT = ("subtract each row's maximum logit before np.exp (softmax is unchanged, "
             "and exp no longer overflows)")

CROSS_ENTROPY = register_layer(LayerSpec(
    name="cross_entropy",
    args=(Arg("logits", ("N", "K"), sample="logits"),
          Arg("labels", ("N", "K"), sample="one_hot", grad=False)),
    dims={"N": 11, "K": 7},
    out_shape=(), out_name="the loss",
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
        Fingerprint("per_sample_loss", "out", lambda c: c.extras["per_sample"],
                    "return one number, the mean loss over the batch, not one loss per sample"),
        Fingerprint("softmax_wrong_axis", "out", lambda c: c.extras["loss_batch_axis"],
                    "softmax must normalise over the classes (axis=1), not over the batch"),
        Fingerprint("softmax_wrong_axis", "logits",
                    lambda c: float(c.d_out) * c.extras["grad_batch_axis"],
                    "softmax must normalise over the classes (axis=1), not over the batch"),
        Fingerprint("gradient_wrt_probabilities", "logits", _ce_grad_probs,
                    "that is the gradient w.r.t. the probabilities: differentiate through "
                    "the softmax too (the gradient w.r.t. the logits is much simpler)"),
    ),
    hints={"out": "the loss is one number: the mean over the N samples of minus the log "
                  "of the probability given to the true class",
           "logits": "d_logits has the shape of logits (N, K) and depends on the softmax "
                     "probabilities, the labels and the batch size N"},
))
