"""The numerical-gradient engine on functions whose derivatives are known."""
from __future__ import annotations

import numpy as np
import pytest

from nn_utils.engine import (
    directional_derivative,
    directional_from_values,
    directional_steps,
    directional_tolerance,
    gradient_check,
    numerical_gradient,
    rel_error,
    sample_indices,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_rel_error_basics():
    a = rng().standard_normal((4, 3))
    assert rel_error(a, a) == 0.0
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(a, a * (1 + 1e-6)) < 1e-6
    assert rel_error(a, np.full_like(a, np.nan)) == float("inf")


def test_rel_error_does_not_grow_with_size():
    small = rng(1).standard_normal(10)
    large = rng(1).standard_normal(100_000)
    errors = [rel_error(x, x + 1e-3 * np.sign(x) * np.abs(x).max()) for x in (small, large)]
    assert errors[0] == pytest.approx(errors[1], rel=0.5)


def test_numerical_gradient_full_matches_known_gradient():
    x = rng().standard_normal((3, 4))
    d_out = rng(1).standard_normal((3, 4))
    original = x.copy()
    grad = numerical_gradient(lambda v: np.sin(v) * v, x, d_out=d_out)
    assert np.allclose(grad, d_out * (np.cos(x) * x + np.sin(x)), atol=1e-8)
    assert np.array_equal(x, original)


def test_numerical_gradient_sampled_coordinates():
    x = rng().standard_normal((5, 7))
    idx = sample_indices(x.shape, 6, seed=3)
    assert len(set(idx)) == 6 and idx == sample_indices(x.shape, 6, seed=3)
    values = numerical_gradient(lambda v: np.sum(v ** 3), x, indices=idx)
    assert np.allclose(values, [3 * x[i] ** 2 for i in idx], atol=1e-7)


def test_directional_derivative_linear_is_exact_with_any_step():
    w = rng().standard_normal((4, 2))
    x, u = rng(1).standard_normal((3, 4)), rng(2).standard_normal((3, 4))
    d_out = rng(3).standard_normal((3, 2))
    exact = np.sum((d_out @ w.T) * u)
    for h in (1e-3, 1.0, 100.0):
        assert directional_derivative(lambda v: v @ w, x, u, h, d_out=d_out) \
            == pytest.approx(exact, rel=1e-10)


def test_richardson_beats_plain_central_differences():
    x, u = rng().standard_normal(6), rng(1).standard_normal(6)
    exact = np.sum(np.exp(x) * u)
    plain = directional_derivative(np.exp, x, u, 2e-2)
    extrapolated = directional_derivative(np.exp, x, u, 2e-2, richardson=True)
    assert abs(extrapolated - exact) < abs(plain - exact) / 100
    assert abs(extrapolated - exact) < 1e-6 * abs(exact) + 1e-9


def test_directional_from_values_matches_steps():
    values = [f(s) for f in [lambda t: 3 * t + t ** 2] for s in directional_steps(0.5, True)]
    assert directional_from_values(values, 0.5, richardson=True) == pytest.approx(3.0)
    assert directional_steps(0.5) == [0.5, -0.5]


def test_tolerance_is_not_scaled_by_size():
    assert directional_tolerance(2.0, 1.0, 0.0, 1.0, 1e-16) == \
        pytest.approx(1e-4 * 3.0, rel=1e-6)


def _tanh_layer(bug=1.0):
    state = {}

    def forward(x, w):
        state["x"], state["w"] = x, w
        state["y"] = np.tanh(x @ w)
        return state["y"]

    def backward(d_out):
        d_z = d_out * (1 - state["y"] ** 2)
        return d_z @ state["w"].T, bug * (state["x"].T @ d_z)

    return forward, backward


def test_gradient_check_passes_a_correct_layer_and_leaves_inputs_alone():
    x, w = rng().standard_normal((5, 3)), rng(1).standard_normal((3, 2))
    before = (x.copy(), w.copy())
    d_out = rng(2).uniform(1.5, 3, (5, 2))
    report = gradient_check(*_tanh_layer(), [x, w], d_out, names=["x", "w"])
    assert report.ok, str(report)
    assert len(report.rows) == 6 and "ok" in str(report)
    assert np.array_equal(x, before[0]) and np.array_equal(w, before[1])


def test_gradient_check_catches_a_wrong_gradient_and_names_it():
    x, w = rng().standard_normal((5, 3)), rng(1).standard_normal((3, 2))
    report = gradient_check(*_tanh_layer(bug=2.0), [x, w], rng(2).uniform(1.5, 3, (5, 2)),
                            names=["x", "w"])
    assert not report.ok and report.worst > 10
    assert "BAD d_w" in str(report) and "BAD d_x" not in str(report)


def test_gradient_check_skips_inputs_without_gradient_and_checks_a_loss():
    def forward(p, y):
        return float(np.mean((p - y) ** 2))

    state = {}

    def fwd(p, y):
        state["p"], state["y"] = p, y
        return forward(p, y)

    def backward(d_out):
        return d_out * 2 * (state["p"] - state["y"]) / state["p"].size, None

    p, y = rng().standard_normal((4, 3)), rng(1).standard_normal((4, 3))
    report = gradient_check(fwd, backward, [p, y], 2.5, names=["p", "y"])
    assert report.ok and {row[0] for row in report.rows} == {"p"}


def test_gradient_check_rejects_a_wrong_shape_readably():
    with pytest.raises(ValueError, match="shape"):
        gradient_check(lambda x: x * 2, lambda d: (d * 2).T, [np.ones((2, 3))],
                       np.ones((2, 3)))


def test_kink_step_keeps_relu_exact():
    x = np.array([-1.0, -0.2, 0.3, 2.0])
    u = rng().standard_normal(4)
    h = 0.5 * 0.2 / np.max(np.abs(u))
    exact = np.sum((x > 0) * u)
    assert directional_derivative(lambda v: np.maximum(v, 0), x, u, h) \
        == pytest.approx(exact, rel=1e-12)
