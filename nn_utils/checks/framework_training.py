"""Checks for the training half of Assignment E: NeuralNetwork, SGD and Trainer.

``neural_network`` builds the student's network and compares the gradients of
``train_batch`` with numerical directional derivatives of the student's own
loss (the engine's steps and tolerance), one random direction per parameter;
it needs no expected values.  ``sgd`` compares with the expected parameters
after one step, stored by the teacher's side.
``sgd`` and ``trainer`` run the student's class against stand-in networks that
record every call, so the judge sees exactly which rows were trained, when the
optimiser stepped, when validation happened and which model was kept.
"""
from __future__ import annotations

import numpy as np

from ..engine import (
    Check,
    as_array,
    call,
    directional_from_values,
    directional_steps,
    directional_tolerance,
    failed,
    passed,
    register,
)
from ._stand_ins import Journal, StandInNet, StandInOptimizer

__all__ = ["NETWORK_STEP", "TRAINER_SIZES"]

#: smooth network and loss: a moderate step plus Richardson extrapolation
NETWORK_STEP = 2e-2
#: (rows, batch size) pairs: never a multiple, so the last batch is always shorter
TRAINER_SIZES = ((23, 5), (19, 4), (29, 6))


# ===================================================================== network

def _network_plan(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n, d = 11, 4
    return {"seed": int(seed), "X": rng.standard_normal((n, d)),
            "y": rng.standard_normal((n, 1)), "direction_seed": int(rng.integers(2**31)),
            "multipliers": directional_steps(NETWORK_STEP, richardson=True)}


def _directions(seed, shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def _network_probe(make_network, plan: dict) -> dict:
    X, y = plan["X"], plan["y"]
    made = call(make_network)
    if "error" in made:
        return {"error": made["error"], "stage": "make"}
    net = made["value"]
    out = {}
    forward = call(net.forward, X.copy())
    if "error" in forward:
        return {"error": forward["error"], "stage": "forward"}
    out["prediction"], out["prediction_desc"] = as_array(forward["value"])
    listed = call(lambda: list(net.params()))
    if "error" in listed:
        return {**out, "error": listed["error"], "stage": "params"}
    params = listed["value"]
    before = [np.array(p, copy=True) for p in params]
    trained = call(net.train_batch, X.copy(), y.copy())
    if "error" in trained:
        return {**out, "error": trained["error"], "stage": "train_batch"}
    out["loss"], out["loss_desc"] = as_array(trained["value"])
    out["changed"] = [not np.array_equal(b, p) for b, p in zip(before, params, strict=False)]
    grads = call(lambda: [as_array(g)[0] for g in net.param_grads()])
    out["grads"] = grads.get("value", [])
    out["shapes"] = [list(np.shape(p)) for p in params]
    def loss_of():
        return float(net.loss.forward(net.forward(X.copy()), y.copy()))
    # the network's own loss at the unmoved parameters: what train_batch must return
    again = call(loss_of)
    out["own_loss"] = again.get("value")
    rows = []
    for p, original, u in zip(params, before, _directions(plan["direction_seed"],
                                                          [b.shape for b in before]), strict=False):
        values = []
        for s in plan["multipliers"]:
            p[...] = original + s * u
            value = call(loss_of)
            values.append(value.get("value"))
            if "error" in value:
                out["directional_error"] = value["error"]
        p[...] = original
        rows.append(values)
    out["directional"] = rows
    return out


_NET_ORDER = ("forward feeds each layer's output to the next layer, in order; backward "
              "starts from self.loss.backward() and visits reversed(self.layers)")


def _network_judge(plan: dict, observed: dict, expected: dict):
    name = "neural_network"
    stage = observed.get("stage")
    if stage == "make":
        return failed(name, "building the network raised an error", where=observed["error"],
                      hint="check the classes the network is built from (run their checks)",
                      bug="build_error")
    if stage in ("forward", "params", "train_batch"):
        return failed(name, f"{stage} raised an error", where=observed["error"],
                      hint=_NET_ORDER, bug=f"{stage}_error")
    n = len(plan["y"])
    pred = observed["prediction"]
    if pred is None or pred.shape != (n, 1):
        return failed(name, "forward must return one prediction per row",
                      expected=f"shape ({n}, 1)", got=observed["prediction_desc"],
                      hint=_NET_ORDER + "; return the last layer's output", bug="wrong_forward")
    loss = observed["loss"]
    if loss is None or loss.size != 1:
        return failed(name, "train_batch must return the loss (one number)",
                      got=observed["loss_desc"], hint="return the value of the network's "
                      "loss on this batch", bug="train_batch_returns_nothing")
    shapes, grads = observed["shapes"], observed["grads"]
    if not shapes:
        return failed(name, "the network has no parameters after forward",
                      hint="forward must run every layer so each one sets itself up",
                      bug="no_params")
    if any(observed["changed"]):
        return failed(name, "train_batch changed the parameters",
                      hint="train_batch only computes gradients; SGD.step() moves the "
                           "parameters", bug="train_batch_updates")
    own = observed.get("own_loss")
    if own is None or abs(float(loss.reshape(())) - own) > 1e-6 * (1 + abs(own)):
        return failed(name, "train_batch returned a value that is not the batch's loss",
                      expected=f"{own:.6g}, your self.loss on your forward's predictions"
                      if own is not None else "a number", got=float(loss.reshape(())),
                      hint="return what self.loss gives for this batch's predictions and "
                           "targets", bug="wrong_loss_value")
    got_shapes = [None if g is None else list(g.shape) for g in grads]
    if got_shapes != shapes:
        return failed(name, "param_grads() does not match params() after train_batch",
                      expected=str(shapes), got=str(got_shapes),
                      hint="train_batch must run backward through the network, starting "
                           "from the loss's gradient; " + _NET_ORDER, bug="missing_param_grads")
    return _network_directional(name, plan, observed, grads)


def _network_directional(name, plan, observed, grads):
    us = _directions(plan["direction_seed"], [tuple(s) for s in observed["shapes"]])
    scale = abs(float(np.asarray(observed["loss"]).reshape(())))
    # rounding allowance of the coarsest float type the student's network computes in
    # (a network kept in float32 is correct, only less precise)
    floats = [a.dtype for a in [observed["prediction"], *grads]
              if a is not None and np.issubdtype(a.dtype, np.floating)]
    eps = max((float(np.finfo(d).eps) for d in floats), default=float(np.finfo(np.float64).eps))
    for index, (g, u, values) in enumerate(zip(grads, us, observed["directional"], strict=False)):
        if any(v is None for v in values):
            return failed(name, "the loss could not be computed for slightly moved parameters",
                          where=observed.get("directional_error"), bug="forward_error")
        numeric = directional_from_values(values, NETWORK_STEP, richardson=True)
        g = np.asarray(g, dtype=np.float64)
        analytic = float(np.sum(g * u))
        allowed = directional_tolerance(float(np.linalg.norm(g)), numeric, scale,
                                        NETWORK_STEP, eps)
        if abs(analytic - numeric) > allowed:
            ratio = analytic / numeric if numeric else np.inf
            hint = ("the gradient has the wrong sign" if abs(ratio + 1) < 1e-3 else
                    f"it is {ratio:.3g} times the true value: is backward run more than once?"
                    if abs(ratio - round(ratio)) < 1e-3 and round(ratio) > 1 else _NET_ORDER)
            return failed(name, "a parameter gradient does not predict how the loss changes",
                          where=f"parameter {index} of params() (shape "
                                f"{tuple(observed['shapes'][index])}), along a random direction",
                          expected=numeric, got=analytic, hint=hint,
                          bug="wrong_network_gradient")
    return passed(name, f"train_batch's loss and all {len(grads)} parameter gradients match "
                        f"numerical derivatives of your network (seed {plan['seed']})")


register(Check("neural_network", plan=_network_plan, probe=_network_probe,
               judge=_network_judge,
               doc="""Check ``make_network()`` (a fresh network ending in one output neuron): forward,
    ``train_batch(X (N, D), y (N, 1)) -> loss`` and ``param_grads()`` vs numerical ones."""))


# ===================================================================== SGD

_SGD_SHAPES = ((5, 3), (1, 3), (3, 1), (1, 1))


def _sgd_plan(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"seed": int(seed), "lr": float(rng.uniform(0.05, 0.3)),
            "params": [rng.standard_normal(s) for s in _SGD_SHAPES],
            "grads": [rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.5, 2.0, size=s)
                      for s in _SGD_SHAPES]}


def _sgd_probe(sgd_class, plan: dict) -> dict:
    net = StandInNet(params=[p.copy() for p in plan["params"]],
                     grads=[g.copy() for g in plan["grads"]])
    made = call(sgd_class, lr=plan["lr"])
    if "error" in made:
        return {"error": made["error"], "stage": "constructor"}
    optimizer = made["value"]
    optimizer.net = net
    stepped = call(optimizer.step)
    if "error" in stepped:
        return {"error": stepped["error"], "stage": "step"}
    return {"params": [np.array(p, copy=True) for p in net.held_params],
            "grads_changed": [not np.array_equal(a, b) for a, b in
                              zip(net.held_grads, plan["grads"], strict=False)]}


def _sgd_judge(plan: dict, observed: dict, expected: dict):
    name = "sgd"
    if "error" in observed:
        what = "SGD(lr=...)" if observed["stage"] == "constructor" else "step()"
        return failed(name, f"{what} raised an error", where=observed["error"],
                      hint="self.net.params() and self.net.param_grads() are methods: call "
                           "them, and walk through both together", bug="step_error")
    if any(observed["grads_changed"]):
        return failed(name, "step() changed the gradients", hint="only the parameters move; "
                      "leave the gradients as they are", bug="mutates_grads")
    lr, before = plan["lr"], plan["params"]
    after, want = observed["params"], expected["after"]
    ok = [np.allclose(a, w, rtol=1e-6, atol=1e-9) for a, w in zip(after, want, strict=False)]
    if all(ok):
        return passed(name, f"step() moved all {len(ok)} parameters by -lr * grad in place "
                            f"(seed {plan['seed']})")
    if all(np.array_equal(a, p) for a, p in zip(after, before, strict=False)):
        return failed(name, "step() left the network's parameters unchanged",
                      hint="update the arrays in place (an augmented assignment or a slice): "
                           "`param = param - ...` only rebinds a local name",
                      bug="rebinds_param")
    # the known mistakes, as transforms of the expected parameters
    candidates = (("sgd_sign", lambda p, w: 2 * p - w,
                   "move against the gradient, not along it"),
                  ("sgd_ignores_lr", lambda p, w: p - (p - w) / lr,
                   "scale the step by the learning rate self.lr"))
    for bug, update, hint in candidates:
        if all(np.allclose(a, update(p, w)) for a, p, w in zip(after, before, want, strict=False)):
            return failed(name, "step() moved the parameters the wrong way", hint=hint, bug=bug)
    first = ok.index(False)
    return failed(name, "a parameter was not updated correctly",
                  where=f"parameter {first} of params(), shape {before[first].shape}",
                  expected=want[first], got=after[first],
                  hint="every parameter moves against its own gradient, scaled by the "
                       "learning rate: pair each of self.net.params() with its gradient",
                  bug="sgd_partial" if any(ok) else "sgd_wrong_update")


register(Check("sgd", plan=_sgd_plan, probe=_sgd_probe, judge=_sgd_judge,
               doc="""Check ``SGD(lr).step()``: every ``net.params()`` array moves by
    -lr * grad, in place."""))


# ===================================================================== Trainer

def _trainer_plan(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    rows, batch = TRAINER_SIZES[int(seed) % len(TRAINER_SIZES)]
    evaluations, eval_every = 6, 2
    stop_at = int(rng.integers(2, evaluations))  # the first evaluation that is not lower
    falling = np.sort(rng.uniform(1.0, 5.0, size=evaluations))[::-1]
    early = falling.copy()
    early[stop_at - 1] = falling[stop_at - 2] + 0.25
    return {"seed": int(seed), "rows": rows, "batch": batch, "eval_every": eval_every,
            "epochs": evaluations * eval_every, "stop_at": stop_at, "fit_seed": int(seed),
            "scripts": {"early": early, "full": falling},
            "X": np.hstack([np.arange(rows, dtype=np.float64)[:, None],
                            rng.standard_normal((rows, 2))]),
            "X_valid": -1.0 - np.arange(7, dtype=np.float64)[:, None] * np.ones((1, 3))}


def _trainer_run(trainer_class, plan, script) -> dict:
    journal = Journal(script)
    net, optimizer = StandInNet(journal=journal), StandInOptimizer(journal)
    made = call(trainer_class, net, optimizer)
    if "error" in made:
        return {"error": made["error"], "stage": "constructor"}
    trainer = made["value"]
    X, X_valid = plan["X"], plan["X_valid"]
    y = X[:, :1] + 0.5                    # row id + 0.5: pairs stay recognisable
    fitted = call(trainer.fit, X.copy(), y, X_valid.copy(), X_valid[:, :1].copy(),
                  epochs=plan["epochs"], eval_every=plan["eval_every"],
                  batch_size=plan["batch"], seed=plan["fit_seed"], verbose=False)
    if "error" in fitted:
        return {"error": fitted["error"], "stage": "fit"}
    kept = getattr(trainer, "net", None)
    return {"events": journal.events,
            "kept_progress": int(getattr(getattr(kept, "progress", None), "count", -1)),
            "kept_original": kept is net,
            "optimizer_follows": getattr(trainer.optim, "net", None) is kept,
            "best_loss": as_array(getattr(trainer, "best_loss", None))[0]}


def _trainer_probe(trainer_class, plan: dict) -> dict:
    return {run: _trainer_run(trainer_class, plan, script)
            for run, script in plan["scripts"].items()}


def _trainer_judge(plan: dict, observed: dict, expected: dict):
    from ._trainer_judge import judge_trainer
    return judge_trainer(plan, observed)


register(Check("trainer", plan=_trainer_plan, probe=_trainer_probe, judge=_trainer_judge,
               doc="""Check ``Trainer(net, optim).fit(...)``: shuffling, batches, one step per batch,
    validation every ``eval_every`` epochs, early stop and the deep copy it keeps."""))
