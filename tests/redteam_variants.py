"""Adversarial student code for the layer checks, written independently of layer_variants.py.

``CORRECT[check]``: correct solutions in styles real students use (each must pass
on every seed).  ``BUGGY``: ``(check, class, fragment)`` -- plausible mistakes
absent from layer_variants.py; each must fail with a message holding ``fragment``.
numpy and scipy only: the TensorFlow styles live in the test module.
"""
from __future__ import annotations

import numpy as np
import scipy.special

CORRECT: dict[str, list] = {"affine": [], "relu": [], "cross_entropy": []}
BUGGY: list[tuple] = []


def correct(check):
    def add(cls):
        CORRECT[check].append(cls)
        return cls
    return add


def buggy(check, fragment, bug=None):
    def add(cls):
        BUGGY.append((check, cls, fragment, bug))
        return cls
    return add


# ===================================================================== affine
@correct("affine")
class AffineMatmulDictCache:
    def forward(self, inputs, weight, bias):
        self.cache = {"inputs": inputs, "weight": weight}
        return np.add(np.matmul(inputs, weight), bias)

    def backward(self, d_out):
        x, w = self.cache["inputs"], self.cache["weight"]
        return np.matmul(d_out, w.T), np.matmul(x.T, d_out), np.add.reduce(d_out, axis=0)


@correct("affine")
class AffineMethodDot:
    def forward(self, inputs, weight, bias):
        self.x = inputs
        self.w = weight
        return inputs.dot(weight) + bias

    def backward(self, d_out):
        return [d_out.dot(self.w.T), self.x.T.dot(d_out), d_out.sum(axis=0)]


@correct("affine")
class AffineBroadcastSums:
    """Products by broadcasting, then sums over the shared axis."""

    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs, weight
        return (inputs[:, :, None] * weight[None, :, :]).sum(axis=1) + bias

    def backward(self, d_out):
        d_x = (d_out[:, None, :] * self.w[None, :, :]).sum(axis=2)
        d_w = (self.x[:, :, None] * d_out[:, None, :]).sum(axis=0)
        return d_x, d_w, np.ones(d_out.shape[0]) @ d_out


@correct("affine")
class AffineTensordot:
    def forward(self, inputs, weight, bias):
        self.saved = (inputs, weight)
        return np.tensordot(inputs, weight, axes=1) + bias

    def backward(self, d_out):
        x, w = self.saved
        return (np.tensordot(d_out, w, axes=([1], [1])),
                np.tensordot(x, d_out, axes=([0], [0])),
                np.add.reduce(d_out))


@correct("affine")
class AffineAugmentedMatrix:
    """The bias as an extra weight row fed by a column of ones."""

    def forward(self, inputs, weight, bias):
        self.x1 = np.hstack([inputs, np.ones((inputs.shape[0], 1))])
        self.wb = np.vstack([weight, bias[None, :]])
        return self.x1 @ self.wb

    def backward(self, d_out):
        d_wb = self.x1.T @ d_out
        d_x1 = d_out @ self.wb.T
        return d_x1[:, :-1], d_wb[:-1], d_wb[-1]


@correct("affine")
class AffineFloat32Everywhere:
    """Casts every input (and d_out) to float32, returns float32 arrays."""

    def forward(self, inputs, weight, bias):
        self.x = np.asarray(inputs, dtype=np.float32)
        self.w = np.asarray(weight, dtype=np.float32)
        return self.x @ self.w + np.float32(1) * bias.astype(np.float32)

    def backward(self, d_out):
        d = np.float32(d_out)
        return (d @ self.w.T).astype(np.float32), self.x.T @ d, d.sum(0, dtype=np.float32)


@correct("affine")
class AffineInPlaceOnOwnBuffers:
    """Writes into arrays it allocated itself (out=, +=)."""

    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs.copy(), weight.copy()
        out = np.empty((inputs.shape[0], weight.shape[1]))
        np.dot(self.x, self.w, out=out)
        out += bias
        return out

    def backward(self, d_out):
        d_w = np.zeros_like(self.w)
        np.dot(self.x.T, d_out, out=d_w)
        d_b = np.zeros(d_out.shape[1])
        for row in d_out:
            d_b += row
        return d_out @ self.w.T, d_w, d_b


@correct("affine")
class AffineKeepsTransposes:
    def forward(self, inputs, weight, bias):
        self.xT, self.wT = inputs.T, weight.T
        return (weight.T @ inputs.T).T + bias

    def backward(self, d_out):
        return d_out @ self.wT, self.xT @ d_out, d_out.T @ np.ones(len(d_out))


@correct("affine")
class AffineEinsumOptimize:
    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs, weight
        return np.einsum("ij,jk->ik", inputs, weight, optimize=True) + bias

    def backward(self, d_out):
        return (np.einsum("ik,jk->ij", d_out, self.w), np.einsum("ij,ik->jk", self.x, d_out),
                np.einsum("ik->k", d_out))


@correct("affine")
class AffineTupleReturnGenerator:
    """Backward builds its result as a tuple from a generator."""

    def forward(self, inputs, weight, bias):
        self.cache = inputs, weight
        return inputs @ weight + bias

    def backward(self, d_out):
        x, w = self.cache
        return tuple(g for g in (d_out @ w.T, x.T @ d_out, d_out.sum(axis=0)))


# -- affine bugs ---------------------------------------------------------------
@buggy("affine", "d_weight must have shape (7, 5)", "d_weight_from_output")
class AffineDWeightFromOutput:
    def forward(self, inputs, weight, bias):
        self.w = weight
        self.out = inputs @ weight + bias
        return self.out

    def backward(self, d_out):
        return d_out @ self.w.T, self.out.T @ d_out, d_out.sum(0)


@buggy("affine", "d_out (13, 5)")
class AffineNoTransposeDInputs:
    """d_inputs = d_out @ weight: a shape error, raised by the student's own line."""

    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs, weight
        return inputs @ weight + bias

    def backward(self, d_out):
        return d_out @ self.w, self.x.T @ d_out, d_out.sum(0)


@buggy("affine", "d_bias")
class AffineDBiasFromBias:
    """Returns the bias itself as its gradient."""

    def forward(self, inputs, weight, bias):
        self.x, self.w, self.b = inputs, weight, bias
        return inputs @ weight + bias

    def backward(self, d_out):
        return d_out @ self.w.T, self.x.T @ d_out, self.b


@buggy("affine", "d_weight")
class AffineDWeightIsInputsSum:
    """d_weight = inputs.sum(0)[:, None] * d_out.sum(0): the outer product of sums."""

    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs, weight
        return inputs @ weight + bias

    def backward(self, d_out):
        return d_out @ self.w.T, np.outer(self.x.sum(0), d_out.sum(0)), d_out.sum(0)


@buggy("affine", "int")
class AffineIntCast:
    """Casts the inputs to int ("they are pixels"): the forward is wrong."""

    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs.astype(int), weight
        return self.x @ weight + bias

    def backward(self, d_out):
        return d_out @ self.w.T, self.x.T @ d_out, d_out.sum(0)


# ======================================================================= relu
@correct("relu")
class ReluWhere:
    def forward(self, inputs):
        self.mask = inputs > 0
        return np.where(self.mask, inputs, 0)

    def backward(self, d_out):
        return np.where(self.mask, d_out, 0)


@correct("relu")
class ReluTimesMask:
    def forward(self, inputs):
        self.inputs = inputs
        return inputs * (inputs > 0)

    def backward(self, d_out):
        return d_out * (self.inputs > 0)


@correct("relu")
class ReluClipNone:
    def forward(self, inputs):
        self.out = np.clip(inputs, 0, None)
        return self.out

    def backward(self, d_out):
        return d_out * np.sign(self.out)


@correct("relu")
class ReluMaximumOutCopy:
    def forward(self, inputs):
        out = inputs.copy()
        np.maximum(out, 0, out=out)
        self.mask = (out != 0).astype(np.int64)
        return out

    def backward(self, d_out):
        return d_out * self.mask


@correct("relu")
class ReluHalfAbs:
    def forward(self, inputs):
        self.x = inputs
        return (inputs + np.abs(inputs)) / 2

    def backward(self, d_out):
        return d_out * np.heaviside(self.x, 0.0)


@correct("relu")
class ReluBooleanIndexingCopy:
    def forward(self, inputs):
        self.neg = inputs <= 0
        out = np.array(inputs)  # np.array copies
        out[self.neg] = 0.0
        return out

    def backward(self, d_out):
        grad = np.copy(d_out)
        grad[self.neg] = 0
        return grad


@correct("relu")
class ReluFloat32Fmax:
    def forward(self, inputs):
        self.x = inputs.astype(np.float32)
        return np.fmax(self.x, np.float32(0))

    def backward(self, d_out):
        return np.float32(d_out) * (self.x > 0)


@correct("relu")
class ReluRecomputesInBackward:
    """Keeps only the inputs and recomputes the mask from forward again."""

    def forward(self, inputs):
        self.inputs = inputs
        return np.maximum(inputs, 0.0)

    def backward(self, d_out):
        out = self.forward(self.inputs)
        return d_out * (out > 0)


@correct("relu")
class ReluVectorize:
    def forward(self, inputs):
        self.x = inputs
        return np.vectorize(lambda v: v if v > 0 else 0.0)(inputs)

    def backward(self, d_out):
        return np.vectorize(lambda g, v: g if v > 0 else 0.0)(d_out, self.x)


# -- relu bugs -------------------------------------------------------------------
@buggy("relu", "not on d_out", "relu_mask_from_d_out")
class ReluBackwardDOutGreaterZero:
    """A mask of 1.0/0.0 taken from d_out instead of the inputs (no multiply)."""

    def forward(self, inputs):
        return np.maximum(inputs, 0)

    def backward(self, d_out):
        return (d_out > 0) * d_out


@buggy("relu", "d_inputs")
class ReluBackwardOnlyMaskFromDOut:
    def forward(self, inputs):
        return np.maximum(inputs, 0)

    def backward(self, d_out):
        return (d_out > 0).astype(float)


@buggy("relu", "d_inputs")
class ReluBackwardTimesInputs:
    """Multiplies by the input value (the derivative of x**2 / 2 on the positive side)."""

    def forward(self, inputs):
        self.x = inputs
        return np.maximum(inputs, 0)

    def backward(self, d_out):
        return d_out * np.maximum(self.x, 0)


@buggy("relu", "forward output")
class ReluSigmoidInstead:
    def forward(self, inputs):
        self.s = 1 / (1 + np.exp(-inputs))
        return self.s

    def backward(self, d_out):
        return d_out * self.s * (1 - self.s)


@buggy("relu", "in place")
class ReluMaximumOutInputs:
    """np.maximum(x, 0, out=x): writes into the caller's array."""

    def forward(self, inputs):
        self.mask = inputs > 0
        return np.maximum(inputs, 0, out=inputs)

    def backward(self, d_out):
        return d_out * self.mask


@buggy("relu", "in place")
class ReluBackwardMultipliesDOutInPlace:
    def forward(self, inputs):
        self.mask = inputs > 0
        return np.maximum(inputs, 0)

    def backward(self, d_out):
        d_out *= self.mask
        return d_out


# ============================================================== cross-entropy
@correct("cross_entropy")
class CEManualLogSumExp:
    def forward(self, logits, labels):
        m = logits.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
        self.log_p, self.y = logits - lse, labels
        return -(labels * self.log_p).sum() / logits.shape[0]

    def backward(self, d_out=1.0):
        return d_out * (np.exp(self.log_p) - self.y) / self.y.shape[0], None


@correct("cross_entropy")
class CEScipyLogSumExpKeepdims:
    def forward(self, logits, labels):
        self.logits, self.labels = logits, labels
        log_p = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        return np.mean(-np.sum(labels * log_p, axis=1, keepdims=True))

    def backward(self, d_out=1.0):
        p = scipy.special.softmax(self.logits, axis=1)
        return [(p - self.labels) * d_out / len(p), None]


@correct("cross_entropy")
class CEClippedLogSoftmax:
    """np.log(np.clip(p, 1e-15, 1 - 1e-15)), the loss as float(np.mean(...))."""

    def forward(self, logits, labels):
        z = np.exp(logits - np.max(logits, axis=1, keepdims=True))
        self.p = z / np.sum(z, axis=1, keepdims=True)
        self.y = labels
        clipped = np.clip(self.p, 1e-15, 1 - 1e-15)
        return float(np.mean(-np.sum(labels * np.log(clipped), axis=1)))

    def backward(self, d_out=1.0):
        return (self.p - self.y) / len(self.p) * d_out, None


@correct("cross_entropy")
class CEKerasEpsilon:
    """Keras's style: clip the probabilities at 1e-7 before the log."""

    def forward(self, logits, labels):
        e = np.exp(logits - logits.max(axis=1)[:, None])
        self.p, self.y = e / e.sum(axis=1)[:, None], labels
        return float(-np.sum(labels * np.log(np.clip(self.p, 1e-7, 1 - 1e-7))) / len(labels))

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), None


@correct("cross_entropy")
class CEArgmaxIndexing:
    """Picks the true-class probability with probs[range(N), labels.argmax(1)]."""

    def forward(self, logits, labels):
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        self.k = labels.argmax(1)
        n = logits.shape[0]
        return np.sum(-np.log(self.p[range(n), self.k])) / n

    def backward(self, d_out=1.0):
        g = self.p.copy()
        g[range(len(g)), self.k] -= 1
        return g / len(g) * d_out, None


@correct("cross_entropy")
class CEZeroDimArray:
    """Returns the loss as a 0-d array (np.array(loss))."""

    def forward(self, logits, labels):
        self.p = scipy.special.softmax(logits, axis=1)
        self.y = labels
        return np.array(-np.sum(labels * np.log(self.p)) / len(logits))

    def backward(self, d_out=1.0):
        return np.asarray(d_out) * (self.p - self.y) / len(self.y), None


@correct("cross_entropy")
class CEShapeOneArray:
    """Returns the loss as an array of shape (1,) (from keepdims sums)."""

    def forward(self, logits, labels):
        self.p = scipy.special.softmax(logits, axis=-1)
        self.y = labels
        per_sample = -np.sum(labels * np.log(self.p), axis=1, keepdims=True)
        return per_sample.sum(axis=0) / len(logits)

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), None


@correct("cross_entropy")
class CEFloat32Scalar:
    def forward(self, logits, labels):
        z = logits.astype(np.float32)
        z -= z.max(axis=1, keepdims=True)  # z is our own copy
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.p, self.y = np.exp(log_p), labels.astype(np.float32)
        return np.float32(-(self.y * log_p).sum(axis=1).mean())

    def backward(self, d_out=1.0):
        return (self.p - self.y) * np.float32(d_out / len(self.y)), None


@correct("cross_entropy")
class CERecomputesInBackward:
    """Caches only the inputs; backward recomputes the softmax."""

    def forward(self, logits, labels):
        self.logits, self.labels = logits, labels
        return float(-np.mean(np.sum(labels * scipy.special.log_softmax(logits, axis=1), 1)))

    def backward(self, d_out=None):
        if d_out is None:
            d_out = 1.0
        p = np.exp(scipy.special.log_softmax(self.logits, axis=1))
        return d_out * (p - self.labels) / self.logits.shape[0], None


@correct("cross_entropy")
class CEReturnsZerosForLabels:
    """Returns zeros instead of None as the (unused) labels gradient."""

    def forward(self, logits, labels):
        self.p = scipy.special.softmax(logits, axis=1)
        self.y = labels
        return -np.sum(labels * np.log(self.p)) / len(labels)

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), np.zeros_like(self.y)


@correct("cross_entropy")
class CEDividesThenSums:
    def forward(self, logits, labels):
        n = len(logits)
        self.p = scipy.special.softmax(logits, axis=1)
        self.y = labels
        return np.sum(-labels * np.log(self.p) / n)

    def backward(self, d_out=1.0):
        n = len(self.y)
        return d_out / n * self.p - d_out / n * self.y, None


# -- cross-entropy bugs ----------------------------------------------------------
@buggy("cross_entropy", "the loss")
class CEBigEpsilon:
    """log(probs + 1e-3): an epsilon large enough to change the loss."""

    def forward(self, logits, labels):
        self.p, self.y = scipy.special.softmax(logits, axis=1), labels
        return float(-np.sum(labels * np.log(self.p + 1e-3)) / len(labels))

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), None


@correct("cross_entropy")
class CEDividesByLabelSum:
    """Divides by labels.sum(): equal to N for one-hot labels, so this is correct."""

    def forward(self, logits, labels):
        self.p, self.y = scipy.special.softmax(logits, axis=1), labels
        return float(-np.sum(labels * np.log(self.p)) / labels.sum())

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / self.y.sum(), None


@buggy("cross_entropy", "N times too large", "missing_1_over_N")
class CEMeanOnlyInForward:
    """Forgets the 1/N in backward only (the forward is the mean)."""

    def forward(self, logits, labels):
        self.p, self.y = scipy.special.softmax(logits, axis=1), labels
        return float(-np.sum(labels * np.log(self.p)) / len(labels))

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y), None


@buggy("cross_entropy", "d_logits")
class CEBackwardForgetsLabels:
    """Returns softmax / N only (the '- labels' is missing)."""

    def forward(self, logits, labels):
        self.p, self.y = scipy.special.softmax(logits, axis=1), labels
        return float(-np.sum(labels * np.log(self.p)) / len(labels))

    def backward(self, d_out=1.0):
        return d_out * self.p / len(self.y), None


@buggy("cross_entropy", "d_logits")
class CEBackwardTrueClassOnly:
    def forward(self, logits, labels):
        self.p, self.y = scipy.special.softmax(logits, axis=1), labels
        return float(-np.sum(labels * np.log(self.p)) / len(labels))

    def backward(self, d_out=1.0):
        # only the true class's entry: the other classes' gradient p_j / N is lost
        return d_out * (self.p - 1) * self.y / len(self.y), None


@buggy("cross_entropy", "the loss")
class CELogOfLogits:
    """Forgets the softmax: -sum(labels * log_softmax) replaced by -sum(labels * logits)."""

    def forward(self, logits, labels):
        self.p, self.y = scipy.special.softmax(logits, axis=1), labels
        return float(-np.sum(labels * logits) / len(labels))

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), None


@buggy("cross_entropy", "the loss")
class CEBinaryFormula:
    """Adds the (1 - y) log(1 - p) term of binary cross-entropy."""

    def forward(self, logits, labels):
        p = scipy.special.softmax(logits, axis=1)
        self.p, self.y = p, labels
        return float(-np.sum(labels * np.log(p) + (1 - labels) * np.log(1 - p)) / len(p))

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), None


@buggy("cross_entropy", "when 1000 is added")
class CEClipsLogits:
    """Clips the logits to [-50, 50] "for stability": wrong after a common shift."""

    def forward(self, logits, labels):
        z = np.clip(logits, -50, 50)
        self.p, self.y = scipy.special.softmax(z, axis=1), labels
        return float(-np.sum(labels * np.log(self.p)) / len(labels))

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / len(self.y), None


@correct("affine")
class AffineLongDouble:
    """Works in np.longdouble ("more precision") and returns it."""

    def forward(self, inputs, weight, bias):
        self.x, self.w = inputs.astype(np.longdouble), weight.astype(np.longdouble)
        return self.x @ self.w + bias

    def backward(self, d_out):
        d = d_out.astype(np.longdouble)
        return d @ self.w.T, self.x.T @ d, d.sum(axis=0)


@correct("cross_entropy")
class CEFloat32ReturnsPythonFloat:
    """Computes in float32 but returns float(loss): only the gradient shows float32."""

    def forward(self, logits, labels):
        z = logits.astype(np.float32)
        log_p = z - scipy.special.logsumexp(z, axis=1, keepdims=True)
        self.p, self.y = np.exp(log_p), labels.astype(np.float32)
        return float(-(self.y * log_p).sum() / np.float32(len(z)))

    def backward(self, d_out=1.0):
        return np.float32(d_out) * (self.p - self.y) / np.float32(len(self.y)), None


@correct("cross_entropy")
class CEFloat32CastBack(CEFloat32ReturnsPythonFloat):
    """Computes in float32, hands everything back as float64: only the rounding says so."""

    def backward(self, d_out=1.0):
        d_logits, _ = super().backward(d_out)
        return d_logits.astype(np.float64), None
