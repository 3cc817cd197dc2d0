"""Adversarial review of the checks: "never reject correct code, catch the common bugs".

Student code here was written independently of tests/layer_variants.py and
tests/tf_variants.py (numpy styles in tests/redteam_variants.py, TensorFlow
styles below).  Correct styles run over many seeds to find rare rejections
(kinks, tolerance edges); each plausible bug must fail with a readable hint.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from redteam_variants import BUGGY, CORRECT
from teacher import CHECKERS as _ALL
from teacher import verdict

import nn_utils

ROOT = Path(__file__).resolve().parent.parent
LAYER_SEEDS = range(200)


# ------------------------------------------------------------------ layer checks
@pytest.mark.parametrize("name,cls", [(n, c) for n, cs in CORRECT.items() for c in cs],
                         ids=lambda x: getattr(x, "__name__", x))
def test_correct_layer_style_passes_on_200_seeds(name, cls):
    rejected = [(seed, v.message) for seed in LAYER_SEEDS
                for v in [verdict(name, cls(), seed)] if not v.ok]
    assert not rejected, f"{len(rejected)} seeds rejected, first: {rejected[0]}"


@pytest.mark.parametrize("name,cls,fragment,bug", BUGGY,
                         ids=[row[1].__name__ for row in BUGGY])
def test_plausible_layer_bug_fails_with_a_readable_message(name, cls, fragment, bug):
    for seed in range(10):
        result = verdict(name, cls(), seed)
        assert not result.ok, f"{cls.__name__} passed on seed {seed}"
        assert fragment in result.message, result.message
        if bug:
            assert result.bug == bug, result.message
    message = result.message
    assert message.startswith(f"check_{name}: ") and "hint:" in message, message
    assert len(message.splitlines()) <= 6 and len(message) < 600, message
    assert "Traceback" not in message and "nn_utils" not in message


def test_d_weight_from_the_forward_output_is_named():
    """d_weight = out.T @ d_out has the shape (H, H): the message must say *why*
    (the output was used where the inputs belong), not only "wrong shape"."""
    from redteam_variants import AffineDWeightFromOutput
    result = verdict("affine", AffineDWeightFromOutput())
    assert result.bug == "d_weight_from_output", result.message
    assert "depends on the forward inputs" in result.message


def test_shape_error_in_backward_shows_the_shapes():
    """d_inputs = d_out @ weight raises inside the student's line; a beginner needs
    the shapes of the arrays to see which factor needs the transpose."""
    from redteam_variants import AffineNoTransposeDInputs
    message = verdict("affine", AffineNoTransposeDInputs()).message
    assert "in backward)" in message
    assert "d_out (13, 5)" in message and "weight (7, 5)" in message, message


def test_same_rank_wrong_shape_hint_does_not_talk_about_keepdims():
    """A (5, 5) gradient for a (7, 5) weight has no extra axis: the keepdims hint misleads."""

    class SquareDWeight(CORRECT["affine"][0]):
        def backward(self, d_out):
            d_x, d_w, d_b = super().backward(d_out)
            return d_x, d_out.T @ d_out, d_b

    message = verdict("affine", SquareDWeight()).message
    assert "must have shape (7, 5)" in message and "keepdims" not in message, message
    assert "(13, 7)" in message  # the shapes are listed


def test_a_numpy_check_imports_no_tensorflow():
    """(How fast nn_utils imports is measured by bench/bench_layer_checks.py --students.)"""
    code = ("import sys, numpy\n"
            "import nn_utils\n"
            "sys.path.insert(0, 'tests')\n"
            "from redteam_variants import CORRECT\n"
            "for name, classes in CORRECT.items():\n"
            "    getattr(nn_utils, 'check_' + name)(classes[0]())\n"
            "print('TF' if 'tensorflow' in sys.modules else 'no TF')\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("NN_UTILS_GRADING_NONCE", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "no TF"


# ------------------------------------------------------------ TensorFlow checks
TF_CHECKS = {"evaluate": _ALL["evaluate"], "fit": _ALL["fit"]}


@pytest.fixture(scope="module")
def tfv():
    """The TensorFlow variants, imported only when a TensorFlow test runs."""
    import redteam_tf_variants
    return redteam_tf_variants


def _rejections(name, functions, seeds):
    return [f"{fn.__name__} seed {seed}:\n{v.message}" for fn in functions for seed in seeds
            for v in [verdict(name, fn, seed)] if not v.ok]


@pytest.mark.slow
def test_correct_evaluate_styles_pass(tfv, capfd):
    assert not _rejections("evaluate", tfv.EVALUATE_OK, range(8))


@pytest.mark.slow
def test_correct_fit_styles_pass(tfv, capfd):
    """Includes tf.print (file descriptor 2), print to stderr and a stray warning."""
    assert not _rejections("fit", tfv.FIT_OK, range(3))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["evaluate", "fit"])
def test_plausible_tf_bugs_fail_with_a_named_bug(tfv, name, capfd):
    bugs = tfv.EVALUATE_BUGS if name == "evaluate" else tfv.FIT_BUGS
    wrong = []
    for fn, (bug, fragment) in bugs.items():
        for seed in (0, 5):
            result = verdict(name, fn, seed)
            if result.ok or result.bug != bug or fragment not in result.message:
                wrong.append(f"{fn.__name__} seed {seed}: {result.bug}\n{result.message}")
            assert len(result.message.splitlines()) <= 6 and "nn_utils" not in result.message
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_fit_checks_do_not_leak_captured_descriptors(tfv, capfd):
    """After a check, file descriptors 1 and 2 are the caller's again."""
    TF_CHECKS["fit"](tfv.fit_tf_print, seed=1)
    print("after the check")
    os.write(2, b"raw after\n")
    out, err = capfd.readouterr()
    assert "after the check" in out and "raw after" in err
    assert "fit: " in out or "check_fit" in out


def test_eight_bit_counts_wrap_in_the_main_evaluate_input():
    """uint8 counts wrap past 255: the main input must have more correct samples."""
    from autograder.reference import tf_loops as _tf_ref
    for seed in range(50):
        case = _tf_ref.plan_evaluate(seed)["cases"][0]
        theta = _tf_ref.plan_evaluate(seed)["models"][case["model"]]
        correct = round(_tf_ref.accuracy(theta, case["X"], case["Y"]) * len(case["Y"]) / 100)
        assert correct > 255, (seed, correct)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_passing_the_class_instead_of_an_instance_is_accepted(name):
    """check_affine(Affine) for check_affine(Affine()): the code is right, so it passes."""
    result = verdict(name, CORRECT[name][0])
    assert result.ok, result.message


@pytest.mark.parametrize("name", ["weight_multiply", "sigmoid", "mean_squared_error"])
def test_passing_an_instance_where_a_class_is_expected_gets_a_hint(name):
    from framework_variants import CORRECT as FRAMEWORK
    cls = FRAMEWORK[name][0]
    instance = cls(np.ones((2, 2))) if name == "weight_multiply" else cls()
    message = verdict(name, instance).message
    assert f"check_{name}(YourClass)" in message and "class itself" in message, message


def test_students_debug_prints_show_once_not_for_every_probe_call(capsys):
    """A print in forward shows for the first call; the checker's many calls on moved
    inputs stay quiet (they would look like a dozen unexplained runs)."""

    class Chatty(CORRECT["affine"][0]):
        def forward(self, inputs, weight, bias):
            print("forward called with", inputs.shape)
            return super().forward(inputs, weight, bias)

    nn_utils.check_affine(Chatty())
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "forward called with (13, 7)"
    assert len(lines) == 2 and lines[1].startswith("check_affine: "), lines


def test_sgd_reaching_the_parameters_through_the_layers_passes():
    """``for layer in self.net.layers: ... layer.params, layer.param_grads`` is correct on
    the framework's NeuralNetwork, so the check's stand-in network must support it."""
    from framework_variants import SGD, variant

    def step(self):
        for layer in self.net.layers:
            for param, grad in zip(layer.params, layer.param_grads, strict=False):
                param -= self.lr * grad

    for seed in range(20):
        result = verdict("sgd", variant(SGD, "SgdThroughLayers", step=step), seed)
        assert result.ok, result.message


_IPYTHON_CELL = """
import re, sys
sys.path.insert(0, 'tests')
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
shell = InteractiveShell.instance()
shell.run_cell('import nn_utils; from redteam_variants import AffineDWeightFromOutput')
with capture_output() as shown:
    shell.run_cell('nn_utils.check_affine(AffineDWeightFromOutput())')
print(re.sub(r'\\x1b\\[[0-9;]*m', '', shown.stdout + shown.stderr))
"""


def test_notebook_traceback_hides_the_checkers_frames():
    """What a student sees under the cell: the message, not a tour of nn_utils."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("NN_UTILS_GRADING_NONCE", None)
    done = subprocess.run([sys.executable, "-c", _IPYTHON_CELL], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    shown = done.stdout
    assert "CheckFailed: check_affine: d_weight must have shape" in shown, shown + done.stderr
    assert "run_check" not in shown and "__init__.py" not in shown, shown
    assert len(shown.strip().splitlines()) <= 16, shown


# ------------------------------------------------------- decisions that are debatable
def test_debatable_relu_backward_writing_into_d_out_is_rejected():
    """``d_out[x <= 0] = 0; return d_out`` gives the right numbers, and in the course's
    two-layer network nobody reads d_out again, so it would even train correctly.  It
    is still rejected: a layer that overwrites its caller's array breaks as soon as the
    caller keeps it (gradient checks, a second consumer), and the message says exactly
    what to change."""

    class ReluZeroesDOut(CORRECT["relu"][0]):
        def backward(self, d_out):
            d_out[~self.mask] = 0
            return d_out

    result = verdict("relu", ReluZeroesDOut())
    assert result.bug == "mutates_d_out" and "work on a copy" in result.message


def test_debatable_loss_of_shape_one_passes_but_an_accuracy_of_shape_one_does_not():
    """A loss returned as an array of shape (1,) passes check_cross_entropy (it is one
    number, and ``loss.item()`` style code downstream works); check_evaluate asks for a
    scalar, since the handout's evaluate "returns the accuracy" and a (1,) array
    prints as ``[76.5]``.  Both messages say what to return."""
    from redteam_variants import CEShapeOneArray
    assert verdict("cross_entropy", CEShapeOneArray()).ok
    from autograder.reference.tf_loops import accuracy, expected_evaluate, plan_evaluate
    from nn_utils.checks.tf_loops import judge_evaluate
    plan = plan_evaluate(0)
    cases = [{"weights_changed": False,
              "value": np.array([accuracy(plan["models"][c["model"]], c["X"], c["Y"])]),
              "desc": "ndarray float64 (1,)"} for c in plan["cases"]]
    result = judge_evaluate(plan, {"cases": cases}, expected_evaluate(plan))
    assert result.bug == "not_scalar" and "one number" in result.message


def _fit_record(plan, printed):
    """A perfect fit's record (reference weights and history) with ``printed`` lines."""
    from autograder.reference.tf_loops import expected_fit
    from nn_utils.checks.tf_loops import FitContext
    cases = []
    for case, want in zip(plan["cases"], expected_fit(plan)["cases"], strict=False):
        ctx = FitContext(plan, case, want)
        cases.append({"stdout": list(printed), "same_objects": True, "is_ndarray": True,
                      "type": "ndarray", "desc": "ndarray",
                      "after": [w.astype(np.float32) for w in ctx.step(ctx.epochs)],
                      "history": ctx.history.copy()})
    return {"cases": cases}


@pytest.mark.parametrize("printed,ok", [
    (["epoch 10"], True),  # debatable: the epoch alone counts as progress (lenient)
    (["epoch 10: train 0.41 test 0.52"], True),
    (["/home/s/nb.py:12: UserWarning: lr 0.1 and 12 epochs", "  warnings.warn(msg)"], False),
    (["WARNING:tensorflow:5 out of the last 5 calls triggered tf.function retracing"], False),
    (["W0000 00:00:1763910000.123456   4242 op_level_cost_estimator.cc:699] Error"], False),
    (["WARNING:root:epoch 10 train 0.41 test 0.52"], True),  # the student's logging.warning
    ([], False),
])
def test_fit_progress_lines_count_but_log_lines_do_not(printed, ok):
    """Judged without TensorFlow: only the printed lines differ from a perfect record."""
    from autograder.reference.tf_loops import expected_fit, plan_fit
    from nn_utils.checks.tf_loops import judge_fit
    plan = plan_fit(2)
    result = judge_fit(plan, _fit_record(plan, printed), expected_fit(plan))
    assert result.ok == ok, result.message
    if not ok:
        assert result.bug == "no_progress_print"


def test_a_network_computing_in_float32_passes_check_neural_network():
    """float32 weights and a float32 sigmoid: correct, only less precise -- the rounding
    allowance must follow the dtype the network computes in, as the layer checks do."""
    import framework_variants as fv

    def setup32(self, num_in):
        rng = np.random.default_rng(self.seed)
        weights = rng.normal(0, 1 / np.sqrt(num_in), (num_in, self.neurons)).astype(np.float32)
        bias = np.zeros((1, self.neurons), np.float32)
        self.params = [weights, bias]
        self.operations = [fv.WeightMultiply(weights), fv.BiasAdd(bias), self.activation]

    dense32 = fv.variant(fv.Dense, "Dense32", _setup_layer=setup32)
    sigmoid32 = fv.variant(fv.Sigmoid, "Sigmoid32",
                           _output=lambda s: 1 / (1 + np.exp(-s.input_.astype(np.float32))))

    def network():
        return fv.NeuralNetwork([dense32(5, sigmoid32()), dense32(3, sigmoid32()), dense32(1)],
                                fv.MeanSquaredError(), seed=3)

    rejected = [v.message for seed in range(30)
                for v in [verdict("neural_network", network, seed)] if not v.ok]
    assert not rejected, rejected[0]
