"""The generic probe of a layer row: call the student's forward/backward, record plain data.

Decides nothing and holds no reference maths: it only feeds the plan's arrays
(always fresh copies, so in-place writes are seen and cannot spoil later calls)
and records what came back, which arrays were written to, error texts, and the
objective ``F = sum(d_out * forward(x + s u))`` at the plan's perturbed points.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from .probe import as_array, call
from .wire import DTYPES as _WIRE_DTYPES

__all__ = ["probe_layer"]


def _forward(spec, student, arrays, held, hyper=None, forward=None):
    """One forward call; ``held["obj"]`` keeps the object backward must use.

    The adapters see the arrays and the row's hyper-parameters in one mapping.
    Without a ``setup`` adapter a class is accepted too (``check_affine(Affine)``,
    a common slip for ``check_affine(Affine())``): each call gets a fresh instance.
    """
    given = {**arrays, **(hyper or {})}
    if spec.setup is not None:
        obj = spec.setup(student, given)
    else:
        obj = student() if isinstance(student, type) else student
    held["obj"] = obj
    forward = forward or spec.forward
    if forward is not None:
        return forward(obj, given)
    return obj.forward(*[arrays[a.name] for a in spec.args])


def _backward(spec, obj, d_out):
    if spec.backward is not None:
        return spec.backward(obj, d_out)
    return obj.backward() if d_out is None else obj.backward(d_out)


def _value(value) -> dict:
    arr, desc = as_array(value)
    if arr is not None and (np.iscomplexobj(arr) or arr.dtype.name not in _WIRE_DTYPES):
        arr = None  # not a real-valued array the trusted side could decode
    return {"value": arr, "desc": desc, "type": type(value).__name__}


def _returned(result: dict) -> dict:
    """``{"error"}``, or the returned value(s) as plain data (tuples item by item)."""
    if "error" in result:
        return {"error": result["error"]}
    value = result["value"]
    if isinstance(value, (tuple, list)):
        return {"kind": type(value).__name__, "items": [_value(v) for v in value]}
    return {"kind": "single", "items": [_value(value)]}


def _copies(arrays: dict) -> dict:
    return {k: np.array(v, copy=True) for k, v in arrays.items()}


def _changed(given: dict, original: dict) -> list[str]:
    return [k for k in original
            if np.shape(given[k]) != np.shape(original[k])
            or not np.array_equal(given[k], original[k], equal_nan=True)]


def _objective(out, d_out):
    """sum(d_out * out) in float64, or None when out does not match d_out."""
    try:
        if np.iscomplexobj(out):
            return None
        arr = np.asarray(out, dtype=np.float64)
    except Exception:  # any odd return is just "no value"
        return None
    if np.ndim(d_out) == 0:
        return float(d_out * np.sum(arr)) if arr.size == 1 else None
    if arr.shape != np.shape(d_out):
        return None
    return float(np.sum(np.asarray(d_out) * arr))


def _backward_after(spec, held, given, arrays, d_out) -> dict:
    """backward(d_out) right after a forward on ``given``; what came back and what changed."""
    d_given = None if d_out is None else np.array(d_out, copy=True)
    seen = _returned(call(_backward, spec, held["obj"], d_given))
    seen["mutated"] = _changed(given, arrays)
    if d_out is not None and not np.array_equal(np.asarray(d_given), np.asarray(d_out)):
        seen["mutated"].append("d_out")
    return seen


def _repeated_calls(spec, student, plan: dict, observed: dict) -> None:
    """backward() without d_out, the variants and the directional points, into ``observed``."""
    arrays, d_out, hyper = plan["arrays"], plan["d_out"], plan.get("hyper")
    held: dict = {}
    if spec.default_d_out is not None:
        # a fresh forward first: backward may legitimately consume its own cache
        given = _copies(arrays)
        again = call(_forward, spec, student, given, held, hyper)
        observed["backward_default"] = (
            {"error": again["error"]} if "error" in again
            else _backward_after(spec, held, given, arrays, None))

    adapters = {v.name: v.forward for v in spec.variants}
    for name, variant in plan["variants"].items():
        result = call(_forward, spec, student, _copies(variant), {}, hyper, adapters.get(name))
        observed.setdefault("variants", {})[name] = (
            {"error": result["error"]} if "error" in result else _value(result["value"]))

    # F at x + s*u for each gradient argument, direction and step multiple s
    directional = {}
    for name, directions in plan["directions"].items():
        rows = []
        for u, multipliers in zip(directions, plan["multipliers"][name], strict=False):
            row = []
            for s in multipliers:
                moved = _copies(arrays)
                moved[name] = arrays[name] + s * u
                result = call(_forward, spec, student, moved, {}, hyper)
                if "error" in result:
                    observed["directional_error"] = result["error"]
                    row.append(None)
                else:
                    row.append(_objective(result["value"], d_out))
            rows.append(row)
        directional[name] = rows
    observed["directional"] = directional


def probe_layer(spec, student, plan: dict) -> dict:
    """Run the student's layer on ``plan``; return observations (plain data only)."""
    arrays, d_out = plan["arrays"], plan["d_out"]
    observed: dict = {}
    given, held = _copies(arrays), {}
    forward = call(_forward, spec, student, given, held, plan.get("hyper"))
    observed["forward"] = ({"error": forward["error"]} if "error" in forward
                           else _value(forward["value"]))
    observed["forward_mutated"] = _changed(given, arrays)
    if "error" in forward:
        return observed
    observed["backward"] = _backward_after(spec, held, given, arrays, d_out)

    # the same forward again and again on moved inputs: the student's own prints
    # would repeat a dozen times with unfamiliar numbers, so they are kept quiet
    with contextlib.redirect_stdout(io.StringIO()):
        _repeated_calls(spec, student, plan, observed)
    return observed
