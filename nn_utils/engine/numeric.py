"""The one numerical-gradient engine: central differences, directional derivatives, checks.

Conventions used throughout (shapes in brackets):

* ``f(x) -> out`` is any function of one array ``x`` (any shape);
* ``d_out`` [shape of out] is the upstream gradient, and the scalar whose
  gradient we want is ``F(x) = sum(d_out * f(x))`` -- so ``backward(d_out)``
  of a layer is exactly ``grad F``;
* every difference is taken in float64 on a float64 copy of ``x``; the
  caller's arrays are never modified.

Checking a gradient element by element costs two forward passes per element
(half a million for a 512 x 512 weight).  Checking it along a few random
directions ``u`` costs two (or four) passes per direction whatever the size:
``(F(x + h u) - F(x - h u)) / 2h`` must equal ``<grad F, u>``.  Pick the step by
the function's shape: any step for a function linear in ``x``; a step that
stays on one side of every kink for piecewise-linear functions (ReLU); about
``2e-2`` with Richardson extrapolation for smooth ones (softmax, losses).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["rel_error", "numerical_gradient", "sample_indices",
           "directional_steps", "directional_from_values", "directional_derivative",
           "directional_tolerance", "gradient_check", "GradientReport"]

#: rounding-error allowance, in units of the output dtype's machine epsilon
ROUNDOFF = 30.0


def rel_error(a, b) -> float:
    """Largest element-wise error of ``a`` against ``b`` relative to both scales.

    ``max_i |a_i - b_i| / (s_i + max_j s_j)`` with ``s = (|a| + |b|) / 2``: an
    element is compared with its own size *and* the array's largest size, so
    tiny entries do not blow the error up and the value does not grow with the
    array's size.  0 for equal arrays; about 1 when unrelated.  Shapes must
    broadcast; scalars are fine.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = np.abs(a - b)
    if diff.size == 0:
        return 0.0
    scale = (np.abs(a) + np.abs(b)) / 2
    denom = scale + np.max(scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / np.where(denom == 0, 1e-300, denom))
    if not np.all(np.isfinite(ratio)):
        return float("inf")
    return float(np.max(ratio))


def _objective(f, d_out):
    """F(x) = sum(d_out * f(x)) as a float (d_out None means plain sum)."""
    def objective(x):
        out = np.asarray(f(x), dtype=np.float64)
        return float(np.sum(out if d_out is None else np.asarray(d_out) * out))
    return objective


def sample_indices(shape, count: int, seed=0) -> list[tuple]:
    """``count`` distinct index tuples into an array of ``shape`` (seeded, sorted)."""
    size = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(size, size=min(count, size), replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def numerical_gradient(f, x, h: float = 1e-5, *, d_out=None, indices=None):
    """Central-difference gradient of ``F(x) = sum(d_out * f(x))``.

    f       -- callable, array shaped like x -> array (or number)
    x       -- array, any shape (copied to float64; the caller's array is untouched)
    h       -- step
    d_out   -- upstream gradient shaped like ``f(x)``; None: ``F = sum(f(x))``
    indices -- None: every coordinate (2 * x.size calls of f), returns an array
               shaped like x; or a list of index tuples (see
               :func:`sample_indices`), returns their derivatives, shape (len,)
    """
    x = np.array(x, dtype=np.float64, copy=True)
    objective = _objective(f, d_out)
    todo = list(np.ndindex(x.shape)) if indices is None else [tuple(i) for i in indices]
    values = np.empty(len(todo))
    for k, idx in enumerate(todo):
        old = x[idx]
        x[idx] = old + h
        plus = objective(x)
        x[idx] = old - h
        minus = objective(x)
        x[idx] = old
        values[k] = (plus - minus) / (2 * h)
    return values.reshape(x.shape) if indices is None else values


def directional_steps(h: float, richardson: bool = False) -> list[float]:
    """Multiples of the direction at which ``F`` is evaluated: [h, -h(, h/2, -h/2)]."""
    return [h, -h, h / 2, -h / 2] if richardson else [h, -h]


def directional_from_values(values, h: float, richardson: bool = False) -> float:
    """The derivative from ``F`` evaluated at :func:`directional_steps` (same order).

    Richardson extrapolation combines the steps h and h/2 so the O(h^2) error
    of central differences cancels: ``(4 D(h/2) - D(h)) / 3``.
    """
    values = [float(v) for v in values]
    coarse = (values[0] - values[1]) / (2 * h)
    if not richardson:
        return coarse
    fine = (values[2] - values[3]) / h
    return (4 * fine - coarse) / 3


def directional_derivative(f, x, direction, h: float, *, d_out=None,
                           richardson: bool = False) -> float:
    """``d/dt F(x + t u)`` at t = 0 by central differences (u = direction, shape of x)."""
    x = np.asarray(x, dtype=np.float64)
    u = np.asarray(direction, dtype=np.float64)
    objective = _objective(f, d_out)
    values = [objective(x + s * u) for s in directional_steps(h, richardson)]
    return directional_from_values(values, h, richardson)


def directional_tolerance(grad_norm: float, numeric: float, f_scale: float,
                          h: float, eps: float, rtol: float = 1e-4) -> float:
    """How far ``<g, u>`` may be from the numerical directional derivative.

    grad_norm -- ||g|| (the typical size of <g, u> for a Gaussian u)
    f_scale   -- sum |d_out * f(x)|, the size of the terms whose rounding
                 (``eps``, the forward's dtype epsilon) the difference amplifies by 1/h
    Neither term is multiplied by the array's size.
    """
    return rtol * (grad_norm + abs(numeric)) + ROUNDOFF * eps * f_scale / h + 1e-12


def _dtype_eps(value) -> float:
    dtype = np.asarray(value).dtype
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) \
        else float(np.finfo(np.float64).eps)


@dataclass
class GradientReport:
    """What :func:`gradient_check` found: one row per checked input."""

    rows: list = field(default_factory=list)  # (name, analytic, numeric, ratio)

    @property
    def ok(self) -> bool:
        return all(ratio <= 1.0 for *_, ratio in self.rows)

    @property
    def worst(self) -> float:
        """Largest error as a fraction of the allowance (<= 1 passes)."""
        return max((ratio for *_, ratio in self.rows), default=0.0)

    def __str__(self) -> str:
        lines = ["gradient check: " + ("ok" if self.ok else "FAILED")]
        for name, analytic, numeric, ratio in self.rows:
            mark = "ok " if ratio <= 1 else "BAD"
            lines.append(f"  {mark} d_{name}: <grad, u> = {analytic:.6g}  "
                         f"numerical = {numeric:.6g}  (error {ratio:.2g} x allowed)")
        return "\n".join(lines)

    __repr__ = __str__


def gradient_check(forward, backward, inputs, d_out, *, names=None, wrt=None,
                   h: float = 1e-3, richardson: bool = True, directions: int = 3,
                   rtol: float = 1e-4, seed: int = 0) -> GradientReport:
    """Check any ``forward``/``backward`` pair along random directions.

    forward  -- ``forward(*inputs) -> out``
    backward -- ``backward(d_out) -> grads``: one array (single input) or a
                tuple aligned with ``inputs`` (None where there is no gradient)
    inputs   -- list of arrays (float64 copies are passed; yours are untouched)
    d_out    -- upstream gradient, shape of ``out`` (a number for a scalar loss);
                use random values, not ones, so a backward ignoring it shows
    wrt      -- indices of the inputs to check (default: all with a gradient)
    h, richardson -- step; keep ``h`` small enough not to cross a kink
    Returns a :class:`GradientReport` (``.ok``, printable).  Costs
    ``2 * directions`` (4 with Richardson) forward calls per checked input.
    """
    inputs = [np.array(a, dtype=np.float64, copy=True) for a in inputs]
    names = list(names) if names else [f"input{i}" for i in range(len(inputs))]
    out = forward(*[a.copy() for a in inputs])
    grads = backward(np.array(d_out, dtype=np.float64, copy=True))
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    rng = np.random.default_rng(seed)
    f_scale = float(np.sum(np.abs(np.asarray(d_out, dtype=np.float64)
                                  * np.asarray(out, dtype=np.float64))))
    eps = _dtype_eps(out)
    report = GradientReport()
    todo = range(len(inputs)) if wrt is None else wrt
    for i in todo:
        if i >= len(grads) or grads[i] is None:
            continue
        g = np.asarray(grads[i], dtype=np.float64)
        if g.shape != inputs[i].shape:
            raise ValueError(f"the gradient for {names[i]} has shape {g.shape}, "
                             f"expected {inputs[i].shape} (the shape of {names[i]})")
        norm = float(np.linalg.norm(g))

        def f_i(x, i=i):
            args = [a.copy() for a in inputs]
            args[i] = x
            return forward(*args)

        for _ in range(directions):
            u = rng.standard_normal(inputs[i].shape)
            numeric = directional_derivative(f_i, inputs[i], u, h, d_out=d_out,
                                             richardson=richardson)
            analytic = float(np.sum(g * u))
            allowed = directional_tolerance(norm, numeric, f_scale, h, eps, rtol)
            report.rows.append((names[i], analytic, numeric, abs(analytic - numeric) / allowed))
    return report
