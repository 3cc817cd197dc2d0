"""Judges for the TensorFlow checks: numpy only, so the trusted grader never imports TF.

Each judge compares the probe's plain-data observations with the expected
values the teacher's side computed in float64 (``autograder.reference.tf_loops``)
and, on a mismatch, names the likely bug by comparing the wrong answer with
transforms of the expected one that known mistakes produce.
"""
from __future__ import annotations

import re

import numpy as np

from ..engine import Verdict, failed, passed

__all__ = ["judge_evaluate", "error_verdict", "wrapped_int8"]

EVALUATE = "evaluate"   # the row's name: messages say ``check_evaluate``
_NONE_GRADIENT = re.compile(r"NoneType|No gradients provided|None values not supported"
                            r"|value \(None\)|'None'", re.I)


def wrapped_int8(count):
    """What an int8 counter holds after counting ``count`` (wraps past 127)."""
    return (int(count) + 128) % 256 - 128


# An accuracy rounded to one decimal is accepted: the data sets have at most
# 420 samples, so distinct accuracies are at least 0.23 points apart.
_ACC_ATOL = 0.051


def _near(got, expected, atol=_ACC_ATOL) -> bool:
    return bool(abs(float(got) - float(expected)) <= atol)


def error_verdict(check, call, error):
    if _NONE_GRADIENT.search(error):
        return failed(check, "your code raised an error: a gradient was None", where=call,
                      expected="a result, no exception", got=error, bug="loss_outside_tape",
                      hint="tape.gradient returns None for a loss computed outside the "
                           "tape: compute the loss inside the GradientTape's "
                           "with-block")
    return failed(check, "your code raised an error", where=call,
                  expected="a result, no exception", got=error,
                  bug="exception", hint="read the error and the line it names")


# --------------------------------------------------------------------- evaluate
def _evaluate_call(case) -> str:
    return (f"evaluate(model, X {tuple(case['X'].shape)}, Y {tuple(case['Y'].shape)} int8) "
            f"on the '{case['name']}' input")


_AXIS_HINT = "take the argmax over the class axis (axis=1), not over the samples (axis=0)"
_GENERIC_HINT = ("the accuracy is the percentage of samples whose most probable class "
                 "equals their label Y")


def _mistakes(case, acc):
    """What known mistakes return on this input, from its expected accuracy: rows of
    (bug id, value in percent units, hint).  A fraction is listed times 100 so
    rounding is judged alike."""
    n = len(case["Y"])
    count = int(round(acc * n / 100))
    wrapped = wrapped_int8(count)
    return (
        ("fraction", acc, "return a percentage: multiply the fraction of correct "
                          "predictions by 100"),
        ("count", count, "divide the number of correct predictions by len(Y) and "
                         "multiply by 100"),
        ("labels_flipped", 100 - acc, "this is 100 minus the accuracy (the error rate, or "
                                      "the classes swapped): count the samples whose argmax "
                                      "of the probabilities equals Y"),
        ("int8_overflow", 100.0 * wrapped / n, "the count of correct predictions wrapped "
                                               "around: an 8-bit sum overflows (int8 past 127, "
                                               "uint8 past 255); cast to float32 or int32 "
                                               "before summing"),
        ("int8_overflow", wrapped, "an 8-bit sum overflows (int8 past 127, uint8 past 255); "
                                   "cast to float32 or int32 before summing"),
        ("rounded", float(round(acc)), "do not round to a whole percent: return the "
                                       "accuracy itself (rounding to one decimal is fine)"),
        ("integer_mean", 100.0 * int(wrapped / n), "the mean of an integer tensor is "
                                                   "an integer: cast the hits to float32 "
                                                   "before tf.reduce_mean"),
    )


def _named_mistake(plan, refs, values, large):
    """(bug id, hint) of the known mistake that reproduces every large input's value."""
    tables = [_mistakes(plan["cases"][i], refs[i]) for i in large]
    for row, (bug, _, hint) in enumerate(tables[0]):
        if all(_near(100 * values[i] if bug == "fraction" else values[i], table[row][1])
               for i, table in zip(large, tables, strict=False)):
            return bug, hint
    if values[large[0]] < 0:
        return "int8_overflow", ("a negative accuracy: an integer count overflowed (int8 "
                                 "wraps past 127); cast to float32 before summing")
    return None, _GENERIC_HINT


def _scalar_values(plan, results, pair, expected):
    """The returned accuracies as floats, or the verdict on an error or a non-scalar."""
    values = []
    for case, seen in zip(plan["cases"], results, strict=False):
        call = _evaluate_call(case)
        if "error" in seen:
            return _pair_shows_axis0(plan, results, pair, expected) or error_verdict(
                EVALUATE, call, seen["error"])
        value = seen.get("value")
        if value is None or not np.issubdtype(np.asarray(value).dtype, np.number):
            return failed(EVALUATE, "evaluate must return a number", where=call,
                          expected="a number such as 73.5", got=seen.get("desc"),
                          bug="not_a_number", hint="return the accuracy in percent as a "
                          "Python or numpy number")
        if np.ndim(value) != 0:
            return failed(EVALUATE, "evaluate must return one number, not an array",
                          where=call, expected="a scalar (shape ())", got=seen.get("desc"),
                          bug="not_scalar", hint="reduce over every sample: the result "
                          "has no axes left")
        values.append(float(value))
    return values


def _ignored_argument(cases, refs, values):
    """The verdict when equal answers on different inputs show a global model or data.

    'other data' keeps the model and 'other model' keeps the data, so an evaluate
    that reads global data repeats itself on the first pair, one that calls a
    global model on the second.  Both at once is one of them plus a coincidence:
    the two-sample 'pair' input then tells them apart, since global data scores
    the same there too and a global model almost never does.
    """
    def repeats(j):
        return _near(values[0], values[j]) and not _near(refs[0], refs[j])

    same_data, same_model = repeats(1), repeats(2)
    if not (same_data or same_model):
        return None
    j = 1 if same_data and (not same_model or _near(values[-1], values[0])) else 2
    bug, hint = (("ignores_model", "call the model passed as an argument, not a global one")
                 if j == 2 else
                 ("ignores_arguments", "score the X and Y passed as arguments, not global "
                  "variables"))
    what = "models" if j == 2 else "data sets"
    return failed(EVALUATE, f"evaluate returned the same accuracy for two different {what}",
                  where=f"the '{cases[0]['name']}' and '{cases[j]['name']}' inputs",
                  expected=f"{refs[0]:.4g} and {refs[j]:.4g}",
                  got=f"{values[0]:.4g} twice", bug=bug, hint=hint)


def judge_evaluate(plan, observed, expected) -> Verdict:
    """Compare ``evaluate``'s accuracies with the reference, one case at a time.

    Case order in the plan: main, other data, other model, pair.
    """
    cases, results = plan["cases"], observed.get("cases", [])
    if len(results) != len(cases):
        return failed(EVALUATE, "the probe's record is incomplete", bug="malformed_observation")
    pair = len(cases) - 1
    values = _scalar_values(plan, results, pair, expected)
    if isinstance(values, Verdict):
        return values
    refs = [float(a) for a in expected["accuracies"]]
    wrong = [i for i in range(len(cases)) if not _near(values[i], refs[i])]
    if not wrong:
        changed = [c["name"] for c, seen in zip(cases, results, strict=False) if seen.get("weights_changed")]
        if changed:
            return failed(EVALUATE, "evaluate changed the model's weights",
                          where=f"the '{changed[0]}' input", bug="mutates_model",
                          hint="evaluate only reads the model: no assign or training inside")
        sizes = ", ".join(str(len(c["Y"])) for c in cases)
        return passed(EVALUATE, f"accuracy correct on {len(cases)} inputs (N = {sizes})")
    # On a large input argmax(axis=0) raises (numpy) or compares unequal shapes as
    # False (TensorFlow's ==) and scores 0; only then is the pair's 50 % telling.
    if _near(values[0], 0.0):
        verdict = _pair_shows_axis0(plan, results, pair, expected)
        if verdict:
            return verdict
    first = wrong[0]
    bug, hint = _named_mistake(plan, refs, values, [i for i in range(len(cases)) if i != pair])
    if bug is None:
        verdict = _ignored_argument(cases, refs, values)
        if verdict:
            return verdict
    return failed(EVALUATE, "wrong accuracy", where=_evaluate_call(cases[first]),
                  expected=refs[first], got=values[first], bug=bug or "wrong_accuracy",
                  hint=hint)


def _pair_shows_axis0(plan, results, pair, expected):
    """The axis-0 verdict when the two-sample call scored like argmax(axis=0)."""
    seen, case = results[pair], plan["cases"][pair]
    value = seen.get("value")
    if "error" in seen or value is None or np.ndim(value) != 0:
        return None
    if not _near(float(value), expected["pair_axis0"]):
        return None
    return failed(EVALUATE, "the predictions are taken over the wrong axis",
                  where=_evaluate_call(case), expected=float(expected["accuracies"][pair]),
                  got=float(value), bug="argmax_axis", hint=_AXIS_HINT)

