"""The numpy-only judge of ``fit``: history, one-step parity and the printed progress.

Cases run in the plan's order (one epoch first), so the first failure is the
one whose cause is easiest to read: after exactly one step every variable must
equal the expected weights.  The expected weights along the way, the loss
history and what known mistakes produce come from the teacher's side
(``autograder.reference.tf_loops``); nothing here trains a model.
"""
from __future__ import annotations

import re

import numpy as np

from ..engine import Verdict, failed, passed
from ._tf_judge import error_verdict

__all__ = ["judge_fit", "FitContext"]

FIT = "fit"   # the row's name: messages say ``check_fit``
# float32 losses of order 1 agree with float64 to ~1e-6
_LOSS_RTOL, _LOSS_ATOL = 1e-4, 1e-5
# a variable must land within 1e-3 of its update's size of the reference
_PARAM_RTOL, _PARAM_ATOL = 1e-3, 2e-6
_LOOSE = 2e-2  # how close a known mistake's weights must come to be named
_LAYOUT = 1e-3  # a misplaced loss is the right float32 number in the wrong place
#: the names of the four variables of the checked model, in model.weights order
VAR_NAMES = ("layer 1 W", "layer 1 b", "layer 2 W", "layer 2 b")
_LR_HINT = ("one plain gradient-descent step per epoch on the whole training set "
            "(the X_train, Y_train arguments), updating every variable in place with its "
            "gradient from the GradientTape scaled by lr; no mini-batches, no momentum, "
            "no Adam")


class FitContext:
    """The expected numbers of one fit call (see ``autograder.reference.tf_loops.expected_fit``)."""

    def __init__(self, plan, case, expected):
        self.epochs, self.lr = case["epochs"], case["lr"]
        self.theta = [np.asarray(t, np.float64) for t in plan["theta"]]
        self.train = (plan["X_train"], plan["Y_train"])
        self.test = (plan["X_test"], plan["Y_test"])
        self.expected = expected
        self.path = [[np.asarray(t, np.float64) for t in point] for point in expected["path"]]
        self.history = np.asarray(expected["history"], np.float64)
        n_train, n_test = len(self.train[1]), len(self.test[1])
        self.call = (f"fit(model, X_train ({n_train}, 2), Y_train, X_test ({n_test}, 2), "
                     f"Y_test, N={self.epochs}, lr={self.lr})")

    def step(self, k):
        """Reference weights after ``k`` updates."""
        return self.path[k]


def _losses_close(got, expected, rtol=_LOSS_RTOL) -> bool:
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    return got.shape == expected.shape and bool(
        np.all(np.abs(got - expected) <= rtol * np.abs(expected) + _LOSS_ATOL))


def _params_close(got, expected, start, rtol=_PARAM_RTOL) -> list[bool]:
    """Per variable: within ``rtol`` of the total update's size of ``expected``."""
    flags = []
    for g, e, s in zip(got, expected, start, strict=False):
        g = np.asarray(g, np.float64)
        scale = np.abs(e - s).max()
        flags.append(g.shape == e.shape and
                     bool(np.abs(g - e).max() <= rtol * scale + _PARAM_ATOL))
    return flags


_LOSS_HINTS = {
    "summed_loss": "the loss is summed over the batch: take the mean (tf.reduce_mean)",
    "mse_loss": "this is a mean squared error: use the sparse categorical cross-entropy",
    "mse_loss_rows": "this is a squared error: use the sparse categorical cross-entropy",
    "from_logits": "the model outputs probabilities: do not pass from_logits=True",
    **dict.fromkeys(("accuracy_history", "accuracy_percent_history"),
                    "that is the accuracy: the history holds the cross-entropy losses"),
}


def _check_history_type(ctx, seen):
    if seen.get("is_ndarray"):
        return None
    kind = seen.get("type", "None")
    hint = ("build the rows in a list, then return np.array(history)"
            if kind in ("list", "tuple") else
            "convert with .numpy()" if "Tensor" in kind or "Variable" in kind else
            "return history, a numpy array of shape (N+1, 2)")
    return failed(FIT, "fit must return a numpy array", where=ctx.call,
                  expected=f"numpy.ndarray of shape ({ctx.epochs + 1}, 2)", got=kind,
                  bug="history_not_array", hint=hint)


def _check_history_shape(ctx, got):
    expected = ctx.history.shape
    if got.shape == expected:
        if np.all(np.isfinite(got)):
            return None
        return failed(FIT, "the history holds NaN or inf", where=ctx.call,
                      expected=ctx.history, got=got, bug="not_finite",
                      hint="the loss diverged: check the sign and size of the update")
    if got.shape == (ctx.epochs, 2) and _losses_close(got, ctx.history[1:], _LAYOUT):
        bug, hint = "missing_row0", "record the losses once before the first update too"
    elif got.shape == expected[::-1]:
        bug, hint = "history_transposed", "one row per epoch: (train loss, test loss)"
    else:
        bug, hint = "history_shape", "one row before training, then one row per epoch"
    return failed(FIT, "the history has the wrong shape", where=ctx.call,
                  expected=f"{expected} (row k: train and test loss after k epochs)",
                  got=f"{got.shape}", bug=bug, hint=hint)


def _whole_history_bug(ctx, got):
    """(bug, hint) when the whole history matches a known layout mistake."""
    want = ctx.history
    table = (
        ("columns_swapped", want[:, ::-1], "column 0 is the training loss, column 1 the "
                                           "test loss"),
        ("test_equals_train", want[:, [0, 0]], "the test column repeats the training "
                                               "loss: evaluate the loss on X_test, Y_test"),
        ("test_equals_train", want[:, [1, 1]], "the training column repeats the test "
                                               "loss: evaluate the loss on X_train, Y_train"),
    )
    for bug, layout, hint in table:
        if _losses_close(got, layout, _LAYOUT):
            return bug, hint
    if len(got) > 1 and _losses_close(got[1:], want[:-1], _LAYOUT):
        return "history_before_update", ("row k must hold the losses after the k-th "
                                         "update: record them after the update, not "
                                         "before")
    return None


def _check_row0(ctx, got, seen):
    if _losses_close(got[0], ctx.history[0]):
        return None
    named = _whole_history_bug(ctx, got)
    if named is None:
        # one wrong loss explains both columns; one column alone can match by chance
        train, test = ctx.expected["row0"]["train"], ctx.expected["row0"]["test"]
        named = next(((bug, _LOSS_HINTS[bug]) for bug in train if np.allclose(
            got[0], [train[bug], test[bug]], rtol=_LAYOUT, atol=_LOSS_ATOL)), None)
    untouched = seen.get("same_objects", True) and all(
        np.array_equal(np.asarray(a, np.float64), t) for a, t in zip(seen["after"], ctx.theta, strict=False))
    if named is None and untouched:
        named = "ignores_model", ("the model passed to fit never changed and these are not "
                                  "its losses: train and evaluate the model argument, not "
                                  "a global one")
    bug, hint = named or ("wrong_loss", "the losses are the mean sparse categorical "
                          "cross-entropy of the model's probabilities on each data set")
    return failed(FIT, "the losses before training (history[0]) are wrong", where=ctx.call,
                  expected=ctx.history[0], got=got[0], bug=bug, hint=hint)


def _param_bug(ctx, seen):
    """(bug, hint) naming why the variables after fit differ from the reference."""
    after, start, epochs = seen["after"], ctx.theta, ctx.epochs
    moved = [bool(np.any(np.asarray(a, np.float64) != s)) for a, s in zip(after, start, strict=False)]
    if not any(moved):
        if not seen.get("same_objects", True) and "model_after" in seen and all(
                _params_close(seen["model_after"], ctx.step(epochs), start, _LOOSE)):
            return "replaced_variables", ("the model's variables were replaced by new "
                                          "ones: update the existing variables in place "
                                          "(a tf.Variable has methods for that)")
        return "no_update", ("the model never changed: assigning `w = ...` only rebinds "
                             "the name w; update the tf.Variable itself, in place (its "
                             "assign_sub method)")
    candidates = [("extra_step", ctx.step(epochs + 1),
                   f"the model took {epochs + 1} updates for N={epochs}: loop N times")]
    if epochs >= 2:
        candidates.append(("missing_step", ctx.step(epochs - 1),
                           f"the model took {epochs - 1} updates for N={epochs}: "
                           "loop N times"))
    on_test = [np.asarray(t, np.float64) for t in ctx.expected["on_test"]]
    if ctx.expected.get("momentum") is not None:  # one momentum step is plain descent
        candidates.append(("momentum", [np.asarray(t, np.float64)
                                        for t in ctx.expected["momentum"]],
                           "the steps carry momentum: plain gradient descent moves each "
                           "variable by its gradient times lr only (SGD without momentum)"))
    candidates.append(("trained_on_test", on_test,
                       "the gradient must come from the training set (X_train, Y_train)"))
    for bug, target, hint in candidates:
        if all(_params_close(after, target, start, _LOOSE)):
            return bug, hint
    close = _params_close(after, ctx.step(epochs), start, _LOOSE)
    if not all(moved) and all(c or not m for c, m in zip(close, moved, strict=False)):
        frozen = ", ".join(n for n, m in zip(VAR_NAMES, moved, strict=False) if not m)
        return "partial_update", (f"not updated: {frozen}; update every variable in "
                                  "model.weights")
    got = np.concatenate([(np.asarray(a, np.float64) - s).ravel()
                          for a, s in zip(after, start, strict=False)])
    want = np.concatenate([(e - s).ravel() for e, s in zip(ctx.step(epochs), start, strict=False)])
    scale = float(got @ want / (want @ want))
    if np.linalg.norm(got - scale * want) <= _LOOSE * np.linalg.norm(want):
        if np.isclose(scale, -1, rtol=_LOOSE):
            return "gradient_ascent", ("the update has the wrong sign: move against the "
                                       "gradient, not along it")
        if np.isclose(scale, len(ctx.train[1]), rtol=_LOOSE):
            return "summed_loss", ("the loss is summed over the batch: take the mean "
                                   "(tf.reduce_mean)")
        return "lr_ignored", (f"the step is {scale:.3g} x the expected one, as if "
                              f"lr were {scale * ctx.lr:.3g}: use the lr argument")
    return "wrong_update", _LR_HINT


def _check_params(ctx, seen):
    after, want = seen["after"], ctx.step(ctx.epochs)
    if len(after) != len(want):
        raise ValueError("a record with the wrong number of variables")
    close = _params_close(after, want, ctx.theta)
    if all(close):
        return None
    bug, hint = _param_bug(ctx, seen)
    i = close.index(False)
    return failed(FIT, f"the weights after {ctx.epochs} epoch(s) are wrong",
                  where=f"{VAR_NAMES[i]} after {ctx.call}", expected=want[i],
                  got=np.asarray(after[i]), bug=bug, hint=hint)


def _check_rows(ctx, got):
    if _losses_close(got, ctx.history):
        return None
    bug, hint = _whole_history_bug(ctx, got) or (
        "wrong_history", "row k holds the training and test losses after k updates")
    bad = np.abs(got - ctx.history) > _LOSS_RTOL * np.abs(ctx.history) + _LOSS_ATOL
    k = int(np.argwhere(bad)[0][0])
    return failed(FIT, "the loss history is wrong", where=f"history[{k}] of {ctx.call}",
                  expected=ctx.history[k], got=got[k], bug=bug, hint=hint)


# the libraries' log records (TensorFlow's C++ log, its Python loggers) and Python
# warnings ("file.py:12: UserWarning: ...") are not the student's progress lines, even
# though they hold digits; a student's own logging.warning(...) line still counts
_LOG_LINE = re.compile(r"^\s*[IWEF]\d{4} |^(?:WARNING|INFO|ERROR|DEBUG|CRITICAL):"
                       r"(?:tensorflow|absl|keras|h5py)\b|:\d+: \w*Warning: ")


def _check_printing(ctx, seen):
    if ctx.epochs < 10 or any(re.search(r"\d", line) and not _LOG_LINE.search(line)
                              for line in seen.get("stdout", [])):
        return None
    return failed(FIT, "fit printed no losses", where=ctx.call,
                  expected="a line with the losses at least every 10th epoch",
                  got=f"{len(seen.get('stdout', []))} line(s) without numbers",
                  bug="no_progress_print",
                  hint="print the training and test loss when epoch % 10 == 0")


def judge_fit(plan, observed, expected) -> Verdict:
    """Judge every fit call: errors, history type/shape/values, weights, printing."""
    cases, results = plan["cases"], observed.get("cases", [])
    if len(results) != len(cases):
        return failed(FIT, "the probe's record is incomplete", bug="malformed_observation")
    for case, seen, want in zip(cases, results, expected["cases"], strict=False):
        ctx = FitContext(plan, case, want)
        if "error" in seen:
            return error_verdict(FIT, ctx.call, seen["error"])
        verdict = _check_history_type(ctx, seen)
        if verdict is None:
            got = seen.get("history")
            if got is None:
                return failed(FIT, "fit must return numbers", where=ctx.call,
                              got=seen.get("desc"), bug="history_not_array",
                              hint="return np.array(history) of float losses")
            got = np.asarray(got, np.float64)
            verdict = (_check_history_shape(ctx, got) or _check_row0(ctx, got, seen)
                       or _check_params(ctx, seen) or _check_rows(ctx, got)
                       or _check_printing(ctx, seen))
        if verdict is not None:
            return verdict
    runs = ", ".join(f"N={c['epochs']} lr={c['lr']}" for c in cases)
    return passed(FIT, f"weights and loss history match the expected ones ({runs})")
