"""Float64 reference maths of the optimiser rows (``nn_utils.optimizers``).

Each optimiser is a step function ``(state, grad, t, settings) -> (state, change)``;
the expected values are the changes of every parameter at every step, and
``extras`` the changes a student with a named bug makes.  The changes do not
depend on the parameter, so the judge can compare them step by step while the
student's own parameters are fed back.  Teacher side only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["EXPECTED", "changes"]


def changes(plan: dict, step, **override) -> list:
    """[[change of parameter k at step t]] with ``step(state, g, t, settings)``."""
    settings = {**plan["hyper"], **override}
    states = [None] * len(plan["params"])
    out = []
    for t, grads in enumerate(plan["grads"], start=1):
        row = []
        for k, g in enumerate(grads):
            states[k], delta = step(states[k], np.asarray(g, dtype=np.float64), t, settings)
            row.append(delta)
        out.append(row)
    return out


def _momentum(state, g, t, s, keep=True, averaged=False):
    v = np.zeros_like(g) if state is None or not keep else state
    v = s["momentum"] * v + ((1 - s["momentum"]) * g if averaged else g)
    return v, -s["learning_rate"] * v


def _rmsprop(state, g, t, s, keep=True, swapped=False, eps_inside=False, sqrt=True):
    cache = np.zeros_like(g) if state is None or not keep else state
    d = 1 - s["decay"] if swapped else s["decay"]
    cache = d * cache + (1 - d) * g ** 2
    if eps_inside:
        denominator = np.sqrt(cache + s["eps"])
    else:
        denominator = (np.sqrt(cache) if sqrt else cache) + s["eps"]
    return cache, -s["learning_rate"] * g / denominator


def _adam(state, g, t, s, keep=True, correct=True, t_shift=0, swapped=False,
          eps_inside=False):
    if state is None or not keep:
        state = (np.zeros_like(g), np.zeros_like(g))
        t = 1 if not keep else t
    b1, b2 = (s["beta2"], s["beta1"]) if swapped else (s["beta1"], s["beta2"])
    m = b1 * state[0] + (1 - b1) * g
    v = b2 * state[1] + (1 - b2) * g ** 2
    t += t_shift
    m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
    denominator = np.sqrt(v_hat + s["eps"]) if eps_inside else np.sqrt(v_hat) + s["eps"]
    return (m, v), -s["learning_rate"] * m_hat / denominator


def _with(step, **options):
    return lambda state, g, t, s: step(state, g, t, s, **options)


def _expected(step, bugs: dict):
    """fn(plan) -> {"changes", "extras"}; ``bugs``: key -> (step, settings override)."""
    def expected(plan):
        return {"changes": changes(plan, step),
                "extras": {key: changes(plan, bug_step, **override)
                           for key, (bug_step, override) in bugs.items()}}
    return expected


EXPECTED = {
    "momentum": _expected(_momentum, {
        "velocity_not_kept": (_with(_momentum, keep=False), {}),
        "default_momentum": (_momentum, {"momentum": 0.9}),
        "velocity_averaged": (_with(_momentum, averaged=True), {})}),
    "rmsprop": _expected(_rmsprop, {
        "cache_not_kept": (_with(_rmsprop, keep=False), {}),
        "default_decay": (_rmsprop, {"decay": 0.99}),
        "default_eps": (_rmsprop, {"eps": 1e-8}),
        "decay_swapped": (_with(_rmsprop, swapped=True), {}),
        "eps_inside_sqrt": (_with(_rmsprop, eps_inside=True), {}),
        "no_sqrt": (_with(_rmsprop, sqrt=False), {})}),
    "adam": _expected(_adam, {
        "no_bias_correction": (_with(_adam, correct=False), {}),
        "t_off_by_one": (_with(_adam, t_shift=1), {}),
        "betas_swapped": (_with(_adam, swapped=True), {}),
        "moments_not_kept": (_with(_adam, keep=False), {}),
        "default_beta1": (_adam, {"beta1": 0.9}),
        "default_beta2": (_adam, {"beta2": 0.999}),
        "default_eps": (_adam, {"eps": 1e-8}),
        "eps_inside_sqrt": (_with(_adam, eps_inside=True), {})}),
}
