"""Rows of the layer-check table for Assignment E's numpy framework.

The framework's operations hold their parameter (``WeightMultiply(W)``,
``BiasAdd(B)``) and split backward into ``_input_grad(output_grad)`` and
``_param_grad(output_grad)``; losses take no upstream gradient.  Each row below
is an ordinary :class:`~nn_utils.engine.LayerSpec` whose ``forward``/``backward``
adapters build the student's object and call it, so the shared probe, judge,
fingerprints and numerical-gradient engine do all the checking.  ``Dense``
adds a few set-up facts (parameter shapes, shared arrays, seeding) judged
before its row.

The student passes a *class*: each row's ``setup`` adapter builds a fresh
instance for every forward call, and the matching backward reuses it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import (
    SMOOTH,
    Arg,
    Check,
    Fingerprint,
    LayerSpec,
    as_array,
    call,
    failed,
    judge_layer,
    make_plan,
    probe_layer,
    register,
)
from .layers import register_layer

__all__ = ["FrameworkSpec", "WEIGHT_MULTIPLY", "BIAS_ADD", "SIGMOID", "LINEAR_OP",
           "MEAN_SQUARED_ERROR", "DENSE"]


@dataclass(frozen=True)
class FrameworkSpec(LayerSpec):
    """A table row whose messages show how the framework calls the student's code."""

    call_text: str = ""

    @property
    def signature(self) -> str:
        return self.call_text or super().signature


def _operation(param: str | None) -> dict:
    """setup / forward / backward adapters of an ``Operation`` (``param``: its parameter)."""
    def setup(cls, a):
        return cls(a[param]) if param else cls()

    def backward(op, d_out):
        # The underscore methods, not backward(): the base class would stop a
        # wrongly shaped gradient with an assertion before the judge could name the bug.
        d_input = op._input_grad(d_out)
        return (d_input, op._param_grad(d_out)) if param else d_input
    return {"setup": setup, "forward": lambda op, a: op.forward(a["input"]),
            "backward": backward}


# --- WeightMultiply -------------------------------------------------------

WEIGHT_MULTIPLY = register_layer(FrameworkSpec(
    name="weight_multiply",
    doc="""Check a ``WeightMultiply(W)`` class: input (N, D) @ W (D, H) -> (N, H);
    ``_input_grad(output_grad)`` (N, D) and ``_param_grad(output_grad)`` (D, H).""",
    call_text="WeightMultiply(param).forward(input)",
    args=(Arg("input", ("N", "D")), Arg("param", ("D", "H"))),
    dims={"N": 13, "D": 7, "H": 5},
    out_shape=("N", "H"),
    returns=("input", "param"),
    **_operation("param"),
    fingerprints=(
        Fingerprint("transposed_param_grad", "param", lambda c: c.ref.T,
            "param_grad is transposed: it must have the weight's shape (num_in, num_out)"),
        Fingerprint("param_grad_averaged", "param", lambda c: c.ref / c.dims["N"],
            "do not divide by the batch size here: the matrix product already adds up the "
            "batch, and the loss's gradient carries the 1/N"),
    ),
    hints={"out": "the output has shape (batch, num_out): a matrix product of the input "
                  "with the parameter",
           "input": "chain rule: _input_grad depends on output_grad and the parameter, and "
                    "has the input's shape (batch, num_in)",
           "param": "chain rule: _param_grad depends on the input kept from forward and "
                    "output_grad, and has the parameter's shape (num_in, num_out)"},
))


# --- BiasAdd --------------------------------------------------------------

_SUM_ROWS = "add output_grad up over the batch rows, keeping the bias's shape (1, num_out)"

BIAS_ADD = register_layer(FrameworkSpec(
    name="bias_add",
    doc="""Check a ``BiasAdd(B)`` class: input (N, H) + B (1, H); gradients (N, H) and (1, H).""",
    call_text="BiasAdd(param).forward(input)",
    args=(Arg("input", ("N", "H")), Arg("param", (1, "H"))),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    returns=("input", "param"),
    **_operation("param"),
    fingerprints=(
        Fingerprint("bias_forgotten", "out", lambda c: c.arrays["input"],
            "the bias is not added to the input"),
        Fingerprint("bias_grad_not_summed", "param", lambda c: c.d_out,
            "each bias entry was added to every row, so its gradient is the SUM over the "
            "rows: " + _SUM_ROWS),
        Fingerprint("bias_grad_flat", "param", lambda c: c.ref.reshape(-1),
            "keep the bias's row shape (1, num_out), not a flat vector"),
        Fingerprint("bias_grad_mean", "param", lambda c: c.ref / c.dims["N"],
            "the bias gradient is the sum over the batch, not the mean: " + _SUM_ROWS),
        Fingerprint("bias_grad_wrong_axis", "param", lambda c: c.d_out.sum(axis=1, keepdims=True),
            "that sums over the outputs (axis=1); sum over the batch: " + _SUM_ROWS),
        Fingerprint("bias_grad_wrong_axis", "param", lambda c: c.d_out.sum(axis=1),
            "that sums over the outputs (axis=1); sum over the batch: " + _SUM_ROWS),
        Fingerprint("bias_grad_one_row", "param", lambda c: c.d_out[:1],
            "that is the first row of output_grad only; sum all rows: " + _SUM_ROWS),
    ),
    hints={"out": "the bias row is added to every row of the input",
           "input": "the output moves one for one with each input element: think about what "
                    "that does to output_grad",
           "param": "each bias entry is added to every row: " + _SUM_ROWS},
))


# --- Sigmoid and Linear ---------------------------------------------------

SIGMOID = register_layer(FrameworkSpec(
    name="sigmoid",
    doc="""Check a ``Sigmoid()`` class: element-wise forward and ``_input_grad`` (any 2-D shape).""",
    call_text="Sigmoid().forward(input)",
    args=(Arg("input", ("N", "H"), sample="logits"),),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    returns=("input",),
    step=SMOOTH,
    **_operation(None),
    fingerprints=(
        Fingerprint("sigmoid_exponent_sign", "out", lambda c: 1.0 - c.out,
            "the sign inside the exponent is flipped"),
        Fingerprint("sigmoid_grad_uses_input", "input",
            lambda c: c.d_out * c.arrays["input"] * (1 - c.arrays["input"]),
            "the sigmoid's derivative is written with the sigmoid's OUTPUT (self.output), "
            "not with its input (self.input_)"),
        Fingerprint("sigmoid_grad_missing_factor", "input", lambda c: c.d_out * c.out,
            "a factor of the sigmoid's derivative is missing: it has two factors, both "
            "written with self.output"),
        Fingerprint("sigmoid_grad_missing_factor", "input", lambda c: c.d_out * (1 - c.out),
            "a factor of the sigmoid's derivative is missing: it has two factors, both "
            "written with self.output"),
    ),
    hints={"out": "the logistic function of each input element, between 0 and 1",
           "input": "chain rule: output_grad times the sigmoid's derivative, which can be "
                    "written with the sigmoid's output"},
))

LINEAR_OP = register_layer(FrameworkSpec(
    name="linear",
    doc="""Check a ``Linear()`` (identity) class: forward and ``_input_grad``.""",
    call_text="Linear().forward(input)",
    args=(Arg("input", ("N", "H")),),
    dims={"N": 11, "H": 7},
    out_shape=("N", "H"),
    returns=("input",),
    **_operation(None),
    hints={"out": "Linear is the identity function",
           "input": "the identity's derivative is 1 everywhere: think about what that does "
                    "to output_grad"},
))


# --- MeanSquaredError -----------------------------------------------------

def _mse_backward(loss, d_out):
    # A loss starts backpropagation (its upstream gradient is 1); the row's
    # random d_out is applied here so the shared judge's chain rule holds.
    grad = loss._input_grad()
    arr, _ = as_array(grad)
    return grad if arr is None else arr * d_out


MEAN_SQUARED_ERROR = register_layer(FrameworkSpec(
    name="mean_squared_error",
    doc="""Check ``MeanSquaredError().forward(prediction (N, 1), target (N, 1)) -> number``
    and ``_input_grad() -> (N, 1)``.""",
    call_text="MeanSquaredError().forward(prediction, target)",
    args=(Arg("prediction", ("N", 1)), Arg("target", ("N", 1), grad=False)),
    dims={"N": 13},
    out_shape=(),
    returns=("prediction",),
    step=SMOOTH,
    setup=lambda cls, a: cls(),
    forward=lambda loss, a: loss.forward(a["prediction"], a["target"]),
    backward=_mse_backward,
    fingerprints=(
        Fingerprint("mse_not_averaged", "out", lambda c: c.ref * c.dims["N"],
            "that is the sum of squares: divide by the batch size (or use np.mean)"),
        Fingerprint("mse_root", "out", lambda c: np.sqrt(c.ref),
            "that is the root of the mean squared error: leave out np.sqrt"),
        Fingerprint("mse_halved", "out", lambda c: c.ref / 2,
            "that is half the mean squared error: no factor 1/2 in this loss"),
        Fingerprint("mse_per_sample", "out", lambda c: c.extras["per_sample"],
            "return one number, the mean over the batch, not one error per example"),
        Fingerprint("mse_grad_missing_2", "prediction", lambda c: c.ref / 2,
            "the derivative of a square brings a factor 2: it is missing"),
        Fingerprint("mse_grad_not_averaged", "prediction", lambda c: c.ref * c.dims["N"],
            "the loss divides by N, so its gradient must too"),
        Fingerprint("mse_grad_missing_2_and_n", "prediction", lambda c: c.ref * c.dims["N"] / 2,
            "both the factor 2 (from the square) and the division by N are missing"),
        Fingerprint("mse_grad_sign", "prediction", lambda c: -c.ref,
            "the sign is flipped: differentiate with respect to the prediction"),
    ),
    hints={"out": "one number: the mean over the batch of the squared differences",
           "prediction": "_input_grad has the prediction's shape and depends on prediction, "
                         "target and the batch size N"},
))


# --- Dense ----------------------------------------------------------------

class _StandIn:
    """The activation the Dense check hands the layer: the identity, counting its calls."""

    def __init__(self):
        self.calls = {"forward": 0, "backward": 0}

    def forward(self, input_):
        self.calls["forward"] += 1
        self.input_ = self.output = input_
        return input_

    def backward(self, output_grad):
        self.calls["backward"] += 1
        self.input_grad = output_grad
        return output_grad


def _dense_setup(cls, a):
    layer = cls(neurons=a["W"].shape[1], activation=_StandIn())
    layer.seed = 0
    layer.forward(a["input"])                  # the lazy set-up creates the parameters
    shapes = [np.shape(p) for p in layer.params]
    if shapes != [a["W"].shape, a["B"].shape]:
        raise ValueError(f"layer.params has shapes {shapes}; expected "
                         f"[{a['W'].shape}, {a['B'].shape}] (weights, bias)")
    layer.params[0][...] = a["W"]              # in place: the operations must see it
    layer.params[1][...] = a["B"]
    return layer


def _dense_backward(layer, d_out):
    d_input = layer.backward(d_out)
    grads = list(layer.param_grads) + [None, None]
    return d_input, grads[0], grads[1]


DENSE = FrameworkSpec(
    name="dense",
    doc="""Check ``Dense(neurons, activation)``: set-up (params [W (D, H), b (1, H)] shared with
    the operations, seeded), forward input (N, D) -> (N, H), backward and param_grads.""",
    call_text="Dense(neurons, activation).forward(input)",
    args=(Arg("input", ("N", "D")), Arg("W", ("D", "H")), Arg("B", (1, "H"))),
    dims={"N": 13, "D": 7, "H": 5},
    out_shape=("N", "H"),
    returns=("input", "W", "B"),
    setup=_dense_setup, forward=lambda layer, a: layer.forward(a["input"]),
    backward=_dense_backward,
    fingerprints=(
        Fingerprint("dense_no_bias", "out", lambda c: c.out - c.arrays["B"],
            "the bias is not applied: self.operations needs a BiasAdd between the weight "
            "multiplication and the activation"),
    ),
    hints={"out": "self.operations applies the weights, then the bias, then the activation"},
)


def _dense_plan(seed: int) -> dict:
    return {**make_plan(DENSE, seed), "layer_seeds": [int(seed) % 1000, int(seed) % 1000 + 1]}


def _params_of(cls, plan, layer_seed):
    """Set a fresh layer up with ``layer_seed``; its parameters and structure as plain data."""
    stand_in = _StandIn()
    layer = cls(neurons=DENSE.dims["H"], activation=stand_in)
    layer.seed = layer_seed
    layer.forward(np.array(plan["arrays"]["input"], copy=True))
    params, ops = list(layer.params), list(layer.operations)
    op_params = [getattr(op, "param", None) for op in ops]
    return {"params": [as_array(p)[0] for p in params],
            "shared": [any(p is q for q in op_params) for p in params],
            "activation_last": bool(ops) and ops[-1] is stand_in,
            "activation_calls": stand_in.calls["forward"]}


def _dense_probe(layer_class, plan: dict) -> dict:
    observed = probe_layer(DENSE, layer_class, plan)
    first, other = plan["layer_seeds"]
    setups = [call(_params_of, layer_class, plan, s) for s in (first, other, first)]
    observed["setup"] = [s.get("value", {"error": s.get("error")}) for s in setups]
    return observed


_SETUP = ("in _setup_layer: draw the weights with a generator seeded by self.seed; "
          "self.params holds weights (num_in, neurons) and bias (1, neurons); "
          "self.operations uses those very arrays, then the activation")


def _judge_setup(plan: dict, setups: list):
    """A failure verdict for the set-up facts of a Dense layer, or None."""
    D, H = DENSE.dims["D"], DENSE.dims["H"]
    first = setups[0]
    if first.get("error"):
        return failed("dense", "setting the layer up raised an error", where=first["error"],
                      hint=_SETUP, bug="setup_error")
    params = first["params"]
    shapes = [None if p is None else p.shape for p in params]
    if len(params) != 2:
        return failed("dense", f"layer.params must hold 2 arrays, got {len(params)}",
                      hint=_SETUP, bug="wrong_params")
    if shapes[0] != (D, H):
        transposed = shapes[0] == (H, D)
        return failed("dense", "the weights have the wrong shape", where="layer.params[0]",
                      expected=(D, H), got=shapes[0],
                      hint="weights are (num_in, neurons): input @ weights has one column "
                           "per neuron" if transposed else _SETUP,
                      bug="weights_transposed" if transposed else "wrong_params")
    if shapes[1] != (1, H):
        return failed("dense", "the bias has the wrong shape", where="layer.params[1]",
                      expected=(1, H), got=shapes[1],
                      hint="the bias is one row: np.zeros((1, self.neurons))",
                      bug="bias_not_a_row")
    if not all(first["shared"]):
        missing = first["shared"].index(False)
        return failed("dense", f"layer.params[{missing}] is not the parameter of any operation",
                      hint="give the very arrays in self.params to WeightMultiply(weights) and "
                           "BiasAdd(bias), no copies: the optimiser updates self.params in "
                           "place and the operations must see it", bug="params_not_shared")
    if not first["activation_last"] or first["activation_calls"] != 1:
        return failed("dense", "the activation passed to Dense is not the last operation",
                      hint="end self.operations with self.activation (the object given to "
                           "__init__), so that forward applies it once", bug="no_activation")
    weights = params[0]
    if np.ptp(weights) == 0:
        return failed("dense", "all weights start with the same value",
                      where="layer.params[0]", got=float(weights.flat[0]),
                      hint="draw them at random (rng.normal): identical weights give every "
                           "neuron the same gradient, so they never become different",
                      bug="constant_weights")
    again, other = setups[2], setups[1]
    if again.get("error") or other.get("error") or not np.array_equal(
            weights, again["params"][0]):
        return failed("dense", "two layers with the same seed start from different weights",
                      hint="draw the weights from a generator made from self.seed, not from "
                           "np.random's global state", bug="seed_ignored")
    if np.array_equal(weights, other["params"][0]):
        return failed("dense", "layers with different seeds start from the same weights",
                      hint="make the generator from the layer's own seed, self.seed",
                      bug="seed_ignored")
    return None


def _dense_judge(plan: dict, observed: dict, expected: dict):
    return _judge_setup(plan, observed["setup"]) or judge_layer(DENSE, plan, observed, expected)


register(Check("dense", plan=_dense_plan, probe=_dense_probe, judge=_dense_judge,
               doc=DENSE.doc))
