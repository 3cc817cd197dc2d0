"""Student-style implementations of Affine, ReLU and CategoricalCrossEntropy.

``CORRECT[check]`` lists correct solutions in many styles (each must pass);
``BUGGY`` lists ``(check, class, bug_id, message_fragment)`` -- one small class
per common bug, each of which must fail with that bug named.
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


def buggy(check, bug, fragment):
    def add(cls):
        BUGGY.append((check, cls, bug, fragment))
        return cls
    return add


# ===================================================================== affine
@correct("affine")
class AffineDot:
    def forward(self, inputs, weight, bias):
        self.cache = (inputs, weight, bias)
        return np.dot(inputs, weight) + bias

    def backward(self, d_out):
        inputs, weight, _ = self.cache
        return np.dot(d_out, weight.T), np.dot(inputs.T, d_out), np.sum(d_out, axis=0)


@correct("affine")
class AffineMatmulOtherCache:
    def forward(self, inputs, weight, bias):
        self._x, self._w = inputs, weight
        return inputs @ weight + bias[None, :]

    def backward(self, d_out):
        return d_out @ self._w.T, self._x.T @ d_out, d_out.sum(0)


@correct("affine")
class AffineEinsum:
    def forward(self, inputs, weight, bias):
        self.saved = {"x": inputs, "w": weight}
        return np.einsum("nd,dh->nh", inputs, weight) + bias

    def backward(self, d_out):
        x, w = self.saved["x"], self.saved["w"]
        return (np.einsum("nh,dh->nd", d_out, w), np.einsum("nd,nh->dh", x, d_out),
                np.einsum("nh->h", d_out))


@correct("affine")
class AffineLoops:
    def forward(self, inputs, weight, bias):
        self.inputs, self.weight = inputs, weight
        n, d = inputs.shape
        h = weight.shape[1]
        out = np.zeros((n, h))
        for i in range(n):
            for j in range(h):
                out[i, j] = bias[j] + sum(inputs[i, k] * weight[k, j] for k in range(d))
        return out

    def backward(self, d_out):
        x, w = self.inputs, self.weight
        d_x, d_w, d_b = np.zeros_like(x), np.zeros_like(w), np.zeros(w.shape[1])
        for i in range(x.shape[0]):
            for j in range(w.shape[1]):
                d_b[j] += d_out[i, j]
                for k in range(x.shape[1]):
                    d_x[i, k] += d_out[i, j] * w[k, j]
                    d_w[k, j] += x[i, k] * d_out[i, j]
        return d_x, d_w, d_b


@correct("affine")
class AffineFloat32:
    def forward(self, inputs, weight, bias):
        x, w = inputs.astype(np.float32), weight.astype(np.float32)
        self.cache = (x, w)
        return x @ w + bias.astype(np.float32)

    def backward(self, d_out):
        x, w = self.cache
        d = d_out.astype(np.float32)
        return d @ w.T, x.T @ d, d.sum(axis=0)


@correct("affine")
class AffineListReturnCopies:
    def forward(self, inputs, weight, bias):
        self.cache = (inputs.copy(), weight.copy())
        out = np.matmul(inputs, weight)
        out += bias  # in place on our own new array: fine
        return out

    def backward(self, d_out):
        x, w = self.cache
        return [np.matmul(d_out, w.T), np.matmul(x.T, d_out), d_out.sum(axis=0)]


@buggy("affine", "transposed_d_weight", "transposed")
class AffineTransposedDWeight(AffineDot):
    def backward(self, d_out):
        d_x, d_w, d_b = super().backward(d_out)
        return d_x, d_out.T @ self.cache[0], d_b


@buggy("affine", "transposed_d_inputs", "transposed")
class AffineTransposedDInputs(AffineDot):
    def backward(self, d_out):
        d_x, d_w, d_b = super().backward(d_out)
        return self.cache[1] @ d_out.T, d_w, d_b


@buggy("affine", "extra_1_over_N", "N times too small")
class AffineExtraOneOverN(AffineDot):
    def backward(self, d_out):
        n = d_out.shape[0]
        return tuple(g / n for g in super().backward(d_out))


@buggy("affine", "extra_1_over_N", "N times too small")
class AffineDWeightOverN(AffineDot):
    def backward(self, d_out):
        d_x, d_w, d_b = super().backward(d_out)
        return d_x, d_w / d_out.shape[0], d_b


@buggy("affine", "d_bias_mean", "not the mean")
class AffineDBiasMean(AffineDot):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out.mean(axis=0)


@buggy("affine", "d_bias_wrong_axis", "batch axis")
class AffineDBiasWrongAxis(AffineDot):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out.sum(axis=1)


@buggy("affine", "d_bias_one_row", "one row")
class AffineDBiasOneRow(AffineDot):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out[0]


@buggy("affine", "d_bias_not_summed", "collects d_out from all")
class AffineDBiasNotSummed(AffineDot):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out


@buggy("affine", "wrong_shape", "must have shape (5,), the shape of bias (got (1, 5))")
class AffineDBiasKeepdims(AffineDot):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out.sum(axis=0, keepdims=True)


@buggy("affine", "ignores_d_out", "d_out")
class AffineIgnoresDOut(AffineDot):
    def backward(self, d_out):
        return super().backward(np.ones_like(d_out))


@buggy("affine", "sign_error", "sign")
class AffineSignDWeight(AffineDot):
    def backward(self, d_out):
        d_x, d_w, d_b = super().backward(d_out)
        return d_x, -d_w, d_b


@buggy("affine", "wrong_return_order", "wrong order")
class AffineWrongOrder(AffineDot):
    def backward(self, d_out):
        d_x, d_w, d_b = super().backward(d_out)
        return d_w, d_x, d_b


@buggy("affine", "wrong_return_count", "must return 3 values")
class AffineForgetsDBias(AffineDot):
    def backward(self, d_out):
        return super().backward(d_out)[:2]


@buggy("affine", "forgot_bias", "bias is missing")
class AffineForgotBias(AffineDot):
    def forward(self, inputs, weight, bias):
        super().forward(inputs, weight, bias)
        return inputs @ weight


@buggy("affine", "mutates_inputs", "in place")
class AffineMutatesInputs(AffineDot):
    def forward(self, inputs, weight, bias):
        inputs *= 2.0  # "scaling" the caller's array
        return super().forward(inputs / 2.0, weight, bias)


@buggy("affine", "mutates_d_out", "in place")
class AffineMutatesDOut(AffineDot):
    def backward(self, d_out):
        d_out /= 2.0
        return tuple(2.0 * g for g in super().backward(d_out))


@buggy("affine", "mutates_inputs", "weight (its values changed")
class AffineUpdatesWeightInBackward(AffineDot):
    """An SGD step inside backward: the caller's weight changes under it."""

    def backward(self, d_out):
        grads = super().backward(d_out)
        self.cache[1][...] -= 0.1 * grads[1]
        return grads


@buggy("affine", "mutates_inputs", "bias (its values changed")
class AffineReshapesBias(AffineDot):
    def forward(self, inputs, weight, bias):
        bias.shape = (1, -1)  # reshapes the caller's array object
        return super().forward(inputs, weight, bias)

    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out.sum(axis=0)


@buggy("affine", "inconsistent_backward", "state kept between calls")
class AffineKeepsFirstWeight(AffineDot):
    """Stores the weight on the first call and silently reuses it afterwards."""

    def forward(self, inputs, weight, bias):
        if not hasattr(self, "weight"):
            self.weight = weight.copy()
        return super().forward(inputs, self.weight, bias)


@buggy("affine", "forward_returns_nothing", "forget `return`")
class AffineNoReturn(AffineDot):
    def forward(self, inputs, weight, bias):
        super().forward(inputs, weight, bias)


@buggy("affine", "forward_error", "line")
class AffineShapeBug(AffineDot):
    def forward(self, inputs, weight, bias):
        return np.dot(weight, inputs) + bias


# ======================================================================= relu
@correct("relu")
class ReluMaximum:
    def forward(self, inputs):
        self.cache = inputs
        return np.maximum(0, inputs)

    def backward(self, d_out):
        mask = np.zeros(self.cache.shape)
        mask[self.cache > 0] = 1
        return d_out * mask


@correct("relu")
class ReluWhereGeZero:
    """Sub-gradient 1 at exactly zero (the other convention)."""

    def forward(self, inputs):
        self.x = inputs
        return np.where(inputs >= 0, inputs, 0.0)

    def backward(self, d_out):
        return np.where(self.x >= 0, d_out, 0.0)


@correct("relu")
class ReluMaskFromOutput:
    def forward(self, inputs):
        self.out = inputs * (inputs > 0)
        return self.out

    def backward(self, d_out):
        return d_out * (self.out > 0)


@correct("relu")
class ReluCopyThenMask:
    def forward(self, inputs):
        self.inputs = inputs
        out = inputs.copy()
        out[out < 0] = 0
        return out

    def backward(self, d_out):
        d = d_out.copy()
        d[self.inputs <= 0] = 0
        return d


@correct("relu")
class ReluClipFloat32:
    def forward(self, inputs):
        self.x = inputs.astype(np.float32)
        return np.clip(self.x, 0, None)

    def backward(self, d_out):
        return d_out.astype(np.float32) * (self.x > 0).astype(np.float32)


@correct("relu")
class ReluLoops:
    def forward(self, inputs):
        self.x = inputs
        out = np.empty_like(inputs)
        for idx in np.ndindex(inputs.shape):
            out[idx] = inputs[idx] if inputs[idx] > 0 else 0.0
        return out

    def backward(self, d_out):
        d = np.zeros_like(d_out)
        for i in range(d_out.shape[0]):
            for j in range(d_out.shape[1]):
                if self.x[i, j] > 0:
                    d[i, j] = d_out[i, j]
        return d


@buggy("relu", "relu_forgets_d_out", "multiply it by the incoming gradient")
class ReluForgetsDOut(ReluMaximum):
    def backward(self, d_out):
        return (self.cache > 0).astype(float)


@buggy("relu", "relu_mask_from_d_out", "not on d_out")
class ReluMaskFromDOut(ReluMaximum):
    def backward(self, d_out):
        return d_out * (d_out > 0)


@buggy("relu", "relu_wrong_sign_mask", "inverted")
class ReluWrongSignMask(ReluMaximum):
    def backward(self, d_out):
        return d_out * (self.cache < 0)


@buggy("relu", "leaky_relu", "leaky")
class ReluLeakyForward:
    def forward(self, inputs):
        self.x = inputs
        return np.where(inputs > 0, inputs, 0.01 * inputs)

    def backward(self, d_out):
        return d_out * np.where(self.x > 0, 1.0, 0.01)


@buggy("relu", "leaky_relu", "leaky")
class ReluLeakyBackward(ReluMaximum):
    def backward(self, d_out):
        return d_out * np.where(self.cache > 0, 1.0, 0.1)


@buggy("relu", "relu_abs", "|x|")
class ReluAbsForward(ReluMaximum):
    def forward(self, inputs):
        self.cache = inputs
        return np.abs(inputs)


@buggy("relu", "relu_abs", "derivative of |x|")
class ReluAbsBackward(ReluMaximum):
    def backward(self, d_out):
        return d_out * np.sign(self.cache)


@buggy("relu", "relu_min", "negative part")
class ReluMinForward(ReluMaximum):
    def forward(self, inputs):
        self.cache = inputs
        return np.minimum(inputs, 0)


@buggy("relu", "mutates_inputs", "in place")
class ReluInPlaceForward:
    def forward(self, inputs):
        self.mask = inputs > 0
        inputs[inputs < 0] = 0
        return inputs

    def backward(self, d_out):
        return d_out * self.mask


@buggy("relu", "mutates_d_out", "in place")
class ReluInPlaceBackward(ReluMaximum):
    def backward(self, d_out):
        d_out[self.cache <= 0] = 0
        return d_out


@buggy("relu", "returns_d_out", "d_out unchanged")
class ReluReturnsDOut(ReluMaximum):
    def backward(self, d_out):
        return d_out.copy()


@buggy("relu", "sign_error", "sign")
class ReluSignError(ReluMaximum):
    def backward(self, d_out):
        return -super().backward(d_out)


@buggy("relu", "wrong_return_count", "must return one array")
class ReluReturnsTuple(ReluMaximum):
    def backward(self, d_out):
        return (super().backward(d_out),)


# ============================================================== cross-entropy
def _stable_softmax(logits):
    z = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=1, keepdims=True)


@correct("cross_entropy")
class CEStable:
    def forward(self, logits, labels):
        num = logits.shape[0]
        probs = _stable_softmax(logits)
        loss = -np.sum(labels * np.log(probs)) / num
        self.cache = (probs, labels)
        assert isinstance(loss, float)
        return loss

    def backward(self, d_out=1.0):
        probs, labels = self.cache
        return d_out * (probs - labels) / labels.shape[0], None


@correct("cross_entropy")
class CEScipySoftmaxClipped:
    def forward(self, logits, labels):
        self.p = scipy.special.softmax(logits, axis=1)
        self.y = labels
        return float(-np.mean(np.sum(labels * np.log(np.clip(self.p, 1e-12, 1.0)), axis=1)))

    def backward(self, d_out=1.0):
        return (self.p - self.y) * (d_out / len(self.y)), None


@correct("cross_entropy")
class CEScipyLogSoftmax:
    def forward(self, logits, labels):
        log_p = scipy.special.log_softmax(logits, axis=1)
        self.saved = (np.exp(log_p), labels)
        return -np.sum(log_p * labels) / len(logits)  # numpy float64

    def backward(self, d_out=1.0):
        p, y = self.saved
        return (p - y) / len(p) * d_out, None


@correct("cross_entropy")
class CELogSumExpArgmax:
    def forward(self, logits, labels):
        cls = labels.argmax(axis=1)
        lse = scipy.special.logsumexp(logits, axis=1)
        self.logits, self.cls = logits, cls
        return float(np.mean(lse - logits[np.arange(len(cls)), cls]))

    def backward(self, d_out=1.0):
        grad = _stable_softmax(self.logits)
        grad[np.arange(len(self.cls)), self.cls] -= 1  # our own new array
        return grad * d_out / len(self.cls), None


@correct("cross_entropy")
class CEFloat32:
    def forward(self, logits, labels):
        z = logits.astype(np.float32)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        self.cache = (p, labels.astype(np.float32))
        return np.float32(-(labels * np.log(p)).sum() / len(p))  # 0-d float32

    def backward(self, d_out=1.0):
        p, y = self.cache
        return np.float32(d_out) * (p - y) / np.float32(len(p)), None


@correct("cross_entropy")
class CEInPlaceOnOwnCache:
    """Backward reuses (and overwrites) its own cached probabilities."""

    def forward(self, logits, labels):
        self.p = _stable_softmax(logits)
        self.y = labels
        return float(-np.sum(labels * np.log(self.p)) / len(logits))

    def backward(self, d_out=1.0):
        g = self.p
        g -= self.y
        g *= d_out / len(g)
        return g, None


@correct("cross_entropy")
class CELoops:
    def forward(self, logits, labels):
        n, k = logits.shape
        self.p = np.zeros((n, k))
        total = 0.0
        for i in range(n):
            m = max(logits[i])
            e = [np.exp(logits[i, j] - m) for j in range(k)]
            s = sum(e)
            for j in range(k):
                self.p[i, j] = e[j] / s
                if labels[i, j] == 1:
                    total -= np.log(self.p[i, j])
        self.y = labels
        return total / n

    def backward(self, d_out=1.0):
        return d_out * (self.p - self.y) / self.p.shape[0], None


@buggy("cross_entropy", "no_max_shift", "maximum logit")
class CENoMaxShift(CEStable):
    def forward(self, logits, labels):
        with np.errstate(over="ignore", invalid="ignore"):
            probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
            loss = -np.sum(labels * np.log(probs)) / len(logits)
        self.cache = (probs, labels)
        return float(loss)


@buggy("cross_entropy", "loss_summed", "summed over the batch")
class CESummed(CEStable):
    def forward(self, logits, labels):
        return super().forward(logits, labels) * len(logits)

    def backward(self, d_out=1.0):
        probs, labels = self.cache
        return d_out * (probs - labels), None


@buggy("cross_entropy", "loss_mean_over_NK", "N*K")
class CEMeanOverNK(CEStable):
    def forward(self, logits, labels):
        probs = _stable_softmax(logits)
        self.cache = (probs, labels)
        return float(-np.mean(labels * np.log(probs)))


@buggy("cross_entropy", "per_sample_loss", "one number")
class CEPerSample(CEStable):
    def forward(self, logits, labels):
        probs = _stable_softmax(logits)
        self.cache = (probs, labels)
        return -np.sum(labels * np.log(probs), axis=1)


@buggy("cross_entropy", "softmax_wrong_axis", "axis=1")
class CESoftmaxBatchAxis(CEStable):
    def forward(self, logits, labels):
        probs = scipy.special.softmax(logits, axis=0)
        self.cache = (probs, labels)
        return float(-np.sum(labels * np.log(probs)) / len(logits))


@buggy("cross_entropy", "gradient_wrt_probabilities", "probabilities")
class CEGradWrtProbs(CEStable):
    def backward(self, d_out=1.0):
        probs, labels = self.cache
        return -d_out * labels / probs / len(probs), None


@buggy("cross_entropy", "missing_1_over_N", "divide by the batch size")
class CEMissingOneOverN(CEStable):
    def backward(self, d_out=1.0):
        probs, labels = self.cache
        return d_out * (probs - labels), None


@correct("cross_entropy")
class CEHandoutIgnoresDOut(CEStable):
    """The handout's own answer: the loss is the last node, so d_out is left out."""

    def backward(self, d_out=1.0):
        probs, labels = self.cache
        return (probs - labels) / labels.shape[0], None


@buggy("cross_entropy", "sign_error", "sign")
class CESignBackward(CEStable):
    def backward(self, d_out=1.0):
        probs, labels = self.cache
        return d_out * (labels - probs) / len(probs), None


@buggy("cross_entropy", "sign_error", "sign")
class CESignForward(CEStable):
    def forward(self, logits, labels):
        return -super().forward(logits, labels)


@buggy("cross_entropy", "backward_no_default_d_out", "d_out=1.0")
class CENoDefaultDOut(CEStable):
    def backward(self, d_out):
        return super().backward(d_out)


@buggy("cross_entropy", "mutates_inputs", "in place")
class CEMutatesLogits(CEStable):
    def forward(self, logits, labels):
        logits -= logits.max(axis=1, keepdims=True)
        return super().forward(logits, labels)


@buggy("cross_entropy", "mutates_inputs", "labels (its values changed")
class CEMutatesLabels(CEStable):
    def forward(self, logits, labels):
        np.clip(labels, 1e-12, 1.0, out=labels)  # "smoothing" the caller's labels
        return super().forward(logits, labels)


@buggy("cross_entropy", "wrong_return_count", "must return 2 values")
class CEReturnsOnlyDLogits(CEStable):
    def backward(self, d_out=1.0):
        return super().backward(d_out)[0]
