"""The judge of ``check_trainer``: a Trainer's recorded calls against the training contract.

Pure and numpy-only.  Two runs are judged: "early" (the scripted validation
loss rises at evaluation ``stop_at``) and "full" (it always falls).  Decisions
in order: errors, row pairing, one optimiser step per batch, batch sizes, each
epoch a permutation of all rows, shuffling, evaluation times, the early stop,
the model kept, the optimiser's network and ``best_loss``.
"""
from __future__ import annotations

import numpy as np

from ..engine import failed, passed

__all__ = ["judge_trainer"]

_NAME = "trainer"
_VALIDATE = ("every eval_every epochs, compute self.net.loss.forward(self.net.forward(X_valid), "
             "y_valid)")


def _fail(what, hint, bug, **kw):
    return failed(_NAME, what, hint=hint, bug=bug, **kw)


def _epochs(plan, batches):
    """The batches cut into epochs, or a failure verdict about batch sizes."""
    rows, size = plan["rows"], plan["batch"]
    per_epoch = -(-rows // size)
    want = [size] * (per_epoch - 1) + [rows - size * (per_epoch - 1)]
    sizes = [len(b["ids"]) for b in batches[:per_epoch]]
    if sizes != want:
        # rows is never a multiple of size: only full batches means the rest was dropped
        dropped = all(len(b["ids"]) == size for b in batches)
        return None, _fail(
            "the mini-batches have the wrong sizes", bug="batch_sizes",
            where=f"first epoch, {rows} rows, batch_size={size}",
            expected=str(want), got=str(sizes),
            hint="keep the last, shorter batch: for start in range(0, N, size)" if dropped
            else "cut each epoch into consecutive batches of batch_size rows; the last one "
                 "may be shorter")
    if len(batches) % per_epoch:
        return None, _fail("the number of batches is not a whole number of epochs",
                           hint="each epoch trains on every batch exactly once",
                           bug="batch_sizes")
    return [np.concatenate([b["ids"] for b in batches[i:i + per_epoch]])
            for i in range(0, len(batches), per_epoch)], None


def _judge_run(plan, run, seen):
    if "error" in seen:
        return _fail(f"{'Trainer(net, optim)' if seen['stage'] == 'constructor' else 'fit'}"
                     f" raised an error", where=seen["error"], bug="fit_error",
                     hint="run fit on a tiny data set and read the line above")
    events, rows = seen["events"], plan["rows"]
    batches = [e for e in events if e["kind"] == "batch"]
    if not batches:
        return _fail("fit never called self.net.train_batch", bug="no_training",
                     hint="in every epoch, train the network on each mini-batch with "
                          "its train_batch method")
    for b in batches:
        if not np.array_equal(b["ids"], b["y_ids"]):
            return _fail("the rows of X and y no longer belong together", bug="unpaired_shuffle",
                         hint="shuffle X and y with ONE permutation: order = "
                              "rng.permutation(N); X[order], y[order]")
    kinds = [e["kind"] for e in events if e["kind"] != "eval"]
    if kinds != ["batch", "step"] * len(batches):
        return _fail("the optimiser must step once after every train_batch call",
                     expected=f"{len(batches)} steps", got=f"{kinds.count('step')} steps",
                     hint="for each batch: first the network's train_batch, then one step of "
                          "the optimiser",
                     bug="steps")
    epochs, problem = _epochs(plan, batches)
    if problem:
        return problem
    for k, order in enumerate(epochs):
        if not np.array_equal(np.sort(order), np.arange(rows)):
            return _fail("an epoch did not train on every row exactly once",
                         where=f"epoch {k + 1}", bug="epoch_coverage",
                         hint="shuffle the whole training set, then walk through it in batches")
    if np.array_equal(epochs[0], np.arange(rows)):
        return _fail("the training rows are not shuffled", bug="no_shuffle",
                     hint="at the start of every epoch: self.permute_data(X_train, y_train, rng)")
    if len(epochs) > 1 and all(np.array_equal(e, epochs[0]) for e in epochs):
        return _fail("every epoch visits the rows in the same order", bug="shuffle_once",
                     hint="draw a new permutation at the start of every epoch")
    return _judge_evaluations(plan, run, seen, events, len(epochs))


def _judge_evaluations(plan, run, seen, events, epochs_run):
    per_epoch = -(-plan["rows"] // plan["batch"])
    every, stop = plan["eval_every"], plan["stop_at"]
    evals, done = [], 0
    for e in events:
        if e["kind"] == "batch":
            done += 1
        elif e["kind"] == "eval":
            evals.append((done / per_epoch, e["rows"]))
    if not evals:
        return _fail("the validation loss was never computed", hint=_VALIDATE,
                     bug="no_validation")
    if any(r != len(plan["X_valid"]) for _, r in evals):
        return _fail("the validation loss was computed on the wrong rows",
                     hint="evaluate on X_valid, y_valid: " + _VALIDATE, bug="wrong_validation")
    want_evals = stop if run == "early" else plan["epochs"] // every
    times = [t for t, _ in evals]
    if times[:want_evals] != [float(every * k) for k in range(1, min(len(times),
                                                                       want_evals) + 1)]:
        return _fail("the validation loss was computed at the wrong epochs",
                     expected=str([every * k for k in range(1, want_evals + 1)]),
                     got=str(times), hint=_VALIDATE, bug="eval_timing")
    if run == "early" and (len(evals) != stop or epochs_run != stop * every):
        late = len(evals) > stop or epochs_run > stop * every
        return _fail("training did not stop at the first validation loss that was not lower",
                     where=f"evaluation {stop} (epoch {stop * every}) raised the loss",
                     expected=f"stop after epoch {stop * every}", got=f"{epochs_run} epochs",
                     hint="when the loss is not lower than self.best_loss: restore the "
                          "snapshot and break" if late else
                          "stop only when the loss is NOT lower than the best so far",
                     bug="no_early_stop" if late else "stops_too_soon")
    if run == "full" and epochs_run != plan["epochs"]:
        return _fail("training stopped although the validation loss kept falling",
                     expected=f"{plan['epochs']} epochs", got=f"{epochs_run} epochs",
                     hint="stop only when the loss is NOT lower than self.best_loss",
                     bug="stops_too_soon")
    return _judge_kept(plan, run, seen, per_epoch)


def _judge_kept(plan, run, seen, per_epoch):
    every, stop = plan["eval_every"], plan["stop_at"]
    best_epoch = (stop - 1) * every if run == "early" else plan["epochs"]
    kept = seen["kept_progress"]
    trained = (stop * every if run == "early" else plan["epochs"]) * per_epoch
    if kept != best_epoch * per_epoch:
        if kept == trained and seen["kept_original"]:
            hint, bug = ("that is the network trained to the end: keep a deep copy of the "
                         "network whenever the validation loss improves, and put that copy "
                         "back when training stops early"), "not_restored"
        elif kept == trained:
            hint, bug = ("the snapshot kept changing during training: take it with "
                         "deepcopy(self.net), not a reference or a shallow copy"), "shallow_copy"
        else:
            hint, bug = ("take the snapshot when the validation loss improves, right after "
                         "that evaluation"), "wrong_snapshot"
        return _fail("trainer.net is not the model from the best evaluation",
                     expected=f"the model after epoch {best_epoch}",
                     got=f"a model after {kept / per_epoch:g} epochs", hint=hint, bug=bug)
    if not seen["optimizer_follows"]:
        return _fail("after the early stop the optimiser still updates the old network",
                     hint="the optimiser keeps its own reference to a network: point it at "
                          "the restored one",
                     bug="optimizer_not_repointed")
    script = plan["scripts"][run]
    best = script[stop - 2] if run == "early" else script[-1]
    got = seen["best_loss"]
    if got is None or np.size(got) != 1 or abs(float(np.reshape(got, ())) - best) > 1e-9:
        return _fail("self.best_loss is not the lowest validation loss seen",
                     expected=best, got=None if got is None else np.reshape(got, -1)[:1],
                     hint="remember the validation loss each time it improves",
                     bug="best_loss")
    return None


def judge_trainer(plan: dict, observed: dict):
    """Decide a Trainer from its two recorded runs (pure; numpy only)."""
    for run in ("early", "full"):
        problem = _judge_run(plan, run, observed[run])
        if problem:
            return problem
    return passed(_NAME, f"shuffling, batches, steps, validation, early stop and the kept "
                         f"model are all right (seed {plan['seed']})")
