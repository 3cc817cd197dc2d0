"""The generic judge of a layer row: observations vs expected values -> one Verdict.

Pure and numpy-only, with no reference maths: ``expected`` (output, gradients,
variants; see ``autograder.reference.layers``) comes from the published cases
or, while grading, from the grader.  Order of decisions: errors, in-place
writes, the forward output (then its variants), backward's structure, each
gradient element-wise against the expected one (a loss: ``backward()`` with its
default d_out first, then with a random d_out), and finally each gradient
against numerical directional derivatives of the student's own forward.
Fingerprints are only tried after a failure, to name the likely bug.
"""
from __future__ import annotations

import re
from dataclasses import replace
from itertools import permutations

import numpy as np

from .fingerprints import GENERIC, context, match
from .numeric import directional_from_values, directional_tolerance, rel_error
from .report import Verdict, failed, passed, public_name

__all__ = ["judge_layer", "MUTATION_HINT"]

_SHAPE_ERROR = re.compile(r"shape|align|mismatch|broadcast|dimension", re.I)


def _shapes_text(plan, d_out=True) -> str:
    """``inputs (13, 7), weight (7, 5), ..., d_out (13, 5)``: the shapes the check used."""
    shapes = [f"{k} {tuple(np.shape(v))}" for k, v in plan["arrays"].items()]
    if d_out and np.ndim(plan["d_out"]):
        shapes.append(f"d_out {tuple(np.shape(plan['d_out']))}")
    return ", ".join(shapes)


def _error_hint(spec, plan, error, method):
    """A shape error gets the shapes of every array; any other error a generic hint."""
    if "object is not callable" in error and " (line " not in error:
        # the check's own call of the student's object: an instance was passed for a class
        return (f"pass the class itself, not an object made from it: "
                f"nn_utils.{public_name(spec.name)}(YourClass)")
    if _SHAPE_ERROR.search(error.split(" (line ")[0]):
        return f"the shapes do not fit; here: {_shapes_text(plan, method == 'backward')}"
    return f"try your {method} on a small example; the line above is yours"


MUTATION_HINT = ("do not write into arrays you were given (no `x[...] = ...`, `x -= ...`, "
                  "`x *= ...` on them): the caller still needs them; work on a copy")


def _index_text(arr_name, diff):
    if diff.ndim == 0:
        return arr_name
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return f"{arr_name}[{', '.join(str(int(i)) for i in idx)}]"


def _worst(ref, got):
    diff = np.abs(np.asarray(got, dtype=np.float64) - ref)
    diff = np.where(np.isfinite(diff), diff, np.inf)
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    return diff, idx


def _value_problem(spec, ctx, label, ref, got, *, what_wrong, fallback_bug, extra="",
                   shapes=""):
    """A Verdict if ``got`` differs from ``ref`` (shape or values), else None."""
    name = spec.name
    got_arr = np.asarray(got, dtype=np.float64)
    scalar = np.ndim(ref) == 0
    if scalar and got_arr.size == 1:
        got_arr = got_arr.reshape(())
    if got_arr.shape != np.shape(ref):
        fp = match(spec, ctx, 10 * spec.tolerance)
        want = "be one number" if scalar else f"have shape {np.shape(ref)}"
        fallback = ("return a single number, e.g. float(...)" if scalar else
                    "return exactly this shape (no keepdims, no extra axes)"
                    if got_arr.ndim != np.ndim(ref) else
                    f"check which arrays you multiply (and their transposes); here: {shapes}")
        return failed(name, f"{label} must {want}{extra} (got {got_arr.shape})",
                      hint=fp.hint if fp else fallback, bug=fp.bug if fp else "wrong_shape")
    error = rel_error(got_arr, ref)
    if error <= spec.tolerance:
        return None
    fp = match(spec, ctx, 10 * spec.tolerance)
    diff, idx = _worst(ref, got_arr)
    bad = int(np.sum(diff > spec.tolerance * (np.abs(ref) + np.max(np.abs(ref)))))
    where = (f"{_index_text(label, diff)} (largest difference; {bad} of {diff.size} "
             f"entries wrong)" if diff.ndim else None)
    hint = fp.hint if fp else spec.hints.get(ctx.target)
    return failed(name, f"{label} {what_wrong}", where=where,
                  expected=float(np.asarray(ref)[idx]) + 0.0,  # + 0.0: no "-0"
                  got=float(got_arr[idx]) + 0.0,
                  hint=hint, bug=fp.bug if fp else fallback_bug)


def _check_forward(spec, plan, observed, expected):
    fwd = observed["forward"]
    arrays = plan["arrays"]
    if "error" in fwd:
        return failed(spec.name, f"{spec.signature} raised an error", where=fwd["error"],
                      hint=_error_hint(spec, plan, fwd["error"], "forward"),
                      bug="forward_error")
    if observed["forward_mutated"]:
        which = ", ".join(observed["forward_mutated"]) + " (its values changed during the call)"
        return failed(spec.name, f"{spec.signature} changed the caller's array in place",
                      where=which, hint=MUTATION_HINT, bug="mutates_inputs")
    ref = expected["out"]
    if fwd["value"] is None:
        nothing = fwd["desc"] == "None"
        return failed(spec.name, f"{spec.signature} must return "
                      + ("one number" if np.ndim(ref) == 0 else "a numpy array")
                      + f", got {fwd['desc']}",
                      hint="did you forget `return`?" if nothing else None,
                      bug="forward_returns_nothing" if nothing else "forward_wrong_type")
    ctx = context(spec, arrays, plan["d_out"], expected, "out", ref, fwd["value"], plan)
    problem = _value_problem(spec, ctx, spec.out_name, ref, fwd["value"],
                             what_wrong="is wrong", fallback_bug="wrong_forward",
                             shapes=_shapes_text(plan, d_out=False))
    if problem:
        return problem
    for variant in spec.variants:
        seen = observed.get("variants", {}).get(variant.name, {})
        v_ref = expected["variants"][variant.name]
        if "error" in seen or seen.get("value") is None:
            return failed(spec.name, f"{spec.signature} fails {variant.what}",
                          where=seen.get("error", seen.get("desc")), hint=variant.hint,
                          bug=variant.bug)
        got = np.asarray(seen["value"], dtype=np.float64)
        if got.size != np.size(v_ref) or rel_error(got.reshape(np.shape(v_ref)),
                                                   v_ref) > spec.tolerance:
            got_show = got.reshape(-1)[:4] if got.size > 1 else float(got.reshape(()))
            v_ctx = context(spec, arrays, plan["d_out"], expected, f"variant:{variant.name}",
                            v_ref, got, plan)
            fp = match(spec, v_ctx, 10 * spec.tolerance)
            if fp is GENERIC[0]:
                fp = None  # a flipped sign says less here than the variant's own hint
            return failed(spec.name, f"{spec.signature} is wrong {variant.what}",
                          expected=v_ref, got=got_show, hint=fp.hint if fp else variant.hint,
                          bug=fp.bug if fp else variant.bug)
    return None


def _check_gradients(spec, plan, seen, d_out, label, expected, refs):
    """Verdict for one backward call, or None; also returns the student's gradients."""
    name, arrays = spec.name, plan["arrays"]
    if "error" in seen:
        if label.startswith("backward()") and seen["error"].startswith("TypeError") \
                and "argument" in seen["error"]:
            return failed(spec.name, f"{label} raised an error", where=seen["error"],
                          hint=f"give d_out a default: def backward(self, "
                               f"d_out={spec.default_d_out})",
                          bug="backward_no_default_d_out"), None
        return failed(spec.name, f"{label} raised an error", where=seen["error"],
                      hint=_error_hint(spec, plan, seen["error"], "backward"),
                      bug="backward_error"), None
    if seen["mutated"]:
        which = ", ".join(seen["mutated"]) + " (its values changed during the call)"
        return failed(name, f"{label} changed the caller's array in place", where=which,
                      hint=MUTATION_HINT, bug="mutates_d_out" if "d_out" in seen["mutated"]
                      else "mutates_inputs"), None
    items, k = seen["items"], len(spec.returns)
    if k > 1 and (seen["kind"] == "single" or len(items) != k):
        got = items[0]["desc"] if seen["kind"] == "single" else f"{seen['kind']} of {len(items)}"
        return failed(name, f"{label} must return {k} values {spec.returns_text}, got {got}",
                      bug="wrong_return_count"), None
    if k == 1 and seen["kind"] != "single":
        return failed(name, f"{label} must return one array d_{spec.returns[0]}, "
                      f"got a {seen['kind']} of {len(items)}", bug="wrong_return_count"), None
    slots = [(j, n) for j, n in enumerate(spec.returns) if n is not None]
    got = {n: items[j]["value"] for j, n in slots}

    def fits(value, n):
        return (value is not None and np.shape(value) == np.shape(refs[n])
                and rel_error(value, refs[n]) <= spec.tolerance)

    if not all(fits(got[n], n) for _, n in slots):
        values = [items[j]["value"] for j, _ in slots]
        for perm in permutations(range(len(slots))):
            if list(perm) != list(range(len(slots))) and all(
                    fits(values[p], n) for p, (_, n) in zip(perm, slots, strict=False)):
                order = "(" + ", ".join(f"d_{slots[p][1]}" for p in perm) + ")"
                return failed(name, f"{label} returns the right gradients in the wrong order",
                              expected=spec.returns_text, got=order,
                              hint=f"return {spec.returns_text} in this order",
                              bug="wrong_return_order"), None
    for j, n in slots:
        if got[n] is None:
            return failed(name, f"{label} returned {items[j]['desc']} for d_{n}",
                          hint=f"compute d_{n} and return it", bug="missing_gradient"), None
        ctx = context(spec, arrays, d_out, expected, n, refs[n], got[n], plan)
        problem = _value_problem(
            spec, ctx, f"d_{n}", refs[n], got[n], what_wrong="is wrong",
            fallback_bug=f"wrong_d_{n}",
            extra=f", the shape of {n}" if np.ndim(refs[n]) else "",
            shapes=_shapes_text(plan))
        if problem:
            return problem, None
    return None, got


def _check_directional(spec, plan, observed, grads, scale=1.0):
    """Each gradient vs the numerical derivative of the student's own forward.

    ``scale``: the gradients were returned for d_out / scale (a loss's default call).
    """
    d_out = plan["d_out"]
    out = np.asarray(observed["forward"]["value"])
    # rounding allowance of float32 at least, or of a coarser type returned: code may
    # compute in float32 and hand back float64 (or a Python float), and this check is
    # about consistency -- the values themselves were compared with the reference above
    floats = [np.asarray(a).dtype for a in [out, *grads.values()]
              if np.issubdtype(np.asarray(a).dtype, np.floating)]
    eps = max(float(np.finfo(d).eps) for d in [np.dtype(np.float32), *floats])
    f_scale = float(np.sum(np.abs(np.asarray(d_out) * out.astype(np.float64))))
    checked = 0
    for n, rows in observed["directional"].items():
        g = scale * np.asarray(grads[n], dtype=np.float64)
        norm = float(np.linalg.norm(g))
        for u, h, values in zip(plan["directions"][n], plan["steps"][n], rows, strict=False):
            if any(v is None for v in values):
                return failed(spec.name, f"{spec.signature} failed on slightly moved inputs",
                              where=observed.get("directional_error", f"moving {n}"),
                              bug="forward_error"), checked
            numeric = directional_from_values(values, h, spec.step.richardson)
            analytic = float(np.sum(g * u))
            allowed = directional_tolerance(norm, numeric, f_scale, h, eps, spec.tolerance)
            if not abs(analytic - numeric) <= allowed:
                return failed(
                    spec.name, f"d_{n} disagrees with the numerical gradient of your forward",
                    where=f"directional derivative along a random direction for {n}",
                    expected=numeric, got=analytic,
                    hint="forward and backward must describe the same function "
                         "(does forward depend on state kept between calls?)",
                    bug="inconsistent_backward"), checked
            checked += 1
    return None, checked


_IGNORES_D_OUT = ("note: backward ignores d_out. That is fine for the loss, the last node "
                  "of the graph (d_out is 1.0 there); multiplying by d_out would make it "
                  "composable")


def _loss_backward(spec, plan, observed, expected):
    """A loss: ``backward()`` at its default d_out is the contract; then the random d_out.

    Returns (verdict or None, gradients at the default d_out, note or "").
    """
    problem, grads = _check_gradients(spec, plan, observed["backward_default"],
                                      spec.default_d_out, "backward() without d_out",
                                      expected, expected["grads_default"])
    if problem:
        return problem, None, ""
    d_out = plan["d_out"]
    label = f"backward(d_out={d_out:.4g})"
    seen = observed["backward"]
    if "error" in seen and seen["error"].startswith("TypeError") and "argument" in seen["error"]:
        return None, grads, _IGNORES_D_OUT.replace("ignores d_out", "takes no d_out")
    problem, _ = _check_gradients(spec, plan, seen, d_out, label, expected, expected["grads"])
    if problem is None:
        return None, grads, ""
    same, _ = _check_gradients(spec, plan, seen, spec.default_d_out, label, expected,
                               expected["grads_default"])
    return (None, grads, _IGNORES_D_OUT) if same is None else (problem, None, "")


def judge_layer(spec, plan: dict, observed: dict, expected: dict) -> Verdict:
    """Decide one run of a layer row (pure; numpy only; the runner turns a malformed
    observation into an "unreadable" verdict)."""
    problem = _check_forward(spec, plan, observed, expected)
    if problem:
        return problem
    d_out, note, scale = plan["d_out"], "", 1.0
    if spec.default_d_out is not None:
        problem, grads, note = _loss_backward(spec, plan, observed, expected)
        scale = float(d_out) / spec.default_d_out
    else:
        label = "backward(d_out)" if np.ndim(d_out) else f"backward(d_out={d_out:.4g})"
        problem, grads = _check_gradients(spec, plan, observed["backward"], d_out, label,
                                          expected, expected["grads"])
    if problem:
        return problem
    problem, checked = _check_directional(spec, plan, observed, grads, scale)
    if problem:
        return problem
    verdict = passed(spec.name, f"forward and backward match the expected values and "
                     f"{checked} numerical directional derivatives (seed {plan['seed']})")
    return verdict if not note else replace(verdict, message=f"{verdict.message}\n  {note}")
