"""Rows of the optimiser family: ``Momentum``, ``RMSProp`` and ``Adam``.

An optimiser row is an :class:`OptimizerSpec`: the constructor's settings and
their defaults, how the check draws other values, and the fingerprints of
common bugs.  One plan/probe/judge serves every row: the student's class gets
one object per parameter (two parameters of different shapes, updated in
turn, so state kept on the class instead of the object shows), and
``update(param, grad) -> new_param`` runs a few steps, each on the parameter the
student's previous step returned.  The judge compares each step's change
``new_param - param`` with the expected one (the teacher's side), so an early
mistake is named at the step it happens; a bug's fingerprint is the whole
sequence of changes that bug makes (the teacher's side computes those too).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..engine import Check, Verdict, as_array, call, failed, passed, register, rel_error

__all__ = ["OptimizerSpec", "register_optimizer", "OPTIMIZERS", "MOMENTUM", "RMSPROP", "ADAM",
           "PARAM_SHAPES", "STEPS"]

#: the parameters each check updates (one optimiser object each) and how many steps
PARAM_SHAPES = ((5, 3), (3,))
STEPS = 4


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimiser row.

    defaults    -- the constructor's keyword settings and their defaults (the first
                   positional argument is always the learning rate)
    hyper       -- fn(rng) -> {"learning_rate": ..., setting: ...}: values unlike the defaults
    fingerprints -- (bug, extras key, hint): the teacher's side stores the changes a
                   student with that bug makes under ``extras[key]``
    """

    name: str
    class_name: str
    defaults: dict
    hyper: Callable
    fingerprints: tuple = ()
    hint: str = ""
    doc: str = ""
    tolerance: float = 1e-4

    def call_text(self, hyper: dict) -> str:
        settings = ", ".join(f"{k}={hyper[k]:.4g}" for k in self.defaults)
        return f"{self.class_name}({hyper['learning_rate']:.4g}, {settings})"


#: every optimiser row, by check name
OPTIMIZERS: dict[str, OptimizerSpec] = {}


def _plan(spec: OptimizerSpec, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    hyper = dict(spec.hyper(rng))
    params = [rng.standard_normal(s) for s in PARAM_SHAPES]
    grads = [[rng.standard_normal(s) for s in PARAM_SHAPES] for _ in range(STEPS)]
    return {"seed": int(seed), "hyper": hyper, "params": params, "grads": grads}


def _probe(spec: OptimizerSpec, cls, plan: dict) -> dict:
    """Build one object per parameter, run ``STEPS`` rounds of updates; plain data out."""
    hyper = plan["hyper"]
    settings = {k: hyper[k] for k in spec.defaults}
    objects = []
    for _ in PARAM_SHAPES:
        made = call(cls, hyper["learning_rate"], **settings)
        if "error" in made:
            return {"error": made["error"], "where": "the constructor"}
        objects.append(made["value"])
    params = [np.array(p, copy=True) for p in plan["params"]]
    steps = []
    for t, grads in enumerate(plan["grads"]):
        row = []
        for k, (obj, grad) in enumerate(zip(objects, grads, strict=True)):
            param, g = np.array(params[k], copy=True), np.array(grad, copy=True)
            result = call(obj.update, param, g)
            where = f"update at step {t + 1} of parameter {k} {tuple(params[k].shape)}"
            if "error" in result:
                return {"steps": steps, "error": result["error"], "where": where}
            changed = [n for n, a, b in (("param", param, params[k]), ("grad", g, grad))
                       if not np.array_equal(a, b)]
            if changed:
                return {"steps": steps, "mutated": changed, "where": where}
            value, desc = as_array(result["value"])
            row.append({"value": value, "desc": desc})
            if value is None or value.shape != params[k].shape:
                steps.append(row)
                return {"steps": steps, "where": where}
            params[k] = value.astype(np.float64)
        steps.append(row)
    return {"steps": steps}


def _changes(plan: dict, steps: list) -> list:
    """Each step's change new_param - param, from the student's own sequence."""
    previous = [np.asarray(p, dtype=np.float64) for p in plan["params"]]
    changes = []
    for row in steps:
        out = []
        for k, seen in enumerate(row):
            value = np.asarray(seen["value"], dtype=np.float64)
            out.append(value - previous[k])
            previous[k] = value
        changes.append(out)
    return changes


def _same(changes, wanted, tolerance) -> bool:
    return all(np.shape(c) == np.shape(w) and rel_error(c, w) <= tolerance
               for got_row, want_row in zip(changes, wanted, strict=False)
               for c, w in zip(got_row, want_row, strict=False))


def _judge(spec: OptimizerSpec, plan: dict, observed: dict, expected: dict) -> Verdict:
    name, hyper = spec.name, plan["hyper"]
    made = spec.call_text(hyper)
    if "error" in observed:
        return failed(name, f"{observed['where']} raised an error", where=observed["error"],
                      hint=f"the check builds {made} (learning rate first, the other settings "
                           f"by name) and calls update(param, grad)",
                      bug="update_error")
    if "mutated" in observed:
        return failed(name, f"{observed['where']} changed the caller's array in place",
                      where=", ".join(observed["mutated"]),
                      hint="return the new parameter as a new array (param - ..., not "
                           "param -= ...); the caller decides what to do with it",
                      bug="mutates_inputs")
    steps = observed["steps"]
    last = steps[-1][-1] if steps and steps[-1] else None
    if "where" in observed and last is not None:
        shape = tuple(np.shape(plan["params"][len(steps[-1]) - 1]))
        return failed(name, f"{observed['where']} must return the new parameter, an array "
                      f"of shape {shape}", where=f"got {last['desc']}",
                      hint="did you forget `return`?" if last["desc"] == "None" else None,
                      bug="wrong_return")
    changes = _changes(plan, steps)
    wanted = expected["changes"]
    for t, (got_row, want_row) in enumerate(zip(changes, wanted, strict=True)):
        for k, (got, want) in enumerate(zip(got_row, want_row, strict=True)):
            if rel_error(got, want) <= spec.tolerance:
                continue
            bug, hint = "wrong_update", spec.hint
            for fp_bug, key, fp_hint in spec.fingerprints:
                if _same(changes, expected["extras"][key], 10 * spec.tolerance):
                    bug, hint = fp_bug, fp_hint
                    break
            else:
                if _same(changes, [[-w for w in row] for row in wanted], 10 * spec.tolerance):
                    bug, hint = "sign_error", "the parameter moves uphill: against the gradient"
            diff = np.abs(got - want)
            idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
            index = ", ".join(str(int(i)) for i in idx)
            return failed(name, f"the parameter after update {t + 1} is wrong ({made}, "
                          f"parameter {k} of shape {tuple(np.shape(want))})",
                          where=f"new_param[{index}] (the change in this step)",
                          expected=float(want[idx]) + 0.0, got=float(got[idx]) + 0.0,
                          hint=hint, bug=bug)
    return passed(name, f"{STEPS} updates of two parameters match the expected ones "
                  f"({made}, seed {plan['seed']})")


def register_optimizer(spec: OptimizerSpec) -> OptimizerSpec:
    """Add an optimiser row and register its check under ``spec.name``."""
    from functools import partial
    OPTIMIZERS[spec.name] = spec
    register(Check(spec.name, plan=partial(_plan, spec), probe=partial(_probe, spec),
                   judge=partial(_judge, spec), doc=spec.doc))
    return spec


def _uniform(low, high):
    return lambda rng: float(rng.uniform(low, high))


def _draw(**ranges):
    return lambda rng: {k: _uniform(*r)(rng) for k, r in ranges.items()}


def _ignored(setting):
    return (f"{setting}_ignored", f"default_{setting}",
            f"use the {setting} given to the constructor (this check passes other values "
            f"than the default)")


_KEPT = ("one object per parameter keeps its {} from one update to the next: create it "
         "once (zeros), update it in every call")

MOMENTUM = register_optimizer(OptimizerSpec(
    name="momentum", class_name="Momentum",
    doc="""Check a ``Momentum`` class: ``Momentum(learning_rate, momentum=0.9)``;
    ``update(param, grad) -> new_param``, one object per parameter keeps its velocity
    (starting at 0).  Both common conventions of the velocity are right.""",
    defaults={"momentum": 0.9},
    hyper=_draw(learning_rate=(0.02, 0.1), momentum=(0.5, 0.8)),
    fingerprints=(("velocity_not_kept", "velocity_not_kept", _KEPT.format("velocity")),
                  _ignored("momentum"),
                  ("velocity_averaged", "velocity_averaged",
                   "that averages the gradients ((1 - momentum) on the new one): here the "
                   "velocity adds each new gradient in full")),
    hint="the velocity collects the gradients, older ones weighted down by momentum at "
         "every step; the parameter moves by it",
))

RMSPROP = register_optimizer(OptimizerSpec(
    name="rmsprop", class_name="RMSProp",
    doc="""Check an ``RMSProp`` class: ``RMSProp(learning_rate, decay=0.99, eps=1e-8)``;
    ``update(param, grad) -> new_param`` with ``cache = decay * cache + (1 - decay) * grad**2``
    kept per object and a step of ``learning_rate * grad / (sqrt(cache) + eps)``.""",
    defaults={"decay": 0.99, "eps": 1e-8},
    hyper=_draw(learning_rate=(0.005, 0.02), decay=(0.8, 0.95), eps=(0.05, 0.2)),
    fingerprints=(("cache_not_kept", "cache_not_kept", _KEPT.format("cache")),
                  _ignored("decay"), _ignored("eps"),
                  ("decay_swapped", "decay_swapped",
                   "decay weights the OLD cache; (1 - decay) weights the new squared "
                   "gradient"),
                  ("eps_inside_sqrt", "eps_inside_sqrt",
                   "eps is added after the square root of the cache"),
                  ("no_sqrt", "no_sqrt", "divide by the square ROOT of the cache")),
    hint="the cache is a running average of squared gradients; each step divides the "
         "gradient by its square root (plus eps)",
))

ADAM = register_optimizer(OptimizerSpec(
    name="adam", class_name="Adam",
    doc="""Check an ``Adam`` class: ``Adam(learning_rate=1e-3, beta1=0.9, beta2=0.999,
    eps=1e-8)``; ``update(param, grad) -> new_param``; t starts at 0 and is incremented
    before use, bias-corrected moments, a step of ``learning_rate * m_hat / (sqrt(v_hat) +
    eps)``.  The check uses other settings than the defaults.""",
    defaults={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    hyper=_draw(learning_rate=(0.01, 0.05), beta1=(0.6, 0.85), beta2=(0.9, 0.98),
                eps=(0.05, 0.2)),
    fingerprints=(("no_bias_correction", "no_bias_correction",
                   "correct the moments' bias: divide each by (1 - beta ** t)"),
                  ("t_off_by_one", "t_off_by_one",
                   "t counts the updates done, this one included: it is 1 in the first "
                   "update"),
                  ("betas_swapped", "betas_swapped",
                   "beta1 weights the first moment (the gradients), beta2 the second "
                   "(the squared gradients)"),
                  ("moments_not_kept", "moments_not_kept", _KEPT.format("moments and t")),
                  _ignored("beta1"), _ignored("beta2"), _ignored("eps"),
                  ("eps_inside_sqrt", "eps_inside_sqrt",
                   "eps is added after the square root of v_hat")),
    hint="running averages of the gradient (beta1) and of its square (beta2), both "
         "bias-corrected with t, then a step of the learning rate times their ratio",
))
