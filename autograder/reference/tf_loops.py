"""Float64 reference maths, input plans and expected values of the TensorFlow checks.

The checked model is the assignment's two-layer network: a ReLU dense layer
then a softmax dense layer, weights ``[W1 (2, H), b1 (H,), W2 (H, 2), b2 (2,)]``.
Plans hold float32 arrays so the student's float32 model starts from exactly
the values the float64 reference starts from.
"""
from __future__ import annotations

import numpy as np

__all__ = ["PLANS", "EXPECTED", "forward", "loss", "grad", "trajectory", "accuracy", "expected_evaluate",
           "expected_fit",
           "plan_evaluate", "plan_fit", "FIT_CASES", "VAR_NAMES"]

#: (epochs, learning rate) of each fit call: one step for parity, a few steps,
#: and enough epochs for the every-10th-epoch print.
FIT_CASES = ((1, 0.5), (3, 0.2), (12, 0.1))
VAR_NAMES = ("layer 1 W", "layer 1 b", "layer 2 W", "layer 2 b")


def forward(theta, X):
    """(pre-activations (N, H), hidden (N, H), probabilities (N, 2)) in float64."""
    W1, b1, W2, b2 = (np.asarray(t, np.float64) for t in theta)
    pre = np.asarray(X, np.float64) @ W1 + b1
    hidden = np.maximum(pre, 0.0)
    z = hidden @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return pre, hidden, e / e.sum(axis=1, keepdims=True)


def loss(theta, X, Y) -> float:
    """Sparse categorical cross-entropy, mean over the batch."""
    p = forward(theta, X)[2]
    return float(-np.mean(np.log(p[np.arange(len(Y)), np.asarray(Y, int)])))


def grad(theta, X, Y) -> list:
    """Gradient of :func:`loss` with respect to ``[W1, b1, W2, b2]``."""
    X = np.asarray(X, np.float64)
    pre, hidden, p = forward(theta, X)
    d_z = p.copy()
    d_z[np.arange(len(Y)), np.asarray(Y, int)] -= 1.0
    d_z /= len(Y)
    d_pre = (d_z @ np.asarray(theta[2], np.float64).T) * (pre > 0)
    return [X.T @ d_pre, d_pre.sum(axis=0), hidden.T @ d_z, d_z.sum(axis=0)]


def trajectory(theta, X, Y, lr, steps, momentum=0.0) -> list:
    """Weights after 0, 1, ..., ``steps`` full-batch gradient-descent steps
    (with ``momentum``: Keras's SGD velocity ``v = momentum * v - lr * g``)."""
    path = [[np.asarray(t, np.float64) for t in theta]]
    velocity = [np.zeros_like(t) for t in path[0]]
    for _ in range(steps):
        velocity = [momentum * v - lr * g
                    for v, g in zip(velocity, grad(path[-1], X, Y), strict=False)]
        path.append([t + v for t, v in zip(path[-1], velocity, strict=False)])
    return path


def accuracy(theta, X, Y) -> float:
    """Percentage of samples whose most probable class equals the label."""
    p = forward(theta, X)[2]
    return 100.0 * float(np.mean(np.argmax(p, axis=1) == np.asarray(Y, int)))


def _weights(rng, hidden):
    shapes_scales = (((2, hidden), 0.9), ((hidden,), None), ((hidden, 2), 1.0), ((2,), 0.1))
    theta = []
    for shape, scale in shapes_scales:
        # positive hidden biases keep every ReLU unit alive on some samples
        values = rng.uniform(0.05, 0.4, shape) if scale is None else rng.normal(0, scale, shape)
        theta.append(values.astype(np.float32))
    return theta


def _margin(theta, X):
    """|logit difference| per sample: far from 0 means float32 agrees on argmax."""
    p = forward(theta, X)[2]
    return np.abs(np.log(p[:, 1]) - np.log(p[:, 0]))


def plan_evaluate(seed) -> dict:
    """Inputs for ``check_evaluate``: four calls, each ``(model, X, Y, name)``.

    * main: N > 355 with more than 255 correct (int8 and uint8 counts wrap);
    * other data: same model, a smaller set with a different accuracy
      (an evaluate that reads global data returns the same number twice);
    * other model: same data, output columns swapped (every prediction flips);
    * pair: two samples of class 0 (argmax over the batch axis scores 50 %).
    """
    rng = np.random.default_rng(seed)
    theta = _weights(rng, 5)
    pool = rng.uniform(-1, 1, (6000, 2)).astype(np.float32)
    logit_gap = np.log(forward(theta, pool)[2])
    # centre the output bias so both classes are predicted
    theta[3] = (theta[3] + np.float32(np.median(logit_gap[:, 0] - logit_gap[:, 1])) *
                np.array([0, 1], np.float32)).astype(np.float32)
    pool = pool[_margin(theta, pool) > 0.05]
    predicted = np.argmax(forward(theta, pool)[2], axis=1)

    def labelled(X, frac):
        pred = np.argmax(forward(theta, X)[2], axis=1)
        right = np.zeros(len(X), bool)
        right[rng.permutation(len(X))[:int(round(frac * len(X)))]] = True
        return X, np.where(right, pred, 1 - pred).astype(np.int8)

    n_main, n_other = int(rng.integers(360, 421)), int(rng.integers(37, 62))
    X_main, Y_main = labelled(pool[:n_main], rng.uniform(0.72, 0.9))
    X_other, Y_other = labelled(pool[n_main:n_main + n_other], rng.uniform(0.5, 0.66))
    class0 = pool[predicted == 0]
    gap = _margin(theta, class0)
    j = int(np.argmax(np.abs(gap - gap[0]) > 0.05))
    X_pair = np.stack([class0[0], class0[j]])
    swapped = [theta[0], theta[1], theta[2][:, ::-1].copy(), theta[3][::-1].copy()]
    return {"models": [theta, swapped],
            "cases": [
                {"name": "main", "model": 0, "X": X_main, "Y": Y_main},
                {"name": "other data", "model": 0, "X": X_other, "Y": Y_other},
                {"name": "other model", "model": 1, "X": X_main, "Y": Y_main},
                {"name": "pair", "model": 0, "X": X_pair, "Y": np.zeros(2, np.int8)},
            ]}


def _fit_data(rng):
    n_train, n_test = int(rng.integers(17, 30)), int(rng.integers(7, 14))
    X_train = rng.uniform(-1, 1, (n_train, 2))
    rule = X_train[:, 0] + 0.8 * X_train[:, 1] ** 2 - 0.3 > 0
    Y_train = rule ^ (rng.random(n_train) < 0.15)
    # a test set from another distribution, so train and test losses differ
    X_test = np.clip(rng.normal(0.3, 0.5, (n_test, 2)), -1, 1)
    Y_test = rng.random(n_test) < 0.4
    return (X_train.astype(np.float32), Y_train.astype(np.int8),
            X_test.astype(np.float32), Y_test.astype(np.int8))


def _fit_plan_ok(theta, X_train, Y_train, X_test, Y_test) -> bool:
    """Reject inputs where float32 and float64 could disagree on a ReLU kink,
    a unit is dead, or a variable barely moves (nothing to compare)."""
    if len(set(Y_train.tolist())) < 2 or len(X_train) == len(X_test):
        return False
    if (forward(theta, X_train)[0] > 0).sum(axis=0).min() < 2:
        return False
    first = grad(theta, X_train, Y_train)
    if min(np.abs(g).max() for g in first) < 2e-3:
        return False
    for epochs, lr in FIT_CASES:
        path = trajectory(theta, X_train, Y_train, lr, epochs + 1)
        losses = np.array([[loss(t, X_train, Y_train), loss(t, X_test, Y_test)]
                           for t in path])
        # misplaced rows or columns must be told apart from the right ones
        if np.min(np.abs(losses[:, 0] - losses[:, 1]) / losses.max(axis=1)) < 0.03:
            return False
        # rows recorded before the update must differ from the right ones; in the
        # one-step call (judged first) both columns must move
        moved = np.abs(np.diff(losses, axis=0)) / losses[1:]
        if moved[:, 0].min() < 1e-3 or (epochs == 1 and moved.min() < 1e-2):
            return False
        for point in path:
            # float32 round-off moves a pre-activation by ~1e-6: 1e-3 is a wide margin
            if np.abs(forward(point, X_train)[0]).min() < 1e-3:
                return False
            if min(forward(point, X)[2].min() for X in (X_train, X_test)) < 1e-3:
                return False
    return True


def plan_fit(seed) -> dict:
    """Inputs for ``check_fit``: weights, train/test sets of different sizes, cases."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        theta = _weights(rng, 3)
        data = _fit_data(rng)
        if _fit_plan_ok(theta, *data):
            break
    else:  # pragma: no cover - the loop finds inputs within a few tries
        raise RuntimeError(f"no usable fit inputs for seed {seed}")
    X_train, Y_train, X_test, Y_test = data
    return {"theta": theta, "X_train": X_train, "Y_train": Y_train,
            "X_test": X_test, "Y_test": Y_test,
            "cases": [{"epochs": e, "lr": lr} for e, lr in FIT_CASES]}


def _row0_losses(theta, X, Y) -> dict:
    """Row-0 values under common wrong losses, name -> (train or test) value."""
    p = forward(theta, X)[2]
    onehot = np.eye(2)[np.asarray(Y, int)]
    z = p - p.max(axis=1, keepdims=True)  # probabilities taken as logits
    log_softmax_of_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    mean_ce = loss(theta, X, Y)
    return {
        "summed_loss": mean_ce * len(Y),
        "mse_loss": float(np.mean((p - onehot) ** 2)),
        "mse_loss_rows": float(np.mean(np.sum((p - onehot) ** 2, axis=1))),
        "from_logits": float(-np.mean(np.sum(onehot * log_softmax_of_p, axis=1))),
        "accuracy_history": accuracy(theta, X, Y) / 100,
        "accuracy_percent_history": accuracy(theta, X, Y),
    }


def expected_evaluate(plan) -> dict:
    """The accuracy of every case, and what argmax over the batch axis scores on the pair."""
    cases = plan["cases"]
    pair = cases[-1]
    probabilities = forward(plan["models"][pair["model"]], pair["X"])[2]
    return {"accuracies": [accuracy(plan["models"][c["model"]], c["X"], c["Y"]) for c in cases],
            "pair_axis0": 100.0 * float(np.mean(np.argmax(probabilities, axis=0) == pair["Y"]))}


def expected_fit(plan) -> dict:
    """Per fit call: the weights after 0..N+1 steps, the loss history, the row-0 losses
    of known wrong losses, and the weights a model trained on the test set or with
    momentum would end with."""
    theta = [np.asarray(t, np.float64) for t in plan["theta"]]
    train, test = (plan["X_train"], plan["Y_train"]), (plan["X_test"], plan["Y_test"])
    cases = []
    for case in plan["cases"]:
        epochs, lr = case["epochs"], case["lr"]
        path = trajectory(theta, *train, lr, epochs + 1)
        cases.append({
            "path": path,
            "history": np.array([[loss(t, *train), loss(t, *test)] for t in path[:epochs + 1]]),
            "row0": {"train": _row0_losses(theta, *train), "test": _row0_losses(theta, *test)},
            "on_test": trajectory(theta, *test, lr, epochs)[-1],
            "momentum": trajectory(theta, *train, lr, epochs, momentum=0.9)[-1]
            if epochs >= 2 else None})
    return {"cases": cases}


#: the plans that need the reference maths, and every check's expected values
PLANS = {"evaluate": plan_evaluate, "fit": plan_fit}
EXPECTED = {"evaluate": expected_evaluate, "fit": expected_fit}
