"""check_affine / check_relu / check_cross_entropy on many correct and buggy students."""
from __future__ import annotations

import numpy as np
import pytest
from layer_variants import BUGGY, CORRECT, AffineDot, AffineTransposedDWeight, CEStable, ReluMaximum
from teacher import CHECKERS as _ALL
from teacher import judge, judge_record
from threadpoolctl import threadpool_limits

import nn_utils
from autograder import reference
from nn_utils import CheckFailed, wire
from nn_utils.checks.layers import TABLE, layer_check
from nn_utils.engine import get_check

CHECKERS = {name: _ALL[name] for name in ("affine", "relu", "cross_entropy")}
SEEDS = range(20)


def verdict(name, student, seed):
    check = get_check(name)
    plan = check.plan(seed)
    return judge(name, plan, check.probe(student, plan))


def failure(name, student, seed=0) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        CHECKERS[name](student, seed=seed)
    return info.value


@pytest.mark.parametrize("name,cls", [(n, c) for n, cs in CORRECT.items() for c in cs],
                         ids=lambda x: getattr(x, "__name__", x))
def test_correct_styles_pass_over_many_seeds(name, cls, capsys):
    for seed in SEEDS:
        CHECKERS[name](cls(), seed=seed)
    lines = [line for line in capsys.readouterr().out.strip().splitlines()
             if not line.startswith("  note:")]
    assert len(lines) == len(SEEDS)
    assert all(line.startswith(f"check_{name}: ") for line in lines)


@pytest.mark.parametrize("name,cls,bug,fragment", BUGGY,
                         ids=[row[1].__name__ for row in BUGGY])
def test_buggy_variant_fails_and_names_the_bug(name, cls, bug, fragment):
    for seed in range(5):
        exc = failure(name, cls(), seed)
        assert fragment in str(exc), str(exc)
        assert verdict(name, cls(), seed).bug == bug


@pytest.mark.parametrize("name,cls", [(r[0], r[1]) for r in BUGGY],
                         ids=[row[1].__name__ for row in BUGGY])
def test_failure_message_is_short_and_has_no_checker_traceback(name, cls):
    exc = failure(name, cls())
    message = str(exc)
    assert exc.__suppress_context__ and exc.__cause__ is None
    assert message.startswith(f"check_{name}: ")
    assert len(message.splitlines()) <= 6 and len(message) < 600
    assert "Traceback" not in message and "nn_utils/" not in message


def test_enough_variants_are_tested():
    assert sum(len(c) for c in CORRECT.values()) >= 18
    assert len(BUGGY) >= 40
    assert {row[0] for row in BUGGY} == set(CHECKERS)


def test_student_exception_names_the_students_line():
    class Broken(AffineDot):
        def backward(self, d_out):
            raise RuntimeError("not implemented yet")

    message = str(failure("affine", Broken()))
    assert "RuntimeError: not implemented yet" in message
    assert "in backward)" in message and "line " in message


def test_missing_method_is_a_message_not_a_crash():
    message = str(failure("relu", object()))
    assert "AttributeError" in message and "forward" in message


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_same_seed_same_verdict(name):
    bug = next(cls for n, cls, *_ in BUGGY if n == name)
    for student in (CORRECT[name][0], bug):
        first = verdict(name, student(), 7)
        assert verdict(name, student(), 7) == first
    plans = [get_check(name).plan(s)["arrays"] for s in (1, 2)]
    assert any(not np.array_equal(plans[0][k], plans[1][k]) for k in plans[0]
               if plans[0][k].size > 1)


@pytest.mark.parametrize("name,cls", [("affine", AffineDot), ("relu", ReluMaximum),
                                      ("cross_entropy", CEStable)]
                         + [(r[0], r[1]) for r in BUGGY])
def test_wire_round_trip_gives_the_same_verdict(name, cls):
    check = get_check(name)
    plan = check.plan(3)
    observed = check.probe(cls(), plan)
    text = wire.dumps(observed)
    assert '"__repr__"' not in text  # plain data only: nothing had to be left out
    decoded = wire.loads(text)
    assert judge_record(name, 3, decoded) == judge(name, plan, observed)


def test_malformed_observation_is_a_verdict_not_a_crash():
    result = judge_record("affine", 0, {"forward": {"value": None}})
    assert not result.ok and result.bug == "malformed_observation"


def test_checks_leave_the_global_rng_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for name, classes in CORRECT.items():
        CHECKERS[name](classes[0](), seed=5)
    assert np.array_equal(np.random.get_state()[1], before)


def test_original_notebook_cross_entropy_passes_on_one_hot_labels():
    plan = get_check("cross_entropy").plan(0)
    labels = plan["arrays"]["labels"]
    assert set(np.unique(labels)) == {0.0, 1.0} and np.all(labels.sum(axis=1) == 1)
    assert verdict("cross_entropy", CEStable(), 0).ok


def test_relu_inputs_keep_away_from_the_kink():
    for seed in SEEDS:
        assert np.min(np.abs(get_check("relu").plan(seed)["arrays"]["inputs"])) >= 0.1


def test_d_out_is_away_from_zero_and_one():
    for name in CHECKERS:
        d = np.abs(get_check(name).plan(0)["d_out"])
        assert np.all((d >= 1.5) & (d <= 3))


def test_sizes_are_distinct_so_transposes_show():
    for spec in TABLE.values():
        if not any(callable(v) for v in spec.dims.values()):
            assert len(set(spec.dims.values())) == len(spec.dims), spec.name
            continue
        # images: height and width differ (inputs, kernel, output) at every setting drawn
        for seed in range(8):
            dims = get_check(spec.name).plan(seed)["dims"]
            for h, w in (("H", "W"), ("KH", "KW"), ("HO", "WO")):
                assert h not in dims or dims[h] != dims[w], (spec.name, seed, h, w)


def _timed_check(check, student, seed=0):
    plan = check.plan(seed)
    result = check.judge(plan, check.probe(student, plan), reference.expected(check.name, plan))
    return result, None


def test_a_large_affine_layer_is_judged_as_a_small_one():
    """(Its time is measured by bench/bench_layer_checks.py.)"""
    big = layer_check(TABLE["affine"].with_dims(N=64, D=512, H=512))
    with threadpool_limits(limits=1, user_api="blas"):
        good, _ = _timed_check(big, AffineDot())
    assert good.ok, good.message
    bad, _ = _timed_check(big, AffineTransposedDWeight())
    assert not bad.ok and bad.bug == "transposed_d_weight"  # square weight: values decide


# --- a new exercise is a new row: the mini-framework calling convention ----------

class _ParamOp:
    """Framework style: parameter given to the constructor, its gradient kept on the object."""

    def __init__(self, param, transpose_bug=False):
        self.param, self.transpose_bug = param, transpose_bug

    def forward(self, input_):
        self.input_ = input_
        return input_ @ self.param

    def backward(self, output_grad):
        self.param_grad = output_grad.T @ self.input_ if self.transpose_bug \
            else self.input_.T @ output_grad
        return output_grad @ self.param.T


class _Mse:
    def forward(self, prediction, target):
        self.diff = prediction - target
        return float(np.mean(self.diff ** 2))

    def backward(self):
        return 2 * self.diff / self.diff.shape[0]


def _framework_rows():
    from nn_utils.engine import SMOOTH, Arg, LayerSpec

    multiply = LayerSpec(
        name="weight_multiply", args=(Arg("inputs", ("N", "D")), Arg("weight", ("D", "H"))),
        dims={"N": 7, "D": 5, "H": 3}, out_shape=("N", "H"),
        returns=("inputs", "weight"),
        setup=lambda make, a: make(a["weight"]),
        forward=lambda op, a: op.forward(a["inputs"]),
        backward=lambda op, d: (op.backward(d), op.param_grad))
    mse = LayerSpec(
        name="mse", args=(Arg("prediction", ("N", 1)), Arg("target", ("N", 1), grad=False)),
        dims={"N": 7}, out_shape=(),
        returns=("prediction", None), step=SMOOTH,
        setup=lambda make, a: make(),
        backward=lambda op, d: (d * op.backward(), None))
    # their reference maths: the teacher's side of a new row
    from autograder.reference.layers import Row
    rows = (Row(lambda a: a["inputs"] @ a["weight"],
                lambda a, d: {"inputs": d @ a["weight"].T, "weight": a["inputs"].T @ d}),
            Row(lambda a: float(np.mean((a["prediction"] - a["target"]) ** 2)),
                lambda a, d: {"prediction": d * 2 * (a["prediction"] - a["target"]) / 7}))
    return (multiply, rows[0]), (mse, rows[1])


def _row_verdict(spec, row, student, seed=0):
    from autograder.reference.layers import expected_layer
    check = layer_check(spec)
    plan = check.plan(seed)
    return check.judge(plan, check.probe(student, plan), expected_layer(spec, plan, row))


def test_a_framework_row_needs_no_new_check_code():
    multiply, mse = _framework_rows()
    good = _row_verdict(*multiply, _ParamOp)
    assert good.ok, good.message
    bad = _row_verdict(*multiply, lambda p: _ParamOp(p, transpose_bug=True))
    assert bad.bug == "transposed" and "d_weight must have shape (5, 3)" in bad.message
    assert _row_verdict(*mse, _Mse).ok
    wrong = type("MseSummed", (_Mse,), {"backward": lambda self: 2 * self.diff})
    assert _row_verdict(*mse, wrong).bug == "missing_1_over_N"


@pytest.mark.parametrize("cls", [c for n, c, *_ in BUGGY if n == "affine" and c.__name__ in
                                 ("AffineExtraOneOverN", "AffineIgnoresDOut",
                                  "AffineDBiasMean", "AffineSignDWeight")],
                         ids=lambda c: c.__name__)
def test_bugs_are_still_named_at_512_wide(cls):
    # tolerances do not grow with the size, so a large layer hides no bug
    big = layer_check(TABLE["affine"].with_dims(N=64, D=512, H=512))
    expected = next(bug for _, c, bug, _ in BUGGY if c is cls)
    with threadpool_limits(limits=1, user_api="blas"):
        assert _timed_check(big, cls(), seed=4)[0].bug == expected


_ODD = [None, "abc", 3, [1, 2], {"a": 1}, np.array(["x"]), (None, None, None), object(),
        np.zeros((0,)), np.array([np.inf]), np.zeros((2, 2), dtype=complex),
        (x for x in range(3))]


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_odd_return_values_become_messages(name):
    reference = CORRECT[name][0]
    for odd in _ODD:
        forward_odd = type("OddForward", (reference,), {"forward": lambda self, *a, v=odd: v})
        backward_odd = type("OddBackward", (reference,),
                            {"backward": lambda self, d_out=1.0, v=odd: v})
        for student in (forward_odd(), backward_odd()):
            check = get_check(name)
            plan = check.plan(0)
            observed = check.probe(student, plan)
            result = judge(name, plan, observed)
            assert not result.ok and result.bug != "malformed_observation", result.message
            assert judge_record(name, 0, wire.loads(wire.dumps(observed))) == result


def test_the_handouts_cross_entropy_passes_with_a_note(capsys):
    """``(probs - labels) / N`` ignores d_out: right for the last node, with a note on
    composability -- at every published seed of the students' own check."""
    from layer_variants import CEHandoutIgnoresDOut
    for seed in (0, 1, 2, 3):
        nn_utils.check_cross_entropy(CEHandoutIgnoresDOut(), seed=seed)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("check_cross_entropy: ") for line in lines[::2])
    assert all("ignores d_out" in line and "composable" in line for line in lines[1::2])
    correct = verdict("cross_entropy", CEStable(), 0)
    assert correct.ok and "note" not in correct.message


def test_a_loss_whose_backward_takes_no_d_out_passes_with_a_note():
    class NoArgument(CEStable):
        def backward(self):
            probs, labels = self.cache
            return (probs - labels) / len(probs), None
    result = verdict("cross_entropy", NoArgument(), 1)
    assert result.ok and "takes no d_out" in result.message


def test_the_published_checks_agree_with_the_teachers_at_every_published_seed():
    """Locally (published cases) and on the teacher's side (reference maths), the same
    verdict for every correct and buggy variant."""
    from nn_utils.engine import judge_with, published
    for name, cls, *_ in [(n, c) for n, cs in CORRECT.items() for c in cs] + BUGGY:
        for seed in (0, 3):
            plan, expected = published(name, seed)
            check = get_check(name)
            local = judge_with(check, plan, check.probe(cls(), plan), expected)
            assert local == verdict(name, cls(), seed), (cls.__name__, seed)
