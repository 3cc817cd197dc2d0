"""Assignment E's checks on many correct and buggy students (fast: no kernels, no TensorFlow)."""
from __future__ import annotations

import numpy as np
import pytest
from framework_variants import BUGGY, CORRECT, REF
from teacher import CHECKERS as _ALL
from teacher import judge, judge_record, verdict

import nn_utils
from nn_utils import CheckFailed, wire
from nn_utils.engine import get_check

CHECKERS = {name: _ALL[name] for name in (
    "weight_multiply", "bias_add", "sigmoid", "linear", "mean_squared_error", "dense",
    "neural_network", "sgd", "trainer")}
SEEDS = range(12)
_ids = [f"{b.check}-{b.name}" for b in BUGGY]


def _name(student):
    return getattr(student, "__name__", type(student).__name__)


@pytest.mark.parametrize("name,student", [(n, s) for n, ss in CORRECT.items() for s in ss],
                         ids=[f"{n}-{_name(s)}" for n, ss in CORRECT.items() for s in ss])
def test_correct_styles_pass_over_many_seeds(name, student, capsys):
    for seed in SEEDS:
        CHECKERS[name](student, seed=seed)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(SEEDS) and all(line.startswith(f"check_{name}: ") for line in lines)


@pytest.mark.parametrize("bug", BUGGY, ids=_ids)
def test_buggy_variant_fails_and_names_the_bug(bug):
    for seed in range(4):
        with pytest.raises(CheckFailed) as info:
            CHECKERS[bug.check](bug.student, seed=seed)
        message = str(info.value)
        assert bug.fragment in message, message
        assert verdict(bug.check, bug.student, seed).bug == bug.bug, message


@pytest.mark.parametrize("bug", BUGGY, ids=_ids)
def test_failure_message_is_short_and_shows_no_checker_internals(bug):
    with pytest.raises(CheckFailed) as info:
        CHECKERS[bug.check](bug.student)
    message = str(info.value)
    assert info.value.__suppress_context__ and info.value.__cause__ is None
    assert message.startswith(f"check_{bug.check}: ") and "hint:" in message
    assert len(message.splitlines()) <= 6 and len(message) < 700
    assert "Traceback" not in message and "nn_utils/" not in message


@pytest.mark.parametrize("bug", BUGGY, ids=_ids)
def test_wire_round_trip_gives_the_same_verdict(bug):
    check = get_check(bug.check)
    for student in (CORRECT[bug.check][0], bug.student):
        plan = check.plan(3)
        observed = check.probe(student, plan)
        decoded = wire.loads(wire.dumps(observed))
        assert judge_record(bug.check, 3, decoded) == judge(bug.check, plan, observed)


def test_every_check_has_correct_styles_and_bugs():
    assert set(CORRECT) == set(CHECKERS) == {b.check for b in BUGGY}
    assert sum(len(v) for v in CORRECT.values()) >= 25
    assert len(BUGGY) >= 60
    assert {f"check_{name}" for name in CHECKERS} <= set(nn_utils.__all__)


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_malformed_observation_is_a_verdict_not_a_crash(name):
    result = judge_record(name, 0, {"forward": {"value": None}, "early": {"events": 3}})
    assert not result.ok and result.bug == "malformed_observation"


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_same_seed_same_plan_and_verdict(name):
    student = CORRECT[name][0]
    assert verdict(name, student, 5) == verdict(name, student, 5)
    bug = next(b.student for b in BUGGY if b.check == name)
    assert verdict(name, bug, 5) == verdict(name, bug, 5)


def test_checks_leave_the_global_rng_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for name, students in CORRECT.items():
        CHECKERS[name](students[0], seed=4)
    assert np.array_equal(np.random.get_state()[1], before)


def test_a_class_that_is_not_implemented_yet_fails_cleanly():
    # what the released notebook holds before the student writes anything
    blank = type("WeightMultiply", (REF["ParamOperation"],), {})
    with pytest.raises(CheckFailed) as info:
        nn_utils.check_weight_multiply(blank)
    assert "NotImplementedError" in str(info.value)


def test_trainer_plan_never_uses_a_multiple_of_the_batch_size():
    for seed in SEEDS:
        plan = get_check("trainer").plan(seed)
        assert plan["rows"] % plan["batch"] != 0
        early = plan["scripts"]["early"]
        stop = plan["stop_at"]
        assert all(np.diff(early[:stop - 1]) < 0) and early[stop - 1] > early[stop - 2]


def test_dense_stand_in_activation_is_the_last_operation_of_the_reference():
    layer = REF["Dense"](3, REF["Sigmoid"]())
    layer.seed = 1
    out = layer.forward(np.ones((2, 4)))
    assert out.shape == (2, 3) and layer.operations[-1] is layer.activation


