"""The code a student wrote, as normalised tokens, fingerprinted by winnowing.

Only the student's own lines count: a submission's answer cells (nbgrader's
solution cells) and the code cells the student added, less every line that the
teacher gave -- any line of the released notebook, of the source notebook, or of
the source as nbgrader's markers release it (stubs, docstrings, signatures, the
teacher's own solution and tests).  What is left is tokenised with
:mod:`tokenize` and normalised, so that cosmetic edits do not change it:

* the student's own names (variables, parameters, functions, attributes they
  assign) become one token ``V``; names a renaming cannot change stay as they
  are -- attributes of what the student did not define (``.sum``, ``.T``,
  ``np.maximum``'s ``maximum``), keyword arguments (``axis=``) and called
  builtins (``len(``) -- since they tell independent solutions apart;
* every number is ``N``, every string (docstrings and f-strings too) ``S``;
  comments, blank lines, indentation and line breaks are dropped.

Each *unit* -- a function (a method is its own unit) or the statements of a cell
outside any function -- is hashed into k-grams of ``K`` tokens and winnowed with a
window of ``W`` hashes (Schleimer, Wilkerson and Aiken, 2003): a shared run of
``K + W - 1`` tokens is always seen, one shorter than ``K`` never.  A submission's
fingerprints are the *set* of its units' fingerprints, so reordering functions or
cells, and splitting or merging cells between functions, leave it unchanged.
Every k-gram of the teacher's code (not only the winnowed ones: a template
shorter than the guarantee must still be removed) is taken out of it.
"""
from __future__ import annotations

import ast
import bisect
import builtins
import io
import keyword
import re
import tokenize
import zlib
from dataclasses import dataclass, field

__all__ = ["K", "W", "Cell", "Code", "Given", "given_code", "student_code"]

K = 9   # noise threshold: tokens in a k-gram
W = 4   # winnowing window: a match of K + W - 1 = 12 tokens is always found

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "**=", "&=", "|=", "^=", ">>=", "<<="}
_CALLED_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_MOD = (1 << 61) - 1
_BASE = 1_000_003
# what the regular-expression tokeniser reads when tokenize gives up (unbalanced brackets,
# inconsistent indentation): strings first, then comments, numbers, names, operators
_FALLBACK = re.compile(r"""
    (?P<str>(?:[rRbBuUfF]{1,2})?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'?|"(?:\\.|[^"\\\n])*"?))
  | (?P<comment>\#[^\n]*)
  | (?P<num>\.?\d[\w.]*)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*=?|//=?|->|:=|<<=?|>>=?|[-+*/%@&|^<>!=]=|[^\s\w])
""", re.X)
_KINDS = {"str": tokenize.STRING, "num": tokenize.NUMBER, "name": tokenize.NAME,
          "op": tokenize.OP, "comment": tokenize.COMMENT}


@dataclass
class Cell:
    """One code cell of a submission the student wrote in, and which of its lines are theirs."""

    notebook: str
    grade_id: str | None   # the answer cell's grade id; None for a cell the student added
    source: str
    own: frozenset         # numbers (from 1) of the lines the student wrote


@dataclass
class Code:
    """A submission's own code and its fingerprints (hash -> where: (cell, first, last line))."""

    student: str
    cells: list[Cell] = field(default_factory=list)
    spans: dict = field(default_factory=dict)

    @property
    def lines(self) -> int:
        """How many lines the student wrote."""
        return sum(len(cell.own) for cell in self.cells)


@dataclass(frozen=True)
class Given:
    """What the teacher gave: its lines (as token keys), every k-gram hash of its code, and
    the attributes the release assigns (``self.params``: everyone's names, never renamed)."""

    keys: frozenset
    hashes: frozenset
    fixed: frozenset = frozenset()


def _raw(source: str) -> list[tuple[int, str, int]]:
    """(token type, text, line) of every token, by tokenize, else by a regular expression."""
    try:
        return [(t.type, t.string, t.start[0])
                for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type not in _SKIPPED and t.string.strip()]
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        pass
    starts = [0] + [m.end() for m in re.finditer("\n", source)]
    return [(_KINDS[m.lastgroup], m.group(), bisect.bisect_right(starts, m.start()))
            for m in _FALLBACK.finditer(source) if m.lastgroup != "comment"]


def _line_keys(raw) -> dict[int, str]:
    """Each line's tokens, spelled exactly (comments and spacing aside): what 'the same line' is."""
    keys: dict[int, list[str]] = {}
    for _, text, line in raw:
        keys.setdefault(line, []).append(text)
    return {line: "\x00".join(texts) for line, texts in keys.items()}


def _assigned_attributes(raw) -> set[str]:
    """Attributes the code assigns (``self.hidden = ...``): the student's names, renamable."""
    return {raw[i][1] for i in range(1, len(raw) - 1)
            if raw[i][0] == tokenize.NAME and raw[i - 1][1] == "." and raw[i + 1][1] in _ASSIGN}


def _normalised(raw, attributes: set[str]) -> list[str]:
    """One normalised token per raw token (see the module's docstring)."""
    out, brackets = [], []
    for i, (kind, text, _) in enumerate(raw):
        before = raw[i - 1][1] if i else ""
        after = raw[i + 1][1] if i + 1 < len(raw) else ""
        if kind == tokenize.STRING:
            out.append("S")
        elif kind == tokenize.NUMBER:
            out.append("N")
        elif kind == tokenize.NAME:
            if keyword.iskeyword(text):
                out.append(text)
            elif before == ".":
                out.append("V" if text in attributes else text)
            elif after == "=" and brackets and brackets[-1] == "call":
                out.append(text)   # a keyword argument
            elif after == "(" and text in _CALLED_BUILTINS:
                out.append(text)
            else:
                out.append("V")
        else:
            if text in "([{":
                is_def = text == "(" and i >= 2 and raw[i - 2][1] in ("def", "lambda")
                brackets.append("def" if is_def else "call" if text == "(" else "other")
            elif text in ")]}" and brackets:
                brackets.pop()
            out.append(text)
    return out


def _functions(body: list):
    """(first line, last line) of every function among these statements, nested ones too;
    expressions are not visited (a lambda is not a unit)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.lineno, node.end_lineno or node.lineno
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                yield from _functions(inner)


def _units(source: str) -> dict[int, int]:
    """Line -> the first line of the innermost function holding it (0: outside any)."""
    # IPython's magics and shell escapes are not Python: blank them, keeping line numbers
    text = re.sub(r"(?m)^[ \t]*[%!].*$", "", source)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    owner: dict[int, int] = {}
    for first, last in sorted(_functions(tree.body)):  # an inner function takes its lines over
        for line in range(first, last + 1):
            owner[line] = first
    return owner


def _token_hash(token: str) -> int:
    return zlib.crc32(token.encode())


def _kgrams(tokens: list[str]) -> list[int]:
    """A stable hash of every run of ``K`` tokens (the same in every process)."""
    if len(tokens) < K:
        return []
    values = [_token_hash(t) for t in tokens]
    top = pow(_BASE, K - 1, _MOD)
    h = 0
    for v in values[:K]:
        h = (h * _BASE + v) % _MOD
    out = [h]
    for i in range(K, len(values)):
        h = ((h - values[i - K] * top) * _BASE + values[i]) % _MOD
        out.append(h)
    return out


def _winnow(hashes: list[int]) -> list[int]:
    """Positions kept by winnowing: the rightmost minimum of each window of ``W`` hashes."""
    if len(hashes) <= W:
        return [min(range(len(hashes)), key=lambda i: (hashes[i], -i))] if hashes else []
    kept, last = [], -1
    for start in range(len(hashes) - W + 1):
        window = range(start, start + W)
        best = min(window, key=lambda i: (hashes[i], -i))
        if best != last:
            kept.append(best)
            last = best
    return kept


def _sequences(sources: list[str], drop, fixed: frozenset):
    """For each unit of each source: (source index, tokens, their lines, the lines kept),
    the lines whose key ``drop(key)`` is true left out."""
    raws = [_raw(source) for source in sources]
    kept = [{line for line, key in _line_keys(raw).items() if not drop(key)} for raw in raws]
    # names the release assigns (self.params, self.cache) are everyone's: only the other
    # attributes assigned on the lines kept are the writer's own, renamable ones
    attributes = set().union(set(), *(_assigned_attributes([t for t in raw if t[2] in lines])
                                      for raw, lines in zip(raws, kept, strict=True))) - fixed
    for index, (source, raw) in enumerate(zip(sources, raws, strict=True)):
        owner = _units(source)
        units: dict[int, tuple[list[str], list[int]]] = {}
        for (_, _, line), token in zip(raw, _normalised(raw, attributes), strict=True):
            if line in kept[index]:
                tokens, lines = units.setdefault(owner.get(line, 0), ([], []))
                tokens.append(token)
                lines.append(line)
        for tokens, lines in units.values():
            yield index, tokens, lines, kept[index]


def given_code(released: list[str], teacher: list[str] = ()) -> Given:
    """What the teacher gave: the code cells as released, and as the source has them."""
    sources = [*released, *teacher]
    keys, hashes = set(), set()
    raws = [_raw(source) for source in sources]
    for raw in raws:
        keys.update(_line_keys(raw).values())
    fixed = frozenset().union(*(_assigned_attributes(raw) for raw in raws[:len(released)]))
    for _, tokens, _, _ in _sequences(sources, lambda key: False, fixed):
        hashes.update(_kgrams(tokens))
    return Given(frozenset(keys), frozenset(hashes), fixed)


def student_code(student: str, cells: list[tuple[str, str | None, str]], given: Given) -> Code:
    """The fingerprints of a student's code cells ``(notebook, grade_id or None, source)``."""
    code = Code(student)
    sources = [source for _, _, source in cells]
    own: dict[int, set[int]] = {i: set() for i in range(len(cells))}
    for index, tokens, lines, kept in _sequences(sources, given.keys.__contains__, given.fixed):
        own[index] = kept
        hashes = _kgrams(tokens)
        for position in _winnow(hashes):
            if hashes[position] in given.hashes:
                continue
            where = (index, lines[position], lines[position + K - 1])
            code.spans.setdefault(hashes[position], []).append(where)
    code.cells = [Cell(notebook, grade_id, source, frozenset(own[i]))
                  for i, (notebook, grade_id, source) in enumerate(cells)]
    return code
