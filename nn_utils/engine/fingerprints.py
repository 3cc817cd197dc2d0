"""Fingerprints shared by every row: simple transforms of the expected value that name a bug.

A row lists its own fingerprints first (they know the layer); these generic
ones are tried after them, for every gradient (and, where it makes sense, the
forward output).  Judge side: numpy, pure, and no maths of its own -- every
candidate is computed from the stored expected values.
"""
from __future__ import annotations

import numpy as np

from .numeric import rel_error
from .spec import Fingerprint

__all__ = ["GENERIC", "context", "match"]


def _scaled_by_n(power):
    def candidate(ctx):
        n = ctx.dims.get("N")
        return None if n is None else ctx.ref * float(n) ** power
    return candidate


def _ignores_d_out(ctx):
    if ctx.target == "out":
        return None
    return ctx.expected["grads_ones"].get(ctx.target)


def _transposed(ctx):
    return ctx.ref.T if np.ndim(ctx.ref) == 2 else None


def _d_out_itself(ctx):
    return None if ctx.target == "out" or np.ndim(ctx.d_out) == 0 else ctx.d_out


GENERIC = (
    Fingerprint("sign_error", "*", lambda ctx: -ctx.ref,
                "the sign is flipped: check for a stray minus sign"),
    Fingerprint("ignores_d_out", "*", _ignores_d_out,
                "the result does not depend on d_out: multiply by the incoming "
                "gradient d_out (chain rule) instead of assuming it is 1"),
    Fingerprint("missing_1_over_N", "*", _scaled_by_n(1),
                "it is N times too large: divide by the batch size N"),
    Fingerprint("extra_1_over_N", "*", _scaled_by_n(-1),
                "it is N times too small: remove the division by the batch size N"),
    Fingerprint("transposed", "*", _transposed,
                "it is the transpose of the right answer: swap the factors of the "
                "matrix product (and their transposes)"),
    Fingerprint("returns_d_out", "*", _d_out_itself,
                "it is d_out unchanged: apply this layer's local derivative to d_out"),
    Fingerprint("zero_gradient", "*", lambda ctx: np.zeros_like(ctx.ref),
                "it is all zeros: compute the gradient instead of returning zeros"),
)


class _Context:
    """What a fingerprint's candidate sees (see ``Fingerprint``)."""

    def __init__(self, spec, arrays, d_out, expected, target, ref, got, plan=None):
        plan = plan or {}
        self.hyper = plan.get("hyper", {})
        self.spec, self.d_out = spec, d_out
        self.arrays, self.dims = {**arrays, **self.hyper}, plan.get("dims", spec.dims)
        self.expected, self.out, self.extras = expected, expected["out"], expected["extras"]
        self.target, self.ref, self.got = target, ref, got


def context(spec, arrays, d_out, expected, target, ref, got, plan=None) -> _Context:
    """The ``ctx`` a fingerprint's candidate receives (see ``Fingerprint``); ``plan``
    gives the sizes and hyper-parameters of rows that draw them."""
    return _Context(spec, arrays, d_out, expected, target, ref, got, plan)


def match(spec, ctx, tolerance: float):
    """The first fingerprint (row's, then generic) whose candidate equals ``ctx.got``."""
    got = np.asarray(ctx.got, dtype=np.float64)
    if ctx.target == "out" or ctx.target.startswith("variant:"):
        pool = [fp for fp in spec.fingerprints if fp.target == ctx.target] + [GENERIC[0]]
    else:
        pool = [fp for fp in spec.fingerprints if fp.target in (ctx.target, "*")]
        pool += list(GENERIC)
    for fp in pool:
        try:
            with np.errstate(all="ignore"):  # odd student values make odd candidates
                cand = fp.candidate(ctx)
        except (ValueError, IndexError, KeyError, ZeroDivisionError, FloatingPointError):
            continue
        if cand is None:
            continue
        cand = np.asarray(cand, dtype=np.float64)
        if cand.size == got.size == 1:
            cand, got_ = cand.reshape(()), got.reshape(())
        else:
            got_ = got
        if cand.shape != got_.shape or not np.all(np.isfinite(cand)):
            continue
        if np.array_equal(cand, np.asarray(ctx.ref)) and cand.shape == np.shape(ctx.ref):
            continue  # the transform is the identity here (e.g. a symmetric matrix)
        if rel_error(got_, cand) <= tolerance:
            return fp
    return None
