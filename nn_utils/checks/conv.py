"""Rows of the convolution family: ``Conv2D`` and ``MaxPool2D`` (NCHW, numpy).

Both are ordinary :class:`~nn_utils.engine.LayerSpec` rows: the student passes the
class, each row's ``setup`` builds an object with the settings the plan drew
(stride, padding, window size), and the output sizes follow from them.  The
sizes are small, so a six-nested-loop convolution is checked in a fraction of
a second, and every setting differs from its default at most seeds, so a class
that hard-codes or ignores one fails.
"""
from __future__ import annotations

from ..engine import Arg, Fingerprint, LayerSpec, kink
from .layers import register_layer

__all__ = ["CONV2D", "MAXPOOL2D"]


def _out_size(size, kernel):
    """fn(dims, hyper) -> the output size along one axis (the contract's formula)."""
    def resolve(d, h):
        return (d[size] + 2 * h.get("padding", 0) - d[kernel]) // h["stride"] + 1
    return resolve


# (stride, padding), drawn by the plan's generator: seeds 0, 2 and 3 get (2, 1),
# seed 1 gets (3, 2): the published seeds all differ from the defaults
_CONV_SETTINGS = ((1, 1), (3, 2), (2, 0), (2, 1))


def _conv_hyper(rng):
    stride, padding = _CONV_SETTINGS[int(rng.integers(len(_CONV_SETTINGS)))]
    return {"stride": stride, "padding": padding}


_STRIDE_BACKWARD = ("backward must place each output position's contribution where "
                    "forward read it: at the strided position in the padded input")

CONV2D = register_layer(LayerSpec(
    name="conv2d",
    doc="""Check a ``Conv2D`` class: ``Conv2D(stride=1, padding=0)``;
    ``forward(inputs (N, C, H, W), weight (F, C, KH, KW), bias (F,)) -> (N, F, H', W')``,
    H' = (H + 2 padding - KH) // stride + 1, cross-correlation with zero padding;
    ``backward(d_out) -> (d_inputs, d_weight, d_bias)``.  The check uses several strides
    and paddings.""",
    args=(Arg("inputs", ("N", "C", "H", "W")), Arg("weight", ("F", "C", "KH", "KW")),
          Arg("bias", ("F",))),
    dims={"N": 2, "C": 3, "H": 7, "W": 8, "F": 4, "KH": 3, "KW": 2,
          "HO": _out_size("H", "KH"), "WO": _out_size("W", "KW")},
    out_shape=("N", "F", "HO", "WO"),
    returns=("inputs", "weight", "bias"),
    hyper=_conv_hyper,
    setup=lambda cls, a: cls(stride=a["stride"], padding=a["padding"]),
    fingerprints=(
        Fingerprint("flipped_kernel", "out", lambda c: c.extras["out_flipped"],
                    "that is a true convolution (kernel flipped): deep-learning layers "
                    "compute a cross-correlation, the kernel as it is"),
        Fingerprint("stride_ignored", "out", lambda c: c.extras["out_stride_1"],
                    "use the stride given to the constructor: the window moves by stride"),
        Fingerprint("padding_ignored", "out", lambda c: c.extras["out_no_padding"],
                    "use the padding given to the constructor: zeros around the inputs"),
        Fingerprint("forgot_bias", "out", lambda c: c.out - c.arrays["bias"][:, None, None],
                    "the bias is missing: each filter's bias is added to its whole output map"),
        Fingerprint("backward_ignores_stride", "inputs",
                    lambda c: c.extras["d_inputs_stride_1"], _STRIDE_BACKWARD),
        Fingerprint("backward_ignores_stride", "weight",
                    lambda c: c.extras["d_weight_stride_1"], _STRIDE_BACKWARD),
        Fingerprint("padding_not_removed", "inputs", lambda c: c.extras["d_inputs_padded"],
                    "d_inputs is the gradient of the PADDED inputs: remove the padding so it "
                    "has the shape of inputs"),
        Fingerprint("padding_removed_wrongly", "inputs",
                    lambda c: c.extras["d_inputs_padded_corner"],
                    "remove the same padding on every side of the padded gradient"),
        Fingerprint("d_bias_wrong_axes", "bias",
                    lambda c: c.extras["d_bias_per_sample"],
                    "d_bias has shape (F,): sum d_out over the batch AND the output positions"),
        Fingerprint("d_bias_wrong_axes", "bias", lambda c: c.extras["d_bias_per_position"],
                    "d_bias has shape (F,): sum d_out over the batch AND the output positions"),
        Fingerprint("d_bias_wrong_axes", "bias",
                    lambda c: c.extras["d_bias_per_sample_all"],
                    "d_bias has shape (F,), one entry per filter: keep the filter axis"),
        Fingerprint("d_bias_per_position_mean", "bias",
                    lambda c: c.ref / (c.dims["HO"] * c.dims["WO"]),
                    "d_bias is a SUM over the output positions, not a mean"),
    ),
    hints={"out": "out[n, f, i, j] = bias[f] plus the sum of the window of the (padded) "
                  "inputs at (i * stride, j * stride) times filter f",
           "inputs": "each input position collects weight times d_out from every output "
                     "position whose window covered it",
           "weight": "d_weight has the weight's shape (F, C, KH, KW): d_out times the "
                     "windows of the padded inputs, over the batch and the positions",
           "bias": "d_bias has shape (F,): each bias is added to a whole output map"},
))


# (size, stride): the published seeds get overlapping windows, (3, 2) and (2, 1)
_POOL_SETTINGS = ((2, 2), (2, 1), (3, 3), (3, 2))


def _pool_hyper(rng):
    size, stride = _POOL_SETTINGS[int(rng.integers(len(_POOL_SETTINGS)))]
    return {"size": size, "stride": stride}


def _pool_dims(axis):
    def resolve(d, h):
        return (d[axis] - h["size"]) // h["stride"] + 1
    return resolve


MAXPOOL2D = register_layer(LayerSpec(
    name="maxpool2d",
    doc="""Check a ``MaxPool2D`` class: ``MaxPool2D(size=2, stride=2)``;
    ``forward(inputs (N, C, H, W)) -> (N, C, H', W')``, H' = (H - size) // stride + 1;
    ``backward(d_out) -> d_inputs``.  The inputs have no ties; the check uses several
    window sizes and strides, overlapping windows included.""",
    args=(Arg("inputs", ("N", "C", "H", "W"), sample="distinct"),),
    dims={"N": 2, "C": 3, "H": 7, "W": 9, "HO": _pool_dims("H"), "WO": _pool_dims("W")},
    out_shape=("N", "C", "HO", "WO"),
    returns=("inputs",),
    step=kink(0.1),   # the "distinct" inputs keep 0.135 apart: no step changes a max
    hyper=_pool_hyper,
    setup=lambda cls, a: cls(size=a["size"], stride=a["stride"]),
    fingerprints=(
        Fingerprint("average_pooling", "out", lambda c: c.extras["out_average"],
                    "that is the window's mean: max-pooling keeps its largest value"),
        Fingerprint("size_or_stride_ignored", "out", lambda c: c.extras["out_default"],
                    "use the size and stride given to the constructor"),
        Fingerprint("routes_to_every_entry", "inputs", lambda c: c.extras["d_every_entry"],
                    "only the largest entry of each window receives d_out: the others did "
                    "not affect the output"),
        Fingerprint("average_pooling", "inputs", lambda c: c.extras["d_average"],
                    "that is the gradient of a mean: only the window's largest entry "
                    "receives d_out"),
        Fingerprint("overlap_overwritten", "inputs", lambda c: c.extras["d_overwritten"],
                    "windows overlap when stride < size: an entry that is the max of two "
                    "windows collects d_out from both (add, do not overwrite)"),
    ),
    hints={"out": "each output is the largest value of its size x size window, the windows "
                  "moving by stride",
           "inputs": "d_out goes to the position of each window's maximum (and adds up where "
                     "windows overlap); every other entry gets 0"},
))
