"""How ``autograder similarity`` scales: 100, 1,000 and 5,000 synthetic submissions.

Each class is a copy of ``backprop_numpy`` (source and release) with generated
submissions: every answer region is filled either with one of a few common
styles (what most of a class writes; variables renamed per student) or with
lines drawn from a small grammar over numpy's API (what is each student's own),
and 1 % of the students are planted copies of another (renamed, reformatted,
comments added).  Check records give a tenth of the class one of a few common
wrong answers and each planted pair a rare one half of the time.  Building the
class is not timed; the command's two phases are: comparing (reading every
notebook and record, fingerprints, the inverted index, the ranked pairs) and
writing ``pairs.csv``, ``index.html`` and the 20 side-by-side pages.

    .venv/bin/python bench/bench_similarity.py                 # 100, 1000, 5000
    .venv/bin/python bench/bench_similarity.py --sizes 1000    # one size

Prints one row per size: seconds per phase, pairs listed, planted copies found.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.similarity import analyse  # noqa: E402  (needs the repository on sys.path)
from autograder.similarity.pages import write_pages  # noqa: E402

ASSIGNMENT = "backprop_numpy"
# the names of each answer region (release stub order) that a student's code may use
REGIONS = [("affine", ["inputs", "weight", "bias"], "out"),
           ("affine", ["d_out", "inputs", "weight"], "d_inputs"),
           ("relu", ["inputs"], "out"),
           ("relu", ["d_out", "inputs"], "d_inputs"),
           ("cross-entropy", ["logits", "labels"], "loss"),
           ("cross-entropy", ["d_out", "probs", "labels"], "d_logits"),
           ("feedforward", ["self"], "self.layer"),
           ("feedforward", ["X", "self.params['W1']", "self.params['W2']"], "Y_pred"),
           ("feedforward", ["X", "Y", "self.params['b1']"], "loss")]
COMMON = [["out = np.dot({0}, {1}) + {2}", "out = {0} @ {1} + {2}"],
          ["d_inputs = np.dot({0}, {2}.T)\nd_weight = np.dot({1}.T, {0})\nd_bias = np.sum({0}, axis=0)",
           "d_inputs = {0} @ {2}.T\nd_weight = {1}.T @ {0}\nd_bias = {0}.sum(axis=0)"],
          ["out = np.maximum(0, {0})", "out = {0} * ({0} > 0)"],
          ["d_inputs = {0} * ({1} > 0)", "d_inputs = np.where({1} > 0, {0}, 0)"],
          ["z = {0} - {0}.max(axis=1, keepdims=True)\nprobs = np.exp(z) / np.exp(z).sum(axis=1, "
           "keepdims=True)\nloss = float(-np.mean(np.sum({1} * np.log(probs), axis=1)))"],
          ["d_logits = {0} * ({1} - {2}) / {1}.shape[0]"],
          ["self.l1 = Affine()\nself.relu = ReLU()\nself.l2 = Affine()\nself.ce = CategoricalCrossEntropy()"],
          ["h = self.relu.forward(self.l1.forward({0}, {1}, self.params['b1']))\n"
           "Y_pred = softmax(self.l2.forward(h, {2}, self.params['b2']), axis=1)"],
          ["h = self.relu.forward(self.l1.forward({0}, self.params['W1'], {2}))\n"
           "loss = self.ce.forward(self.l2.forward(h, self.params['W2'], self.params['b2']), {1})"]]
FUNCTIONS = ["np.sum", "np.mean", "np.max", "np.exp", "np.log", "np.abs", "np.sqrt", "np.square",
             "np.clip", "np.where", "np.dot", "np.matmul", "np.outer", "np.maximum", "np.minimum",
             "np.tanh", "np.argmax", "np.ones_like", "np.zeros_like", "np.transpose", "np.reshape",
             "np.concatenate", "np.stack", "np.cumsum", "np.prod", "np.log1p", "np.expm1",
             "np.sign", "np.einsum", "np.tensordot"]
METHODS = ["sum", "mean", "max", "min", "reshape", "copy", "astype", "clip", "transpose", "dot",
           "ravel", "squeeze", "std", "var", "argmax"]
KEYWORDS = ["axis=0", "axis=1", "axis=-1", "keepdims=True", "out=None", "dtype=float"]
OPERATORS = ["+", "-", "*", "/", "@", "**"]
WRONG = ["missing_1_over_N", "transposed_d_weight", "relu_forgets_d_out", "gradient_ascent"]


def _term(rng: random.Random, names: list[str]) -> str:
    pick = rng.random()
    if pick < 0.4:
        args = [rng.choice(names) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.5:
            args.append(rng.choice(KEYWORDS))
        return f"{rng.choice(FUNCTIONS)}({', '.join(args)})"
    if pick < 0.7:
        keyword = rng.choice(KEYWORDS) if rng.random() < 0.5 else ""
        return f"{rng.choice(names)}.{rng.choice(METHODS)}({keyword})"
    if pick < 0.85:
        return f"({rng.choice(names)} {rng.choice(OPERATORS)} {rng.randint(1, 9)})"
    return rng.choice(names)


def _own_lines(rng: random.Random, names: list[str], target: str) -> str:
    """A few lines only this student would write: random expressions over the region's names."""
    names, lines = list(names), []
    for _ in range(rng.randint(2, 5)):
        local = f"t{rng.randint(0, 99)}"
        lines.append(f"{local} = {_term(rng, names)} {rng.choice(OPERATORS)} {_term(rng, names)}")
        names.append(local)
    if not target.startswith("self."):
        lines.append(f"{target} = {names[-1]}")
    return "\n".join(lines)


def _region(rng: random.Random, index: int) -> str:
    _, names, target = REGIONS[index]
    if rng.random() < 0.6:
        return rng.choice(COMMON[index]).format(*names)
    return _own_lines(rng, names, target)


def _renamed(text: str, rng: random.Random) -> str:
    """A planted copy's disguise: its own names, other spacing, comments added."""
    renames = {name: f"{name}_{rng.randint(10, 99)}" for name in set(re.findall(r"\bt\d+\b", text))}
    renames.update({"h": "hidden", "z": "shifted"})
    text = re.sub(r"\b(" + "|".join(map(re.escape, renames)) + r")\b",
                  lambda m: renames[m[1]], text)
    text = text.replace(" = ", "=").replace(", ", ",")
    return "\n".join(f"{line}  # step {i}" if i % 2 else line
                     for i, line in enumerate(text.split("\n")))


def _fill(release: str, blocks: list[str]) -> str:
    lines, out, blocks = release.split("\n"), [], list(blocks)
    i = 0
    while i < len(lines):
        if lines[i].strip() == "# YOUR CODE HERE":
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            out += [indent + line for line in blocks.pop(0).split("\n")]
            i += 2  # the stub's raise NotImplementedError()
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def _record(student: str, bug: str | None, where: str) -> dict:
    tests = [{"grade_id": "test-affine", "notebook": ASSIGNMENT, "ok": bug is None,
              "check": "affine", "bug": bug, "points": 0.0, "max_points": 2.0,
              "message": None if bug is None else
              f"affine: d_weight is wrong\n  where:    {where}\n  expected: 1.5\n  got:      -2.5"}]
    return {"student": student, "assignment": ASSIGNMENT, "status": "ok", "tests": tests}


def build(root: Path, students: int, seed: int = 0) -> set[frozenset]:
    """Write a class of ``students`` submissions; returns the planted pairs."""
    rng = random.Random(seed)
    (root / "nbgrader_config.py").parent.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for step in ("source", "release"):
        (root / step / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", root / step / ASSIGNMENT)
    release = json.loads((root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in release["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    width = len(str(students))
    written: list[list[str]] = []
    planted: set[frozenset] = set()
    for number in range(students):
        student = f"s{number:0{width}d}"
        if written and rng.random() < 0.01:
            original = rng.randrange(len(written))
            blocks = [_renamed(b, rng) for b in written[original]]
            planted.add(frozenset((f"s{original:0{width}d}", student)))
            bug = (rng.choice(WRONG), f"d_weight[{rng.randint(0, 9)}, 1] (a rare place)") \
                if rng.random() < 0.5 else (None, "")
            _record_for(root, f"s{original:0{width}d}", *bug)
        else:
            blocks = [_region(rng, index) for index in range(len(REGIONS))]
            bug = (rng.choice(WRONG), "d_weight[3, 1]") if rng.random() < 0.1 else (None, "")
        written.append(blocks)
        nb = copy.deepcopy(release)
        for cell in nb["cells"]:
            gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if gid in answers:
                mine = [b for (g, _, _), b in zip(REGIONS, blocks, strict=True) if g == gid]
                cell["source"] = _fill(answers[gid], mine)
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb))
        _record_for(root, student, *bug)
    return planted


def _record_for(root: Path, student: str, bug: str | None, where: str) -> None:
    folder = root / "autograded" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".result.json").write_text(json.dumps(_record(student, bug, where)))


def _cpu() -> float:
    """CPU seconds of this process and of the workers it waited for."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(students: int) -> dict:
    """Build a class of ``students``, run both phases, and return the figures."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    try:
        planted = build(scratch / "course", students)
        start, cpu = time.perf_counter(), _cpu()
        analysis = analyse(scratch / "course", ASSIGNMENT)
        compared, compared_cpu = time.perf_counter() - start, _cpu() - cpu
        start = time.perf_counter()
        write_pages(analysis, scratch / "course" / "similarity" / ASSIGNMENT, 20)
        written = time.perf_counter() - start
        names = analysis.students
        listed = {frozenset((names[p.a], names[p.b])) for p in analysis.pairs}
        return {"students": students, "compare": compared, "cpu": compared_cpu, "pages": written,
                "pairs": len(listed), "planted": len(planted), "found": len(planted & listed),
                "others": len(listed - planted),
                "fingerprints": sum(len(c.spans) for c in analysis.codes)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="class sizes, comma-separated")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print("| submissions | compare (wall) | compare (CPU) | pages | total | fingerprints | pairs listed "
          "| planted copies found | other pairs listed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size)
        print(f"| {row['students']} | {row['compare']:.2f} s | {row['cpu']:.2f} s | "
              f"{row['pages']:.2f} s | {row['compare'] + row['pages']:.2f} s | {row['fingerprints']} | "
              f"{row['pairs']} | {row['found']} of {row['planted']} | {row['others']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
