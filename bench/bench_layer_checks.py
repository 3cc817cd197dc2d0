"""Speed and safety margins of check_affine / check_relu / check_cross_entropy.

Prints, per check: the median and slowest time of one whole check (plan, probe,
judge) on a correct student; the largest error of any correct style as a
fraction of what the check allows (must stay well below 1: no false
rejections); the smallest error of any bug caught by its values (not by shape, order,
mutation or an exception) as a multiple of the allowance (must stay well
above 1); and the time of a 512-wide affine check.

    .venv/bin/python bench/bench_layer_checks.py            # 50 seeds
    .venv/bin/python bench/bench_layer_checks.py --seeds 200
    .venv/bin/python bench/bench_layer_checks.py --students   # every public check, timed
    .venv/bin/python bench/bench_layer_checks.py --naive      # the ten class rows, naive loops

``--naive`` times each check of the ten rows that take a class as a student runs
it (``nn_utils.check_<name>(cls, seed=...)``, published cases) on the
slowest correct style of ``tests/row_variants.py``: explicit Python loops
(a six-nested-loop convolution).  Every one must stay under 1 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from layer_variants import BUGGY, CORRECT  # noqa: E402

from autograder.reference.layers import ROWS, expected_layer  # noqa: E402
from nn_utils.checks.layers import TABLE, layer_check  # noqa: E402
from nn_utils.engine import directional_from_values, directional_tolerance, rel_error  # noqa: E402


def run(check, student, seed, spec=None):
    plan = check.plan(seed)
    observed = check.probe(student, plan)
    expected = expected_layer(spec or TABLE[check.name], plan)
    return plan, observed, check.judge(plan, observed, expected)


def error_ratios(spec, plan, observed):
    """Each comparison's error divided by its allowance (None where not comparable)."""
    ratios = []
    out = observed["forward"].get("value")
    ref = ROWS[spec.name].out(plan["arrays"])
    if out is not None and np.size(out) == np.size(ref):
        ratios.append(rel_error(np.reshape(out, np.shape(ref)), ref) / spec.tolerance)
    seen = observed.get("backward", {})
    refs = ROWS[spec.name].grad(plan["arrays"], plan["d_out"])
    grads = {}
    for j, name in enumerate(spec.returns):
        items = seen.get("items", [])
        if name is None or j >= len(items) or items[j]["value"] is None:
            continue
        got = np.asarray(items[j]["value"], dtype=np.float64)
        if got.shape == refs[name].shape:
            grads[name] = got
            ratios.append(rel_error(got, refs[name]) / spec.tolerance)
    if out is not None and grads and np.shape(out) == np.shape(ref):
        out = np.asarray(out)
        eps = float(np.finfo(out.dtype).eps) if out.dtype.kind == "f" else 2.2e-16
        f_scale = float(np.sum(np.abs(np.asarray(plan["d_out"]) * out.astype(np.float64))))
        for name, rows in observed["directional"].items():
            if name not in grads or any(v is None for row in rows for v in row):
                continue
            norm = float(np.linalg.norm(grads[name]))
            for u, h, values in zip(plan["directions"][name], plan["steps"][name], rows, strict=False):
                numeric = directional_from_values(values, h, spec.step.richardson)
                analytic = float(np.sum(grads[name] * u))
                allowed = directional_tolerance(norm, numeric, f_scale, h, eps, spec.tolerance)
                ratios.append(abs(analytic - numeric) / allowed)
    return ratios


def student_checks() -> None:
    """Each public check as a student runs it (published cases), first call included;
    and ``import nn_utils`` itself, in a fresh interpreter with numpy already imported."""
    import subprocess
    code = ("import time, numpy\nstart = time.perf_counter()\nimport nn_utils\n"
            "print(1e3 * (time.perf_counter() - start))")
    took = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=True).stdout.strip()
    print(f"import nn_utils: {float(took):.1f} ms (numpy imported first)")
    import framework_variants
    import tf_variants  # imports TensorFlow before the clock starts

    import nn_utils
    students = {**{n: c[0]() for n, c in CORRECT.items()},
                **{n: s[0] for n, s in framework_variants.CORRECT.items()},
                "evaluate": tf_variants.EVALUATE_OK[0], "fit": tf_variants.FIT_OK[0]}
    print(f"{'nn_utils.check_*':25} {'first call ms':>13} {'seed 3 ms':>10}")
    for name, student in students.items():
        check = getattr(nn_utils, f"check_{name}")
        timings = []
        for seed in (0, 3):
            start = time.perf_counter()
            with open("/dev/null", "w") as sink, __import__("contextlib").redirect_stdout(sink):
                check(student, seed=seed)
            timings.append(1e3 * (time.perf_counter() - start))
        print(f"{name:25} {timings[0]:13.1f} {timings[1]:10.1f}")


#: the naive-loop style of each class row (tests/row_variants.py)
NAIVE = {"tanh": "TanhFloat32Loops", "softmax": "SoftmaxJacobianLoops",
         "leaky_relu": "LeakyReLULoopsFloat32", "dropout": "Dropout",
         "batchnorm": "BatchNormStepByStep", "conv2d": "Conv2DNaive",
         "maxpool2d": "MaxPoolLoops", "momentum": "Momentum",
         "rmsprop": "RMSPropLoopsFloat32", "adam": "Adam"}


def naive_checks(repeats: int = 5) -> int:
    """Each class row's check on its naive-loop student: median and slowest of seeds 0-3."""
    import contextlib
    import io

    import row_variants

    import nn_utils
    status = 0
    print(f"{'nn_utils.check_*':15} {'student':24} {'median ms':>9} {'max ms':>8}")
    for name, cls_name in NAIVE.items():
        check, cls = getattr(nn_utils, f"check_{name}"), getattr(row_variants, cls_name)
        with contextlib.redirect_stdout(io.StringIO()):
            check(cls, seed=0)  # warm caches (the published cases are read once)
            times = []
            for _ in range(repeats):
                for seed in (0, 1, 2, 3):
                    start = time.perf_counter()
                    check(cls, seed=seed)
                    times.append(1e3 * (time.perf_counter() - start))
        print(f"{name:15} {cls_name:24} {statistics.median(times):9.1f} {max(times):8.1f}")
        status |= max(times) >= 1000
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--students", action="store_true",
                        help="time each public check as a student runs it, and stop")
    parser.add_argument("--naive", action="store_true",
                        help="time the ten class rows on naive-loop students, and stop")
    args = parser.parse_args(argv)
    if args.students:
        student_checks()
        return 0
    if args.naive:
        return naive_checks()
    seeds = range(args.seeds)
    status = 0
    print(f"{'check':15} {'median ms':>9} {'max ms':>8} {'correct: worst':>15} "
          f"{'bugs: weakest':>14}  weakest bug")
    for name, spec in TABLE.items():
        if name not in CORRECT:
            continue  # the class rows: see --naive and tests/test_row_checks.py
        check = layer_check(spec)
        reference = CORRECT[name][0]
        run(check, reference(), 0)  # warm imports and caches
        times = []
        for seed in seeds:
            start = time.perf_counter()
            run(check, reference(), seed)
            times.append(1e3 * (time.perf_counter() - start))
        worst_ok, false_rejections = 0.0, 0
        for cls in CORRECT[name]:
            for seed in seeds:
                plan, observed, verdict = run(check, cls(), seed)
                false_rejections += not verdict.ok
                worst_ok = max(worst_ok, *error_ratios(spec, plan, observed))
        weakest, weakest_bug, missed = np.inf, "-", 0
        for check_name, cls, bug, _ in BUGGY:
            if check_name != name:
                continue
            for seed in seeds:
                plan, observed, verdict = run(check, cls(), seed)
                missed += verdict.ok or verdict.bug != bug
                if not verdict.message.splitlines()[0].endswith("is wrong"):
                    continue  # shape, order, mutation, error: not a matter of tolerance
                over = max(error_ratios(spec, plan, observed), default=np.inf)
                if over < weakest:
                    weakest, weakest_bug = over, cls.__name__
        print(f"{name:15} {statistics.median(times):9.2f} {max(times):8.2f} "
              f"{worst_ok:15.3f} {weakest:13.1f}x  {weakest_bug}")
        if false_rejections or missed:
            print(f"  !! {false_rejections} correct runs rejected, {missed} bug runs "
                  f"not named correctly")
            status = 1
    big_spec = TABLE["affine"].with_dims(N=64, D=512, H=512)
    big = layer_check(big_spec)
    for threads in (None, 1):
        with threadpool_limits(limits=threads, user_api="blas"):
            run(big, CORRECT["affine"][0](), 0, big_spec)
            big_times = []
            for seed in range(3):
                start = time.perf_counter()
                run(big, CORRECT["affine"][0](), seed, big_spec)
                big_times.append(1e3 * (time.perf_counter() - start))
        print(f"affine N=64 D=H=512, BLAS threads {threads or 'default'}: "
              f"median {statistics.median(big_times):.1f} ms over 3 seeds")
    return status


if __name__ == "__main__":
    sys.exit(main())
