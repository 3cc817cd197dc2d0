"""What assemble tells judge about each test cell: the checks it calls, the asserts it reports.

:mod:`autograder.assemble` builds a :class:`TestCell` per graded cell -- the
``check_*`` calls its source makes (:func:`expected_checks`) and, for its asserts,
the :class:`Site` of each -- and :mod:`autograder.judge` decides the cell from them
and from what left the kernel.  A site's expression is evaluated in the grader
with ``SAFE_BUILTINS`` and ``SAFE_MODULES`` only; the rewriter leaves exactly those
names on the grader's side.
"""
from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ANY_SEED", "TestCell", "Site", "expected_checks", "SAFE_BUILTINS", "SAFE_MODULES"]

ANY_SEED = "any"
#: the pure builtins a site's expression may call in the grader
SAFE_BUILTINS = ("abs", "all", "any", "bool", "complex", "dict", "divmod", "enumerate", "float",
                 "frozenset", "int", "len", "list", "max", "min", "pow", "range", "reversed",
                 "round", "set", "sorted", "str", "sum", "tuple", "zip")
#: the modules a site's expression may use in the grader, by the names cells give them
SAFE_MODULES = {"np": np, "numpy": np, "math": math}


@dataclass(frozen=True)
class Site:
    """One assert of a test cell: the trusted part of its expression, and what it needs."""

    site: int
    expression: str         # Python over ``__v(i)`` (leaf i), evaluated in the grader
    leaves: int
    kind: str               # "assert": must be true; "call": must not raise; "value": the
                            # cell's last expression, whose value may give partial credit
    required: bool          # runs whenever the cell runs to its end
    hidden: bool            # from a hidden test: its source is never shown
    text: str = ""          # the assert as written (visible tests only), for feedback
    times: int = 1          # reports due when required (top-level loops over literal cases)


@dataclass(frozen=True)
class TestCell:
    """One graded cell: where it sits in the graded notebook and what it must show."""

    notebook: str
    grade_id: str
    index: int                       # position in the graded notebook (preamble excluded)
    max_points: float
    checks: tuple = ()               # ((check name, literal seed | None | ANY_SEED), ...)
    manual: bool = False             # a person grades it: answers to write, tasks
    task: bool = False               # a task cell (nbgrader leaves its grade alone)
    expects: tuple | None = None     # the Sites of its asserts, judged in the grader
    kernel_source: str | None = None  # what the kernel runs instead of the source


def _python(source: str) -> ast.AST | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except Exception:  # fall back to the raw text
        pass
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _literal_values(node: ast.AST):
    """The values a loop iterates over, when the source spells them out (else None)."""
    try:
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "range" and not node.keywords):
            values = list(range(*[ast.literal_eval(a) for a in node.args]))
        else:
            values = list(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError):
        return None
    return values if len(values) <= 1000 else None


def _seed(node, env: dict):
    if node is None:
        return None
    if isinstance(node, ast.Name) and node.id in env:
        value = env[node.id]
    else:
        try:
            value = ast.literal_eval(node)
        except ValueError:
            return ANY_SEED
    return value if value is None or isinstance(value, int) else ANY_SEED


def _check_calls(node: ast.AST, env: dict):
    if (isinstance(node, ast.For) and isinstance(node.target, ast.Name)
            and (values := _literal_values(node.iter)) is not None):
        for value in values:  # unroll: each iteration is one expected call
            for child in node.body:
                yield from _check_calls(child, {**env, node.target.id: value})
        return
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if name.startswith("check_") and len(name) > len("check_"):
            seed_node = next((k.value for k in node.keywords if k.arg == "seed"),
                             node.args[1] if len(node.args) > 1 else None)
            yield name[len("check_"):], _seed(seed_node, env)
    for child in ast.iter_child_nodes(node):
        yield from _check_calls(child, env)


@functools.lru_cache(maxsize=4096)
def expected_checks(source: str) -> tuple:
    """``((name, seed), ...)`` for every ``check_NAME(obj, seed=...)`` call in ``source``.

    ``seed`` is the literal seed (loops over literal values are unrolled), ``None``
    when the call passes none, or ``ANY_SEED`` when it is computed.
    """
    tree = _python(source)
    return tuple(dict.fromkeys(_check_calls(tree, {}))) if tree is not None else ()
