"""Stand-in networks and optimisers that record how the student's code drives them.

Probe side only: they hold no reference maths, they only count and remember.
A :class:`Journal` survives ``deepcopy`` as the same object (every copy of a
network writes to one record), while a network's ``progress`` counter sits in
a nested object: ``deepcopy`` freezes it, a shallow ``copy`` would share it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Journal", "StandInNet", "StandInOptimizer"]


class Journal:
    """Every call the trainer made, in order, as plain data; scripted validation losses."""

    def __init__(self, script=()):
        self.events: list[dict] = []
        self.script = [float(v) for v in script]

    def __deepcopy__(self, memo):
        return self

    def batch(self, X, y):
        self.events.append({"kind": "batch", "ids": np.asarray(X)[:, 0].astype(np.int64),
                            "y_ids": np.floor(np.asarray(y)[:, 0]).astype(np.int64)})

    def step(self, progress):
        self.events.append({"kind": "step", "progress": int(progress)})

    def validation(self, prediction, target):
        rows = int(np.shape(target)[0]) if np.ndim(target) else 0
        index = sum(e["kind"] == "eval" for e in self.events)
        self.events.append({"kind": "eval", "rows": rows})
        return self.script[index] if index < len(self.script) else self.script[-1] + 1.0


class _Progress:
    def __init__(self):
        self.count = 0


class _Layer:
    """A set-up layer holding its share of the network's (weight, bias) arrays, so an
    optimiser may reach them through ``net.layers`` as well as ``net.params()``."""

    def __init__(self, params=(), grads=()):
        self.first = False
        self.params, self.param_grads = list(params), list(grads)


class _Loss:
    def __init__(self, journal):
        self.journal = journal

    def forward(self, prediction, target):
        return self.journal.validation(prediction, target)


class StandInNet:
    """Duck-types NeuralNetwork: params/param_grads (for SGD), layers/loss/train_batch/forward."""

    def __init__(self, params=(), grads=(), journal=None):
        self.held_params, self.held_grads = list(params), list(grads)
        self.journal = journal if journal is not None else Journal()
        self.layers = [_Layer(self.held_params[k:k + 2], self.held_grads[k:k + 2])
                       for k in (0, 2)]
        self.loss = _Loss(self.journal)
        self.progress = _Progress()

    def params(self):
        yield from self.held_params

    def param_grads(self):
        yield from self.held_grads

    def train_batch(self, x_batch, y_batch):
        self.progress.count += 1
        self.journal.batch(x_batch, y_batch)
        return 1.0

    def forward(self, x_batch):
        return np.zeros((np.shape(x_batch)[0], 1))


class StandInOptimizer:
    """Records each step() with the progress of the network it currently points at."""

    def __init__(self, journal):
        self.journal = journal
        self.lr = 0.01
        self.net = None

    def step(self):
        progress = getattr(getattr(self.net, "progress", None), "count", -1)
        self.journal.step(progress)
