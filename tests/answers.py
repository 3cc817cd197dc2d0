"""The exercises' answers at seeds nobody published, for the leak probe (teacher side).

Each exercise: its name, the inputs in every usual calling convention, and the
answers a student must compute (forward outputs, gradients, accuracies, loss
histories, trained weights, updated parameters).
"""
from __future__ import annotations

import numpy as np

from autograder import reference
from autograder.reference import tf_loops as tf_ref
from nn_utils import wire
from nn_utils.engine import get_check

SEEDS = (987_651, 987_652)


def _layer_names() -> tuple:
    """Every layer row of the table (and Dense, a row with a check of its own)."""
    from nn_utils.checks.layers import TABLE
    return (*TABLE, "dense")


def _optimizer_names() -> tuple:
    from nn_utils.checks.optimizers import OPTIMIZERS
    return tuple(OPTIMIZERS)


#: dropout is random: no fixed answer exists to leak (its judge checks relations)
WITHOUT_ANSWERS = ("dropout", "evaluate", "fit", "neural_network", "sgd", "trainer")


def _interesting(value) -> bool:
    arr = np.asarray(value, dtype=np.float64)
    return arr.size > 1 or float(arr) not in (0.0, 1.0, 50.0, 100.0)


def _layer(name, seed):
    plan = reference.plan(name, seed)
    want = reference.expected(name, plan)
    arrays, d_out, hyper = plan["arrays"], plan["d_out"], plan.get("hyper", {})
    values = list(arrays.values())
    answers = {"out": np.asarray(want["out"], np.float64),
               **{f"d_{k}": np.asarray(v) for k, v in want["grads"].items()}}
    if "grads_default" in want:
        answers.update({f"d_{k} (d_out=1)": np.asarray(v)
                        for k, v in want["grads_default"].items()})
    calls = [[arrays], [arrays, d_out], values, [*values, d_out], values[:1],
             [values[0], d_out], [plan], [plan, d_out]]
    if hyper:  # settings passed along, positionally and in one mapping
        calls += [[*values, *hyper.values()], [{**arrays, **hyper}],
                  [{**arrays, **hyper}, d_out], [values[0], *hyper.values()]]
    from nn_utils.checks.framework import DENSE
    from nn_utils.checks.layers import TABLE
    get_check(name)
    spec_dims = plan.get("dims", (TABLE.get(name) or DENSE).dims)
    given = [np.asarray(v, np.float64) for v in [*values, d_out]]

    def new(v):  # an answer equal to an input (the identity, d_out passed on) tells nothing
        return not any(np.shape(g) == np.shape(v) and np.allclose(g, v) for g in given)
    return {"name": name,
            "answers": {k: v for k, v in answers.items() if _interesting(v) and new(v)},
            "calls": calls, "ctx": {"arrays": {**arrays, **hyper}, "d_out": d_out,
                                    "dims": spec_dims,
                                    "targets": ["out", *want["grads"]]}}


def _evaluate(seed):
    plan = reference.plan("evaluate", seed)
    out = []
    for i, case in enumerate(plan["cases"][:3]):
        theta = plan["models"][case["model"]]
        acc = tf_ref.accuracy(theta, case["X"], case["Y"])
        out.append({"name": f"evaluate case {i}", "answers": {"accuracy": np.float64(acc)},
                    "calls": [[theta, case["X"], case["Y"]], [case, theta], [plan],
                              [plan, case], [case]]})
    return out


def _fit(seed):
    plan = reference.plan("fit", seed)
    theta = plan["theta"]
    train = [plan["X_train"], plan["Y_train"]]
    out = []
    for case in plan["cases"]:
        want = tf_ref.expected_fit({**plan, "cases": [case]})["cases"][0]
        epochs, lr = case["epochs"], case["lr"]
        answers = {"history": want["history"],
                   **{f"weights after fit ({k})": w for k, w in enumerate(want["path"][epochs])},
                   **{f"gradient ({k})": g for k, g in enumerate(tf_ref.grad(theta, *train))}}
        out.append({"name": f"fit N={epochs}", "answers": answers,
                    "calls": [[plan], [plan, case], [theta, *train], [theta, *train, lr, epochs],
                              [theta, *train, lr, epochs + 1],
                              [theta, *train, plan["X_test"], plan["Y_test"], epochs, lr]]})
    return out


def _sgd(seed):
    plan = reference.plan("sgd", seed)
    after = reference.expected("sgd", plan)["after"]
    return [{"name": "sgd", "answers": {f"parameter {k} after step": a
                                        for k, a in enumerate(after)},
             "calls": [[plan["params"], plan["grads"], plan["lr"]],
                       [plan["params"][0], plan["grads"][0], plan["lr"]], [plan]]}]


def _optimizer(name, seed):
    """The parameters after each update, at inputs nobody published."""
    plan = reference.plan(name, seed)
    changes = reference.expected(name, plan)["changes"]
    params = [np.asarray(p, np.float64) for p in plan["params"]]
    answers = {}
    for t, row in enumerate(changes, start=1):
        params = [p + c for p, c in zip(params, row, strict=True)]
        answers.update({f"parameter {k} after update {t}": p for k, p in enumerate(params)})
    hyper = plan["hyper"]
    lr, settings = hyper["learning_rate"], [v for k, v in hyper.items() if k != "learning_rate"]
    first = [plan["params"][0], plan["grads"][0][0]]
    return {"name": name, "answers": answers,
            "calls": [[plan], [plan, hyper], [*first, lr], [*first, lr, *settings],
                      [*first, hyper], [plan["params"], plan["grads"], lr],
                      [plan["params"], plan["grads"], hyper]]}


def exercises(seeds=SEEDS) -> list:
    found = []
    for seed in seeds:
        found += [_layer(name, seed) for name in _layer_names()]
        found += [_optimizer(name, seed) for name in _optimizer_names()]
        found += _evaluate(seed) + _fit(seed) + _sgd(seed)
    return found


def reach() -> set:
    """The checks whose answers the leak probe looks for (see ``WITHOUT_ANSWERS``)."""
    return {*_layer_names(), *_optimizer_names(), "evaluate", "fit", "sgd"}


def write(path, seeds=SEEDS) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(wire.dumps(exercises(seeds)))
