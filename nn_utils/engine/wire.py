"""The one codec for everything that leaves a grading kernel: JSON with numpy arrays, never pickle.

Probe results and test reports come from a process that ran student code, so
the trusted side must decode them without executing anything: only dicts,
lists, strings, numbers, booleans, None and numeric arrays (no object dtype)
are accepted.  :func:`tag` turns any other Python value a test compares (a
tuple, a set, a dict with non-string keys, bytes, a dtype, a generator, a
TensorFlow shape or tensor) into that plain data, and :func:`untag` rebuilds it
on the trusted side.
"""
from __future__ import annotations

import base64
import json
import re
import types

import numpy as np

__all__ = ["dumps", "loads", "tag", "untag", "WireError", "DTYPES"]

#: the array dtypes the codec carries
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
           "uint32", "uint64", "float16", "float32", "float64"}
_MAX_BYTES = 64 * 1024 * 1024


class WireError(ValueError):
    """The data is not in the wire format (tampered or truncated)."""


def _encode(obj):
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        arr = np.asarray(obj)
        if arr.dtype.name not in DTYPES:
            return {"__repr__": f"array of dtype {arr.dtype}"}
        return {"__nd__": base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode(),
                "dtype": arr.dtype.name, "shape": list(arr.shape)}
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return {"__repr__": f"{type(obj).__name__} object"}


def _decode(obj):
    if isinstance(obj, dict):
        if "__nd__" in obj:
            dtype, shape = obj.get("dtype"), obj.get("shape")
            if dtype not in DTYPES or not isinstance(shape, list):
                raise WireError("bad array header")
            raw = base64.b64decode(obj["__nd__"], validate=True)
            if len(raw) > _MAX_BYTES:
                raise WireError("array too large")
            arr = np.frombuffer(raw, dtype=dtype)
            try:
                return arr.reshape([int(s) for s in shape]).copy()
            except ValueError:
                raise WireError("array shape does not match its data") from None
        if "__repr__" in obj:
            return Opaque(str(obj["__repr__"]))
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


class Opaque(str):
    """Stands for a value that could not be sent (e.g. a tf.Tensor of strings)."""


def dumps(obj) -> str:
    """Encode plain data (with numpy arrays) as a JSON string."""
    return json.dumps(_encode(obj), allow_nan=True)


def loads(text: str):
    """Decode what :func:`dumps` wrote; raise ``WireError`` on anything else."""
    try:
        return _decode(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"not a probe result: {exc}") from None


# bound when this module is imported, before any student code runs
_asarray, _ndarray, _generic, _dtype = np.asarray, np.ndarray, np.generic, np.dtype
_SCALARS = {bool: bool.__bool__, int: int.__index__, float: float.__float__, str: str.__str__}
_DTYPE_NAME = re.compile(r"^[<>|=]?[a-z]+[0-9]*$")   # plain numeric dtype names only


def tag(v, depth: int = 0):
    """``v`` as plain data for :func:`dumps`: containers tagged (``__tuple__``, ``__set__``,
    ``__dict__``, ``__bytes__``, ``__dtype__``), anything else as ``__repr__`` text."""
    if v is None or type(v) in _SCALARS:
        return v
    if depth > 20:
        return {"__repr__": "nested too deeply"}
    for base, cast in _SCALARS.items():
        if isinstance(v, base):   # a subclass (an "always equal" float) becomes the plain value
            return cast(v)
    if isinstance(v, (_ndarray, _generic)):
        a = _asarray(v)
        return a if a.dtype != object else {"__repr__": repr(a)[:300]}
    if isinstance(v, _dtype):
        return {"__dtype__": _dtype.__str__(v)}
    if isinstance(v, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, tuple):
        return {"__tuple__": [tag(x, depth + 1) for x in v]}
    if isinstance(v, list):
        return [tag(x, depth + 1) for x in v]
    if isinstance(v, (set, frozenset)):
        return {"__set__": [tag(x, depth + 1) for x in v]}
    if isinstance(v, dict):
        return {"__dict__": [[tag(k, depth + 1), tag(x, depth + 1)] for k, x in v.items()]}
    if isinstance(v, (types.GeneratorType, map, filter, zip)):
        return [tag(x, depth + 1) for x in v]
    if hasattr(v, "as_list") and hasattr(v, "rank"):   # a TensorShape
        try:
            return {"__tuple__": [tag(x, depth + 1) for x in v.as_list()]}
        except Exception:  # a shape of unknown rank: its repr below
            pass
    if hasattr(v, "numpy") and hasattr(v, "dtype") and hasattr(v, "shape"):   # a tensor
        try:
            return tag(v.numpy(), depth + 1)
        except Exception:  # a symbolic tensor: its repr below
            pass
    return {"__repr__": repr(v)[:300]}


def _hashable(value):
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    if isinstance(value, list):
        return tuple(value)
    return value


def untag(obj):
    """What :func:`tag` encoded, after :func:`loads` (the trusted side)."""
    if isinstance(obj, dict):
        if len(obj) == 1:
            (key, value), = obj.items()
            if key == "__tuple__" and isinstance(value, list):
                return tuple(untag(v) for v in value)
            if key == "__set__" and isinstance(value, list):
                return {_hashable(untag(v)) for v in value}
            if key == "__dict__" and isinstance(value, list):
                return {_hashable(untag(k)): untag(v) for k, v in value}
            if key == "__bytes__" and isinstance(value, str):
                return base64.b64decode(value, validate=True)
            if key == "__dtype__" and isinstance(value, str) and _DTYPE_NAME.match(value):
                return np.dtype(value)
        return {k: untag(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [untag(v) for v in obj]
    return obj if not isinstance(obj, Opaque) else Opaque(obj)
