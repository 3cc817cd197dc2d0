"""Adversarial ``evaluate``/``fit`` code for the TensorFlow checks (imports TensorFlow).

Written independently of tests/tf_variants.py.  ``EVALUATE_OK`` / ``FIT_OK`` must
pass on every seed; ``EVALUATE_BUGS`` / ``FIT_BUGS`` map a buggy function to
``(bug id, fragment of the failure message)``.
"""
import sys
import warnings

import numpy as np
import tensorflow as tf


# ------------------------------------------------------------------ evaluate: correct
def ev_reduce_mean_cast(model, X, Y):
    """A 0-d float32 tensor times 100."""
    pred = tf.argmax(model(X), axis=1)
    return tf.reduce_mean(tf.cast(tf.equal(pred, tf.cast(Y, tf.int64)), tf.float32)) * 100


def ev_numpy_mean(model, X, Y):
    return (model(X).numpy().argmax(axis=1) == Y).mean() * 100


def ev_keras_metric(model, X, Y):
    metric = tf.keras.metrics.SparseCategoricalAccuracy()
    metric.update_state(Y, model(X))
    return metric.result().numpy() * 100


def ev_keras_metric_fn(model, X, Y):
    return 100 * tf.reduce_mean(tf.keras.metrics.sparse_categorical_accuracy(Y, model(X)))


def ev_threshold_ge(model, X, Y):
    """Two classes: p(class 1) >= 0.5 is the argmax."""
    p = model(X).numpy()
    return 100.0 * np.sum((p[:, 1] >= 0.5).astype(int) == Y) / len(Y)


def ev_round_probability(model, X, Y):
    return float(np.mean(np.round(model(X)[:, 1]) == Y) * 100)


def ev_count_nonzero(model, X, Y):
    """int64 count / int: a float64 tensor."""
    hits = tf.math.count_nonzero(tf.argmax(model(X), 1) == tf.cast(Y, tf.int64))
    return hits / len(Y) * 100


def ev_sklearn(model, X, Y):
    from sklearn.metrics import accuracy_score
    return accuracy_score(Y, np.argmax(model(X), axis=1)) * 100


def ev_python_loop(model, X, Y):
    probs = model(tf.convert_to_tensor(X))
    correct = sum(int(np.argmax(p)) == int(y) for p, y in zip(probs.numpy(), Y, strict=False))
    return correct / len(Y) * 100


def ev_float32_numpy(model, X, Y):
    pred = np.argmax(model(X), axis=-1).astype(np.int8)
    return np.float32(np.mean(pred == Y)) * np.float32(100)


def ev_compare_columns(model, X, Y):
    p = model(X)
    pred = tf.cast(p[:, 1] > p[:, 0], tf.int8)
    return 100 * tf.reduce_mean(tf.cast(pred == Y, tf.float64))


def ev_reduce_sum_div(model, X, Y):
    Yhat = model(X)
    correct = tf.reduce_sum(tf.cast(tf.argmax(Yhat, axis=1) == Y.astype(np.int64), tf.float32))
    return (correct / Y.shape[0] * 100).numpy()


def ev_round_2_decimals(model, X, Y):
    return np.round(np.mean(np.argmax(model(X), 1) == Y) * 100, 2)


def ev_count_astype(model, X, Y):
    pred = np.argmax(model(X), axis=1)
    return 100 * np.count_nonzero(pred == Y.astype(int)) / Y.size


EVALUATE_OK = [ev_reduce_mean_cast, ev_numpy_mean, ev_keras_metric, ev_keras_metric_fn,
               ev_threshold_ge, ev_round_probability, ev_count_nonzero, ev_sklearn,
               ev_python_loop, ev_float32_numpy, ev_compare_columns, ev_reduce_sum_div,
               ev_round_2_decimals, ev_count_astype]


# ------------------------------------------------------------------- evaluate: bugs
def evb_percent_string(model, X, Y):
    return f"{np.mean(np.argmax(model(X), 1) == Y) * 100:.1f}%"


def evb_rounded_to_whole_percent(model, X, Y):
    """round(...) to an integer percent: debatable, but it throws away the answer's
    precision (the data sets are small), so the check asks for the plain percentage."""
    return round(np.mean(np.argmax(model(X), 1) == Y) * 100)


def evb_threshold_wrong_column(model, X, Y):
    return 100 * np.mean((model(X).numpy()[:, 0] > 0.5) == Y)


def evb_prints_only(model, X, Y):
    print(100 * np.mean(np.argmax(model(X), 1) == Y))


def evb_error_rate(model, X, Y):
    return 100 * np.mean(np.argmax(model(X), 1) != Y)


def evb_floor_division(model, X, Y):
    return 100 * (np.sum(np.argmax(model(X), 1) == Y) // len(Y))


def evb_uint8_count(model, X, Y):
    """A uint8 count wraps past 255 (more than 255 correct samples is ordinary)."""
    hits = tf.cast(tf.argmax(model(X), 1) == tf.cast(Y, tf.int64), tf.uint8)
    return 100.0 * float(tf.reduce_sum(hits)) / len(Y)


def evb_wrong_model_output_column_count(model, X, Y):
    """Counts the predicted class-1 samples instead of the correct ones."""
    return 100 * np.mean(np.argmax(model(X), 1))


EVALUATE_BUGS = {
    evb_rounded_to_whole_percent: ("rounded", "whole percent"),
    evb_percent_string: ("not_a_number", "the text '"),
    evb_threshold_wrong_column: ("labels_flipped", "swapped"),
    evb_prints_only: ("not_a_number", "must return a number"),
    evb_error_rate: ("labels_flipped", "swapped"),
    evb_floor_division: ("integer_mean", "integer"),
    evb_uint8_count: ("int8_overflow", "wrapped"),
    evb_wrong_model_output_column_count: ("wrong_accuracy", "most probable class"),
}


# ------------------------------------------------------------------------- fit
def scce(Y, p):
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(Y, p))


def _both(model, X_train, Y_train, X_test, Y_test, loss=scce):
    return [float(loss(Y_train, model(X_train))), float(loss(Y_test, model(X_test)))]


# -------------------------------------------------------------------- fit: correct
def fit_tf_print(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Prints with tf.print, which writes to file descriptor 2, not sys.stdout."""
    history = []
    for epoch in range(N + 1):
        if epoch > 0:
            with tf.GradientTape() as tape:
                loss = scce(Y_train, model(X_train))
            for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
                w.assign_sub(lr * g)
        row = [scce(Y_train, model(X_train)).numpy(), scce(Y_test, model(X_test)).numpy()]
        history.append(row)
        if epoch % 10 == 0:
            tf.print("epoch", epoch, "train", row[0], "test", row[1])
    return np.array(history)


def fit_tf_print_stdout(model, X_train, Y_train, X_test, Y_test, N, lr):
    """tf.print(..., output_stream=sys.stdout) writes to descriptor 1 directly."""
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(1, N + 1):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
        if epoch % 10 == 0:
            tf.print("epoch", epoch, history[-1], output_stream=sys.stdout)
    return np.array(history)


def fit_stderr_print(model, X_train, Y_train, X_test, Y_test, N, lr):
    """print(..., file=sys.stderr): shown in the notebook like any print."""
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1], file=sys.stderr)
    return np.array(history)


def fit_keras_sgd_apply(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Keras 3 ``optimizer.apply`` and a loss object; float64 history."""
    opt = tf.keras.optimizers.SGD(lr)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
    history = [_both(model, X_train, Y_train, X_test, Y_test, loss_fn)]
    for epoch in range(1, N + 1):
        with tf.GradientTape() as tape:
            loss = loss_fn(Y_train, model(X_train))
        opt.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        history.append(_both(model, X_train, Y_train, X_test, Y_test, loss_fn))
        if epoch % 10 == 0:
            print(f"Epoch {epoch:3d} | train {history[-1][0]:.4f} | test {history[-1][1]:.4f}")
    return np.array(history, dtype=np.float64)


def fit_assign(model, X_train, Y_train, X_test, Y_test, N, lr):
    """w.assign(w - lr * g) into a preallocated array, %-formatting."""
    hist = np.zeros((N + 1, 2))
    hist[0, 0] = scce(Y_train, model(X_train))
    hist[0, 1] = scce(Y_test, model(X_test))
    for k in range(1, N + 1):
        with tf.GradientTape() as tape:
            L = scce(Y_train, model(X_train))
        grads = tape.gradient(L, model.weights)
        for w, g in zip(model.weights, grads, strict=False):
            w.assign(w - lr * g)
        hist[k] = [scce(Y_train, model(X_train)), scce(Y_test, model(X_test))]
        if k % 10 == 0:
            print("epoch %d: %.4f %.4f" % (k, hist[k, 0], hist[k, 1]))
    return hist


def fit_shuffled_full_batch(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Shuffles each epoch, but still one step on the whole training set."""
    rng = np.random.default_rng(0)
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        idx = rng.permutation(len(X_train))
        with tf.GradientTape() as tape:
            loss = scce(Y_train[idx], model(X_train[idx]))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1])
    return np.array(history)


def fit_tf_function_step(model, X_train, Y_train, X_test, Y_test, N, lr):
    @tf.function
    def step(X, Y):
        with tf.GradientTape() as tape:
            loss = scce(Y, model(X))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        return loss

    history = np.empty((N + 1, 2))
    history[0] = scce(Y_train, model(X_train)), scce(Y_test, model(X_test))
    for epoch in range(1, N + 1):
        step(X_train, Y_train)
        history[epoch] = scce(Y_train, model(X_train)), scce(Y_test, model(X_test))
        if epoch % 10 == 0:
            print(epoch, *history[epoch])
    return history


def fit_onehot_categorical(model, X_train, Y_train, X_test, Y_test, N, lr):
    """One-hot labels and CategoricalCrossentropy: the same numbers."""
    cce = tf.keras.losses.CategoricalCrossentropy()
    Ytr, Yte = tf.one_hot(Y_train, 2), tf.one_hot(Y_test, 2)
    history = []
    for epoch in range(N + 1):
        history.append([cce(Ytr, model(X_train)).numpy(), cce(Yte, model(X_test)).numpy()])
        if epoch % 10 == 0:
            print(f"{epoch=} {history[-1]}")
        if epoch == N:
            break
        with tf.GradientTape() as tape:
            loss = cce(Ytr, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(g * lr)
    return np.array(history)


def fit_tensor_rows(model, X_train, Y_train, X_test, Y_test, N, lr):
    """History rows are lists of 0-d tensors, converted by np.array at the end."""
    history = [[scce(Y_train, model(X_train)), scce(Y_test, model(X_test))]]
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append([scce(Y_train, model(X_train)), scce(Y_test, model(X_test))])
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: {history[-1][0]:.3f} {history[-1][1]:.3f}")
    return np.array(history)


def _minibatch_fit(model, X_train, Y_train, X_test, Y_test, N, lr, batch_size):
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        for start in range(0, len(X_train), batch_size):
            Xb, Yb = X_train[start:start + batch_size], Y_train[start:start + batch_size]
            with tf.GradientTape() as tape:
                loss = scce(Yb, model(Xb))
            for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
                w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1])
    return np.array(history)


def fit_one_big_batch(model, X_train, Y_train, X_test, Y_test, N, lr):
    """A mini-batch loop whose batch (64) holds the whole training set: plain GD."""
    return _minibatch_fit(model, X_train, Y_train, X_test, Y_test, N, lr, 64)


def _warn(text):
    """What an uncaught ``warnings.warn`` shows on stderr (written directly: pytest
    would otherwise record the warning instead of showing it)."""
    sys.stderr.write(warnings.formatwarning(text, UserWarning, __file__, 12))


def fit_warning_then_prints(model, X_train, Y_train, X_test, Y_test, N, lr):
    """A warning on stderr does not hide the real progress lines."""
    _warn("learning rate 0.1 may be large")
    return fit_assign(model, X_train, Y_train, X_test, Y_test, N, lr)


FIT_OK = [fit_tf_print, fit_tf_print_stdout, fit_stderr_print, fit_keras_sgd_apply,
          fit_assign, fit_shuffled_full_batch, fit_tf_function_step, fit_onehot_categorical,
          fit_tensor_rows, fit_one_big_batch, fit_warning_then_prints]


# ----------------------------------------------------------------------- fit: bugs
def _optimizer_fit(name, make_optimizer):
    def fit(model, X_train, Y_train, X_test, Y_test, N, lr):
        opt = make_optimizer(lr)
        history = [_both(model, X_train, Y_train, X_test, Y_test)]
        for epoch in range(N):
            with tf.GradientTape() as tape:
                loss = scce(Y_train, model(X_train))
            opt.apply_gradients(zip(tape.gradient(loss, model.weights), model.weights, strict=False))
            history.append(_both(model, X_train, Y_train, X_test, Y_test))
            if (epoch + 1) % 10 == 0:
                print(epoch + 1, history[-1])
        return np.array(history)
    fit.__name__ = fit.__qualname__ = name
    return fit


fitb_momentum = _optimizer_fit("fitb_momentum",
                               lambda lr: tf.keras.optimizers.SGD(lr, momentum=0.9))
fitb_adam = _optimizer_fit("fitb_adam", lambda lr: tf.keras.optimizers.Adam(lr))


def fitb_minibatch(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Mini-batches of 8: several updates per epoch, not gradient descent."""
    return _minibatch_fit(model, X_train, Y_train, X_test, Y_test, N, lr, 8)


def fitb_row_k_in_tape(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Records row k inside the tape of step k, then updates: N + 1 updates."""
    history = []
    for epoch in range(N + 1):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        history.append([loss.numpy(), scce(Y_test, model(X_test)).numpy()])
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        if epoch % 10 == 0:
            print(epoch, history[-1])
    return np.array(history)


def fitb_accuracy_history(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Records accuracies (fractions) instead of losses."""
    def accuracy(Y, p):
        return np.mean(np.argmax(p, 1) == Y)
    history = [_both(model, X_train, Y_train, X_test, Y_test, accuracy)]
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test, accuracy))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1])
    return np.array(history)


def fitb_lr_over_n(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Divides the (already averaged) gradient by N once more."""
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g / len(X_train))
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1])
    return np.array(history)


def fitb_new_variables(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Replaces the layers' variables by new tf.Variable objects before training."""
    for layer in model.layers:
        layer.W = tf.Variable(layer.W.numpy())
        layer.b = tf.Variable(layer.b.numpy())
    return fit_assign(model, X_train, Y_train, X_test, Y_test, N, lr)


def fitb_train_loss_before_update(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Row k's training loss is the one from the tape (before the update)."""
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append([float(loss), float(scce(Y_test, model(X_test)))])
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1])
    return np.array(history)


def fitb_silent_with_warning(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Prints nothing itself; a warning with digits must not count as progress."""
    _warn("lr 0.1 and 12 epochs")
    print("WARNING:tensorflow:5 out of the last 5 calls triggered tf.function retracing",
          file=sys.stderr)
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for _ in range(N):
        with tf.GradientTape() as tape:
            loss = scce(Y_train, model(X_train))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
    return np.array(history)


# what a notebook's earlier cells leave behind: a model and data sets
_RNG = np.random.default_rng(1)
NOTEBOOK_X = _RNG.uniform(-1, 1, (40, 2)).astype(np.float32)
NOTEBOOK_Y = (NOTEBOOK_X[:, 0] > 0).astype(np.int8)


def _notebook_model():
    from nn_utils.checks.tf_loops import build_model
    shapes = ((2, 3), (3,), (3, 2), (2,))
    return build_model([_RNG.normal(0, 1, shape).astype(np.float32) for shape in shapes])


NOTEBOOK_MODEL = _notebook_model()


def fitb_global_model(m, X_train, Y_train, X_test, Y_test, N, lr):
    """Names its parameter m but trains the notebook's global ``model``."""
    return fit_assign(NOTEBOOK_MODEL, X_train, Y_train, X_test, Y_test, N, lr)


def fitb_global_data(model, X_train, Y_train, X_test, Y_test, N, lr):
    """Takes the gradient on the notebook's data instead of the X_train argument."""
    history = [_both(model, X_train, Y_train, X_test, Y_test)]
    for epoch in range(N):
        with tf.GradientTape() as tape:
            loss = scce(NOTEBOOK_Y, model(NOTEBOOK_X))
        for g, w in zip(tape.gradient(loss, model.weights), model.weights, strict=False):
            w.assign_sub(lr * g)
        history.append(_both(model, X_train, Y_train, X_test, Y_test))
        if (epoch + 1) % 10 == 0:
            print(epoch + 1, history[-1])
    return np.array(history)


FIT_BUGS = {
    fitb_global_model: ("ignores_model", "not a global one"),
    fitb_global_data: ("wrong_update", "X_train, Y_train arguments"),
    fitb_momentum: ("momentum", "momentum"),
    fitb_adam: ("wrong_update", "no Adam"),
    fitb_minibatch: ("wrong_update", "no mini-batches"),
    fitb_row_k_in_tape: ("extra_step", "loop N times"),
    fitb_accuracy_history: ("accuracy_history", "that is the accuracy"),
    fitb_lr_over_n: ("lr_ignored", "lr argument"),
    fitb_new_variables: ("replaced_variables", "in place"),
    fitb_train_loss_before_update: ("wrong_history", "after k updates"),
    fitb_silent_with_warning: ("no_progress_print", "printed no losses"),
}
