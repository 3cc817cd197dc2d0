"""Judges for the TensorFlow checks: numpy only, so the trusted grader never imports TF.

Each judge compares the probe's plain-data observations with the float64
reference in :mod:`nn_utils._tf_ref` and, on a mismatch, names the likely bug
by comparing the wrong answer with what known mistakes would have produced.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from . import _tf_ref as ref
from ._report import Verdict, failed, passed

__all__ = ["judge_evaluate", "error_verdict", "guarded", "wrapped_int8"]

EVALUATE = "check_evaluate"
_NONE_GRADIENT = re.compile(r"NoneType|No gradients provided|None values not supported"
                            r"|value \(None\)|'None'", re.I)


def wrapped_int8(count):
    """What an int8 counter holds after counting ``count`` (wraps past 127)."""
    return (int(count) + 128) % 256 - 128


# An accuracy rounded to one decimal is accepted: the data sets have at most
# 330 samples, so distinct accuracies are at least 0.3 points apart.
_ACC_ATOL = 0.051


def _near(got, expected, atol=_ACC_ATOL) -> bool:
    return bool(abs(float(got) - float(expected)) <= atol)


def guarded(check):
    """Decorate a judge so a malformed record becomes a failed verdict, not a crash
    of the grader (records come from a process that ran student code)."""
    def decorate(judge):
        @functools.wraps(judge)
        def judged(plan, observed):
            try:
                return judge(plan, observed)
            except (AttributeError, IndexError, KeyError, TypeError, ValueError):
                return failed(check, "the record of this check is malformed",
                              bug="bad_record", hint="run the check again")
        return judged
    return decorate


def error_verdict(check, call, error):
    if _NONE_GRADIENT.search(error):
        return failed(check, "your code raised an error: a gradient was None", where=call,
                      expected="a result, no exception", got=error, bug="loss_outside_tape",
                      hint="tape.gradient returns None for a loss computed outside the "
                           "tape: compute the loss inside the GradientTape (the `with "
                           "tf.GradientTape() as tape:` block)")
    return failed(check, "your code raised an error", where=call,
                  expected="a result, no exception", got=error,
                  bug="exception", hint="read the error and the line it names")


# --------------------------------------------------------------------- evaluate
def _evaluate_call(case) -> str:
    return (f"evaluate(model, X {tuple(case['X'].shape)}, Y {tuple(case['Y'].shape)} int8) "
            f"on the '{case['name']}' input")


def _evaluate_fingerprints(case, theta, got):
    """(bug id, hint) of the known mistake that reproduces ``got``, if any."""
    Y = np.asarray(case["Y"], int)
    n, acc = len(Y), ref.accuracy(theta, case["X"], Y)
    count = int(round(acc * n / 100))
    wrapped = wrapped_int8(count)
    axis0 = 100.0 * np.mean(np.argmax(ref.forward(theta, case["X"])[2], axis=0) == Y) \
        if n == 2 else None
    table = (  # a fraction is compared in percent, so rounding is judged alike
        ("fraction", acc, "return a percentage: multiply the fraction of correct "
                                "predictions by 100"),
        ("count", count, "divide the number of correct predictions by len(Y) and "
                         "multiply by 100"),
        ("labels_flipped", 100 - acc, "this is the accuracy with the classes swapped: "
                                      "compare the argmax of the probabilities with Y itself"),
        ("int8_overflow", 100.0 * wrapped / n, "the count of correct predictions wrapped "
                                               "around: an int8 sum overflows past 127; cast "
                                               "to float32 or int32 before summing"),
        ("int8_overflow", wrapped, "an int8 sum overflows past 127; cast to float32 or "
                                   "int32 before summing"),
        ("argmax_axis", axis0, "take the argmax over the class axis (axis=1), not over "
                               "the samples (axis=0)"),
    )
    for bug, value, hint in table:
        if value is not None and _near(100 * got if bug == "fraction" else got, value):
            return bug, hint
    if got < 0:
        return "int8_overflow", "a negative accuracy: an integer count overflowed (int8 " \
                                "wraps past 127); cast to float32 before summing"
    return None, ("accuracy = 100 * (number of samples whose most probable class, "
                  "argmax over axis 1, equals Y) / len(Y)")


@guarded(EVALUATE)
def judge_evaluate(plan, observed) -> Verdict:
    """Compare ``evaluate``'s accuracies with the reference, one case at a time."""
    cases, results = plan["cases"], observed.get("cases", [])
    if len(results) != len(cases):
        return failed(EVALUATE, "the probe's record is incomplete", bug="bad_record")
    values = {}
    pair = next(i for i, c in enumerate(cases) if c["name"] == "pair")
    for i, (case, seen) in enumerate(zip(cases, results)):
        theta, call = plan["models"][case["model"]], _evaluate_call(case)
        if "error" in seen:
            axis_bug = _pair_shows_axis0(plan, results, pair)
            if axis_bug:
                return axis_bug
            return error_verdict(EVALUATE, call, seen["error"])
        value = seen.get("value")
        if value is None or not np.issubdtype(np.asarray(value).dtype, np.number):
            return failed(EVALUATE, "evaluate must return a number", where=call,
                          expected="a number such as 73.5", got=seen.get("desc"),
                          bug="not_a_number", hint="return the accuracy, e.g. "
                          "float(100 * correct / len(Y))")
        if np.ndim(value) != 0:
            return failed(EVALUATE, "evaluate must return one number, not an array",
                          where=call, expected="a scalar (shape ())", got=seen.get("desc"),
                          bug="not_scalar", hint="reduce over every sample (np.mean or "
                          "tf.reduce_mean without axis) and take the argmax over axis 1")
        values[i] = float(value)
    main, other = values[0], values[1]
    refs = [ref.accuracy(plan["models"][c["model"]], c["X"], c["Y"]) for c in cases]
    same_everywhere = all(_near(v, main) for v in values.values())
    axis_bug = None if same_everywhere else _pair_shows_axis0(plan, results, pair)
    if axis_bug:  # before the comparisons below: a wrong axis can score 0 everywhere
        return axis_bug
    if _near(main, other) and not _near(refs[0], refs[1]):
        return failed(EVALUATE, "evaluate returned the same accuracy for two different "
                      "data sets", where="the 'main' and 'other data' inputs",
                      expected=f"{refs[0]:.4g} and {refs[1]:.4g}",
                      got=f"{main:.4g} twice", bug="ignores_arguments",
                      hint="score the X and Y passed as arguments, not global variables")
    if _near(values[2], main) and not _near(refs[0], refs[2]):
        return failed(EVALUATE, "evaluate returned the same accuracy for two different "
                      "models", where="the 'main' and 'other model' inputs",
                      expected=f"{refs[0]:.4g} and {refs[2]:.4g}",
                      got=f"{main:.4g} twice", bug="ignores_model",
                      hint="call the model passed as an argument, not a global one")
    for i, case in enumerate(cases):
        if _near(values[i], refs[i]):
            continue
        theta = plan["models"][case["model"]]
        bug, hint = _evaluate_fingerprints(case, theta, values[i])
        return failed(EVALUATE, "wrong accuracy", where=_evaluate_call(case),
                      expected=refs[i], got=values[i], bug=bug or "wrong_accuracy",
                      hint=hint)
    changed = [c["name"] for c, seen in zip(cases, results) if seen.get("weights_changed")]
    if changed:
        return failed(EVALUATE, "evaluate changed the model's weights",
                      where=f"the '{changed[0]}' input", bug="mutates_model",
                      hint="evaluate only reads the model: no assign or training inside")
    sizes = ", ".join(str(len(c["Y"])) for c in cases)
    return passed(EVALUATE, f"accuracy correct on {len(cases)} inputs (N = {sizes})")


def _pair_shows_axis0(plan, results, pair):
    """The axis-0 verdict when the two-sample call scored like argmax(axis=0)."""
    seen, case = results[pair], plan["cases"][pair]
    value = seen.get("value")
    if "error" in seen or value is None or np.ndim(value) != 0:
        return None
    theta = plan["models"][case["model"]]
    bug, hint = _evaluate_fingerprints(case, theta, float(value))
    if bug != "argmax_axis":
        return None
    return failed(EVALUATE, "the predictions are taken over the wrong axis",
                  where=_evaluate_call(case), expected=100.0, got=float(value),
                  bug=bug, hint=hint)

