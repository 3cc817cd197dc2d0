"""Plain-assert test cells judged in the grader: the kernel runs a form that only reports values.

A test cell such as ``assert abs(square(x) - x ** 2) < 1e-12`` would normally be
decided inside the kernel, where the student's earlier cells can patch numpy,
builtins, comparison methods, IPython's input transformers, AST transformers or
exception handlers.  Re-running the cell in a fresh kernel fed "only the student's
definitions" does not help: defining a class or calling a function runs student
code in that kernel too.  So the verdict moves out of the kernel instead:

* Every ``assert`` and every ``np.testing.assert_*(...)`` statement of a test cell
  (hidden ones included) is split, on the trusted side, into *leaves* -- the
  maximal sub-expressions that need the kernel (they name student or cell
  variables) -- and the rest, which only combines leaves with constants, numpy,
  ``math`` and a few pure builtins.  The kernel receives
  ``__autograder_expect(site, [lambda: leaf, ...], lambda: message)``: it evaluates
  the leaves and sends their values as plain data (numbers, strings, arrays,
  tuples, lists, sets, dicts; other objects only as their ``repr``).  Constants,
  tolerances and reference values that the cell spells out never reach the kernel.
* The grader decodes the values (no pickle) and evaluates the rest of the
  expression with the real numpy and builtins (:mod:`autograder.judge.expect_judge`;
  the sites are :class:`autograder.cells.Site`, the reporter's name and the end
  marker :mod:`autograder.protocol`'s).
  An object whose ``__eq__`` always says yes, a patched ``np.allclose`` or ``abs``:
  none of them crosses the boundary.
* A cell earns its points only if every assert that runs unconditionally (at the
  top level, in top-level ``for``/``with`` blocks, or likewise in a helper the cell
  defines and calls at its top level) reported at least once, every
  report passes, no unexpected report came, and the cell reached its end (a final
  marker).  Dropping, transforming or swallowing the cell's statements therefore
  loses the points; forging a report means computing the right value.

* nbgrader gives partial credit when a test cell ends in an expression whose
  displayed value is a number (0 <= value <= points).  That last expression
  becomes a ``value`` site: the kernel reports its leaves, the grader computes the
  value and applies nbgrader's rule to how IPython would have displayed it (so a
  numpy scalar, displayed as ``np.float64(0.5)``, gives full credit there as here).

Limits, by design: type and identity tests (``isinstance``, ``type(x) is``, ``is``)
and comprehensions are evaluated in the kernel (their operands are not data);
they gate structure, while the values are judged here.  Statements other than
asserts run in the kernel as before.
"""
from __future__ import annotations

import ast
import io
import math
import tokenize
from dataclasses import dataclass

from autograder.cells import SAFE_BUILTINS, SAFE_MODULES, Site
from autograder.protocol import DONE, REPORTER

__all__ = ["Rewritten", "rewrite"]

_IDENTITY = (ast.Is, ast.IsNot)
_KERNEL_ONLY = (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp,
                ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.Starred)
_NOT_CODE = (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENDMARKER)


@dataclass(frozen=True)
class Rewritten:
    """A test cell as the kernel runs it, and the sites the grader will judge."""

    kernel_source: str
    sites: tuple


def _trusted_names(tree: ast.AST) -> set:
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                and isinstance(n.ctx, (ast.Store, ast.Del))}
    assigned |= {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assigned |= {n.name for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return (set(SAFE_BUILTINS) | set(SAFE_MODULES)) - assigned


class _Splitter:
    """Split one expression into grader-side code and kernel-side leaves."""

    def __init__(self, trusted: set):
        self.trusted, self.leaves = trusted, []

    def pure(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, _KERNEL_ONLY):
                return False
            if isinstance(sub, ast.Name) and sub.id not in self.trusted:
                return False
            if isinstance(sub, ast.Attribute) and sub.attr.startswith("_"):
                return False
        return True

    def leaf(self, node: ast.AST) -> ast.AST:
        self.leaves.append(node)
        return ast.Call(ast.Name("__v", ast.Load()), [ast.Constant(len(self.leaves) - 1)], [])

    def split(self, node: ast.AST) -> ast.AST:
        if self.pure(node):
            return node
        if isinstance(node, ast.Compare):
            typeish = any(isinstance(op, _IDENTITY) for op in node.ops) or any(
                isinstance(s, ast.Call) and isinstance(s.func, ast.Name) and s.func.id == "type"
                for s in ast.walk(node))
            if typeish:
                return self.leaf(node)
            return ast.Compare(self.split(node.left), node.ops,
                               [self.split(c) for c in node.comparators])
        if isinstance(node, ast.BoolOp):
            return ast.BoolOp(node.op, [self.split(v) for v in node.values])
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(node.op, self.split(node.operand))
        if isinstance(node, ast.BinOp):
            return ast.BinOp(self.split(node.left), node.op, self.split(node.right))
        if (isinstance(node, ast.Call) and self.pure(node.func)
                and not any(isinstance(a, ast.Starred) for a in node.args)
                and all(k.arg for k in node.keywords)):
            return ast.Call(node.func, [self.split(a) for a in node.args],
                            [ast.keyword(k.arg, self.split(k.value)) for k in node.keywords])
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and not any(
                isinstance(e, ast.Starred) for e in node.elts):
            kind = type(node)
            elts = [self.split(e) for e in node.elts]
            return kind(elts, ast.Load()) if kind is not ast.Set else ast.Set(elts)
        if isinstance(node, ast.Dict) and None not in node.keys:
            return ast.Dict([self.split(k) for k in node.keys],
                            [self.split(v) for v in node.values])
        return self.leaf(node)


def _np_testing(node: ast.AST) -> bool:
    """``np.testing.assert_*(...)`` / ``numpy.testing.assert_*(...)`` as a statement."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    func = node.value.func
    return (isinstance(func, ast.Attribute) and func.attr.startswith("assert_")
            and isinstance(func.value, ast.Attribute) and func.value.attr == "testing"
            and isinstance(func.value.value, ast.Name) and func.value.value.id in ("np", "numpy"))


def _hidden_lines(source: str, marks=None) -> set:
    from autograder.course import markers
    return (marks or markers()).hidden_lines(source)


class _Rewriter(ast.NodeTransformer):
    def __init__(self, trusted: set, hidden: set):
        self.trusted, self.hidden, self.sites, self.depth = trusted, hidden, [], []
        self.owner, self.owners = None, []   # the cell's own top-level function being visited
        self.times = []                       # case counts of the enclosing top-level loops

    def _site(self, node, test: ast.AST, kind: str, message: ast.AST | None):
        splitter = _Splitter(self.trusted)
        if kind in ("assert", "value"):
            expression = splitter.split(test)
        else:
            expression = splitter.split(test) if isinstance(test, ast.Call) else None
        unsafe = (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)  # cannot live in a lambda
        if expression is None or any(isinstance(s, unsafe)
                                     for leaf in splitter.leaves for s in ast.walk(leaf)):
            return node  # left to the kernel (cannot be expressed as leaves)
        site = Site(site=len(self.sites), expression=ast.unparse(expression),
                    leaves=len(splitter.leaves), kind=kind, required=not self.depth,
                    hidden=getattr(node, "lineno", 0) in self.hidden,
                    text="" if getattr(node, "lineno", 0) in self.hidden else ast.unparse(test),
                    times=math.prod(self.times) if self.owner is None else 1)
        self.sites.append(site)
        self.owners.append(self.owner)
        def lam(body):
            return ast.Lambda(ast.arguments([], [], None, [], [], None, []), body)
        call = ast.Call(ast.Name(REPORTER, ast.Load()), [
            ast.Constant(site.site), ast.List([lam(leaf) for leaf in splitter.leaves], ast.Load()),
            lam(message) if message is not None else ast.Constant(None)], [])
        return ast.copy_location(ast.Expr(call), node)

    def visit_Assert(self, node):
        return self._site(node, node.test, "assert", node.msg)

    def visit_Expr(self, node):
        if _np_testing(node):
            return self._site(node, node.value, "call", None)
        return node

    def _nested(self, node, conditional: bool):
        self.depth.append(conditional)
        try:
            return self.generic_visit(node)
        finally:
            self.depth.pop()

    def visit_For(self, node):
        if self.depth:
            return self._nested(node, True)
        try:  # a loop over literal cases must report once per case (unless it may stop early)
            cases = len(ast.literal_eval(node.iter))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            cases = 1
        if any(isinstance(n, (ast.Break, ast.Continue)) for n in ast.walk(node)):
            cases = 1
        self.times.append(max(cases, 1) if not node.orelse else 1)
        try:
            self.generic_visit(node)   # top-level loops run their body (teachers loop over cases)
        finally:
            self.times.pop()
        return node

    def visit_With(self, node):
        if self.depth:
            return self._nested(node, True)
        self.generic_visit(node)
        return node

    def _conditional(self, node):
        return self._nested(node, True)

    def visit_FunctionDef(self, node):
        """A helper the cell defines: its asserts count once the cell calls it unconditionally."""
        if self.depth or self.owner is not None:
            return self._nested(node, True)
        self.owner = node.name
        try:
            return self.generic_visit(node)
        finally:
            self.owner = None

    def finish(self, body: list) -> tuple:
        """The sites, those of helpers called at the top level of ``body`` made required."""
        called, todo = set(), list(body)
        while todo:
            stmt = todo.pop()
            if isinstance(stmt, (ast.For, ast.With)):
                todo.extend(stmt.body)
            value = getattr(stmt, "value", None)
            if (isinstance(stmt, (ast.Expr, ast.Assign)) and isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)):
                called.add(value.func.id)
        return tuple(site if owner is None else Site(**{
            **site.__dict__, "required": site.required and owner in called})
            for site, owner in zip(self.sites, self.owners, strict=False))

    visit_If = visit_While = visit_Try = visit_AsyncFunctionDef = _conditional
    visit_ClassDef = visit_AsyncFor = visit_AsyncWith = visit_Match = _conditional
    visit_TryStar = _conditional


_SILENT_CALLS = ("print", "display")


def _displays(node: ast.AST, python: str) -> bool:
    """True when IPython would display the value of ``node``, the cell's last statement.

    Calls that display nothing themselves (``print``, ``display``, ``check_*``, which
    return None) are left as they are; a trailing ``;`` silences the value.
    """
    if not isinstance(node, ast.Expr) or _np_testing(node):
        return False
    if isinstance(node.value, ast.Call):
        func = node.value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in _SILENT_CALLS or name.startswith("check_"):
            return False
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(python).readline)
                  if t.type not in _NOT_CODE]
    except (tokenize.TokenError, SyntaxError):
        return False
    return bool(tokens) and tokens[-1].string != ";"


def rewrite(source: str, marks=None) -> Rewritten | None:
    """The kernel-side form of a test cell's ``source`` (hidden-test markers allowed;
    ``marks``: the course's nbgrader markers, nbgrader's defaults when None).

    Returns None when the cell cannot be parsed (it then runs as written and is
    judged by its errors only).
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        python = TransformerManager().transform_cell(source)
        tree = ast.parse(python)
    except Exception:  # a cell we cannot parse is left alone
        return None
    rewriter = _Rewriter(_trusted_names(tree), _hidden_lines(source, marks))
    last = tree.body[-1] if tree.body else None
    tree = rewriter.visit(tree)
    body = list(tree.body)  # as written: a helper called by the last expression counts as called
    if tree.body and tree.body[-1] is last and _displays(last, python):
        tree.body[-1] = rewriter._site(last, last.value, "value", None)
    tree.body.append(ast.Expr(ast.Call(ast.Name(REPORTER, ast.Load()),
                                       [ast.Constant(DONE), ast.List([], ast.Load())], [])))
    return Rewritten(ast.unparse(ast.fix_missing_locations(tree)) + "\n", rewriter.finish(body))
