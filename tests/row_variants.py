"""Student-style implementations of the ten rows that take a class (the issue's table).

``CORRECT[check]`` lists correct solutions in several styles (each must pass);
``BUGGY`` lists ``(check, class, bug_id, message_fragment, always)``: one small
class per common bug, which must fail with that bug named -- at every seed, or,
where ``always`` is False (a bug a setting can hide, e.g. the stride in a
stride-1 plan), at seed 0 and named wherever it fails.
"""
from __future__ import annotations

import numpy as np

CORRECT: dict[str, list] = {}
BUGGY: list[tuple] = []


def correct(check):
    def add(cls):
        CORRECT.setdefault(check, []).append(cls)
        return cls
    return add


def buggy(check, bug, fragment, always=True):
    def add(cls):
        BUGGY.append((check, cls, bug, fragment, always))
        return cls
    return add



# ======================================================================= tanh
@correct("tanh")
class Tanh:
    def forward(self, inputs):
        self.out = np.tanh(inputs)
        return self.out

    def backward(self, d_out):
        return d_out * (1 - self.out ** 2)


@correct("tanh")
class TanhFromExp:
    def forward(self, inputs):
        e = np.exp(-2 * inputs)
        self.y = (1 - e) / (1 + e)
        return self.y

    def backward(self, d_out):
        return d_out * (1 - self.y * self.y)


@correct("tanh")
class TanhFloat32Loops:
    def forward(self, inputs):
        x = inputs.astype(np.float32)
        self.y = np.empty_like(x)
        for idx in np.ndindex(x.shape):
            self.y[idx] = np.tanh(x[idx])
        return self.y

    def backward(self, d_out):
        d = np.empty_like(self.y)
        for idx in np.ndindex(self.y.shape):
            d[idx] = d_out[idx] * (1 - self.y[idx] ** 2)
        return d


@buggy("tanh", "tanh_grad_from_inputs", "OUTPUT")
class TanhGradFromInputs(Tanh):
    def forward(self, inputs):
        self.x = inputs
        return super().forward(inputs)

    def backward(self, d_out):
        return d_out * (1 - self.x ** 2)


@buggy("tanh", "tanh_grad_not_squared", "square")
class TanhGradNotSquared(Tanh):
    def backward(self, d_out):
        return d_out * (1 - self.out)


# ==================================================================== softmax
@correct("softmax")
class Softmax:
    def forward(self, logits):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return self.p

    def backward(self, d_out):
        return self.p * (d_out - np.sum(d_out * self.p, axis=1, keepdims=True))


@correct("softmax")
class SoftmaxJacobianLoops:
    def forward(self, logits):
        self.p = np.zeros_like(logits)
        for i, row in enumerate(logits):
            e = np.exp(row - np.max(row))
            self.p[i] = e / np.sum(e)
        return self.p

    def backward(self, d_out):
        d = np.zeros_like(d_out)
        for i, p in enumerate(self.p):
            jacobian = np.diag(p) - np.outer(p, p)
            d[i] = jacobian @ d_out[i]
        return d


@correct("softmax")
class SoftmaxFloat32Einsum:
    def forward(self, logits):
        z = logits.astype(np.float32)
        e = np.exp(z - z.max(1)[:, None])
        self.p = e / e.sum(1)[:, None]
        return self.p

    def backward(self, d_out):
        jac = np.einsum("nk,kj->nkj", self.p, np.eye(self.p.shape[1], dtype=np.float32)) \
            - np.einsum("nk,nj->nkj", self.p, self.p)
        return np.einsum("nkj,nj->nk", jac, d_out.astype(np.float32))


@buggy("softmax", "no_max_shift", "maximum")
class SoftmaxNoShift(Softmax):
    def forward(self, logits):
        with np.errstate(all="ignore"):
            e = np.exp(logits)
            self.p = e / e.sum(axis=1, keepdims=True)
        return self.p


@buggy("softmax", "softmax_diagonal_only", "diagonal")
class SoftmaxDiagonalOnly(Softmax):
    def backward(self, d_out):
        return d_out * self.p * (1 - self.p)


@buggy("softmax", "softmax_wrong_axis", "axis=1")
class SoftmaxWrongAxis(Softmax):
    def forward(self, logits):
        e = np.exp(logits - logits.max(axis=0, keepdims=True))
        self.p = e / e.sum(axis=0, keepdims=True)
        return self.p


# ================================================================= leaky ReLU
@correct("leaky_relu")
class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, inputs):
        self.x = inputs
        return np.where(inputs > 0, inputs, self.alpha * inputs)

    def backward(self, d_out):
        return d_out * np.where(self.x > 0, 1.0, self.alpha)


@correct("leaky_relu")
class LeakyReLUMaximumMask:
    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, inputs):
        self.positive = inputs > 0
        return np.maximum(inputs, self.alpha * inputs)

    def backward(self, d_out):
        grad = d_out.copy()
        grad[~self.positive] *= self.alpha
        return grad


@correct("leaky_relu")
class LeakyReLULoopsFloat32:
    def __init__(self, alpha=0.01):
        self.alpha = np.float32(alpha)

    def forward(self, inputs):
        self.x = inputs.astype(np.float32)
        out = np.empty_like(self.x)
        for idx in np.ndindex(out.shape):
            v = self.x[idx]
            out[idx] = v if v > 0 else self.alpha * v
        return out

    def backward(self, d_out):
        d = np.empty_like(self.x)
        for idx in np.ndindex(d.shape):
            d[idx] = d_out[idx] * (1 if self.x[idx] > 0 else self.alpha)
        return d


@buggy("leaky_relu", "alpha_ignored", "given to the constructor")
class LeakyReLUHardCoded(LeakyReLU):
    def __init__(self, alpha=0.01):
        self.alpha = 0.01


@buggy("leaky_relu", "relu_not_leaky", "multiplied by alpha")
class LeakyReLUIsRelu(LeakyReLU):
    def forward(self, inputs):
        self.x = inputs
        return np.maximum(inputs, 0)


@buggy("leaky_relu", "alpha_on_positive_side", "NEGATIVE")
class LeakyReLUSwapped(LeakyReLU):
    def forward(self, inputs):
        self.x = inputs
        return np.where(inputs > 0, self.alpha * inputs, inputs)


@buggy("leaky_relu", "relu_not_leaky", "still pass a gradient")
class LeakyReLUReluGradient(LeakyReLU):
    def backward(self, d_out):
        return d_out * (self.x > 0)


# ==================================================================== dropout
@correct("dropout")
class Dropout:
    def __init__(self, rate):
        self.rate = rate
        self.mask = None

    def forward(self, inputs, train=True):
        if not train:
            self.mask = None
            return inputs
        self.mask = np.random.rand(*inputs.shape) >= self.rate
        return inputs * self.mask / (1 - self.rate)

    def backward(self, d_out):
        return d_out if self.mask is None else d_out * self.mask / (1 - self.rate)


@correct("dropout")
class DropoutGenerator:
    def __init__(self, rate):
        self.rate, self.rng, self.train = rate, np.random.default_rng(), True

    def forward(self, inputs, train=True):
        self.train = train
        if not train:
            return inputs
        self.mask = self.rng.binomial(1, 1 - self.rate, size=inputs.shape).astype(bool)
        return np.where(self.mask, inputs / (1 - self.rate), 0.0)

    def backward(self, d_out):
        if not self.train:
            return d_out
        return np.where(self.mask, d_out / (1 - self.rate), 0.0)


@correct("dropout")
class DropoutFloat32:
    def __init__(self, rate):
        self.keep = 1.0 - rate
        self.scale = None

    def forward(self, inputs, train=True):
        if train:
            self.mask = np.random.uniform(size=inputs.shape) < self.keep
            self.scale = self.mask.astype(np.float32) / np.float32(self.keep)
            return inputs.astype(np.float32) * self.scale
        self.scale = None
        return inputs

    def backward(self, d_out):
        return d_out if self.scale is None else d_out.astype(np.float32) * self.scale


@buggy("dropout", "no_scale", "1 - rate")
class DropoutNoScale(Dropout):
    def forward(self, inputs, train=True):
        out = super().forward(inputs, train)
        return out * (1 - self.rate) if train else out


@buggy("dropout", "rate_as_keep_probability", "DROPPING")
class DropoutRateAsKeep(Dropout):
    def forward(self, inputs, train=True):
        if not train:
            self.mask = None
            return inputs
        self.mask = np.random.rand(*inputs.shape) < self.rate
        return inputs * self.mask / self.rate


@buggy("dropout", "active_in_test_mode", "test time")
class DropoutActiveInTestMode(Dropout):
    def forward(self, inputs, train=True):
        return super().forward(inputs, True)


@buggy("dropout", "mask_reused", "new mask")
class DropoutOneMaskForever(Dropout):
    def forward(self, inputs, train=True):
        if not train:
            return inputs
        if self.mask is None:
            self.mask = np.random.rand(*inputs.shape) >= self.rate
        return inputs * self.mask / (1 - self.rate)


@buggy("dropout", "backward_wrong_mask", "mask of the last forward")
class DropoutBackwardNewMask(Dropout):
    def backward(self, d_out):
        return d_out * (np.random.rand(*d_out.shape) >= self.rate) / (1 - self.rate)


@buggy("dropout", "mask_inverted", "KEPT")
class DropoutMaskInverted(Dropout):
    def forward(self, inputs, train=True):
        if not train:
            self.mask = None
            return inputs
        self.mask = np.random.rand(*inputs.shape) < self.rate   # marks the dropped ones
        return inputs * ~self.mask / (1 - self.rate)


@buggy("dropout", "mutates_inputs", "do not write into arrays")
class DropoutInPlace(Dropout):
    def forward(self, inputs, train=True):
        if not train:
            return inputs
        self.mask = np.random.rand(*inputs.shape) >= self.rate
        inputs *= self.mask / (1 - self.rate)
        return inputs


# ================================================================== batchnorm
@correct("batchnorm")
class BatchNorm:
    """The compact backward."""

    def __init__(self, eps=1e-5, momentum=0.9):
        self.eps, self.momentum = eps, momentum
        self.running_mean = self.running_var = None

    def forward(self, inputs, gamma, beta, train=True):
        if self.running_mean is None:
            self.running_mean = np.zeros(inputs.shape[1])
            self.running_var = np.ones(inputs.shape[1])
        if train:
            mean, var = inputs.mean(axis=0), inputs.var(axis=0)
            m = self.momentum
            self.running_mean = m * self.running_mean + (1 - m) * mean
            self.running_var = m * self.running_var + (1 - m) * var
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (inputs - mean) * self.inv_std
        self.gamma = gamma
        return gamma * self.x_hat + beta

    def backward(self, d_out):
        n = d_out.shape[0]
        d_hat = d_out * self.gamma
        d_x = self.inv_std / n * (n * d_hat - d_hat.sum(axis=0)
                                  - self.x_hat * (d_hat * self.x_hat).sum(axis=0))
        return d_x, (d_out * self.x_hat).sum(axis=0), d_out.sum(axis=0)


@correct("batchnorm")
class BatchNormStepByStep:
    """The computational graph, node by node (as in the CS231n notes)."""

    def __init__(self, eps=1e-5, momentum=0.9):
        self.eps, self.momentum = eps, momentum

    def forward(self, inputs, gamma, beta, train=True):
        if not hasattr(self, "running_mean"):
            self.running_mean = np.zeros(inputs.shape[1])
            self.running_var = np.ones(inputs.shape[1])
        if not train:
            return gamma * (inputs - self.running_mean) / np.sqrt(
                self.running_var + self.eps) + beta
        n = inputs.shape[0]
        mu = 1.0 / n * np.sum(inputs, axis=0)
        xmu = inputs - mu
        sq = xmu ** 2
        var = 1.0 / n * np.sum(sq, axis=0)
        sqrtvar = np.sqrt(var + self.eps)
        ivar = 1.0 / sqrtvar
        xhat = xmu * ivar
        self.cache = (xhat, gamma, xmu, ivar, sqrtvar, var)
        self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
        self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        return gamma * xhat + beta

    def backward(self, d_out):
        xhat, gamma, xmu, ivar, sqrtvar, var = self.cache
        n = d_out.shape[0]
        dbeta = np.sum(d_out, axis=0)
        dgamma = np.sum(d_out * xhat, axis=0)
        dxhat = d_out * gamma
        divar = np.sum(dxhat * xmu, axis=0)
        dxmu1 = dxhat * ivar
        dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
        dvar = 0.5 * 1.0 / np.sqrt(var + self.eps) * dsqrtvar
        dsq = 1.0 / n * np.ones_like(d_out) * dvar
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
        dx2 = 1.0 / n * np.ones_like(d_out) * dmu
        return dx1 + dx2, dgamma, dbeta


@correct("batchnorm")
class BatchNormFloat32(BatchNorm):
    def forward(self, inputs, gamma, beta, train=True):
        return super().forward(inputs.astype(np.float32), gamma.astype(np.float32),
                               beta.astype(np.float32), train).astype(np.float32)

    def backward(self, d_out):
        return tuple(g.astype(np.float32) for g in super().backward(d_out.astype(np.float32)))


@buggy("batchnorm", "unbiased_variance", "N - 1")
class BatchNormUnbiased(BatchNorm):
    def forward(self, inputs, gamma, beta, train=True):
        n = inputs.shape[0]
        self.running_mean = np.zeros(inputs.shape[1])
        self.running_var = np.ones(inputs.shape[1])
        mean, var = inputs.mean(axis=0), inputs.var(axis=0, ddof=1)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (inputs - mean) * self.inv_std
        self.gamma, self.n = gamma, n
        return gamma * self.x_hat + beta


@buggy("batchnorm", "running_average_swapped", "OLD value")
class BatchNormSwappedRunning(BatchNorm):
    def __init__(self, eps=1e-5, momentum=0.9):
        super().__init__(eps, 1 - momentum)


@buggy("batchnorm", "test_mode_batch_statistics", "running averages")
class BatchNormBatchStatsAtTest(BatchNorm):
    def forward(self, inputs, gamma, beta, train=True):
        out = super().forward(inputs, gamma, beta, True)
        return out


@buggy("batchnorm", "backward_ignores_mean_path", "batch mean depends")
class BatchNormForgetsMean(BatchNorm):
    def backward(self, d_out):
        d_x, d_gamma, d_beta = super().backward(d_out)
        d_hat = d_out * self.gamma
        return d_x + d_hat.mean(axis=0) * self.inv_std, d_gamma, d_beta


@buggy("batchnorm", "eps_ignored", "eps given")
class BatchNormHardCodedEps(BatchNorm):
    def __init__(self, eps=1e-5, momentum=0.9):
        super().__init__(1e-5, momentum)


@buggy("batchnorm", "momentum_ignored", "momentum given")
class BatchNormHardCodedMomentum(BatchNorm):
    def __init__(self, eps=1e-5, momentum=0.9):
        super().__init__(eps, 0.9)


# ===================================================================== conv2d
@correct("conv2d")
class Conv2DNaive:
    """Six nested loops: the slowest style a student writes."""

    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forward(self, inputs, weight, bias):
        s, p = self.stride, self.padding
        n_, c_, h_, w_ = inputs.shape
        f_, _, kh, kw = weight.shape
        xp = np.zeros((n_, c_, h_ + 2 * p, w_ + 2 * p))
        xp[:, :, p:p + h_, p:p + w_] = inputs
        ho, wo = (h_ + 2 * p - kh) // s + 1, (w_ + 2 * p - kw) // s + 1
        out = np.zeros((n_, f_, ho, wo))
        for n in range(n_):
            for f in range(f_):
                for i in range(ho):
                    for j in range(wo):
                        total = bias[f]
                        for c in range(c_):
                            for a in range(kh):
                                for b in range(kw):
                                    total += xp[n, c, i * s + a, j * s + b] * weight[f, c, a, b]
                        out[n, f, i, j] = total
        self.cache = (inputs.shape, xp, weight)
        return out

    def backward(self, d_out):
        shape, xp, weight = self.cache
        s = self.stride
        d_xp, d_w = np.zeros_like(xp), np.zeros_like(weight)
        n_, f_, ho, wo = d_out.shape
        _, c_, kh, kw = weight.shape
        for n in range(n_):
            for f in range(f_):
                for i in range(ho):
                    for j in range(wo):
                        g = d_out[n, f, i, j]
                        for c in range(c_):
                            for a in range(kh):
                                for b in range(kw):
                                    d_xp[n, c, i * s + a, j * s + b] += g * weight[f, c, a, b]
                                    d_w[f, c, a, b] += g * xp[n, c, i * s + a, j * s + b]
        return self._crop(d_xp, shape), d_w, d_out.sum(axis=(0, 2, 3))

    def _crop(self, d_xp, shape):
        p = self.padding
        return d_xp[:, :, p:p + shape[2], p:p + shape[3]]


@correct("conv2d")
class Conv2DIm2col:
    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def _cols(self, xp, kh, kw, ho, wo):
        s = self.stride
        cols = np.stack([xp[:, :, a:a + s * ho:s, b:b + s * wo:s]
                         for a in range(kh) for b in range(kw)], axis=2)  # N C K HO WO
        n, c = xp.shape[:2]
        return cols.reshape(n, c * kh * kw, ho * wo)

    def forward(self, inputs, weight, bias):
        p = self.padding
        xp = np.pad(inputs, ((0, 0), (0, 0), (p, p), (p, p)))
        f, c, kh, kw = weight.shape
        ho = (xp.shape[2] - kh) // self.stride + 1
        wo = (xp.shape[3] - kw) // self.stride + 1
        cols = self._cols(xp, kh, kw, ho, wo)
        out = weight.reshape(f, -1) @ cols + bias[:, None]
        self.cache = (inputs.shape, xp.shape, cols, weight, ho, wo)
        return out.reshape(inputs.shape[0], f, ho, wo)

    def backward(self, d_out):
        shape, xshape, cols, weight, ho, wo = self.cache
        f, c, kh, kw = weight.shape
        d = d_out.reshape(d_out.shape[0], f, -1)
        d_w = np.einsum("nfk,nck->fc", d, cols).reshape(weight.shape)
        d_cols = np.einsum("fc,nfk->nck", weight.reshape(f, -1), d)
        d_cols = d_cols.reshape(shape[0], c, kh * kw, ho, wo)
        d_xp = np.zeros(xshape)
        s, p = self.stride, self.padding
        for k in range(kh * kw):
            a, b = divmod(k, kw)
            d_xp[:, :, a:a + s * ho:s, b:b + s * wo:s] += d_cols[:, :, k]
        return d_xp[:, :, p:p + shape[2], p:p + shape[3]], d_w, d_out.sum(axis=(0, 2, 3))


@correct("conv2d")
class Conv2DEinsumFloat32:
    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forward(self, inputs, weight, bias):
        s, p = self.stride, self.padding
        x = np.pad(inputs.astype(np.float32), ((0, 0), (0, 0), (p, p), (p, p)))
        w = weight.astype(np.float32)
        kh, kw = w.shape[2:]
        ho, wo = (x.shape[2] - kh) // s + 1, (x.shape[3] - kw) // s + 1
        win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
        win = win[:, :, ::s, ::s][:, :, :ho, :wo]          # N C HO WO KH KW
        self.cache = (inputs.shape, x.shape, win, w)
        return np.einsum("nchwij,fcij->nfhw", win, w) + bias.astype(np.float32)[:, None, None]

    def backward(self, d_out):
        shape, xshape, win, w = self.cache
        s, p = self.stride, self.padding
        d = d_out.astype(np.float32)
        d_w = np.einsum("nfhw,nchwij->fcij", d, win)
        d_xp = np.zeros(xshape, dtype=np.float32)
        ho, wo = d.shape[2:]
        for i in range(w.shape[2]):
            for j in range(w.shape[3]):
                d_xp[:, :, i:i + s * ho:s, j:j + s * wo:s] += np.einsum(
                    "nfhw,fc->nchw", d, w[:, :, i, j])
        return d_xp[:, :, p:p + shape[2], p:p + shape[3]], d_w, d.sum(axis=(0, 2, 3))


@buggy("conv2d", "flipped_kernel", "cross-correlation")
class Conv2DFlipped(Conv2DIm2col):
    def forward(self, inputs, weight, bias):
        return super().forward(inputs, weight[:, :, ::-1, ::-1].copy(), bias)


@buggy("conv2d", "stride_ignored", "stride given", always=False)
class Conv2DStrideIgnored(Conv2DIm2col):
    def __init__(self, stride=1, padding=0):
        super().__init__(1, padding)


@buggy("conv2d", "backward_ignores_stride", "strided position", always=False)
class Conv2DBackwardStride1(Conv2DNaive):
    def backward(self, d_out):
        stride = self.stride
        self.stride = 1
        try:
            return super().backward(d_out)
        finally:
            self.stride = stride


@buggy("conv2d", "padding_not_removed", "PADDED", always=False)
class Conv2DPaddingKept(Conv2DNaive):
    def _crop(self, d_xp, shape):
        return d_xp


@buggy("conv2d", "d_bias_wrong_axes", "sum d_out over the batch AND")
class Conv2DBiasOverPositionsOnly(Conv2DIm2col):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out.sum(axis=(2, 3))


@buggy("conv2d", "d_bias_wrong_axes", "keep the filter axis")
class Conv2DBiasOverFilters(Conv2DIm2col):
    def backward(self, d_out):
        d_x, d_w, _ = super().backward(d_out)
        return d_x, d_w, d_out.sum(axis=(1, 2, 3))


# ================================================================== maxpool2d
@correct("maxpool2d")
class MaxPoolLoops:
    def __init__(self, size=2, stride=2):
        self.size, self.stride = size, stride

    def forward(self, inputs):
        k, s = self.size, self.stride
        n_, c_, h_, w_ = inputs.shape
        ho, wo = (h_ - k) // s + 1, (w_ - k) // s + 1
        out = np.zeros((n_, c_, ho, wo))
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    for j in range(wo):
                        out[n, c, i, j] = np.max(inputs[n, c, i * s:i * s + k, j * s:j * s + k])
        self.inputs = inputs
        return out

    def backward(self, d_out):
        k, s, x = self.size, self.stride, self.inputs
        d_x = np.zeros_like(x)
        n_, c_, ho, wo = d_out.shape
        for n in range(n_):
            for c in range(c_):
                for i in range(ho):
                    for j in range(wo):
                        window = x[n, c, i * s:i * s + k, j * s:j * s + k]
                        mask = window == np.max(window)
                        d_x[n, c, i * s:i * s + k, j * s:j * s + k] += mask * d_out[n, c, i, j]
        return d_x


@correct("maxpool2d")
class MaxPoolWindowsFloat32:
    def __init__(self, size=2, stride=2):
        self.size, self.stride = size, stride

    def forward(self, inputs):
        k, s = self.size, self.stride
        x = inputs.astype(np.float32)
        win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        self.shape, self.win = x.shape, win.reshape(*win.shape[:4], k * k)
        self.arg = self.win.argmax(axis=-1)
        return self.win.max(axis=-1)

    def backward(self, d_out):
        k, s = self.size, self.stride
        d_x = np.zeros(self.shape, dtype=np.float32)
        n, c, i, j = np.indices(self.arg.shape)
        a, b = np.divmod(self.arg, k)
        np.add.at(d_x, (n, c, i * s + a, j * s + b), d_out.astype(np.float32))
        return d_x


@buggy("maxpool2d", "routes_to_every_entry", "largest entry")
class MaxPoolEveryEntry(MaxPoolLoops):
    def backward(self, d_out):
        k, s, x = self.size, self.stride, self.inputs
        d_x = np.zeros_like(x)
        for i in range(d_out.shape[2]):
            for j in range(d_out.shape[3]):
                d_x[:, :, i * s:i * s + k, j * s:j * s + k] += d_out[:, :, i:i + 1, j:j + 1]
        return d_x


@buggy("maxpool2d", "overlap_overwritten", "add, do not overwrite", always=False)
class MaxPoolOverwrites(MaxPoolLoops):
    def backward(self, d_out):
        k, s, x = self.size, self.stride, self.inputs
        d_x = np.zeros_like(x)
        for n, c, i, j in np.ndindex(d_out.shape):
            window = x[n, c, i * s:i * s + k, j * s:j * s + k]
            a, b = np.unravel_index(np.argmax(window), window.shape)
            d_x[n, c, i * s + a, j * s + b] = d_out[n, c, i, j]
        return d_x


@buggy("maxpool2d", "size_or_stride_ignored", "size and stride given")
class MaxPoolDefaults(MaxPoolLoops):
    def __init__(self, size=2, stride=2):
        super().__init__(2, 2)


# ================================================================= optimisers
@correct("momentum")
class Momentum:
    """v = m v - lr g; p + v"""

    def __init__(self, learning_rate, momentum=0.9):
        self.learning_rate, self.momentum, self.velocity = learning_rate, momentum, 0.0

    def update(self, param, grad):
        self.velocity = self.momentum * self.velocity - self.learning_rate * grad
        return param + self.velocity


@correct("momentum")
class MomentumOtherConvention:
    """v = m v + g; p - lr v"""

    def __init__(self, learning_rate, momentum=0.9):
        self.lr, self.mu, self.v = learning_rate, momentum, None

    def update(self, param, grad):
        if self.v is None:
            self.v = np.zeros_like(param)
        self.v = self.mu * self.v + grad
        return param - self.lr * self.v


@correct("momentum")
class MomentumFloat32(Momentum):
    def update(self, param, grad):
        self.velocity = np.float32(self.momentum) * self.velocity \
            - np.float32(self.learning_rate) * grad.astype(np.float32)
        return param.astype(np.float32) + self.velocity


@buggy("momentum", "velocity_not_kept", "keeps its velocity")
class MomentumForgets(Momentum):
    def update(self, param, grad):
        velocity = self.momentum * 0.0 - self.learning_rate * grad
        return param + velocity


@buggy("momentum", "momentum_ignored", "momentum given")
class MomentumHardCoded(Momentum):
    def __init__(self, learning_rate, momentum=0.9):
        super().__init__(learning_rate, 0.9)


@buggy("momentum", "mutates_inputs", "new array")
class MomentumInPlace(Momentum):
    def update(self, param, grad):
        self.velocity = self.momentum * self.velocity - self.learning_rate * grad
        param += self.velocity
        return param


@correct("rmsprop")
class RMSProp:
    def __init__(self, learning_rate, decay=0.99, eps=1e-8):
        self.learning_rate, self.decay, self.eps, self.cache = learning_rate, decay, eps, 0.0

    def update(self, param, grad):
        self.cache = self.decay * self.cache + (1 - self.decay) * grad ** 2
        return param - self.learning_rate * grad / (np.sqrt(self.cache) + self.eps)


@correct("rmsprop")
class RMSPropLoopsFloat32:
    def __init__(self, learning_rate, decay=0.99, eps=1e-8):
        self.lr, self.rho, self.eps, self.cache = learning_rate, decay, eps, None

    def update(self, param, grad):
        if self.cache is None:
            self.cache = np.zeros(param.shape, dtype=np.float32)
        new = param.astype(np.float32).copy()
        for idx in np.ndindex(param.shape):
            self.cache[idx] = self.rho * self.cache[idx] + (1 - self.rho) * grad[idx] ** 2
            new[idx] -= self.lr * grad[idx] / (np.sqrt(self.cache[idx]) + self.eps)
        return new


@buggy("rmsprop", "cache_not_kept", "keeps its cache")
class RMSPropForgets(RMSProp):
    def update(self, param, grad):
        self.cache = 0.0
        return super().update(param, grad)


@buggy("rmsprop", "eps_inside_sqrt", "after the square root")
class RMSPropEpsInside(RMSProp):
    def update(self, param, grad):
        self.cache = self.decay * self.cache + (1 - self.decay) * grad ** 2
        return param - self.learning_rate * grad / np.sqrt(self.cache + self.eps)


@buggy("rmsprop", "decay_ignored", "decay given")
class RMSPropHardCodedDecay(RMSProp):
    def __init__(self, learning_rate, decay=0.99, eps=1e-8):
        super().__init__(learning_rate, 0.99, eps)


@correct("adam")
class Adam:
    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.m = self.v = 0.0
        self.t = 0

    def update(self, param, grad):
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return param - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


@correct("adam")
class AdamStateDictFloat32:
    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.settings = {"lr": learning_rate, "b1": beta1, "b2": beta2, "eps": eps}
        self.state = {"t": 0}

    def update(self, param, grad):
        s, st = self.settings, self.state
        g = grad.astype(np.float32)
        st["t"] += 1
        st["m"] = s["b1"] * st.get("m", np.zeros_like(g)) + (1 - s["b1"]) * g
        st["v"] = s["b2"] * st.get("v", np.zeros_like(g)) + (1 - s["b2"]) * g * g
        m_hat = st["m"] / (1 - s["b1"] ** st["t"])
        v_hat = st["v"] / (1 - s["b2"] ** st["t"])
        return (param - s["lr"] * m_hat / (np.sqrt(v_hat) + s["eps"])).astype(np.float32)


@buggy("adam", "no_bias_correction", "bias")
class AdamNoBiasCorrection(Adam):
    def update(self, param, grad):
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad ** 2
        return param - self.learning_rate * self.m / (np.sqrt(self.v) + self.eps)


@buggy("adam", "t_off_by_one", "first update")
class AdamTOffByOne(Adam):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.t = 1


@buggy("adam", "betas_swapped", "beta1 weights")
class AdamBetasSwapped(Adam):
    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(learning_rate, beta2, beta1, eps)
