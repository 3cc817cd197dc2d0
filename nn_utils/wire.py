"""A safe wire format for probe results: JSON with numpy arrays, never pickle.

Probe results come from a process that ran student code, so the trusted side
must decode them without executing anything: only dicts, lists, strings,
numbers, booleans, None and numeric arrays (no object dtype) are accepted.
"""
from __future__ import annotations

import base64
import json

import numpy as np

__all__ = ["dumps", "loads", "WireError"]

_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
           "uint32", "uint64", "float16", "float32", "float64"}
_MAX_BYTES = 64 * 1024 * 1024


class WireError(ValueError):
    """The data is not in the wire format (tampered or truncated)."""


def _encode(obj):
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        arr = np.asarray(obj)
        if arr.dtype.name not in _DTYPES:
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
            if dtype not in _DTYPES or not isinstance(shape, list):
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
