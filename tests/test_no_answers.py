"""Nothing a student receives, or a grading kernel can reach, computes an exercise's answer.

The leak probe (``leak_probe.py``) imports a copy of ``nn_utils`` in a fresh
interpreter and calls everything it can reach with the exercises' inputs at
unpublished seeds; ``answers.py`` supplies those inputs and answers from the
teacher's side.  The probe must find nothing in the student bundle, and must
find answers planted in a copy -- so this test can fail.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import answers
import nbformat
import pytest

from autograder import bundle as _bundle

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name("leak_probe.py")


def _leaks(bundle: Path, tmp_path: Path) -> dict:
    answers_file = tmp_path / "answers.json"
    if not answers_file.exists():
        answers.write(answers_file)
    done = subprocess.run([sys.executable, "-I", str(PROBE), str(bundle), str(answers_file)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _release_copy(tmp_path: Path, assignment: str = "backprop_numpy") -> Path:
    folder = tmp_path / assignment
    shutil.copytree(ROOT / "release" / assignment, folder,
                    ignore=shutil.ignore_patterns("nn_utils", "requirements.txt"))
    _bundle.write_bundle(folder)
    return folder


def test_the_student_bundle_returns_no_answer(tmp_path):
    found = _leaks(_release_copy(tmp_path), tmp_path)
    assert found["callables"] > 200  # the probe really walked the checker
    assert found["hits"] == [], found["hits"]


def test_the_leak_probe_finds_answers_planted_in_a_copy(tmp_path):
    folder = _release_copy(tmp_path)
    with open(folder / "nn_utils" / "checks" / "layers.py", "a", encoding="utf-8") as fh:
        fh.write("\n\nclass _Helper:\n    relu_grad = staticmethod(lambda a, d: d * (a['inputs'] > 0))\n"
                 "\n\n_TABLE_EXTRA = {'affine': (lambda x, w, b: x @ w + b,)}\n")
    with open(folder / "nn_utils" / "engine" / "spec.py", "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _accuracy(theta, X, Y):\n    import numpy as np\n"
                 "    W1, b1, W2, b2 = (np.asarray(t, np.float64) for t in theta)\n"
                 "    z = np.maximum(np.asarray(X, np.float64) @ W1 + b1, 0) @ W2 + b2\n"
                 "    return 100.0 * float(np.mean(np.argmax(z, 1) == np.asarray(Y)))\n")
    hits = {tuple(h) for h in _leaks(folder, tmp_path)["hits"]}
    planted = {where for where, _ in hits}
    assert "nn_utils.checks.layers._Helper.relu_grad" in planted, hits
    assert "nn_utils.checks.layers._TABLE_EXTRA['affine'][0]" in planted, hits
    assert "nn_utils.engine.spec._accuracy" in planted, hits


def test_the_bundle_is_the_checker_without_anything_of_the_teachers(tmp_path):
    folder = _release_copy(tmp_path)
    names = {p.relative_to(folder / "nn_utils").as_posix() for p in (folder / "nn_utils").rglob("*")}
    assert "cases/affine.json" in names and "__init__.py" in names
    assert not any("reference" in n or n.endswith(".pyc") for n in names), names
    text = (folder / "requirements.txt").read_text()
    assert "numpy>=1.26,<3" in text and "scikit-learn>=" in text and "tensorflow" not in text
    assert not re.search(r"^[\w.-]+ *==", text, re.M)   # ranges a student's Python can install
    for path in (folder / "nn_utils").rglob("*.py"):
        assert "autograder" not in re.sub(r'""".*?"""|#.*', "", path.read_text(), flags=re.S), path


def _solution_lines() -> set[str]:
    """Every line of code between the solution markers of the course's source notebooks."""
    lines = set()
    for path in (ROOT / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN SOLUTION" in line:
                    inside = True
                elif "END SOLUTION" in line:
                    inside = False
                elif inside:
                    code = " ".join(line.split("#")[0].split())
                    if len(code) >= 12 and any(op in code for op in ("=", "(", "@", "*")):
                        lines.add(code)
    return lines


def _strings_of_the_checker() -> list[str]:
    found = []
    for path in (ROOT / "nn_utils").rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
                      and n.body and isinstance(n.body[0], ast.Expr)}
        found += [" ".join(n.value.split()) for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and id(n) not in docstrings]
    return found


def test_no_message_of_the_checker_quotes_a_solution_line():
    solutions = _solution_lines()
    assert len(solutions) > 40  # the markers were found
    texts = _strings_of_the_checker()
    # adjacent literals are joined by the parser, so a hint is one constant
    quoted = sorted({(line, text[:90]) for line in solutions for text in texts
                     if _normal(line) in _normal(text)})
    assert quoted == [], quoted


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("planted", ["d_weight = inputs.T @ d_out"])
def test_the_solution_line_test_can_fail(planted):
    line = next(line for line in _solution_lines() if _normal(line) == _normal(planted))
    assert _normal(line) in _normal(f"hint: {planted}")


def _same(a, b, where="") -> list[str]:
    """Where two decoded cases differ (arrays within 1e-9: other CPUs round differently)."""
    import numpy as np
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in _same(x, y, f"{where}[{i}]")]
    if isinstance(a, (np.ndarray, float, int)) and not isinstance(a, bool):
        ok = np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-9, atol=1e-12)
        return [] if ok else [where]
    return [] if a == b else [where]


@pytest.mark.parametrize("name", sorted(answers.reference.PUBLISHED))
def test_the_published_cases_are_up_to_date(name):
    from nn_utils import wire
    from nn_utils.engine import CASES_DIR
    stored = wire.loads((Path(CASES_DIR) / f"{name}.json").read_text())
    fresh = wire.loads(answers.reference.published_cases(name))
    assert _same(stored, fresh) == [], (
        f"nn_utils/cases/{name}.json is stale: run python -m autograder.reference")


def test_an_unpublished_seed_is_one_clear_line():
    import nn_utils
    from nn_utils.engine import UnpublishedSeed
    with pytest.raises(UnpublishedSeed) as info:
        nn_utils.check_relu(object(), seed=12345)
    message = str(info.value)
    assert message == ("check_relu: seed=12345 is not one of the published seeds (0, 1, 2, 3); "
                       "leave seed out or pick one of them")
