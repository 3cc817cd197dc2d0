"""Student-style ``evaluate`` and ``fit`` functions: correct styles and known bugs.

``EVALUATE_OK`` / ``FIT_OK`` must pass; ``EVALUATE_BUGS`` / ``FIT_BUGS`` map each
buggy function to ``(bug id, fragment of the failure message)``.

TensorFlow is imported on first use, not when this module is imported: pytest
imports it while collecting, and ``-m "not slow"`` must not pay for TensorFlow.
"""
import importlib

import numpy as np


class _LazyModule:
    """Imports the named module on the first attribute access."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        if attribute.startswith("_"):  # pytest probes objects for its own markers
            raise AttributeError(attribute)
        return getattr(importlib.import_module(self._name), attribute)


tf = _LazyModule("tensorflow")

# Global data and weights a careless evaluate might read instead of its arguments.
X_GLOBAL = np.random.default_rng(12345).uniform(-1, 1, (64, 2)).astype(np.float32)
Y_GLOBAL = (X_GLOBAL[:, 0] > 0).astype(np.int8)
W_GLOBAL = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)


def model_global(X):
    return tf.nn.softmax(tf.matmul(X, W_GLOBAL))


# ------------------------------------------------------------------ evaluate: correct
def evaluate_tf_argmax(model, X, Y):
    predictions = tf.argmax(model(X), axis=1)
    correct = tf.cast(tf.equal(predictions, tf.cast(Y, tf.int64)), tf.float32)
    return float(100 * tf.reduce_mean(correct))


def evaluate_np_argmax(model, X, Y):
    return 100 * np.mean(np.argmax(model(X).numpy(), axis=-1) == Y)


def evaluate_tensor(model, X, Y):
    predictions = tf.argmax(model(X), axis=1, output_type=tf.int32)
    hits = tf.reduce_sum(tf.cast(predictions == tf.cast(Y, tf.int32), tf.float32))
    return hits / len(Y) * 100.0


def evaluate_loop_count(model, X, Y):
    probabilities = np.asarray(model(X))
    correct = 0
    for row, label in zip(probabilities, Y, strict=False):
        correct += int(row.argmax() == label)
    return 100 * correct / len(Y)


def evaluate_rounded(model, X, Y):
    return round(100 * float(np.mean(np.argmax(model(X), axis=1) == Y)), 1)


def evaluate_threshold(model, X, Y):
    predicted = (model(X)[:, 1] > 0.5).numpy().astype(np.int8)
    return np.float32(100.0) * np.float32((predicted == Y).sum()) / np.float32(Y.shape[0])


# ------------------------------------------------------------------- evaluate: bugs
def evaluate_fraction(model, X, Y):
    return np.mean(np.argmax(model(X), axis=1) == Y)


def evaluate_count(model, X, Y):
    return int(np.sum(np.argmax(model(X), axis=1) == Y))


def evaluate_axis0_np(model, X, Y):
    return 100 * np.mean(np.argmax(model(X), axis=0) == Y)


def evaluate_axis0_tf(model, X, Y):
    predictions = tf.argmax(model(X), axis=0)
    return 100 * tf.reduce_mean(tf.cast(predictions == tf.cast(Y, tf.int64), tf.float32))


def evaluate_labels_flipped(model, X, Y):
    return 100 * np.mean(np.argmax(model(X), axis=1) == 1 - Y)


def evaluate_int8_count(model, X, Y):
    predictions = tf.cast(tf.argmax(model(X), axis=1), tf.int8)
    correct = tf.reduce_sum(tf.cast(tf.equal(predictions, Y), tf.int8))
    return 100.0 * float(correct) / len(Y)


def evaluate_integer_mean(model, X, Y):
    hits = tf.cast(tf.argmax(model(X), axis=1) == tf.cast(Y, tf.int64), tf.int32)
    return 100 * tf.reduce_mean(hits)


def evaluate_global_data(model, X, Y):
    return 100 * np.mean(np.argmax(model(X_GLOBAL), axis=1) == Y_GLOBAL)


def evaluate_global_model(model, X, Y):
    return 100 * np.mean(np.argmax(model_global(X), axis=1) == Y)


def evaluate_per_sample(model, X, Y):
    return 100.0 * tf.cast(tf.argmax(model(X), axis=1) == tf.cast(Y, tf.int64), tf.float32)


def evaluate_keepdims(model, X, Y):
    hits = np.argmax(model(X), axis=1) == Y
    return 100 * np.mean(hits, keepdims=True)


def evaluate_raises(model, X, Y):
    return 100 * np.mean(np.argmax(model(X), axis=1) == Y[:, 0])


def evaluate_trains(model, X, Y):
    accuracy = 100 * np.mean(np.argmax(model(X), axis=1) == Y)
    for w in model.weights:
        w.assign_add(0.01 * tf.ones_like(w))
    return accuracy


EVALUATE_OK = [evaluate_tf_argmax, evaluate_np_argmax, evaluate_tensor,
               evaluate_loop_count, evaluate_threshold, evaluate_rounded]
EVALUATE_BUGS = {
    evaluate_fraction: ("fraction", "multiply"),
    evaluate_count: ("count", "len(Y)"),
    evaluate_axis0_np: ("argmax_axis", "axis=1"),
    evaluate_axis0_tf: ("argmax_axis", "axis=1"),
    evaluate_labels_flipped: ("labels_flipped", "classes swapped"),
    evaluate_int8_count: ("int8_overflow", "int8"),
    evaluate_integer_mean: ("integer_mean", "float32"),
    evaluate_global_data: ("ignores_arguments", "global"),
    evaluate_global_model: ("ignores_model", "a global one"),
    evaluate_per_sample: ("not_scalar", "one number"),
    evaluate_keepdims: ("not_scalar", "one number"),
    evaluate_raises: ("exception", "IndexError"),
    evaluate_trains: ("mutates_model", "changed the model's weights"),
}


# ------------------------------------------------------------------- fit: helpers
def mean_scce(Y, probabilities):
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(Y, probabilities))


def hand_ce(Y, probabilities):
    picked = tf.gather(probabilities, tf.cast(Y, tf.int32), axis=1, batch_dims=1)
    return -tf.reduce_mean(tf.math.log(picked))


def _losses(model, X_train, Y_train, X_test, Y_test, loss=mean_scce):
    return [float(loss(Y_train, model(X_train))), float(loss(Y_test, model(X_test)))]


def _report(epoch, row):
    if epoch % 10 == 0:
        print(f"epoch {epoch}: train loss {row[0]:.4f}, test loss {row[1]:.4f}")


def _descend(model, X, Y, lr, loss=mean_scce, sign=1.0, variables=None):
    with tf.GradientTape() as tape:
        value = loss(Y, model(X))
    weights = model.weights if variables is None else variables(model)
    for g, w in zip(tape.gradient(value, weights), weights, strict=False):
        w.assign_sub(sign * lr * g)


def _generic_fit(model, X_train, Y_train, X_test, Y_test, N, lr, *, step=_descend,
                 steps=None, record=_losses):
    history = [record(model, X_train, Y_train, X_test, Y_test)]
    _report(0, history[0])
    for epoch in range(1, (N if steps is None else steps(N)) + 1):
        step(model, X_train, Y_train, lr)
        history.append(record(model, X_train, Y_train, X_test, Y_test))
        _report(epoch, history[-1])
    return np.array(history[:N + 1])


# -------------------------------------------------------------------- fit: correct
def fit_assign_sub(model, X_train, Y_train, X_test, Y_test, N, lr):
    return _generic_fit(model, X_train, Y_train, X_test, Y_test, N, lr)


def fit_keras_sgd(model, X_train, Y_train, X_test, Y_test, N, lr):
    optimizer = tf.keras.optimizers.SGD(learning_rate=lr)
    scce = tf.keras.losses.SparseCategoricalCrossentropy()
    history = np.zeros((N + 1, 2))
    history[0] = scce(Y_train, model(X_train)), scce(Y_test, model(X_test))
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.weights), model.weights, strict=False))
        history[epoch + 1] = scce(Y_train, model(X_train)), scce(Y_test, model(X_test))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[epoch + 1])
    return history


def fit_tape_loss_reused(model, X_train, Y_train, X_test, Y_test, N, lr):
    """The loss recorded inside the tape is the history row; one extra forward at the end."""
    history = []
    for epoch in range(N + 1):
        with tf.GradientTape() as tape:
            train_loss = hand_ce(Y_train, model(X_train))
        history.append([train_loss.numpy(), hand_ce(Y_test, model(X_test)).numpy()])
        if epoch % 10 == 0:
            print("epoch", epoch, "losses", history[-1])
        if epoch < N:
            gradients = tape.gradient(train_loss, model.weights)
            for g, w in zip(gradients, model.weights, strict=False):
                w.assign_sub(lr * g)
    return np.array(history)


def fit_float32_array(model, X_train, Y_train, X_test, Y_test, N, lr):
    history = np.empty((N + 1, 2), np.float32)
    for epoch in range(N + 1):
        if epoch:
            _descend(model, X_train, Y_train, lr, loss=hand_ce)
        history[epoch] = _losses(model, X_train, Y_train, X_test, Y_test, hand_ce)
        if epoch % 10 == 0:
            print(f"{epoch:4d} {history[epoch, 0]:.3f} {history[epoch, 1]:.3f}")
    return history


# ----------------------------------------------------------------------- fit: bugs
def _rebinding_step(model, X, Y, lr):
    with tf.GradientTape() as tape:
        loss = mean_scce(Y, model(X))
    for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
        w = w - lr * g  # the bug: rebinds a name, the model never changes


def _outside_tape_step(model, X, Y, lr):
    with tf.GradientTape() as tape:
        probabilities = model(X)
    loss = mean_scce(Y, probabilities)
    for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
        w.assign_sub(lr * g)


def _mse(Y, probabilities):
    return tf.reduce_mean((tf.one_hot(tf.cast(Y, tf.int32), 2) - probabilities) ** 2)


def _summed(Y, probabilities):
    return tf.reduce_sum(tf.keras.losses.sparse_categorical_crossentropy(Y, probabilities))


def _from_logits(Y, probabilities):
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
        Y, probabilities, from_logits=True))


def _replacing_step(model, X, Y, lr):
    with tf.GradientTape() as tape:
        loss = mean_scce(Y, model(X))
    gradients = tape.gradient(loss, model.weights)
    pairs = zip(gradients[::2], gradients[1::2], strict=True)
    for layer, (g_W, g_b) in zip(model.layers, pairs, strict=False):
        layer.W = tf.Variable(layer.W - lr * g_W)
        layer.b = tf.Variable(layer.b - lr * g_b)


def _variant(**options):
    def fit(model, X_train, Y_train, X_test, Y_test, N, lr):
        return _generic_fit(model, X_train, Y_train, X_test, Y_test, N, lr, **options)
    return fit


def fit_missing_row0(model, X_train, Y_train, X_test, Y_test, N, lr):
    return fit_assign_sub(model, X_train, Y_train, X_test, Y_test, N, lr)[1:]


def fit_columns_swapped(model, X_train, Y_train, X_test, Y_test, N, lr):
    return fit_assign_sub(model, X_train, Y_train, X_test, Y_test, N, lr)[:, ::-1]


def fit_test_is_train(model, X_train, Y_train, X_test, Y_test, N, lr):
    return fit_assign_sub(model, X_train, Y_train, X_train, Y_train, N, lr)


def fit_on_test_set(model, X_train, Y_train, X_test, Y_test, N, lr):
    return _generic_fit(model, X_train, Y_train, X_test, Y_test, N, lr,
                        step=lambda m, X, Y, lr: _descend(m, X_test, Y_test, lr))


def fit_returns_list(model, X_train, Y_train, X_test, Y_test, N, lr):
    return fit_assign_sub(model, X_train, Y_train, X_test, Y_test, N, lr).tolist()


def fit_before_update(model, X_train, Y_train, X_test, Y_test, N, lr):
    history = [_losses(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        history.append(_losses(model, X_train, Y_train, X_test, Y_test))
        _descend(model, X_train, Y_train, lr)
        _report(epoch, history[-1])
    return np.array(history)


def fit_silent(model, X_train, Y_train, X_test, Y_test, N, lr):
    history = [_losses(model, X_train, Y_train, X_test, Y_test)]
    for _ in range(N):
        _descend(model, X_train, Y_train, lr)
        history.append(_losses(model, X_train, Y_train, X_test, Y_test))
    return np.array(history)


fit_rebinding = _variant(step=_rebinding_step)
fit_gradient_ascent = _variant(step=lambda m, X, Y, lr: _descend(m, X, Y, lr, sign=-1.0))
fit_fixed_lr = _variant(step=lambda m, X, Y, lr: _descend(m, X, Y, 0.1))
fit_extra_step = _variant(steps=lambda N: N + 1)
fit_mse = _variant(step=lambda m, X, Y, lr: _descend(m, X, Y, lr, loss=_mse),
                   record=lambda *a: _losses(*a, loss=_mse))
fit_summed = _variant(step=lambda m, X, Y, lr: _descend(m, X, Y, lr, loss=_summed),
                      record=lambda *a: _losses(*a, loss=_summed))
fit_summed_gradient_only = _variant(
    step=lambda m, X, Y, lr: _descend(m, X, Y, lr, loss=_summed))
fit_weights_only = _variant(step=lambda m, X, Y, lr: _descend(
    m, X, Y, lr, variables=lambda model: model.weights[::2]))
fit_first_layer_only = _variant(step=lambda m, X, Y, lr: _descend(
    m, X, Y, lr, variables=lambda model: model.weights[:2]))
fit_loss_outside_tape = _variant(step=_outside_tape_step)
fit_from_logits = _variant(step=lambda m, X, Y, lr: _descend(m, X, Y, lr, loss=_from_logits),
                           record=lambda *a: _losses(*a, loss=_from_logits))
fit_replaces_variables = _variant(step=_replacing_step)

FIT_OK = [fit_assign_sub, fit_keras_sgd, fit_tape_loss_reused, fit_float32_array]
FIT_BUGS = {
    fit_missing_row0: ("missing_row0", "before the first update"),
    fit_columns_swapped: ("columns_swapped", "column 0 is the training loss"),
    fit_test_is_train: ("test_equals_train", "X_test"),
    fit_on_test_set: ("trained_on_test", "training set"),
    fit_rebinding: ("no_update", "assign_sub"),
    fit_gradient_ascent: ("gradient_ascent", "wrong sign"),
    fit_fixed_lr: ("lr_ignored", "lr argument"),
    fit_extra_step: ("extra_step", "loop N times"),
    fit_mse: ("mse_loss", "cross-entropy"),
    fit_summed: ("summed_loss", "mean"),
    fit_summed_gradient_only: ("summed_loss", "mean"),
    fit_returns_list: ("history_not_array", "np.array(history)"),
    fit_weights_only: ("partial_update", "not updated: layer 1 b, layer 2 b"),
    fit_first_layer_only: ("partial_update", "not updated: layer 2 W, layer 2 b"),
    fit_before_update: ("history_before_update", "after the k-th update"),
    fit_silent: ("no_progress_print", "print"),
    fit_loss_outside_tape: ("loss_outside_tape", "inside the GradientTape"),
    fit_from_logits: ("from_logits", "from_logits=True"),
    fit_replaces_variables: ("replaced_variables", "in place"),
}
