"""Which module defines which check, so importing nn_utils stays cheap.

TensorFlow checks live in their own module and import TensorFlow only when
one of them runs: numpy-only exercises never pay TensorFlow's import.
"""
from __future__ import annotations

import importlib

_MODULES = {
    "affine": "layers",
    "relu": "layers",
    "cross_entropy": "layers",
    "evaluate": "tf_checks",
    "fit": "tf_checks",
    "weight_multiply": "framework",
    "bias_add": "framework",
    "sigmoid": "framework",
    "linear": "framework",
    "mean_squared_error": "framework",
    "dense": "framework",
    "neural_network": "framework_training",
    "sgd": "framework_training",
    "trainer": "framework_training",
}


def load(name: str) -> None:
    """Import the module that registers check ``name``."""
    if name not in _MODULES:
        raise KeyError(f"nn_utils has no check named {name!r}; "
                       f"known checks: {', '.join(sorted(_MODULES))}")
    importlib.import_module(f"nn_utils.{_MODULES[name]}")

