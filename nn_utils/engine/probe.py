"""Helpers for probes: call student code and describe what came back as plain data."""
from __future__ import annotations

import sys
import traceback

import numpy as np

__all__ = ["call", "describe_error", "as_array", "mutated"]


def describe_error(exc: BaseException) -> str:
    """``"ValueError: shapes (7,5) and (3,5) not aligned (line 12, in forward)"``.

    Names the innermost frame that is not inside numpy/TensorFlow/nn_utils,
    which is almost always the student's own line.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for frame in reversed(frames):
        path = frame.filename.replace("\\", "/")
        if not any(part in path for part in ("/numpy/", "/tensorflow/", "/keras/",
                                             "/nn_utils/", "/scipy/")):
            where = f" (line {frame.lineno}, in {frame.name})"
            break
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def call(fn, *args, **kwargs) -> dict:
    """Call student code; return ``{"value": ...}`` or ``{"error": "..."}``.

    Only ``Exception`` is caught: KeyboardInterrupt and SystemExit still stop
    the cell, as the student would expect.
    """
    try:
        return {"value": fn(*args, **kwargs)}
    except Exception as exc:  # any student error becomes data
        return {"error": describe_error(exc)}
    finally:
        sys.last_traceback = None  # do not keep the student's frames alive


def as_array(value):
    """A float64/plain copy of what the student returned, or a description of it.

    Returns ``(array_or_None, description)``; the description says what the
    value was when it is not array-like (``"None"``, ``"tuple of 2"``...).
    """
    if value is None:
        return None, "None"
    if isinstance(value, str):
        return None, f"the text {value[:40]!r}"
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor / Variable
        try:
            value = value.numpy()
        except Exception:
            return None, type(value).__name__
    if isinstance(value, (tuple, list)) and len(value) != 0 and not all(
            np.isscalar(v) or isinstance(v, np.ndarray) for v in value):
        return None, f"{type(value).__name__} of {len(value)}"
    try:
        arr = np.asarray(value)
    except Exception:
        return None, type(value).__name__
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        return None, f"{type(value).__name__} of dtype {arr.dtype}"
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        # np.longdouble: more precise than any reference here; float64 travels the wire
        return arr.astype(np.float64), f"{type(value).__name__} {arr.dtype} {arr.shape}"
    return arr.copy(), f"{type(value).__name__} {arr.dtype} {arr.shape}"


def mutated(before, after) -> list[int]:
    """Indices of arrays whose content changed during a call."""
    return [i for i, (b, a) in enumerate(zip(before, after, strict=False))
            if b.shape != np.shape(a) or not np.array_equal(b, a, equal_nan=True)]
