"""The row type of the layer-check table and the plan every row shares.

A :class:`LayerSpec` describes one forward/backward exercise as data: its
arguments and their shapes, which of them get gradients, how to step for
numerical derivatives and the fingerprints of common bugs.  It holds no
reference maths: the values a judge compares with come from the teacher's side
(``autograder.reference``), either stored at the published seeds or computed
in the grader.  :func:`make_plan` turns a row and a seed into the
inputs a probe feeds the student's code.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .numeric import directional_steps

__all__ = ["Arg", "Step", "LINEAR", "SMOOTH", "kink", "Variant", "Fingerprint",
           "LayerSpec", "make_plan", "SAMPLERS", "d_out_sample"]


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _away_from_zero(rng, shape, margin=0.1):
    # |x| >= margin: a numerical step below margin never crosses a kink at 0
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(margin, 2.0, size=shape)


def _one_hot(rng, shape):
    rows, classes = shape
    return np.eye(classes)[rng.integers(classes, size=rows)]


def _logits(rng, shape):
    return 1.5 * rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _distinct(rng, shape, gap=0.15):
    # no two entries closer than gap: a max is never tied, and a step of at most
    # gap/3 per entry (kink(gap/1.5)) never changes which entry is the largest
    size = int(np.prod(shape))
    values = (rng.permutation(size) - size / 2) * gap + rng.uniform(0, gap / 10, size)
    return values.reshape(shape)


#: sampler name -> fn(rng, shape) -> float64 array
SAMPLERS: dict[str, Callable] = {
    "normal": _normal, "away_from_zero": _away_from_zero, "one_hot": _one_hot,
    "logits": _logits, "positive": _positive, "distinct": _distinct,
}


def d_out_sample(rng, shape):
    """Upstream gradient: +-U(1.5, 3) -- away from 0 and from +-1, so a backward
    that ignores ``d_out`` (or only uses its sign) cannot pass."""
    value = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(1.5, 3.0, size=shape)
    return float(value) if shape == () else value


@dataclass(frozen=True)
class Arg:
    """One array argument of ``forward``.

    shape  -- symbolic dims, e.g. ("N", "D"), resolved through ``LayerSpec.dims``
    sample -- a :data:`SAMPLERS` name or fn(rng, shape) -> array
    grad   -- whether backward returns (and the check verifies) a gradient for it
    """

    name: str
    shape: tuple
    sample: str | Callable = "normal"
    grad: bool = True


@dataclass(frozen=True)
class Step:
    """How to step for numerical directional derivatives.

    kind "linear": the function is linear in this argument -- any step is exact;
    "kink": piecewise linear, inputs at least ``margin`` from every kink -- the
    step keeps every element on its side; "smooth": step ``h`` plus Richardson.
    """

    kind: str = "linear"
    h: float = 1.0
    margin: float = 0.0
    richardson: bool = False

    def size(self, direction) -> float:
        if self.kind == "kink":
            return 0.5 * self.margin / max(float(np.max(np.abs(direction))), 1e-12)
        return self.h


LINEAR = Step("linear", 1.0)
SMOOTH = Step("smooth", 2e-2, richardson=True)


def kink(margin: float) -> Step:
    """Step for a piecewise-linear function whose inputs keep ``margin`` from kinks."""
    return Step("kink", margin=margin)


@dataclass(frozen=True)
class Variant:
    """An extra forward call on transformed inputs (e.g. +1000 on all logits).

    transform -- fn(arrays) -> arrays (pure numpy); the judge expects the
    expected output on the transformed arrays, and names ``bug`` otherwise
    (or the bug of a row fingerprint whose target is ``"variant:<name>"``).
    forward   -- fn(obj, arrays) -> value: another call than the row's forward
    (e.g. a test-mode forward after a training one, or the running averages
    an object keeps); None: the row's own forward.
    """

    name: str
    transform: Callable[[dict], dict]
    what: str
    bug: str
    hint: str
    forward: Callable | None = None


@dataclass(frozen=True)
class Fingerprint:
    """A likely bug: ``candidate(ctx)`` is what a student with that bug returns.

    target -- "out" (forward output), an argument name (its gradient), or "*"
    (any gradient).  ``ctx`` has: arrays, d_out, dims, target, got (the student's
    value), ref (the expected value of the target), out (the expected output),
    expected (everything the teacher's side stored) and extras (values of named
    bugs that are no transform of the answer).  A candidate is a transform of
    these: it never computes the answer itself.  It may have any shape: it is
    tried when the student's shape is wrong too.  Return None when it does not
    apply.
    """

    bug: str
    target: str
    candidate: Callable
    hint: str


@dataclass(frozen=True)
class LayerSpec:
    """One row of the layer-check table (e.g. in nn_utils/checks/layers.py)."""

    name: str                      # check name, e.g. "affine"
    args: tuple                    # tuple[Arg, ...], in forward's order
    dims: dict                     # symbol -> size; distinct primes hide no transposes
    out_shape: tuple               # symbolic; () for a loss (one number)
    returns: tuple                 # backward's return order: arg names, None for "no gradient"
    step: Step = LINEAR
    setup: Callable | None = None     # fn(student, arrays) -> object used for one forward+backward
    forward: Callable | None = None   # fn(obj, arrays) -> out; default obj.forward(*args)
    backward: Callable | None = None  # fn(obj, d_out) -> grads; d_out None: call without it
    default_d_out: float | None = None  # a loss: backward() with no argument is the contract
    variants: tuple = ()
    fingerprints: tuple = ()
    hints: dict = field(default_factory=dict)  # target -> hint when no fingerprint matches
    out_name: str = "forward output"           # how messages name forward's result
    tolerance: float = 1e-4
    directions: int = 3
    hyper: Callable | None = None  # fn(rng) -> {name: number}: the constructor's settings
    doc: str = ""                  # the check's docstring: the contract a student reads

    def shape(self, symbolic, dims: dict | None = None) -> tuple:
        dims = self.dims if dims is None else dims
        return tuple(dims[d] if isinstance(d, str) else int(d) for d in symbolic)

    def resolve(self, hyper: dict) -> dict:
        """The sizes at these settings: a dim may be fn(dims, hyper) (a conv's output size)."""
        fixed = {k: v for k, v in self.dims.items() if not callable(v)}
        return {**fixed, **{k: int(v(fixed, hyper)) for k, v in self.dims.items() if callable(v)}}

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)

    @property
    def grad_args(self) -> list[str]:
        return [n for n in self.returns if n is not None]

    @property
    def signature(self) -> str:
        return f"forward({', '.join(a.name for a in self.args)})"

    @property
    def returns_text(self) -> str:
        names = [f"d_{n}" if n else "None" for n in self.returns]
        return names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"

    def with_dims(self, **dims) -> "LayerSpec":
        """The same row at other sizes (e.g. a 512-wide layer for timing)."""
        return replace(self, dims={**self.dims, **dims})


def make_plan(spec: LayerSpec, seed: int) -> dict:
    """Inputs for one run of a row: arrays, d_out, directions, steps, variants.

    Deterministic in ``seed`` (its own Generator; the global RNG is untouched),
    so the trusted side rebuilds the identical plan from the seed alone.  A row
    with ``hyper`` draws its settings first (``plan["hyper"]``, e.g. a stride and
    a padding) and its sizes follow from them (``plan["dims"]``).
    """
    rng = np.random.default_rng(seed)
    hyper = {} if spec.hyper is None else dict(spec.hyper(rng))
    dims = spec.resolve(hyper)
    arrays = {}
    for arg in spec.args:
        sampler = SAMPLERS[arg.sample] if isinstance(arg.sample, str) else arg.sample
        arrays[arg.name] = np.asarray(sampler(rng, spec.shape(arg.shape, dims)),
                                      dtype=np.float64)
    d_out = d_out_sample(rng, spec.shape(spec.out_shape, dims))
    directions, steps = {}, {}
    for name in spec.grad_args:
        directions[name] = [rng.standard_normal(arrays[name].shape)
                            for _ in range(spec.directions)]
        steps[name] = [spec.step.size(u) for u in directions[name]]
    extra = {"hyper": hyper, "dims": dims} if spec.hyper is not None else {}
    return {
        **extra, "seed": int(seed), "arrays": arrays, "d_out": d_out,
        "directions": directions, "steps": steps,
        "multipliers": {name: [directional_steps(h, spec.step.richardson) for h in hs]
                        for name, hs in steps.items()},
        "variants": {v.name: v.transform({k: a.copy() for k, a in arrays.items()})
                     for v in spec.variants},
    }
