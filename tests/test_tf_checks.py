"""check_evaluate and check_fit: correct styles pass, known bugs are caught and named.

TensorFlow is imported once for the module (through tests/tf_variants.py); with
the import the module takes about 20 s on two cores, hence ``slow``.
Print the per-check timings with:
    .venv/bin/python -m pytest tests/test_tf_checks.py -k timing -s
"""
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import teacher
import tf_variants

import nn_utils
from nn_utils import CheckFailed, engine, wire

tf = tf_variants.tf
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHECKS = {"evaluate": teacher.CHECKERS["evaluate"], "fit": teacher.CHECKERS["fit"]}
OK = [("evaluate", f) for f in tf_variants.EVALUATE_OK] + \
     [("fit", f) for f in tf_variants.FIT_OK]
BUGS = [("evaluate", f, *tag) for f, tag in tf_variants.EVALUATE_BUGS.items()] + \
       [("fit", f, *tag) for f, tag in tf_variants.FIT_BUGS.items()]


def _name(fn):
    return next(k for k, v in vars(tf_variants).items() if v is fn)


def _run(name, fn, seed):
    """Run the check; return (CheckFailed or None, the grader's Verdict on the record)."""
    planned = teacher.plan(name, seed)
    observed = engine.get_check(name).probe(fn, planned)
    error = None
    try:  # printed or raised, as the student's check would
        teacher.judge(name, planned, observed).raise_or_print()
    except CheckFailed as exc:
        error = exc
    return error, teacher.judge_record(name, seed, wire.loads(wire.dumps(observed)))


def test_timing_each_check_under_a_second(capsys):
    """Every correct style, first call included; CPU time counts too, since wall
    time on a shared machine also measures the neighbours."""
    importlib.import_module("tensorflow")  # the import is not the check's cost
    slowest = {}
    for name, fn in OK:
        wall, cpu = time.perf_counter(), time.process_time()
        CHECKS[name](fn, seed=5)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        slowest[name] = max(slowest.get(name, (0.0, 0.0)), (wall, cpu))
        assert min(wall, cpu) < 1.0, f"check_{name} on {_name(fn)} took {wall:.2f} s"
    with capsys.disabled():
        print("\nslowest check after the TensorFlow import (wall, CPU):", ", ".join(
            f"check_{k} {w * 1000:.0f} ms, {c * 1000:.0f} ms" for k, (w, c) in slowest.items()))


@pytest.mark.parametrize("seed", [0, 1, 2**31 + 17])
@pytest.mark.parametrize("name,fn", OK, ids=[_name(f) for _, f in OK])
def test_correct_styles_pass(name, fn, seed, capsys):
    error, verdict = _run(name, fn, seed)
    assert error is None, f"{_name(fn)} rejected:\n{error}"
    assert verdict.ok
    assert capsys.readouterr().out.strip() == verdict.message


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("name,fn,bug,fragment", BUGS, ids=[_name(b[1]) for b in BUGS])
def test_bugs_are_caught_and_named(name, fn, bug, fragment, seed):
    error, verdict = _run(name, fn, seed)
    assert error is not None, f"{_name(fn)} passed"
    message = str(error)
    assert fragment in message
    assert verdict.bug == bug, message
    assert verdict.message == message  # the wire round trip gives the same verdict
    assert "Traceback" not in message and "nn_utils/" not in message
    assert error.__cause__ is None and error.__suppress_context__


def test_student_error_names_the_students_line():
    error, _ = _run("evaluate", tf_variants.evaluate_raises, 0)
    assert "in evaluate_raises" in str(error) and "(line " in str(error)


REPEATS = [("evaluate", tf_variants.evaluate_count), ("fit", tf_variants.fit_keras_sgd),
           ("fit", tf_variants.fit_fixed_lr)]


@pytest.mark.parametrize("name,fn", REPEATS, ids=[_name(f) for _, f in REPEATS])
def test_same_seed_same_verdict(name, fn):
    first, second = _run(name, fn, 11)[1], _run(name, fn, 11)[1]
    assert first == second
    assert teacher.plan(name, 11)["seed"] != teacher.plan(name, 12)["seed"]


def test_checks_leave_random_state_alone():
    def draws(run_check):
        tf.random.set_seed(7)
        np.random.seed(7)
        first = tf.random.uniform((3,)).numpy()
        if run_check:
            nn_utils.check_fit(tf_variants.fit_assign_sub, seed=1)
            nn_utils.check_evaluate(tf_variants.evaluate_tf_argmax, seed=1)
        return first, tf.random.uniform((3,)).numpy(), np.random.random(3)

    for plain, checked in zip(draws(False), draws(True), strict=False):
        np.testing.assert_array_equal(plain, checked)


_JUDGE_ONLY = """
import json, sys
from nn_utils import wire
from autograder import reference
records = wire.loads(sys.stdin.read())
verdicts = [reference.judge(r["name"], r["seed"], r["observed"]).to_dict()
            for r in records]
assert "tensorflow" not in sys.modules, "judging imported TensorFlow"
print(json.dumps(verdicts))
"""


def test_judges_run_without_tensorflow():
    cases = [("evaluate", tf_variants.evaluate_np_argmax), ("evaluate",
             tf_variants.evaluate_int8_count), ("fit", tf_variants.fit_assign_sub),
             ("fit", tf_variants.fit_gradient_ascent)]
    records, expected = [], []
    for name, fn in cases:
        plan = teacher.plan(name, 4)
        observed = engine.get_check(name).probe(fn, plan)
        records.append({"name": name, "seed": 4, "observed": observed})
        expected.append(teacher.judge(name, plan, observed).to_dict())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("NN_UTILS_GRADING_NONCE", None)
    done = subprocess.run([sys.executable, "-c", _JUDGE_ONLY], input=wire.dumps(records),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == expected
    assert [v["ok"] for v in expected] == [True, False, True, False]


@pytest.mark.parametrize("name", ["evaluate", "fit"])
@pytest.mark.parametrize("record", [{}, {"cases": "x"}, [], None, {"cases": [None] * 3},
                                    {"cases": [None] * 4}])
def test_malformed_record_is_a_failed_verdict(name, record):
    verdict = teacher.judge_record(name, 0, record)
    assert not verdict.ok and verdict.bug == "malformed_observation"


def test_a_model_broken_by_the_student_is_a_verdict_not_a_crash():
    def fit_breaks_model(model, X_train, Y_train, X_test, Y_test, N, lr):
        model.layers = None  # model.weights now raises
        return np.zeros((N + 1, 2))

    error, verdict = _run("fit", fit_breaks_model, 0)
    assert error is not None and not verdict.ok
