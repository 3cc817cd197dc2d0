"""Float64 reference maths of the convolution rows (``nn_utils.conv``): Conv2D, MaxPool2D.

Teacher side only.  Each function takes the row's ``arrays`` (inputs plus the
hyper-parameters the plan drew); ``extras`` are the values of named bugs that
are no simple transform of the right answer.
"""
from __future__ import annotations

import numpy as np

from .layers import Row, layer_rows

__all__ = ["ROWS", "EXPECTED"]


def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _conv(x, w, b, stride, padding, flip=False):
    w = w[:, :, ::-1, ::-1] if flip else w
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = _out_size(h, kh, stride, padding), _out_size(wd, kw, stride, padding)
    xp = _pad(x, padding)
    out = np.zeros((n, f, ho, wo)) + b[None, :, None, None]
    for i in range(kh):
        for j in range(kw):
            window = xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
            out += np.einsum("nchw,fc->nfhw", window, w[:, :, i, j])
    return out


def _conv_grads(x, w, d, stride, padding, place_stride=None):
    """Gradients; ``place_stride`` 1: a backward that forgets the stride."""
    place = stride if place_stride is None else place_stride
    f, _, kh, kw = w.shape
    ho, wo = d.shape[2:]
    xp = _pad(x, padding)
    d_xp = np.zeros((x.shape[0], x.shape[1], max(xp.shape[2], place * (ho - 1) + kh),
                     max(xp.shape[3], place * (wo - 1) + kw)))
    d_w = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            d_xp[:, :, i:i + place * ho:place, j:j + place * wo:place] += np.einsum(
                "nfhw,fc->nchw", d, w[:, :, i, j])
            window = xp[:, :, i:i + place * ho:place, j:j + place * wo:place]
            if window.shape[2:] == d.shape[2:]:
                d_w[:, :, i, j] = np.einsum("nfhw,nchw->fc", d, window)
    return d_xp[:, :, :xp.shape[2], :xp.shape[3]], d_w


def _crop(d_xp, padding, shape):
    h, w = shape[2:]
    return d_xp[:, :, padding:padding + h, padding:padding + w]


def _conv_out(a):
    return _conv(a["inputs"], a["weight"], a["bias"], a["stride"], a["padding"])


def _conv_grad(a, d):
    d = np.asarray(d, dtype=np.float64)
    d_xp, d_w = _conv_grads(a["inputs"], a["weight"], d, a["stride"], a["padding"])
    return {"inputs": _crop(d_xp, a["padding"], a["inputs"].shape), "weight": d_w,
            "bias": d.sum(axis=(0, 2, 3))}


def _conv_extras(a, d):
    x, w, b, s, p = a["inputs"], a["weight"], a["bias"], a["stride"], a["padding"]
    d = np.asarray(d, dtype=np.float64)
    d_xp, _ = _conv_grads(x, w, d, s, p)
    d_xp1, d_w1 = _conv_grads(x, w, d, s, p, place_stride=1)
    return {"out_flipped": _conv(x, w, b, s, p, flip=True),
            "out_stride_1": _conv(x, w, b, 1, p), "out_no_padding": _conv(x, w, b, s, 0),
            "d_inputs_stride_1": _crop(d_xp1, p, x.shape), "d_weight_stride_1": d_w1,
            "d_inputs_padded": d_xp,
            "d_inputs_padded_corner": d_xp[:, :, :x.shape[2], :x.shape[3]],
            "d_bias_per_sample": d.sum(axis=(2, 3)), "d_bias_per_position": d.sum(axis=0),
            "d_bias_per_sample_all": d.sum(axis=(1, 2, 3))}


def _windows(a, size=None, stride=None):
    """(N, C, HO, WO, size*size) views of the pooling windows."""
    x, k, s = a["inputs"], size or a["size"], stride or a["stride"]
    ho, wo = _out_size(x.shape[2], k, s, 0), _out_size(x.shape[3], k, s, 0)
    cols = [x[:, :, i:i + s * ho:s, j:j + s * wo:s] for i in range(k) for j in range(k)]
    return np.stack(cols, axis=-1), ho, wo


def _pool_route(a, d, weights_of):
    """Send d_out[..., i, j] into window (i, j) with per-entry weights (N, C, HO, WO, k*k)."""
    x, k, s = a["inputs"], a["size"], a["stride"]
    windows, ho, wo = _windows(a)
    weights = weights_of(windows) * np.asarray(d, dtype=np.float64)[..., None]
    d_x = np.zeros_like(x)
    for idx in range(k * k):
        i, j = divmod(idx, k)
        d_x[:, :, i:i + s * ho:s, j:j + s * wo:s] += weights[..., idx]
    return d_x


def _pool_overwritten(a, d):
    """A backward that assigns instead of adding: the later window wins an overlap."""
    x, k, s = a["inputs"], a["size"], a["stride"]
    d = np.asarray(d, dtype=np.float64)
    d_x = np.zeros_like(x)
    for n, c, i, j in np.ndindex(d.shape):
        window = x[n, c, i * s:i * s + k, j * s:j * s + k]
        r, q = np.unravel_index(int(np.argmax(window)), window.shape)
        d_x[n, c, i * s + r, j * s + q] = d[n, c, i, j]
    return d_x


def _is_max(windows):
    return (windows == windows.max(axis=-1, keepdims=True)).astype(np.float64)


def _pool_extras(a, d):
    k = a["size"]
    return {"out_average": _windows(a)[0].mean(axis=-1),
            "out_default": _windows(a, 2, 2)[0].max(axis=-1),
            "d_every_entry": _pool_route(a, d, np.ones_like),
            "d_average": _pool_route(a, d, lambda w: np.full_like(w, 1.0 / (k * k))),
            "d_overwritten": _pool_overwritten(a, d)}


ROWS = {
    "conv2d": Row(_conv_out, _conv_grad, _conv_extras),
    "maxpool2d": Row(lambda a: _windows(a)[0].max(axis=-1),
                     lambda a, d: {"inputs": _pool_route(a, d, _is_max)}, _pool_extras),
}

EXPECTED = layer_rows(ROWS)
