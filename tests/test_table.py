"""One home per check: everything derived from the table stays in step with it."""
from __future__ import annotations

import ast
from pathlib import Path

import answers
import framework_variants
import layer_variants
import row_variants
import tf_variants  # noqa: F401  (imported for its lists; TensorFlow only on use)

import nn_utils
from autograder import reference
from nn_utils.engine import CASES_DIR, checks

ROOT = Path(__file__).resolve().parent.parent


def test_every_registered_check_is_a_documented_function_of_nn_utils():
    names = list(checks())
    assert [n for n in nn_utils.__all__ if n.startswith("check_")] == [f"check_{n}" for n in names]
    for name in names:
        function = getattr(nn_utils, f"check_{name}")
        assert function.__name__ == f"check_{name}" and len(function.__doc__ or "") > 40, name


def test_the_teachers_side_has_a_reference_for_every_check_and_no_other():
    assert set(reference.EXPECTED) == set(checks())
    assert reference.PUBLISHED == tuple(checks())
    assert {p.stem for p in Path(CASES_DIR).glob("*.json")} == set(checks())


def test_the_leak_probe_reaches_every_check_that_has_answers():
    assert answers.reach() | set(answers.WITHOUT_ANSWERS) == set(checks())


def test_the_corpus_covers_every_check():
    covered = {*layer_variants.CORRECT, *row_variants.CORRECT, *framework_variants.CORRECT,
               "evaluate", "fit"}
    assert covered == set(checks())


def test_the_families_mirror_each_other():
    from nn_utils.checks import FAMILIES
    assert set(reference.FAMILIES) == set(FAMILIES) - {"framework_training"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def test_nothing_outside_nn_utils_imports_its_private_modules():
    offenders = []
    for folder in ("autograder", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for module, names in _imports(path):
                if not module.startswith("nn_utils"):
                    continue
                parts = module.split(".") + [n for n in names if module == "nn_utils"]
                if any(p.startswith("_") and not p.startswith("__") for p in parts):
                    offenders.append(f"{path.relative_to(ROOT)}: {module} {names}")
    assert offenders == []
