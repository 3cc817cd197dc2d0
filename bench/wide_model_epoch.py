"""How fast one core trains gradient_tape's wide model: the compute floor of grading it.

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 .venv/bin/python bench/wide_model_epoch.py
    TF_ENABLE_ONEDNN_OPTS=0 TF_NUM_INTRAOP_THREADS=1 .venv/bin/python bench/wide_model_epoch.py

Times 100 full-batch epochs of the 2-512-512-2 model on 1600 training and 400 test
samples (what ``fit`` does per epoch: train loss, gradients, update, test loss), as a
``tf.function`` and eagerly, and prints the achieved GFLOP/s of the matrix products.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf

_TRAIN, _TEST, _WIDTH = 1600, 400, 512
# forward matmul of the 512x512 layer on the training set, its two backward products,
# and the forward on the test set; the thin first and last layers add about 1%
FLOP_PER_EPOCH = 2 * _WIDTH * _WIDTH * (3 * _TRAIN + _TEST)


def epoch_function(weights, lr=0.1):
    """One epoch of gradient descent on ``weights``; returns (train loss, test loss)."""
    def model(x):
        h = tf.nn.relu(x @ weights[0] + weights[1])
        h = tf.nn.relu(h @ weights[2] + weights[3])
        return tf.nn.softmax(h @ weights[4] + weights[5])

    def loss(y, p):
        return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, p))

    def epoch(x, y, x_test, y_test):
        with tf.GradientTape() as tape:
            train = loss(y, model(x))
        test = loss(y_test, model(x_test))
        for g, w in zip(tape.gradient(train, weights), weights, strict=False):
            w.assign_sub(lr * g)
        return train, test
    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (_TRAIN + _TEST, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int8)
    for label, wrap in (("tf.function", tf.function), ("eager", lambda f: f)):
        tf.random.set_seed(3)
        shapes = [(2, _WIDTH), (_WIDTH,), (_WIDTH, _WIDTH), (_WIDTH,), (_WIDTH, 2), (2,)]
        weights = [tf.Variable(tf.random.uniform(s, 0.0, 0.1)) for s in shapes]
        epoch = wrap(epoch_function(weights))
        data = (x[:_TRAIN], y[:_TRAIN], x[_TRAIN:], y[_TRAIN:])
        float(epoch(*data)[0])  # trace and warm up
        start = time.perf_counter()
        for _ in range(args.epochs):
            losses = epoch(*data)
        float(losses[0])
        seconds = time.perf_counter() - start
        print(f"{label:12s}: {args.epochs} epochs in {seconds:.2f} s, "
              f"{FLOP_PER_EPOCH * args.epochs / seconds / 1e9:.0f} GFLOP/s "
              f"(intra-op threads {os.environ.get('TF_NUM_INTRAOP_THREADS', 'all')}, "
              f"oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default')})")


if __name__ == "__main__":
    main()
