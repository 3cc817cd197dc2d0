"""Assignment E student code: the solution notebook's classes, other correct styles, bugs.

The reference classes are the teacher's own: the definition cells of
``source/numpy_framework/numpy_framework.ipynb`` are executed once, so the checks
are always tested against the code students are graded against.

``CORRECT[check]`` lists objects a check must accept (classes, or network
factories for ``neural_network``); ``BUGGY`` lists ``Bug(check, name, student,
bug_id, fragment)``: the check must fail, name ``bug_id`` and say ``fragment``.
Variants are made by replacing one method of a reference class, so each bug is
one line of the table.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import scipy.special

NOTEBOOK = (Path(__file__).resolve().parent.parent / "source" / "numpy_framework"
            / "numpy_framework.ipynb")
#: the cells that define the framework (no data, no training, no tests)
DEFINITIONS = ("imports", "operation-base", "weight-multiply", "bias-add", "sigmoid", "linear",
               "layer-base", "dense", "loss-base", "mean-squared-error", "neural-network",
               "optimizer-base", "sgd", "trainer")


def load_reference() -> dict:
    """The namespace the solution notebook's definition cells create."""
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    namespace: dict = {"__name__": "numpy_framework_solution"}
    for grade_id in DEFINITIONS:
        exec(compile(cells[grade_id], f"<{grade_id}>", "exec"), namespace)
    return namespace


REF = load_reference()
WeightMultiply, BiasAdd, Sigmoid, Linear = (REF[k] for k in ("WeightMultiply", "BiasAdd",
                                                               "Sigmoid", "Linear"))
Dense, MeanSquaredError, NeuralNetwork = REF["Dense"], REF["MeanSquaredError"], REF["NeuralNetwork"]
SGD, Trainer = REF["SGD"], REF["Trainer"]


def variant(base, name, **methods):
    """A subclass of ``base`` with some methods replaced (functions of ``self, ...``)."""
    return type(name, (base,), dict(methods))


@dataclass(frozen=True)
class Bug:
    check: str
    name: str
    student: object
    bug: str
    fragment: str


# ------------------------------------------------------------------ operations

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _in_place_sigmoid(self):
    x = self.input_
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return 1.0 / x


def _he_setup(self, num_in):
    rng = np.random.default_rng(self.seed)
    weights = rng.standard_normal((num_in, self.neurons)) * np.sqrt(2.0 / num_in)
    bias = np.full((1, self.neurons), 0.01)
    self.params = [weights, bias]
    self.operations = [WeightMultiply(weights), BiasAdd(bias), self.activation]


def _handout_setup(self, num_in):
    # the original lesson's start: unit normal weights and bias
    rng = np.random.default_rng(self.seed)
    self.params = [rng.standard_normal((num_in, self.neurons)),
                   rng.standard_normal((1, self.neurons))]
    self.operations = [WeightMultiply(self.params[0]), BiasAdd(self.params[1]), self.activation]


def _dense_setup(weights_fn, bias_fn=lambda rng, h: np.zeros((1, h)), ops=None):
    """A _setup_layer built from pieces, so each Dense bug changes one piece."""
    def setup(self, num_in):
        rng = np.random.default_rng(self.seed)
        weights, bias = weights_fn(rng, num_in, self.neurons, self), bias_fn(rng, self.neurons)
        self.params = [weights, bias]
        self.operations = (ops or (lambda s, w, b: [WeightMultiply(w), BiasAdd(b),
                                                     s.activation]))(self, weights, bias)
    return setup


def _normal(rng, d, h, layer):
    return rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, h))


def _sgd(update, first_only=False):
    """An SGD.step applying ``update(self, param, grad)`` to every (or the first) pair."""
    def step(self):
        pairs = list(zip(self.net.params(), self.net.param_grads(), strict=False))
        for param, grad in pairs[:1] if first_only else pairs:
            update(self, param, grad)
    return step


def _scale_grad_then_subtract(self, param, grad):
    grad *= self.lr
    param -= grad


def _sgd_attribute_loop(self):
    for param, grad in zip(self.net.params, self.net.param_grads, strict=False):
        param -= self.lr * grad


CORRECT: dict[str, list] = {
    "weight_multiply": [
        WeightMultiply,
        variant(WeightMultiply, "WeightMultiplyDot",
                _output=lambda s: np.dot(s.input_, s.param),
                _input_grad=lambda s, g: np.dot(g, s.param.T),
                _param_grad=lambda s, g: np.dot(s.input_.T, g)),
        variant(WeightMultiply, "WeightMultiplyEinsum",
                _output=lambda s: np.einsum("nd,dh->nh", s.input_, s.param),
                _input_grad=lambda s, g: np.einsum("nh,dh->nd", g, s.param),
                _param_grad=lambda s, g: np.einsum("nd,nh->dh", s.input_, g)),
        variant(WeightMultiply, "WeightMultiplyFloat32",
                _output=lambda s: s.input_.astype(np.float32) @ s.param.astype(np.float32),
                _input_grad=lambda s, g: (g @ s.param.T).astype(np.float32),
                _param_grad=lambda s, g: (s.input_.T @ g).astype(np.float32)),
    ],
    "bias_add": [
        BiasAdd,
        variant(BiasAdd, "BiasAddOnesLike",  # the original lesson's style
                _input_grad=lambda s, g: np.ones_like(s.input_) * g,
                _param_grad=lambda s, g: np.sum(np.ones_like(s.input_) * g, axis=0)
                .reshape(1, g.shape[1])),
        variant(BiasAdd, "BiasAddOnesProduct",
                _param_grad=lambda s, g: np.ones((1, g.shape[0])) @ g),
        variant(BiasAdd, "BiasAddCopy", _input_grad=lambda s, g: g.copy(),
                _param_grad=lambda s, g: g.sum(axis=0)[None, :]),
    ],
    "sigmoid": [
        Sigmoid,
        variant(Sigmoid, "SigmoidExpit", _output=lambda s: scipy.special.expit(s.input_)),
        variant(Sigmoid, "SigmoidTanh", _output=lambda s: 0.5 * (1 + np.tanh(s.input_ / 2))),
        variant(Sigmoid, "SigmoidRecomputes",
                _input_grad=lambda s, g: g * _sigmoid(s.input_) * (1 - _sigmoid(s.input_))),
        variant(Sigmoid, "SigmoidExpForm",
                _input_grad=lambda s, g: g * np.exp(-s.input_) / (1 + np.exp(-s.input_)) ** 2),
        variant(Sigmoid, "SigmoidFloat32",
                _output=lambda s: (1 / (1 + np.exp(-s.input_))).astype(np.float32)),
    ],
    "linear": [
        Linear,
        variant(Linear, "LinearCopies", _output=lambda s: s.input_.copy(),
                _input_grad=lambda s, g: np.array(g)),
        variant(Linear, "LinearTimesOne", _output=lambda s: 1.0 * s.input_,
                _input_grad=lambda s, g: np.ones_like(g) * g),
    ],
    "mean_squared_error": [
        MeanSquaredError,
        variant(MeanSquaredError, "MseSumOverRows",  # the original lesson's style
                _output=lambda s: np.sum(np.power(s.prediction - s.target, 2))
                / s.prediction.shape[0]),
        variant(MeanSquaredError, "MseAverage",
                _output=lambda s: np.average(np.square(s.prediction - s.target)),
                _input_grad=lambda s: 2 * (s.prediction - s.target) / len(s.prediction)),
        variant(MeanSquaredError, "MseReturnsArray0d",
                _output=lambda s: np.mean((s.target - s.prediction) ** 2, keepdims=False)),
    ],
    "dense": [
        Dense,
        variant(Dense, "DenseHe", _setup_layer=_he_setup),
        variant(Dense, "DenseHandoutInit", _setup_layer=_handout_setup),
    ],
    "sgd": [
        SGD,
        variant(SGD, "SgdSubtractOut",
                step=_sgd(lambda s, p, g: np.subtract(p, s.lr * g, out=p))),
        variant(SGD, "SgdSliceAssign", step=_sgd(lambda s, p, g: p.__setitem__(
            Ellipsis, p - s.lr * g))),
    ],
}


# ------------------------------------------------------------------ networks

def network_factory(cls=NeuralNetwork, sizes=(5, 3)):
    """A zero-argument function making a fresh ``cls`` network with sigmoid hidden layers."""
    def make():
        layers = [Dense(n, Sigmoid()) for n in sizes] + [Dense(1, Linear())]
        return cls(layers, MeanSquaredError(), seed=7)
    make.__name__ = f"make_{cls.__name__}_{'_'.join(map(str, sizes))}"
    return make


def _forward_by_index(self, x):
    for i in range(len(self.layers)):
        x = self.layers[i].forward(x)
    return x


def _backward_unreversed(self, grad):
    for layer in self.layers:
        grad = layer.backward(grad)


def _forward_unchained(self, x_batch):
    out = x_batch
    for layer in self.layers:
        out = layer.forward(x_batch)
    return out


def _train_batch(backward=True, returns="loss", update=False):
    def train_batch(self, x, y):
        loss = self.loss.forward(self.forward(x), y)
        if backward:
            self.backward(self.loss.backward())
        if update:
            for p, g in zip(self.params(), self.param_grads(), strict=False):
                p -= 0.1 * g
        return {"loss": loss, "none": None, "grad": self.loss.input_grad if backward
                else None}[returns]
    return train_batch


def _backward_doubled(self, grad):
    NeuralNetwork.backward(self, 2.0 * grad)


CORRECT["neural_network"] = [
    network_factory(),
    network_factory(sizes=(4,)),
    network_factory(variant(NeuralNetwork, "NetworkByIndex", forward=_forward_by_index)),
]


# ------------------------------------------------------------------ trainers

def trainer_variant(name, *, shuffle="each", batches="all", step=True, validate="valid",
                    every=True, stop=True, snapshot="deep", when="eval", restore=True,
                    repoint=True):
    """A Trainer whose ``fit`` has one deliberate difference from the reference."""
    def fit(self, X_train, y_train, X_valid, y_valid, epochs=100, eval_every=10,
            batch_size=32, seed=1, restart=True, verbose=True):
        rng = np.random.default_rng(seed)
        if restart:
            for layer in self.net.layers:
                layer.first = True
            self.best_loss = np.inf
        kept = None
        order = rng.permutation(len(X_train))
        for epoch in range(1, epochs + 1):
            if when == "epoch_start" and epoch % eval_every == 0:
                kept = copy.deepcopy(self.net)       # the original lesson's timing
            if shuffle == "each":
                X, y = self.permute_data(X_train, y_train, rng)
            elif shuffle == "once":
                X, y = X_train[order], y_train[order]
            elif shuffle == "unpaired":
                X, y = X_train[rng.permutation(len(X_train))], y_train[rng.permutation(len(X_train))]
            else:
                X, y = X_train, y_train
            for X_batch, y_batch in self.generate_batches(X, y, batch_size):
                if batches == "drop_last" and len(X_batch) < batch_size:
                    continue
                self.net.train_batch(X_batch, y_batch)
                if step:
                    self.optim.step()
            if every and epoch % eval_every:
                continue
            X_v, y_v = (X_valid, y_valid) if validate == "valid" else (X_train, y_train)
            loss = self.net.loss.forward(self.net.forward(X_v), y_v)
            if loss < self.best_loss or not stop:
                self.best_loss = min(loss, self.best_loss)
                if when == "eval":
                    kept = {"deep": copy.deepcopy, "shallow": copy.copy,
                            "reference": lambda n: n}[snapshot](self.net)
            else:
                if restore:
                    self.net = kept
                if repoint:
                    self.optim.net = self.net
                break
        return self
    return variant(Trainer, name, fit=fit)


def _permute_by_sort(self, X, y, rng):
    keys = rng.random(len(X))
    order = np.argsort(keys)
    return X[order], y[order]


def _batches_by_split(self, X, y, size=32):
    cuts = list(range(size, len(X), size))
    yield from zip(np.split(X, cuts), np.split(y, cuts), strict=False)


CORRECT["trainer"] = [
    Trainer,
    trainer_variant("TrainerTableVersion"),
    variant(Trainer, "TrainerSortedKeys", permute_data=_permute_by_sort),
    variant(Trainer, "TrainerSplitBatches", generate_batches=_batches_by_split),
]


# ------------------------------------------------------------------ bugs

def _bugs(check, base, rows):
    return [Bug(check, name, variant(base, name, **methods), bug, fragment)
            for name, methods, bug, fragment in rows]


_ZEROS = np.zeros_like


def _not_implemented(self, output_grad):
    raise NotImplementedError()

BUGGY: list[Bug] = [
    *_bugs("weight_multiply", WeightMultiply, [
        ("WmTransposedParamGrad", {"_param_grad": lambda s, g: g.T @ s.input_},
         "transposed_param_grad", "weight's shape (num_in, num_out)"),
        ("WmParamGradOverN", {"_param_grad": lambda s, g: s.input_.T @ g / len(g)},
         "param_grad_averaged", "do not divide by the batch size"),
        ("WmIgnoresOutputGrad", {"_input_grad": lambda s, g: np.ones_like(g) @ s.param.T},
         "ignores_d_out", "does not depend on d_out"),
        ("WmInputGradSign", {"_input_grad": lambda s, g: -(g @ s.param.T)},
         "sign_error", "sign"),
        ("WmForwardTransposed", {"_output": lambda s: s.input_ @ s.param.T},
         "forward_error", "line"),
        ("WmParamGradZeros", {"_param_grad": lambda s, g: _ZEROS(s.param)},
         "zero_gradient", "all zeros"),
        ("WmNotImplemented", {"_param_grad": _not_implemented}, "backward_error",
         "NotImplementedError"),
    ]),
    *_bugs("bias_add", BiasAdd, [
        ("BiasNotSummed", {"_param_grad": lambda s, g: g}, "bias_grad_not_summed", "SUM"),
        ("BiasFlat", {"_param_grad": lambda s, g: g.sum(axis=0)}, "bias_grad_flat",
         "not a flat vector"),
        ("BiasMean", {"_param_grad": lambda s, g: g.mean(axis=0, keepdims=True)},
         "bias_grad_mean", "not the mean"),
        ("BiasWrongAxis", {"_param_grad": lambda s, g: g.sum(axis=1, keepdims=True)},
         "bias_grad_wrong_axis", "axis=1"),
        ("BiasOneRow", {"_param_grad": lambda s, g: g[:1]}, "bias_grad_one_row", "first row"),
        ("BiasForgotten", {"_output": lambda s: s.input_}, "bias_forgotten", "not added"),
        ("BiasInputGradOnes", {"_input_grad": lambda s, g: np.ones_like(s.input_)},
         "ignores_d_out", "d_out"),
    ]),
    *_bugs("sigmoid", Sigmoid, [
        ("SigmoidGradFromInput",
         {"_input_grad": lambda s, g: s.input_ * (1 - s.input_) * g},
         "sigmoid_grad_uses_input", "not with its input"),
        ("SigmoidGradMissingOneMinus", {"_input_grad": lambda s, g: s.output * g},
         "sigmoid_grad_missing_factor", "a factor of the sigmoid's derivative"),
        ("SigmoidExponentSign", {"_output": lambda s: 1 / (1 + np.exp(s.input_))},
         "sigmoid_exponent_sign", "sign inside the exponent"),
        ("SigmoidIgnoresOutputGrad", {"_input_grad": lambda s, g: s.output * (1 - s.output)},
         "ignores_d_out", "d_out"),
        ("SigmoidPassesGradThrough", {"_input_grad": lambda s, g: g},
         "returns_d_out", "d_out unchanged"),
        ("SigmoidInPlace", {"_output": _in_place_sigmoid}, "mutates_inputs", "in place"),
    ]),
    *_bugs("linear", Linear, [
        ("LinearGradOnes", {"_input_grad": lambda s, g: np.ones_like(g)},
         "ignores_d_out", "d_out"),
        ("LinearGradZeros", {"_input_grad": lambda s, g: _ZEROS(g)}, "zero_gradient",
         "all zeros"),
        ("LinearReturnsNothing", {"_output": lambda s: None}, "forward_returns_nothing",
         "return"),
    ]),
    *_bugs("mean_squared_error", MeanSquaredError, [
        ("MseGradMissing2", {"_input_grad": lambda s: (s.prediction - s.target) / len(s.target)},
         "mse_grad_missing_2", "factor 2"),
        ("MseGradNotAveraged", {"_input_grad": lambda s: 2 * (s.prediction - s.target)},
         "mse_grad_not_averaged", "divide"),
        ("MseGradMissing2AndN", {"_input_grad": lambda s: s.prediction - s.target},
         "mse_grad_missing_2_and_n", "both"),
        ("MseGradSign", {"_input_grad": lambda s: 2 * (s.target - s.prediction) / len(s.target)},
         "mse_grad_sign", "with respect to the prediction"),
        ("MseSummed", {"_output": lambda s: float(np.sum((s.prediction - s.target) ** 2)),
                       "_input_grad": lambda s: 2 * (s.prediction - s.target)},
         "mse_not_averaged", "sum of squares"),
        ("MseRoot", {"_output": lambda s: float(np.sqrt(np.mean((s.prediction - s.target) ** 2)))},
         "mse_root", "np.sqrt"),
        ("MsePerSample", {"_output": lambda s: (s.prediction - s.target) ** 2},
         "mse_per_sample", "one number"),
        ("MseHalved", {"_output": lambda s: float(np.mean((s.prediction - s.target) ** 2) / 2)},
         "mse_halved", "half"),
    ]),
    *_bugs("dense", Dense, [
        ("DenseTransposedWeights", {"_setup_layer": _dense_setup(
            lambda rng, d, h, layer: rng.normal(size=(h, d)),
            ops=lambda s, w, b: [WeightMultiply(w.T), BiasAdd(b), s.activation])},
         "weights_transposed", "(num_in, neurons)"),
        ("DenseBiasNotRow", {"_setup_layer": _dense_setup(
            _normal, bias_fn=lambda rng, h: np.zeros(h))}, "setup_error", "one row"),
        ("DenseCopiesParams", {"_setup_layer": _dense_setup(
            _normal, ops=lambda s, w, b: [WeightMultiply(w.copy()), BiasAdd(b.copy()),
                                         s.activation])}, "params_not_shared", "no copies"),
        ("DenseNoBiasOp", {"_setup_layer": _dense_setup(
            _normal, ops=lambda s, w, b: [WeightMultiply(w), s.activation])},
         "params_not_shared", "BiasAdd(bias)"),
        ("DenseNoActivation", {"_setup_layer": _dense_setup(
            _normal, ops=lambda s, w, b: [WeightMultiply(w), BiasAdd(b)])},
         "no_activation", "self.activation"),
        ("DenseOwnSigmoid", {"_setup_layer": _dense_setup(
            _normal, ops=lambda s, w, b: [WeightMultiply(w), BiasAdd(b), Sigmoid()])},
         "no_activation", "self.activation"),
        ("DenseZeroWeights", {"_setup_layer": _dense_setup(
            lambda rng, d, h, layer: np.zeros((d, h)))}, "constant_weights", "same gradient"),
        ("DenseUnseeded", {"_setup_layer": _dense_setup(
            lambda rng, d, h, layer: np.random.randn(d, h))}, "seed_ignored", "made from self.seed"),
        ("DenseFixedSeed", {"_setup_layer": _dense_setup(
            lambda rng, d, h, layer: np.random.default_rng(0).normal(size=(d, h)))},
         "seed_ignored", "different seeds"),
    ]),
    *[Bug("neural_network", name, network_factory(variant(NeuralNetwork, name, **methods)),
          bug, fragment) for name, methods, bug, fragment in [
        ("NetBackwardNotReversed", {"backward": _backward_unreversed}, "train_batch_error",
         "reversed(self.layers)"),
        ("NetForwardUnchained", {"forward": _forward_unchained}, "train_batch_error",
         "each layer's output to the next"),
        ("NetNoBackward", {"train_batch": _train_batch(backward=False)}, "missing_param_grads",
         "starting from the loss's gradient"),
        ("NetReturnsNothing", {"train_batch": _train_batch(returns="none")},
         "train_batch_returns_nothing", "loss on this batch"),
        ("NetReturnsGradient", {"train_batch": _train_batch(returns="grad")},
         "train_batch_returns_nothing", "one number"),
        ("NetUpdatesInTrainBatch", {"train_batch": _train_batch(update=True)},
         "train_batch_updates", "SGD.step()"),
        ("NetDoublesGradient", {"backward": _backward_doubled}, "wrong_network_gradient",
         "2 times"),
    ]],
    *_bugs("sgd", SGD, [
        ("SgdRebinds", {"step": _sgd(lambda s, p, g: p - s.lr * g)}, "rebinds_param",
         "in place"),
        ("SgdPlus", {"step": _sgd(lambda s, p, g: np.add(p, s.lr * g, out=p))}, "sgd_sign",
         "against the gradient"),
        ("SgdNoLr", {"step": _sgd(lambda s, p, g: np.subtract(p, g, out=p))},
         "sgd_ignores_lr", "learning rate"),
        ("SgdFirstOnly", {"step": _sgd(lambda s, p, g: np.subtract(p, s.lr * g, out=p),
                                       first_only=True)}, "sgd_partial", "every parameter"),
        ("SgdNotCalled", {"step": _sgd_attribute_loop}, "step_error", "call them"),
        ("SgdScalesGrads", {"step": _sgd(_scale_grad_then_subtract)}, "mutates_grads",
         "only the parameters move"),
    ]),
    *[Bug("trainer", name, trainer_variant(name, **flags), bug, fragment)
      for name, flags, bug, fragment in [
        ("TrainerUnpaired", {"shuffle": "unpaired"}, "unpaired_shuffle", "ONE permutation"),
        ("TrainerNoShuffle", {"shuffle": "none"}, "no_shuffle", "not shuffled"),
        ("TrainerShuffleOnce", {"shuffle": "once"}, "shuffle_once", "new permutation"),
        ("TrainerDropsLastBatch", {"batches": "drop_last"}, "batch_sizes", "shorter batch"),
        ("TrainerNoStep", {"step": False}, "steps", "one step of the optimiser"),
        ("TrainerTrainingLoss", {"validate": "train"}, "wrong_validation", "X_valid"),
        ("TrainerEvalEveryEpoch", {"every": False}, "eval_timing", "wrong epochs"),
        ("TrainerNeverStops", {"stop": False}, "no_early_stop", "break"),
        ("TrainerNoCopy", {"snapshot": "reference"}, "not_restored", "deep copy"),
        ("TrainerShallowCopy", {"snapshot": "shallow"}, "shallow_copy", "shallow copy"),
        ("TrainerNoRestore", {"restore": False}, "not_restored", "deep copy"),
        ("TrainerOptimizerNotRepointed", {"repoint": False}, "optimizer_not_repointed",
         "point it at the restored one"),
        ("TrainerSnapshotAtEpochStart", {"when": "epoch_start"}, "wrong_snapshot",
         "right after that evaluation"),
    ]],
]
