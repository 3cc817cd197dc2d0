"""The layer-check table: one row per forward/backward exercise.

Every row is a :class:`~nn_utils.engine.LayerSpec`; :func:`register_layer` turns
it into a check (plan / probe / judge) that ``nn_utils.check_<name>`` runs.
The probe and judge (``nn_utils.engine``'s ``probe_layer``/``judge_layer``) are
shared by all rows, so adding a layer means adding a row, never a new check
function: ``nn_utils.check_<name>`` is derived from the registered row (see
``docs/adding-an-exercise.md`` for a worked example).

How to add a row (e.g. a ``Sigmoid`` of a numpy mini-framework)::

    SIGMOID = register_layer(LayerSpec(
        name="sigmoid",                        # check name: nn_utils.check_sigmoid
        doc="Check a ``Sigmoid`` class: ...",  # the docstring of the check
        args=(Arg("inputs", ("N", "H")),),     # forward's arguments, symbolic shapes
        dims={"N": 7, "H": 5},                 # distinct primes: transposes cannot pass
        out_shape=("N", "H"),                  # () for a loss that returns one number
        returns=("inputs",),                   # backward's return order; None = no gradient
        step=SMOOTH,                           # LINEAR, kink(margin) or SMOOTH
        setup=lambda cls, a: cls(),            # the student passed a class: a fresh object
        fingerprints=(Fingerprint("bug_id", "inputs", lambda ctx: ..., "hint"),),
    ))

and its reference maths -- teacher side only -- as a row of
``autograder/reference/layers.py``; ``python -m autograder.reference`` (and
``autograder release``) then publishes the expected values at the published
seeds into ``nn_utils/cases/``.  ``hyper=fn(rng) -> {setting: value}`` draws a
class's constructor settings (``setup`` receives them with the arrays), and a
size in ``dims`` may be ``fn(dims, hyper)`` (a convolution's output size).

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

from ..engine import (
    LINEAR,
    MUTATION_HINT,
    SAMPLERS,
    SMOOTH,
    Arg,
    Check,
    Fingerprint,
    LayerSpec,
    Step,
    Variant,
    Verdict,
    as_array,
    call,
    d_out_sample,
    failed,
    judge_layer,
    kink,
    make_plan,
    passed,
    probe_layer,
    register,
    rel_error,
)

__all__ = ["LayerSpec", "Arg", "Fingerprint", "Variant", "Step", "LINEAR", "SMOOTH", "kink",
           "register_layer", "layer_check", "AFFINE", "RELU", "CROSS_ENTROPY", "TABLE"]

#: every registered row, by check name
TABLE: dict[str, LayerSpec] = {}


def layer_check(spec: LayerSpec) -> Check:
    """The plan/probe/judge of one row (not registered)."""
    return Check(spec.name, plan=partial(make_plan, spec), probe=partial(probe_layer, spec),
                 judge=partial(judge_layer, spec), doc=spec.doc)


def register_layer(spec: LayerSpec) -> LayerSpec:
    """Add a row to the table and register its check under ``spec.name``."""
    TABLE[spec.name] = spec
    register(layer_check(spec))
    return spec


# --- affine ---------------------------------------------------------------

AFFINE = register_layer(LayerSpec(
    name="affine",
    doc="""Check ``affine.forward(inputs, weight, bias)`` and ``affine.backward(d_out)``.

    Shapes: inputs (N, D), weight (D, H), bias (H,) -> out (N, H);
    backward returns (d_inputs (N, D), d_weight (D, H), d_bias (H,)).
    """,
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
    doc="""Check ``relu.forward(inputs)`` and ``relu.backward(d_out)`` (any shape).""",
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
    doc="""Check ``forward(logits (N, K), labels one-hot (N, K)) -> mean loss`` and
    ``backward(d_out=1.0) -> (d_logits (N, K), None)``.""",
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


# --- the rows below take the CLASS: each builds its own objects ------------

def _uniform(low, high):
    """A hyper-parameter drawn in [low, high): never the constructor's default."""
    return lambda rng: float(rng.uniform(low, high))


def _where_negative(c, value_neg, value_pos=None):
    """``value_neg`` where the forward input was negative, the expected value elsewhere."""
    x = c.arrays["inputs"]
    return np.where(x < 0, value_neg, c.ref if value_pos is None else value_pos)


# --- tanh -----------------------------------------------------------------

TANH = register_layer(LayerSpec(
    name="tanh",
    doc="""Check a ``Tanh`` class: ``Tanh().forward(inputs) -> out`` (element-wise, any shape)
    and ``backward(d_out) -> d_inputs`` (the shape of inputs).""",
    args=(Arg("inputs", ("N", "H")),),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    returns=("inputs",),
    step=SMOOTH,
    setup=lambda cls, a: cls(),
    fingerprints=(
        Fingerprint("tanh_grad_from_inputs", "inputs",
                    lambda c: c.d_out * (1 - c.arrays["inputs"] ** 2),
                    "the local derivative is written with tanh's OUTPUT, not with its "
                    "input: keep the output from forward"),
        Fingerprint("tanh_grad_not_squared", "inputs", lambda c: c.d_out * (1 - c.out),
                    "the local derivative uses the square of tanh's output"),
    ),
    hints={"out": "tanh is applied element-wise; the output has the shape of the inputs",
           "inputs": "chain rule: d_inputs is d_out times tanh's local derivative, which "
                     "can be written with the forward output alone"},
))


# --- softmax --------------------------------------------------------------

SOFTMAX = register_layer(LayerSpec(
    name="softmax",
    doc="""Check a ``Softmax`` class: ``Softmax().forward(logits (N, K)) -> probabilities
    (N, K)`` (each row sums to 1) and ``backward(d_out (N, K)) -> d_logits (N, K)``.""",
    args=(Arg("logits", ("N", "K"), sample="logits"),),
    dims={"N": 11, "K": 7},
    out_shape=("N", "K"), out_name="the probabilities",
    returns=("logits",),
    step=SMOOTH,
    setup=lambda cls, a: cls(),
    variants=(
        Variant("offset", lambda a: {**a, "logits": a["logits"] + 1000.0},
                "when 1000 is added to every logit (the probabilities must not change)",
                "no_max_shift", _NO_SHIFT),
    ),
    fingerprints=(
        Fingerprint("softmax_wrong_axis", "out", lambda c: c.extras["out_batch_axis"],
                    "softmax must normalise over the classes (axis=1), not over the batch"),
        Fingerprint("softmax_diagonal_only", "logits",
                    lambda c: c.d_out * c.out * (1 - c.out),
                    "that keeps only the diagonal of softmax's Jacobian: each probability "
                    "depends on every logit of its row, so d_logits mixes all of d_out's row"),
        Fingerprint("softmax_sum_wrong_axis", "logits", lambda c: c.extras["grad_batch_axis"],
                    "the sum in the backward runs over the classes of each row (axis=1), "
                    "not over the batch"),
    ),
    hints={"out": "each row of probabilities is exp(logits) normalised to sum to 1 over "
                  "the classes",
           "logits": "chain rule through the whole Jacobian: d_logits depends on the "
                     "probabilities and on all of d_out's row"},
))


# --- leaky ReLU -----------------------------------------------------------

_DEFAULT_ALPHA = 0.01

LEAKY_RELU = register_layer(LayerSpec(
    name="leaky_relu",
    doc="""Check a ``LeakyReLU`` class: ``LeakyReLU(alpha=0.01).forward(inputs) -> out``
    (element-wise, any shape) and ``backward(d_out) -> d_inputs``; the check uses
    other values of alpha than the default.""",
    args=(Arg("inputs", ("N", "H"), sample="away_from_zero"),),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    returns=("inputs",),
    step=kink(_MARGIN),
    hyper=lambda rng: {"alpha": _uniform(0.05, 0.3)(rng)},
    setup=lambda cls, a: cls(alpha=a["alpha"]),
    fingerprints=(
        Fingerprint("alpha_ignored", "out",
                    lambda c: _where_negative(c, c.out * _DEFAULT_ALPHA / c.hyper["alpha"]),
                    "use the alpha given to the constructor (this check passes other "
                    "values than the default)"),
        Fingerprint("relu_not_leaky", "out", lambda c: _where_negative(c, 0.0),
                    "negative inputs are multiplied by alpha, not set to 0"),
        Fingerprint("alpha_on_positive_side", "out",
                    lambda c: _where_negative(c, c.out / c.hyper["alpha"],
                                              c.out * c.hyper["alpha"]),
                    "alpha scales the NEGATIVE inputs; positive inputs pass unchanged"),
        Fingerprint("alpha_ignored", "inputs",
                    lambda c: _where_negative(c, c.ref * _DEFAULT_ALPHA / c.hyper["alpha"]),
                    "use the alpha given to the constructor in backward too"),
        Fingerprint("relu_not_leaky", "inputs", lambda c: _where_negative(c, 0.0),
                    "negative inputs still pass a gradient, scaled by alpha"),
        Fingerprint("alpha_on_positive_side", "inputs",
                    lambda c: _where_negative(c, c.ref / c.hyper["alpha"],
                                              c.ref * c.hyper["alpha"]),
                    "alpha scales the gradient of the NEGATIVE inputs; elsewhere d_out "
                    "passes unchanged"),
    ),
    hints={"out": "positive inputs pass unchanged, negative ones are multiplied by alpha",
           "inputs": "chain rule: d_out times the local slope, which depends on the sign of "
                     "the forward inputs and on alpha"},
))


# --- batch normalisation --------------------------------------------------

def _batch(rng, shape):
    # each feature with a mean and a spread of its own: normalising must be per column
    n, d = shape
    return rng.uniform(-2, 2, d) + rng.uniform(0.5, 2.5, d) * rng.standard_normal((n, d))


def _bn_running(obj, a):
    """The running averages after one training forward, stacked (2, D)."""
    obj.forward(a["inputs"], a["gamma"], a["beta"])
    return np.stack([np.asarray(obj.running_mean, dtype=np.float64).reshape(-1),
                     np.asarray(obj.running_var, dtype=np.float64).reshape(-1)])


def _bn_test_mode(obj, a):
    """A test-mode forward on another batch, after one training forward."""
    obj.forward(a["inputs"], a["gamma"], a["beta"])
    return obj.forward(a["test_inputs"], a["gamma"], a["beta"], train=False)


_BN_SWAPPED = ("the running average keeps momentum times the OLD value and adds "
               "(1 - momentum) times the batch statistic")

BATCHNORM = register_layer(LayerSpec(
    name="batchnorm",
    doc="""Check a ``BatchNorm`` class: ``BatchNorm(eps=1e-5, momentum=0.9)``;
    ``forward(inputs (N, D), gamma (D,), beta (D,), train=True) -> out (N, D)`` with the
    batch mean and biased variance, running averages (``running_mean``, ``running_var``,
    (D,)) used when ``train=False``; ``backward(d_out) -> (d_inputs, d_gamma, d_beta)``.
    The check uses other values of eps and momentum than the defaults.""",
    args=(Arg("inputs", ("N", "D"), sample=_batch), Arg("gamma", ("D",), sample="positive"),
          Arg("beta", ("D",))),
    dims={"N": 13, "D": 7},
    out_shape=("N", "D"),
    returns=("inputs", "gamma", "beta"),
    step=SMOOTH,
    hyper=lambda rng: {"eps": _uniform(0.02, 0.1)(rng), "momentum": _uniform(0.5, 0.8)(rng)},
    setup=lambda cls, a: cls(eps=a["eps"], momentum=a["momentum"]),
    variants=(
        Variant("running", lambda a: a,
                "in running_mean and running_var after one training forward",
                "running_average_wrong", _BN_SWAPPED, forward=_bn_running),
        Variant("test_mode", lambda a: {**a, "test_inputs": 0.5 * a["inputs"][::-1] + 1.0},
                "in a forward with train=False after one training forward",
                "test_mode_wrong", "with train=False, normalise with the running averages "
                "(and eps), not with the statistics of the batch", forward=_bn_test_mode),
    ),
    fingerprints=(
        Fingerprint("unbiased_variance", "out", lambda c: c.extras["out_unbiased"],
                    "the batch variance is the biased one: divide by N, not N - 1"),
        Fingerprint("eps_ignored", "out", lambda c: c.extras["out_default_eps"],
                    "use the eps given to the constructor (this check passes other values "
                    "than the default)"),
        Fingerprint("eps_outside_sqrt", "out", lambda c: c.extras["out_eps_outside"],
                    "eps is added to the variance, under the square root"),
        Fingerprint("running_average_swapped", "variant:running",
                    lambda c: c.extras["running_swapped"], _BN_SWAPPED),
        Fingerprint("momentum_ignored", "variant:running",
                    lambda c: c.extras["running_default_momentum"],
                    "use the momentum given to the constructor (this check passes other "
                    "values than the default)"),
        Fingerprint("running_not_updated", "variant:running",
                    lambda c: c.extras["running_initial"],
                    "update running_mean and running_var in every training forward"),
        Fingerprint("test_mode_batch_statistics", "variant:test_mode",
                    lambda c: c.extras["test_batch_statistics"],
                    "with train=False, normalise with the running averages, not with the "
                    "statistics of the batch"),
        Fingerprint("backward_ignores_mean_path", "inputs",
                    lambda c: c.extras["d_inputs_no_mean_path"],
                    "the batch mean depends on every input too: its path adds a term to "
                    "d_inputs (the columns of d_inputs sum to zero)"),
        Fingerprint("backward_ignores_variance_path", "inputs",
                    lambda c: c.extras["d_inputs_no_variance_path"],
                    "the batch variance depends on every input too: its path adds a term "
                    "to d_inputs"),
        Fingerprint("backward_statistics_constant", "inputs",
                    lambda c: c.extras["d_inputs_constant_statistics"],
                    "the batch mean and variance depend on the inputs: differentiate through "
                    "them, not only through the normalised value"),
        Fingerprint("d_gamma_from_inputs", "gamma", lambda c: c.extras["d_gamma_raw"],
                    "gamma multiplies the NORMALISED inputs: d_gamma uses them, not the raw "
                    "inputs"),
    ),
    hints={"out": "normalise each feature (column) with the batch mean and variance, then "
                  "scale by gamma and shift by beta",
           "inputs": "d_inputs has three paths: through the normalised value, the batch "
                     "mean and the batch variance",
           "gamma": "d_gamma has gamma's shape (D,): d_out times the normalised inputs, "
                    "collected over the batch",
           "beta": "d_beta has beta's shape (D,): beta is added to every row"},
))


# --- dropout: random, so judged through self.mask and statistics ------------

_DROPOUT_SIZE = (64, 40)   # 2,560 entries: the kept fraction is within 0.01 of 1 - rate


def _dropout_plan(seed: int) -> dict:
    """A rate away from 0.5 (so rate and keep probability differ) and a large input."""
    rng = np.random.default_rng(seed)
    rate = float(rng.choice([-1, 1]) * rng.uniform(0.12, 0.3) + 0.5)
    return {"seed": int(seed), "hyper": {"rate": rate},
            "arrays": {"inputs": SAMPLERS["away_from_zero"](rng, _DROPOUT_SIZE)},
            "d_out": d_out_sample(rng, _DROPOUT_SIZE)}


def _dropout_probe(cls, plan: dict) -> dict:
    """Two training forwards (their masks), backward after each mode, a test-mode forward."""
    x, d_out, rate = plan["arrays"]["inputs"], plan["d_out"], plan["hyper"]["rate"]
    observed: dict = {}
    made = call(cls, rate)
    if "error" in made:
        return {"error": made["error"], "step": f"Dropout({rate:.3g})"}
    obj = made["value"]
    steps = (("forward", lambda: obj.forward(given, train=True)),
             ("mask", lambda: obj.mask),
             ("backward", lambda: obj.backward(d_given)),
             ("forward_again", lambda: obj.forward(given)),
             ("mask_again", lambda: obj.mask),
             ("forward_test", lambda: obj.forward(given, train=False)),
             ("backward_test", lambda: obj.backward(d_given)))
    for name, step in steps:
        given, d_given = np.array(x, copy=True), np.array(d_out, copy=True)
        result = call(step)
        if "error" in result:
            return {**observed, "error": result["error"], "step": name}
        arr, desc = as_array(result["value"])
        observed[name] = {"value": arr, "desc": desc}
        changed = [n for n, a, b in (("inputs", given, x), ("d_out", d_given, d_out))
                   if not np.array_equal(a, b)]
        if changed:
            return {**observed, "mutated": changed, "step": name}
    return observed


def _ratio_problem(got, base, keep, scale):
    """None when ``got`` is ``base`` times ``scale`` where kept and 0 elsewhere; else
    (what is wrong, the factor on the kept entries)."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != base.shape:
        return f"has shape {got.shape}, not {base.shape}", None
    factor = float(np.median(got[keep] / base[keep])) if keep.any() else 0.0
    dropped_zero = np.all(got[~keep] == 0)
    if dropped_zero and rel_error(got[keep], base[keep] * scale) <= 1e-4:
        return None
    return ("is not 0 where the mask drops" if not dropped_zero else "is wrong where the "
            "mask keeps"), factor


_SCALE_HINT = ("kept values are divided by (1 - rate), the keep probability, so the "
               "expected value of each output equals its input")


def _dropout_judge(plan: dict, observed: dict, expected: dict) -> Verdict:
    """Relations between output, mask and inputs; the constants come from the teacher."""
    x, d_out = plan["arrays"]["inputs"], np.asarray(plan["d_out"])
    keep_p, scale = expected["keep"], expected["scale"]
    rate = plan["hyper"]["rate"]
    step = observed.get("step", "")
    if "error" in observed:
        return failed("dropout", f"{step} raised an error", where=observed["error"],
                      hint="pass the class itself: nn_utils.check_dropout(Dropout); the mask "
                           "is stored as self.mask" if step == "mask" else
                           "try your code on a small example; the line above is yours",
                      bug="missing_mask" if step == "mask" else f"{step}_error")
    if "mutated" in observed:
        return failed("dropout", f"{step} changed the caller's array in place",
                      where=", ".join(observed["mutated"]), hint=MUTATION_HINT,
                      bug="mutates_inputs")
    mask = observed["mask"]["value"]
    if mask is None or np.shape(mask) != x.shape or not np.all((mask == 0) | (mask == 1)):
        return failed("dropout", "self.mask must be a boolean array shaped like the inputs "
                      "(True = kept)", where=f"got {observed['mask']['desc']}",
                      hint="keep the mask itself in self.mask; the scaling goes into the "
                           "output", bug="mask_not_boolean")
    keep = np.asarray(mask, dtype=bool)
    out = observed["forward"]["value"]
    if out is not None and np.shape(out) == x.shape and keep.any() and not keep.all() \
            and np.all(np.asarray(out)[keep] == 0) and np.all(np.asarray(out)[~keep] != 0):
        return failed("dropout", "forward(inputs, train=True) drops exactly the entries "
                      "self.mask keeps", hint="True in self.mask means KEPT",
                      bug="mask_inverted")
    fraction = float(keep.mean())
    if abs(fraction - keep_p) > 0.06:
        as_keep = abs(fraction - rate) <= 0.06
        return failed("dropout", f"the mask keeps the wrong fraction of the {keep.size} "
                      f"entries (Dropout({rate:.3g}))", expected=keep_p, got=fraction,
                      hint="rate is the probability of DROPPING an entry" if as_keep else
                      "use the rate given to the constructor: each entry is dropped with "
                      "probability rate",
                      bug="rate_as_keep_probability" if as_keep else "wrong_keep_fraction")
    problem = _ratio_problem(observed["forward"]["value"], x, keep, scale)
    if problem:
        what, factor = problem
        named = ((1.0, "no_scale", _SCALE_HINT),
                 (1 / rate, "scale_by_rate", "divide by the keep probability (1 - rate), "
                  "not by rate"),
                 (1 - rate, "scale_at_train_time", _SCALE_HINT))
        bug, hint = next(((b, h) for f, b, h in named
                          if factor is not None and abs(factor - f) <= 1e-4 * f),
                         ("wrong_forward", "the output is the inputs times the mask, "
                          "scaled by 1 / (1 - rate)"))
        return failed("dropout", f"forward(inputs, train=True) {what}",
                      where=f"Dropout({rate:.3g}), inputs {x.shape}", expected=scale,
                      got=factor, hint=hint, bug=bug)
    if observed["mask_again"]["value"] is None or np.array_equal(
            observed["mask_again"]["value"], mask):
        return failed("dropout", "two training forwards used the same mask",
                      hint="draw a new mask in every training forward",
                      bug="mask_reused")
    problem = _ratio_problem(observed["backward"]["value"], d_out, keep, scale)
    if problem:
        what, factor = problem
        no_scale = factor is not None and abs(factor - 1) <= 1e-4
        return failed("dropout", f"backward(d_out) after a training forward {what}",
                      expected=scale, got=factor,
                      hint=_SCALE_HINT + " (backward too)" if no_scale else
                      "backward lets d_out through exactly where forward kept the input, "
                      "with the same scale: use the mask of the last forward",
                      bug="backward_no_scale" if no_scale else "backward_wrong_mask")
    for name, base, call_text in (("forward_test", x, "forward(inputs, train=False)"),
                                  ("backward_test", d_out,
                                   "backward(d_out) after a test-mode forward")):
        got = observed[name]["value"]
        if got is None or np.shape(got) != base.shape or rel_error(got, base) > 1e-4:
            return failed("dropout", f"{call_text} must return its argument unchanged",
                          hint="at test time dropout does nothing: no mask, no scaling",
                          bug="active_in_test_mode")
    return passed("dropout", f"mask, scaling, backward and test mode are right "
                  f"(Dropout({rate:.3g}) on {keep.size} entries, seed {plan['seed']})")


register(Check("dropout", plan=_dropout_plan, probe=_dropout_probe, judge=_dropout_judge,
               doc="""Check a ``Dropout`` class: ``Dropout(rate)`` (the probability of dropping);
    ``forward(inputs, train=True)`` draws a boolean keep-mask into ``self.mask`` and
    returns ``inputs * mask / (1 - rate)``; ``train=False`` returns ``inputs``;
    ``backward(d_out) -> d_inputs`` uses the mask of the last forward."""))
